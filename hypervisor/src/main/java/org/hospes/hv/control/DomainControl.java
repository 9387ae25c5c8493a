package org.hospes.hv.control;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.event.EventChannels;
import org.hospes.hv.stats.Counters;

/**
 * The privileged interface dom0's services use (Xen's domctl, hvm_op on another domain and
 * foreign mappings), and dom0's own endpoint: domain 0 has event channels whose events are
 * delivered to Java services instead of a vCPU. Everything dom0 does to a guest goes through
 * here and is counted; nothing else gives dom0 a guest's memory.
 */
public final class DomainControl {
  /** dom0's id. */
  public static final int DOM0 = 0;

  /** A dom0 service's handler for events on one of dom0's ports. */
  public interface PortHandler {
    /** Handles an event on {@code port}; returns the modelled cycles spent. */
    long event(int port, long now);
  }

  private final Hypervisor hv;
  private final Domain dom0;
  private final ServicePorts ports;
  private final java.util.Map<Integer, PortHandler> handlers = new java.util.HashMap<>();
  private long droppedEvents;
  /** dom0's counters: foreign maps, events it received and sent, service cycles. */
  private final Counters counters = new Counters();
  private long foreignMaps;
  private long foreignUnmaps;
  private long liveForeignMaps;
  private long liveGrantMaps;

  public DomainControl(Hypervisor hv, Domain dom0, ServicePorts ports) {
    this.hv = hv;
    this.dom0 = dom0;
    this.ports = ports;
  }

  public Domain dom0() {
    return dom0;
  }

  /** dom0's event channels (allocUnbound, bindInterdomain, send, close as domain 0). */
  public EventChannels channels() {
    return dom0.eventChannels();
  }

  public ServicePorts ports() {
    return ports;
  }

  public Counters counters() {
    return counters;
  }

  private final java.util.List<java.util.function.IntConsumer> deathWatchers =
      new java.util.ArrayList<>();

  /**
   * Calls {@code w} with the domid of each domain that ends, after its last ring contents were
   * served and before its memory is freed (Xen tells dom0 with VIRQ_DOM_EXC; the toolstack then
   * releases the domain from xenstored and its backends).
   */
  public void onDomainDeath(java.util.function.IntConsumer w) {
    deathWatchers.add(w);
  }

  /** The hypervisor reports that {@code domid} ends. */
  public void domainEnding(int domid) {
    for (java.util.function.IntConsumer w : new java.util.ArrayList<>(deathWatchers)) {
      w.accept(domid);
    }
  }

  /** Routes events on dom0's {@code port} to {@code h}. */
  public void listen(int port, PortHandler h) {
    handlers.put(port, h);
  }

  public void unlisten(int port) {
    handlers.remove(port);
  }

  /** Runs the handlers of dom0's pending ports; returns the modelled cycles. */
  public long serve(long now) {
    long used = 0;
    int port;
    while ((port = ports.poll()) >= 0) {
      counters.eventUpcalls++;
      PortHandler h = handlers.get(port);
      if (h == null) {
        droppedEvents++;
        continue;
      }
      used += h.event(port, now + used);
    }
    counters.cycles += used;
    return used;
  }

  /** Events on dom0 ports nobody listens to. */
  public long droppedEvents() {
    return droppedEvents;
  }

  public boolean hasWork() {
    return ports.hasEvents();
  }

  private Domain guest(int domid) {
    Domain d = hv.domain(domid);
    if (d == null || d.state().isFinal()) {
      throw new IllegalArgumentException("no live domain " + domid);
    }
    return d;
  }

  boolean ownerAlive(int domid) {
    Domain d = hv.domain(domid);
    return d != null && !d.state().isFinal();
  }

  /**
   * Maps page {@code gfn} of domain {@code domid} into dom0 (privcmd's foreign mapping).
   * Throws IllegalArgumentException for a missing domain or an unpopulated frame.
   */
  public ForeignPage mapForeign(int domid, long gfn) {
    Domain d = guest(domid);
    long mfn = gfn >= 0 && gfn < d.p2m().size() ? d.p2m().lookup(gfn) : -1;
    if (mfn < 0) {
      throw new IllegalArgumentException(String.format(
          "domain %d has no frame at gfn 0x%x", domid, gfn));
    }
    foreignMaps++;
    liveForeignMaps++;
    return new ForeignPage(this, domid, gfn, mfn, hv.machineMemory());
  }

  void unmapped() {
    foreignUnmaps++;
    liveForeignMaps--;
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

  /** A grant map or copy dom0 asked for failed; {@link #status} is the GNTST_* code. */
  public static final class GrantException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    GrantException(int status, int domid, int ref) {
      super("grant " + ref + " of domain " + domid + ": GNTST " + status, null, false, false);
      this.status = status;
    }

    public int status() {
      return status;
    }
  }

  /**
   * GNTTABOP_map_grant_ref as domain 0: maps grant {@code ref} of domain {@code domid}, which
   * must be a GTF_permit_access entry naming dom0 (and not GTF_readonly unless {@code readonly}).
   * The entry stays pinned until the page is unmapped. Counted in dom0's grant maps and charged
   * the cost model's grant map. Throws {@link GrantException} with the status Xen would give.
   */
  public ForeignPage mapGrant(int domid, int ref, boolean readonly) {
    counters.grantMaps++;
    counters.grantCycles += hv.costModel().grantMap();
    Domain d = hv.domain(domid);
    org.hospes.hv.grant.GrantTables t = d == null || d.state().isFinal() ? null : d.grantTables();
    if (t == null) {
      counters.grantErrors++;
      throw new GrantException(org.hospes.abi.GrantTableOp.GNTST_BAD_DOMAIN, domid, ref);
    }
    long mfn = t.pinForService(ref, dom0.domid(), !readonly);
    if (mfn < 0) {
      counters.grantErrors++;
      throw new GrantException((int) mfn, domid, ref);
    }
    liveGrantMaps++;
    return new ForeignPage(this, domid, -1, mfn, hv.machineMemory(), ref, readonly, t);
  }

  void grantUnmapped() {
    counters.grantUnmaps++;
    liveGrantMaps--;
  }

  /** Grant mappings dom0 holds now. */
  public long liveGrantMaps() {
    return liveGrantMaps;
  }

  /** HVMOP_set_param on another domain (the toolstack's store and console parameters). */
  public void setHvmParam(int domid, int index, long value) {
    guest(domid).setHvmParam(index, value);
  }

  public long hvmParam(int domid, int index) {
    return guest(domid).hvmParam(index);
  }

  /**
   * EVTCHNOP_alloc_unbound with dom = {@code domid}: a privileged domain allocates a port in a
   * guest that {@code remoteDomid} may bind to (how the toolstack makes the store and console
   * ports). Returns the port or a negative errno.
   */
  public int allocUnboundFor(int domid, int remoteDomid) {
    Domain d = guest(domid);
    return d.eventChannels().allocUnbound(domid, remoteDomid);
  }

  /** True if domain {@code domid} exists and has not ended. */
  public boolean isLive(int domid) {
    Domain d = hv.domain(domid);
    return d != null && d.state() != DomainState.DYING && !d.state().isFinal();
  }
}
