package org.hospes.hv.control;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.event.EventChannels;
import org.hospes.hv.ioreq.IoreqServer;
import org.hospes.hv.memory.P2m;
import org.hospes.hv.stats.Counters;

/**
 * The privileged interface of one service domain: dom0 or a driver domain, whose services are
 * Java code (Xen's domctl, hvm_op and dm_op on another domain, privcmd's foreign mappings, grant
 * maps through gntdev). Every handle acts as one domain, and every operation on another domain
 * is checked against that domain's {@link Privilege} as Xen's XSM dummy policy does; a refusal
 * throws {@link NotPermittedException} (or returns -EPERM where the operation returns an errno),
 * is counted, and changes nothing. Nothing else gives a service a guest's memory.
 *
 * <p>The service domain's code runs in its vCPU's time: events on its ports and the ioreqs it
 * serves are queued as {@link ServiceWork} and run when the scheduler runs that vCPU; the cycles
 * the handlers return (plus the modelled cost of the grant and foreign mappings they made) are
 * its run time.
 *
 * <p><b>Adding a backend</b> is a few lines: bind or allocate a port through {@link #channels},
 * map the ring with {@link #mapGrant} (or {@link #mapForeign}), and {@link #listen} on the port
 * with a handler that consumes the ring and returns the modelled cycles it spent. For a backend
 * in a driver domain, use the handle {@link Hypervisor#createDriverDomain} returns instead of
 * {@link Hypervisor#control()}.
 */
public final class DomainControl {
  /** dom0's id. */
  public static final int DOM0 = 0;
  /** Guest frames of a service domain's window for grant mappings (gntdev's pages). */
  public static final int GRANT_WINDOW_FRAMES = 1 << 15;

  /** A service's handler for events on one of its domain's ports. */
  public interface PortHandler {
    /** Handles an event on {@code port}; returns the modelled cycles spent. */
    long event(int port, long now);
  }

  private final Hypervisor hv;
  private final Domain domain;
  private final Privilege privilege;
  private final ServiceWork work;
  private final ServicePorts ports;
  private final CostModel cost;
  private final Map<Integer, PortHandler> handlers = new HashMap<>();
  private final List<IntConsumer> deathWatchers = new ArrayList<>();
  private final Map<Integer, List<Runnable>> deathOf = new HashMap<>();
  private long droppedEvents;
  private long foreignMaps;
  private long foreignUnmaps;
  private long liveForeignMaps;
  private long refusals;
  private String lastRefusal = "";
  private long handlerFailures;
  private String lastHandlerFailure = "";
  private int windowCursor;
  /** Its foreign mappings not unmapped yet (identity: each holds one reference). */
  private final java.util.Set<ForeignPage> foreignPages =
      java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

  /**
   * Called by the hypervisor when it creates a service domain; {@code work} and {@code ports}
   * are that domain's.
   */
  public DomainControl(Hypervisor hv, Domain domain, Privilege privilege, ServiceWork work,
      ServicePorts ports) {
    this.hv = hv;
    this.domain = domain;
    this.privilege = privilege;
    this.work = work;
    this.ports = ports;
    this.cost = hv.costModel();
  }

  /** The domain this handle acts as. */
  public Domain domain() {
    return domain;
  }

  public int domid() {
    return domain.domid();
  }

  /** dom0's handle's domain (kept for the toolstack's older call sites). */
  public Domain dom0() {
    return domain;
  }

  public Privilege privilege() {
    return privilege;
  }

  /** This domain's event channels (allocUnbound, bindInterdomain, send, close as itself). */
  public EventChannels channels() {
    return domain.eventChannels();
  }

  public ServicePorts ports() {
    return ports;
  }

  public ServiceWork work() {
    return work;
  }

  /** The service vCPU's counters: run cycles, events handled, ioreqs served, grant maps. */
  public Counters counters() {
    return domain.vcpus().get(0).counters();
  }

  /**
   * Calls {@code w} with the domid of each domain that ends, after its last ring contents were
   * served and before its memory is freed (Xen tells dom0 with VIRQ_DOM_EXC; the toolstack then
   * releases the domain from xenstored and its backends).
   */
  public void onDomainDeath(IntConsumer w) {
    deathWatchers.add(w);
  }

  /**
   * Runs {@code w} once, when domain {@code domid} ends (as {@link #onDomainDeath}), and then
   * forgets it: for a service that holds mappings of that one domain, such as a device model's
   * map cache, which must let them go for the domain to finish dying.
   */
  public void onDeathOf(int domid, Runnable w) {
    deathOf.computeIfAbsent(domid, k -> new ArrayList<>()).add(w);
  }

  /**
   * How many callbacks wait for deaths: the {@link #onDomainDeath} watchers and the
   * {@link #onDeathOf} ones of domains still alive. A long-running host creates and destroys
   * domains without end, so a test checks that this does not grow with them.
   */
  public int deathCallbacks() {
    int n = deathWatchers.size();
    for (List<Runnable> once : deathOf.values()) {
      n += once.size();
    }
    return n;
  }

  /** The hypervisor reports that {@code domid} ends. */
  public void domainEnding(int domid) {
    for (IntConsumer w : new ArrayList<>(deathWatchers)) {
      w.accept(domid);
    }
    List<Runnable> once = deathOf.remove(domid);
    if (once != null) {
      once.forEach(Runnable::run);
    }
  }

  /** Routes events on this domain's {@code port} to {@code h}. */
  public void listen(int port, PortHandler h) {
    handlers.put(port, h);
  }

  public void unlisten(int port) {
    handlers.remove(port);
  }

  /** The ports sink: an event became deliverable on {@code port}; it waits its turn. */
  public void portPending(int port) {
    work.submit(now -> handlePort(port, now));
  }

  private long handlePort(int port, long now) {
    if (!ports.take(port)) {
      return 0;
    }
    counters().eventUpcalls++;
    PortHandler h = handlers.get(port);
    if (h == null) {
      droppedEvents++;
      return 0;
    }
    return contain(() -> h.event(port, now));
  }

  /**
   * Runs a handler so that a fault in it (a backend's bug reached by a hostile guest) stops
   * that request, is counted, and does not take the host down.
   */
  private long contain(java.util.function.LongSupplier handler) {
    try {
      return handler.getAsLong();
    } catch (RuntimeException e) {
      handlerFailures++;
      lastHandlerFailure = String.valueOf(e);
      return 0;
    }
  }

  /**
   * Runs all pending work now, outside the scheduler (the hypervisor does this before a domain
   * ends, so backends see what it left in its rings; tests use it to step services by hand).
   * Returns the modelled cycles, which are added to the vCPU's counters.
   */
  public long serve(long now) {
    long used = work.run(now, Long.MAX_VALUE);
    counters().cycles += used;
    return used;
  }

  /**
   * For a handler serving many requests in one event (a backend's ring): true when, with {@code
   * spent} cycles spent so far in this event, its vCPU's slice has ended and it should stop
   * between two requests, leaving the rest to {@link #continueLater}. Xen preempts a vCPU at
   * the next scheduling point whatever it runs; a Java service stops at the next request. False
   * when the work is not run by the scheduler (a drain before a domain ends, tests serving by
   * hand): then it all runs at once.
   */
  public boolean preemptionDue(long spent) {
    return work.preemptionDue(spent);
  }

  /**
   * The handler that runs stops at a preemption; {@code rest} (what it has not done, returning
   * its modelled cycles) runs first in this domain's next slice, contained as a handler is.
   */
  public void continueLater(ServiceWork.Item rest) {
    work.resumeLater(now -> contain(() -> rest.run(now)));
  }

  /** Events on this domain's ports that nobody listens to. */
  public long droppedEvents() {
    return droppedEvents;
  }

  /** Handlers that threw (contained: the request is dropped, the service keeps running). */
  public long handlerFailures() {
    return handlerFailures;
  }

  public String lastHandlerFailure() {
    return lastHandlerFailure;
  }

  public boolean hasWork() {
    return work.hasWork();
  }

  /** Operations refused for lack of privilege, and the last refusal's message. */
  public long refusals() {
    return refusals;
  }

  public String lastRefusal() {
    return lastRefusal;
  }

  private String who() {
    return "domain " + domain.domid() + " (" + domain.name() + ", " + privilege.describe() + ")";
  }

  private NotPermittedException refuse(String what, int domid, String xsm) {
    refusals++;
    lastRefusal = who() + " may not " + what + " of domain " + domid + " (" + xsm + ")";
    return new NotPermittedException(lastRefusal);
  }

  /** XSM_TARGET on {@code domid} for {@code what}, or a counted refusal. */
  private void checkTarget(int domid, String what) {
    if (!privilege.mayActOn(domain.domid(), domid)) {
      throw refuse(what, domid, "XSM_TARGET");
    }
  }

  private Domain guest(int domid) {
    Domain d = hv.domain(domid);
    if (d == null || d.state().isFinal()) {
      throw new IllegalArgumentException("no live domain " + domid);
    }
    return d;
  }

  /**
   * The domain whose memory {@code domid} names, for a foreign mapping: a live one, or one that
   * shut down or crashed and was not destroyed yet, which keeps its memory until then as in
   * Xen (a device model may still read it, e.g. for a core dump).
   */
  private Domain memoryOf(int domid) {
    Domain d = hv.domain(domid);
    if (d == null || d.killed() || d.state() == DomainState.DYING) {
      throw new IllegalArgumentException("no live domain " + domid);
    }
    return d;
  }

  /**
   * True while a foreign mapping may be used: its mapper is alive, and its reference keeps the
   * frame the owner's (one that shut down keeps its memory until destroyed; a destroyed
   * owner's mapped frames stay its own until the last unmap).
   */
  boolean foreignLive(Domain owner) {
    return !domain.state().isFinal();
  }

  /**
   * Maps page {@code gfn} of domain {@code domid} (privcmd's foreign mapping; XSM_TARGET).
   * Throws NotPermittedException without the privilege, IllegalArgumentException for a missing
   * or dying domain or an unpopulated frame. As in Xen (p2m_add_foreign), the mapping holds a
   * reference on the frame until it is unmapped: the frame stays the domain's, a frame it gives
   * back is freed only then, and a destroyed domain stays dying until then.
   */
  public ForeignPage mapForeign(int domid, long gfn) {
    checkTarget(domid, "map foreign frames");
    Domain d = memoryOf(domid);
    long mfn = gfn >= 0 && gfn < d.p2m().size() ? d.p2m().lookup(gfn) : -1;
    if (mfn < 0) {
      throw new IllegalArgumentException(String.format(
          "domain %d has no frame at gfn 0x%x", domid, gfn));
    }
    foreignMaps++;
    liveForeignMaps++;
    work.charge(cost.grantMap());
    hv.foreignMapped(d, mfn);
    ForeignPage page = ForeignPage.foreign(this, d, gfn, mfn, hv.machineMemory());
    foreignPages.add(page);
    return page;
  }

  /**
   * Domain {@code domid}'s P2M change count ({@link Domain#physmapChanges()}; XSM_TARGET): a
   * device model that keeps guest memory mapped (QEMU's map cache) drops its mappings when it
   * moves, as QEMU does on Xen's IOREQ_TYPE_INVALIDATE after a decrease_reservation.
   */
  public long physmapChanges(int domid) {
    checkTarget(domid, "watch the physmap of");
    return guest(domid).physmapChanges();
  }

  void unmapped(ForeignPage page, Domain owner, long mfn) {
    foreignUnmaps++;
    liveForeignMaps--;
    foreignPages.remove(page);
    hv.foreignUnmapped(owner, mfn);
  }

  /**
   * This domain ends: every foreign mapping it still has goes, and with it the reference it held
   * (Xen tears down a dying domain's foreign P2M entries, putting each page).
   */
  public void unmapAllForeign() {
    for (ForeignPage p : new ArrayList<>(foreignPages)) {
      p.unmap();
    }
  }

  /** Foreign pages mapped so far, unmapped so far, and mapped now. */
  public long foreignMaps() {
    return foreignMaps;
  }

  public long foreignUnmaps() {
    return foreignUnmaps;
  }

  public long liveForeignMaps() {
    return liveForeignMaps;
  }

  /**
   * GNTTABOP_map_grant_ref as this domain (gntdev): maps grant {@code ref} of domain
   * {@code domid} into this domain's grant window. As on Xen, the grant entry must name this
   * domain (GTF_permit_access, domid = this domain; not GTF_readonly for a writable map): a
   * driver domain maps the grants its frontend gave it, and nobody else's. Throws
   * {@link GrantMapException} with the GNTST status when the grant table refuses.
   */
  public ForeignPage mapGrant(int domid, int ref, boolean readOnly) {
    int gfn = freeWindowFrame();
    int status = gfn < 0 ? GrantTableOp.GNTST_NO_DEVICE_SPACE
        : domain.grantTables().map((long) gfn << 12, GrantTableOp.GNTMAP_HOST_MAP
            | (readOnly ? GrantTableOp.GNTMAP_READONLY : 0), ref, domid);
    if (status < 0) {
      counters().grantErrors++;
      throw new GrantMapException(status, String.format(
          "domain %d cannot map grant %d of domain %d: GNTST %d", domain.domid(), ref, domid,
          status));
    }
    counters().grantMaps++;
    counters().grantCycles += cost.grantMap();
    work.charge(cost.grantMap());
    long mfn = domain.p2m().lookup(gfn);
    return ForeignPage.grant(this, domid, gfn, mfn, status, !readOnly, hv.machineMemory());
  }

  /**
   * GNTTABOP_copy as this domain, between grant {@code ref} of domain {@code domid} (at
   * {@code pageOff}) and the service's own buffer: into the grant if {@code toGrant} (netback's
   * receive path), out of it otherwise (its transmit path). Counted and charged like a guest's
   * copy. Returns the GNTST status; a refused copy changes nothing.
   */
  public int copyGrant(int domid, int ref, int pageOff, byte[] buf, int bufOff, int len,
      boolean toGrant) {
    int status = domain.grantTables().copyWithBuffer(ref, domid, pageOff, buf, bufOff, len,
        toGrant);
    Counters c = counters();
    if (status == GrantTableOp.GNTST_OKAY) {
      c.grantCopies++;
      c.grantCopyBytes += len;
      work.charge(cost.grantCopy(len));
    } else {
      c.grantErrors++;
      work.charge(cost.grantCopy(0));
    }
    return status;
  }

  private int freeWindowFrame() {
    P2m p2m = domain.p2m();
    for (int i = 0; i < GRANT_WINDOW_FRAMES; i++) {
      int gfn = (windowCursor + i) % GRANT_WINDOW_FRAMES;
      if (p2m.lookup(gfn) == P2m.INVALID && !domain.grantTables().isGrantMapped(gfn)) {
        windowCursor = gfn + 1;
        return gfn;
      }
    }
    return -1;
  }

  /** True while window frame {@code gfn} still maps {@code mfn} (not revoked). */
  boolean windowHolds(long gfn, long mfn) {
    return !domain.state().isFinal() && domain.p2m().lookup(gfn) == mfn;
  }

  void unmapGrant(long gfn, int handle) {
    if (domain.grantTables().unmap(gfn << 12, handle) == GrantTableOp.GNTST_OKAY) {
      counters().grantUnmaps++;
      counters().grantCycles += cost.grantMap();
      work.charge(cost.grantMap());
    }
  }

  /** Grant mappings this domain holds now (its maptrack handles in use). */
  public long liveGrantMaps() {
    return domain.grantTables() == null ? 0 : domain.grantTables().activeMappings();
  }

  /** HVMOP_set_param on another domain (XSM_TARGET): the toolstack's store and console params. */
  public void setHvmParam(int domid, int index, long value) {
    checkTarget(domid, "set HVM parameters");
    guest(domid).setHvmParam(index, value);
  }

  public long hvmParam(int domid, int index) {
    checkTarget(domid, "read HVM parameters");
    return guest(domid).hvmParam(index);
  }

  /**
   * EVTCHNOP_alloc_unbound with dom = {@code domid} (XSM_TARGET): a port in {@code domid} that
   * {@code remoteDomid} may bind to (how the toolstack makes the store and console ports).
   * Returns the port or a negative errno (-EPERM without the privilege).
   */
  public int allocUnboundFor(int domid, int remoteDomid) {
    if (!privilege.mayActOn(domain.domid(), domid)) {
      refuse("allocate event channels", domid, "XSM_TARGET");
      return XenErrno.EPERM.negated();
    }
    Domain d = guest(domid);
    return d.eventChannels().allocUnbound(domid, remoteDomid);
  }

  /**
   * Becomes the ioreq server of HVM domain {@code domid} (dm_op, XSM_DM_PRIV): its port and
   * MMIO accesses that the hypervisor does not emulate go to {@code server}, run in this
   * domain's vCPU time while the guest's vCPU waits.
   */
  public void serveIoreqs(int domid, IoreqServer server) {
    if (!privilege.mayServe(domid)) {
      throw refuse("serve the ioreqs", domid, "XSM_DM_PRIV");
    }
    guest(domid).setIoreqServer(server, this);
  }

  /**
   * Queues an ioreq's handling (the hypervisor's completion: the server's answer and the
   * guest's resumption) behind this domain's pending work; it runs in this domain's time.
   */
  public void submitIoreq(ServiceWork.Item completion) {
    work.submit(now -> {
      counters().ioreqs++;
      return completion.run(now);
    });
  }

  /** True if domain {@code domid} exists and has not ended. */
  public boolean isLive(int domid) {
    Domain d = hv.domain(domid);
    return d != null && d.state() != DomainState.DYING && !d.state().isFinal();
  }
}
