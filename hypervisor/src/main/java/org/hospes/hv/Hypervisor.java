package org.hospes.hv;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.control.Privilege;
import org.hospes.hv.control.ServicePorts;
import org.hospes.hv.control.ServiceWork;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.domain.Domains;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.abi.GrantTableOp;
import org.hospes.hv.event.EventChannels;
import org.hospes.hv.hypercall.GuestAccess;
import org.hospes.hv.time.Runstate;
import org.hospes.hv.grant.GrantTables;
import org.hospes.hv.hvm.HvmExitHandler;
import org.hospes.hv.hvm.HvmPlatform;
import org.hospes.hv.hvm.ShadowControl;
import org.hospes.hv.hvm.ShadowRealMode;
import org.hospes.hv.memory.ForeignRefs;
import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.memory.MachineMemoryLimit;
import org.hospes.hv.memory.OutOfMachineMemory;
import org.hospes.hv.memory.P2m;
import org.hospes.hv.time.PvTime;
import org.hospes.hv.sched.PhysicalCpu;
import org.hospes.hv.sched.Scheduler;
import org.hospes.hv.stats.Counters;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.MemoryBus;

/**
 * The hypervisor: owner of machine memory, creator and scheduler of domains, handler of their VM
 * exits. It runs vCPUs on one or more physical CPUs ({@link #setPcpus}) in virtual time: the
 * scheduler picks a vCPU for a pCPU, the vCPU runs until its timeslice is used or it blocks, and
 * the modelled cycles of what it did (instructions, exits, walks, I/O requests) advance that
 * pCPU's clock. Runs are deterministic.
 *
 * <p>With several pCPUs each has its own clock, and they advance in lockstep: the pCPU furthest
 * behind always runs next (the lowest-numbered on a tie), for at most {@link #PCPU_QUANTUM}
 * cycles and never across a multiple of it, so every pCPU reaches each multiple of the quantum
 * before any passes it, and what one pCPU does is seen by another at most a quantum off in
 * virtual time. A vCPU's TSC and timers follow the clock of the pCPU it runs on. An idle pCPU's
 * clock stands still until a vCPU is woken (it then looks for work, stealing from its peers'
 * queues through the scheduler) or the scheduler names a time.
 *
 * <p>Domain 0 exists from the start: a service domain whose one vCPU runs dom0's Java services
 * (xenstored, backends, device models) when the scheduler picks it, with a weight and a cap like
 * any domain. Driver domains ({@link #createDriverDomain}) are service domains too. A guest vCPU
 * whose port or MMIO access goes to a device model waits, blocked, until the serving domain has
 * run that ioreq.
 */
public final class Hypervisor {
  /** Cycles per virtual second: a nominal 1 GHz physical CPU. */
  public static final long HZ = 1_000_000_000L;
  /**
   * With several physical CPUs: the longest a pCPU runs before the others catch up (100 µs of
   * virtual time), so spinning on a flag another pCPU sets costs at most about this much.
   */
  public static final long PCPU_QUANTUM = 100_000L;
  /** Most physical CPUs. */
  public static final int MAX_PCPUS = 64;

  private final MemoryBus machine;
  private final FrameTable frames;
  private final Scheduler scheduler;
  private final CostModel cost;
  private final Map<Integer, Domain> domains = new TreeMap<>();
  private final Map<Integer, HvmPlatform> platforms = new TreeMap<>();
  private final HvmExitHandler exits;
  /**
   * Xen's domid rover (do_domctl, XEN_DOMCTL_createdomain without a domid): a new domain gets
   * the first free id after the last one handed out, wrapping below DOMID_FIRST_RESERVED. An id
   * is free when no domain holds it, a dying one included.
   */
  private int domidRover;
  /** DOMID_FIRST_RESERVED (public/xen.h): ids from here up are special (DOMID_SELF, ...). */
  static final int DOMID_FIRST_RESERVED = 0x7FF0;
  /** dom0's privileged interface. */
  private final DomainControl control;
  /** Service domains by domid (dom0 and driver domains). */
  private final Map<Integer, DomainControl> services = new TreeMap<>();
  private long now;
  private long idleCycles;
  private PhysicalCpu[] pcpus = {new PhysicalCpu(0)};
  /** True once a step ran: the number of pCPUs is fixed from then on. */
  private boolean started;
  /** Page types and counts of every machine frame, once a PV domain exists. */
  private org.hospes.hv.pv.PageInfo pvPageInfo;
  /** The machine-to-physical table PV guests read, once a PV domain exists. */
  private org.hospes.hv.pv.MachToPhys m2p;
  private org.hospes.hv.hypercall.Hypercalls pvHypercalls;
  private org.hospes.hv.pv.PvExits pvExits;
  /** Xen's hvm_fep: HVM vCPUs created from now on honour the forced-emulation prefix. */
  private boolean forcedEmulation;
  /** Virtual time inside the slice being run (exit handlers see it as the present). */
  private long runNow;
  /** The guest vCPU whose slice is being run, or null. */
  private Vcpu running;
  /** Per pCPU: the run it has under way, which a step cut short and the next one goes on with. */
  private Run[] runs = {new Run()};

  /**
   * One vCPU's run on one pCPU, from the scheduler's decision to the end of its slice (or its
   * block, yield, or end). A step that the caller's budget ends in the middle of it leaves it
   * under way, and the next step goes on with it with no new decision, no accounting and no
   * new VM entry: the same slice end and timer deadline (absolute times fixed at the decision),
   * now() the decision's time as for a run no one cut, the processor stopped at a block
   * boundary ({@link Cpu#run(long, long)}). So the schedule does not depend on how a caller
   * slices time. What the caller makes pending for its vCPU between two steps (an interrupt,
   * an event) kicks it as Xen's vcpu_kick does: it is taken at the boundary the cut stopped at.
   */
  private static final class Run {
    /** The vCPU, or null when no run is under way. */
    Vcpu vcpu;
    /** The decision's time: now() while the run goes on. */
    long start;
    /** The slice given at the decision, in cycles from {@link #start}. */
    long slice;
    /** Cycles used so far. */
    long used;
    /** Its processor stopped at a block boundary (not an exit): it goes on without a VM entry. */
    boolean inGuest;
    /** The processor's busy cycles at which the entry under way ends its slice. */
    long cpuLimit;
    /** The present the exit handlers last saw ({@code runNow}), given back when it goes on. */
    long present;
    /** Its vCPU's runstate was made RUNNING (at the first step of the run). */
    boolean begun;
    /**
     * Stopped in the guest ({@link #inGuest}), its vCPU already had something pending that a
     * kick is for ({@link Hypervisor#wantsKick(Vcpu, HvmPlatform)}): only an event that comes
     * after the cut kicks it.
     */
    boolean pendingAtCut;

    void begin(Vcpu v, long at, long cycles) {
      vcpu = v;
      start = at;
      slice = Math.max(cycles, 1);
      used = 0;
      inGuest = false;
      present = at;
      begun = false;
    }

    boolean active() {
      return vcpu != null;
    }

    /**
     * True when it cannot go on: its slice is used (or was cut short by a preemption), or its
     * vCPU or domain stopped while no step ran (blocked, paused, destroyed from outside).
     */
    boolean over() {
      return used >= slice || vcpu.state() != VcpuState.RUNNABLE
          || vcpu.domain().state() != DomainState.RUNNING;
    }
  }

  /**
   * @param machineMiB machine memory; the first MiB is kept by the hypervisor
   */
  public Hypervisor(int machineMiB, Scheduler scheduler, CostModel cost) {
    int max = MachineMemoryLimit.maxMiB();
    Preconditions.checkArgument(machineMiB >= MachineMemoryLimit.MIN_MIB
        && machineMiB <= max, "machine memory must be %s..%s MiB (the limit is %s), got %s",
        MachineMemoryLimit.MIN_MIB, max,
        MachineMemoryLimit.source(), machineMiB);
    // Backed on first touch: only the frames domains write take heap.
    this.machine = new MemoryBus((long) machineMiB << 20);
    this.frames = new FrameTable((long) machineMiB << 20, 1 << 20);
    this.scheduler = scheduler;
    this.cost = cost;
    this.exits = new HvmExitHandler(this, cost);
    this.control = createService(DomainControl.DOM0, "Domain-0", Privilege.CONTROL);
  }

  /**
   * Offers Xen's HVM forced-emulation prefix ({@code ud2; .ascii "xen"}) to every domain that
   * runs in VMX non-root operation (hvm, hvm-shadow, pvhvm, pvh), those that exist and those
   * created later, as Xen's {@code hvm_fep} boot option does: a testing aid that lets a guest
   * run an instruction through the hypervisor's path ({@link
   * org.hospes.hv.hvm.ForcedEmulation}). Off by default, as on Xen. It cannot be taken back.
   */
  public void enableForcedEmulation() {
    forcedEmulation = true;
    for (Domain d : domains()) {
      for (Vcpu v : d.vcpus()) {
        if (v.vmcs() != null && d.mode() != org.hospes.hv.domain.DomainMode.PV) {
          org.hospes.hv.hvm.ForcedEmulation.intercept(v.vmcs());
        }
      }
    }
  }

  public boolean forcedEmulation() {
    return forcedEmulation;
  }

  public MemoryBus machineMemory() {
    return machine;
  }

  public FrameTable frames() {
    return frames;
  }

  public Scheduler scheduler() {
    return scheduler;
  }

  /**
   * Gives the hypervisor {@code n} physical CPUs (1..{@value #MAX_PCPUS}; 1 by default), before
   * it first runs. IllegalArgumentException if the scheduler cannot place vCPUs on that many
   * (its message says why).
   */
  public void setPcpus(int n) {
    Preconditions.checkArgument(n >= 1 && n <= MAX_PCPUS,
        "physical CPUs must be 1..%s, got %s", MAX_PCPUS, n);
    Preconditions.checkState(!started, "physical CPUs are set before the hypervisor runs");
    scheduler.setPcpus(n);
    PhysicalCpu[] fresh = new PhysicalCpu[n];
    Run[] freshRuns = new Run[n];
    for (int i = 0; i < n; i++) {
      fresh[i] = new PhysicalCpu(i);
      fresh[i].setClock(now);
      freshRuns[i] = new Run();
    }
    pcpus = fresh;
    runs = freshRuns;
  }

  /** The number of physical CPUs. */
  public int pcpuCount() {
    return pcpus.length;
  }

  /** Physical CPU {@code i}: its busy and idle cycles and migrations (for reports). */
  public PhysicalCpu pcpu(int i) {
    return pcpus[i];
  }

  public CostModel costModel() {
    return cost;
  }

  /**
   * dom0's privileged interface: domain 0's event channels (served by Java services in dom0's
   * vCPU time), foreign and grant mappings, ioreq service, parameters of other domains.
   */
  public DomainControl control() {
    return control;
  }

  /** Always true: domain 0 exists from the start. */
  public boolean hasControl() {
    return true;
  }

  /** The handles of the service domains (dom0 first, then driver domains by domid). */
  public List<DomainControl> serviceDomains() {
    return List.copyOf(services.values());
  }

  /** The handle of service domain {@code domid}, or null. */
  public DomainControl service(int domid) {
    return services.get(domid);
  }

  /**
   * Creates a driver domain: a service domain other than 0 whose Java services (a backend) run
   * in its own vCPU's time, privileged over domain {@code target} alone (Xen's
   * {@code XEN_DOMCTL_set_target}). Returns the handle its services act through.
   */
  public DomainControl createDriverDomain(String name, int target) {
    Preconditions.checkArgument(domains.get(target) != null && target != DomainControl.DOM0,
        "a driver domain's target must be an existing guest domain, got %s", target);
    return createServiceDomain(name, Privilege.over(target));
  }

  /** Creates a service domain with {@code privilege} (Privilege.NONE: none at all). */
  public DomainControl createServiceDomain(String name, Privilege privilege) {
    Preconditions.checkArgument(!privilege.isControl(), "there is one control domain: dom0");
    return createService(allocateDomid(), name, privilege);
  }

  /** The next free domid after the rover's; IllegalStateException when every one is taken. */
  private int allocateDomid() {
    for (int tries = 1; tries < DOMID_FIRST_RESERVED; tries++) {
      int id = domidRover + 1 >= DOMID_FIRST_RESERVED ? 1 : domidRover + 1;
      domidRover = id;
      if (!domains.containsKey(id)) {
        return id;
      }
    }
    throw new IllegalStateException("no free domain id: " + (DOMID_FIRST_RESERVED - 1)
        + " domains exist");
  }

  /**
   * Sets the domid rover, as if {@code domid} was the last id handed out: tests of the wrap
   * without creating thirty thousand domains.
   */
  void setDomidRover(int domid) {
    domidRover = domid;
  }

  private DomainControl createService(int domid, String name, Privilege privilege) {
    DomainControl[] self = new DomainControl[1];
    Vcpu[] vcpu = new Vcpu[1];
    ServiceWork work = new ServiceWork(() -> wake(vcpu[0]), t -> runNow = t);
    ServicePorts ports = new ServicePorts(port -> self[0].portPending(port));
    Domain d = Domains.createService(this, domid, name, ports, work,
        DomainControl.GRANT_WINDOW_FRAMES);
    vcpu[0] = d.vcpus().get(0);
    d.setGrantTables(new GrantTables(d, grantDirectory, machine,
        GrantTableOp.DEFAULT_MAX_FRAMES));
    domains.put(domid, d);
    self[0] = new DomainControl(this, d, privilege, work, ports);
    services.put(domid, self[0]);
    // Blocked from the start, so the first event wakes it with a boost, as any later one.
    scheduler.sleep(vcpu[0], now);
    return self[0];
  }

  /**
   * Virtual time in cycles: inside a step, the clock of the pCPU running it; between steps with
   * several pCPUs, the global time: the clock of the pCPU furthest behind, or the end of the
   * caller's last budget when a run under way, already past it, held the pCPUs behind it back
   * (they may act only after that run). It never goes back.
   */
  public long now() {
    return now;
  }

  /** Idle cycles of all physical CPUs together, up to now. */
  public long idleCycles() {
    if (pcpus.length == 1) {
      return idleCycles;
    }
    long n = 0;
    for (PhysicalCpu p : pcpus) {
      n += p.idleCycles(now);
    }
    return n;
  }

  public List<Domain> domains() {
    return Collections.unmodifiableList(new ArrayList<>(domains.values()));
  }

  public Domain domain(int domid) {
    return domains.get(domid);
  }

  public HvmPlatform platform(Domain d) {
    return platforms.get(d.domid());
  }

  /**
   * Creates a paused HVM domain with {@code memoryMiB} of RAM at guest-physical 0 and one vCPU
   * in flat 32-bit protected mode. Throws IllegalStateException when machine memory runs out.
   */
  public Domain createHvmDomain(String name, DomainMode mode, int memoryMiB) {
    return createHvmDomain(name, mode, memoryMiB, 1);
  }

  /**
   * As {@link #createHvmDomain(String, DomainMode, int)} with {@code vcpus} vCPUs: vCPU 0 starts
   * at the kernel's entry, the others wait for INIT and a start-up IPI from its local APIC, as
   * the application processors of a PC do ({@link org.hospes.hv.hvm.ApicBus}).
   */
  public Domain createHvmDomain(String name, DomainMode mode, int memoryMiB, int vcpus) {
    Preconditions.checkArgument(memoryMiB >= 1 && memoryMiB <= 1024,
        "domain memory must be 1..1024 MiB, got %s", memoryMiB);
    Preconditions.checkArgument(vcpus >= 1 && vcpus <= Domains.MAX_VCPUS,
        "vCPUs must be 1..%s, got %s", Domains.MAX_VCPUS, vcpus);
    int domid = allocateDomid();
    Domain d = Domains.createHvm(this, domid, name, mode, memoryMiB, vcpus);
    return register(d);
  }

  /**
   * A new domain into the hypervisor's tables, with its platform, first grant frame and PV
   * time; a failure on the way abandons it ({@link #abandon}).
   */
  private Domain register(Domain d) {
    try {
      domains.put(d.domid(), d);
      HvmPlatform platform = new HvmPlatform(this, d);
      platforms.put(d.domid(), platform);
      d.setGrantTables(firstGrantFrame(d));
      d.setPvTime(new PvTime(d, machine, platform.timers()));
      return d;
    } catch (RuntimeException | Error e) {
      abandon(d);
      throw e;
    }
  }

  /**
   * The grant table of a new domain with one frame to begin with, as Xen: the toolstack fills
   * entries 0 (console) and 1 (xenstore). OutOfMachineMemory when there is no frame for it.
   */
  private GrantTables firstGrantFrame(Domain d) {
    GrantTables grants = new GrantTables(d, grantDirectory, machine,
        GrantTableOp.DEFAULT_MAX_FRAMES);
    if (!grants.grow(1)) {
      throw new OutOfMachineMemory("out of machine memory for domain " + d.domid()
          + "'s grant table");
    }
    return grants;
  }

  /**
   * A domain whose creation failed part way: it leaves the hypervisor's tables and gives back
   * every frame it took ({@link Domains#discard}), before anyone was given it.
   */
  private void abandon(Domain d) {
    domains.remove(d.domid());
    platforms.remove(d.domid());
    Domains.discard(this, d.domid(), d, d.ept(), d.shadow(),
        d.mode() == org.hospes.hv.domain.DomainMode.PV ? m2p : null);
  }

  /**
   * Creates a paused classic PV domain (DomainMode.PV) with {@code memoryMiB} of
   * pseudo-physical memory; a domain builder loads the kernel and its page tables and then
   * {@link org.hospes.hv.pv.PvVcpu#boot boots} the vCPU. Throws IllegalStateException when
   * machine memory runs out.
   */
  public Domain createPvDomain(String name, int memoryMiB) {
    Preconditions.checkArgument(memoryMiB >= 1 && memoryMiB <= 1024,
        "domain memory must be 1..1024 MiB, got %s", memoryMiB);
    if (m2p == null) {
      // The table first: it is taken whole or not at all, and nothing is set up without it,
      // so that the next PV domain tries again on a machine with more room.
      org.hospes.hv.pv.MachToPhys table = new org.hospes.hv.pv.MachToPhys(machine, frames);
      pvPageInfo = new org.hospes.hv.pv.PageInfo(frames.frames());
      m2p = table;
      pvHypercalls = new org.hospes.hv.hypercall.Hypercalls(this, cost);
      pvExits = new org.hospes.hv.pv.PvExits(pvHypercalls::handlePv,
          (v, reason) -> crash(v.domain(), reason), cost);
    }
    int domid = allocateDomid();
    Domain d = Domains.createPv(this, domid, name, memoryMiB, pvPageInfo, m2p);
    return register(d);
  }

  /** Page types and counts of machine frames (null until a PV domain was created). */
  public org.hospes.hv.pv.PageInfo pvPageInfo() {
    return pvPageInfo;
  }

  /** The machine-to-physical table (null until a PV domain was created). */
  public org.hospes.hv.pv.MachToPhys machToPhys() {
    return m2p;
  }

  /** Lets a created or paused domain run. */
  public void unpause(Domain d) {
    if (d.state() == DomainState.CREATED || d.state() == DomainState.PAUSED) {
      d.setState(DomainState.RUNNING);
      for (Vcpu v : d.vcpus()) {
        if (v.state() != VcpuState.BLOCKED && v.state() != VcpuState.OFFLINE) {
          v.setState(VcpuState.RUNNABLE);
          // vcpu_wake: offline (paused) or blocked becomes runnable once vcpu_runnable holds.
          setRunstate(v, Runstate.RUNNABLE, Math.max(now, runNow));
          scheduler.wake(v, now);
          kickFor(v, now);
        }
      }
    }
  }

  /** Most toolstack pauses a domain may hold at once (Xen's limit against overflow). */
  public static final int MAX_CONTROLLER_PAUSES = 255;

  /**
   * XEN_DOMCTL_pausedomain (domain_pause_by_systemcontroller): the toolstack's pauses are
   * counted, so every pause needs its own unpause before the domain runs again. Returns 0, or
   * -EOVERFLOW when {@link #MAX_CONTROLLER_PAUSES} are held already.
   */
  public int pauseByController(Domain d) {
    if (d.controllerPauses() >= MAX_CONTROLLER_PAUSES) {
      return org.hospes.abi.XenErrno.EOVERFLOW.negated();
    }
    d.setControllerPauses(d.controllerPauses() + 1);
    pause(d);
    return 0;
  }

  /**
   * XEN_DOMCTL_unpausedomain (domain_unpause_by_systemcontroller): undoes one pause, and the
   * domain runs once none is left (a domain still being built, {@link DomainState#CREATED},
   * holds its creation pause: unpausing it then starts it, as the toolstack's first unpause
   * does in Xen). Returns 0, or -EINVAL when nothing is left to undo: a running domain.
   */
  public int unpauseByController(Domain d) {
    if (d.controllerPauses() > 0) {
      d.setControllerPauses(d.controllerPauses() - 1);
      if (d.controllerPauses() == 0 && d.state() == DomainState.PAUSED) {
        unpause(d);
      }
      return 0;
    }
    if (d.state() != DomainState.CREATED) {
      return org.hospes.abi.XenErrno.EINVAL.negated();
    }
    unpause(d);
    return 0;
  }

  public void pause(Domain d) {
    if (d.state() == DomainState.RUNNING) {
      d.setState(DomainState.PAUSED);
      for (Vcpu v : d.vcpus()) {
        scheduler.sleep(v, now);
        // vcpu_sleep_nosync: a runnable vCPU that may no longer run is RUNSTATE_offline, as
        // a guest's runstate info and the statistics see it; a blocked one stays blocked. One
        // whose run a step left under way (RUNNING) ends that run without going on, so it is
        // offline now, as domain_pause's vcpu_sleep_sync returns once it is descheduled; the
        // one executing this very moment becomes offline when its slice ends (readyRunstate).
        int rs = v.runstate().state();
        if (rs == Runstate.RUNNABLE || rs == Runstate.RUNNING && v != running) {
          setRunstate(v, Runstate.OFFLINE, Math.max(now, runNow));
        }
      }
    }
  }

  /**
   * Stops a domain for good and gives its memory back (xl destroy: domain_kill). The domain
   * then leaves every list and lookup ({@link #domains}, {@link #domain}) as an unknown domid
   * would, unless another domain still has some of its frames grant-mapped or foreign-mapped:
   * it stays, with its domid taken, until the last of those is unmapped (Xen keeps a dying
   * domain until its last page reference goes). A live domain becomes DYING; one that shut
   * down or crashed kept its memory until now, as in Xen, and keeps its state (what it ended
   * with stays readable for the toolstack): its memory is released now.
   */
  public void destroy(Domain d, String reason) {
    if (!d.state().isFinal()) {
      end(d, DomainState.DYING, reason, -1);
    } else if (!d.killed()) {
      release(d);
    }
  }

  /**
   * True while destroyed domain {@code d} is still held: listed, because another domain has
   * some of its frames grant-mapped or foreign-mapped.
   */
  public boolean isHeld(Domain d) {
    return d.killed() && domains.get(d.domid()) == d;
  }

  /** The end of a domain: gone from the hypervisor's tables, its domid free again. */
  private void forget(Domain d) {
    domains.remove(d.domid());
    platforms.remove(d.domid());
  }

  /** The domain asked to stop (isa-debug-exit, SCHEDOP_shutdown). */
  public void shutdown(Domain d, String reason, int status) {
    if (!d.state().isFinal()) {
      end(d, DomainState.SHUTDOWN, reason, status);
    }
  }

  /** The domain did something that cannot continue (triple fault, bad access): contain it. */
  public void crash(Domain d, String reason) {
    if (!d.state().isFinal()) {
      end(d, DomainState.CRASHED, reason, -1);
    }
  }

  private void end(Domain d, DomainState state, String reason, int status) {
    for (DomainControl s : services.values()) {
      if (s.domain() != d && s.hasWork() && !s.work().isRunning()) {
        // The backends take what the domain left in its rings before its memory goes.
        drain(s);
      }
    }
    for (DomainControl s : new ArrayList<>(services.values())) {
      if (s.domain() != d) {
        s.domainEnding(d.domid());
      }
    }
    DomainControl service = services.remove(d.domid());
    if (service != null) {
      service.work().clear();
      // Its foreign mappings go with it (its P2M's foreign entries are torn down in Xen),
      // and with them the references they held on other domains' frames.
      service.unmapAllForeign();
    }
    for (Vcpu v : d.vcpus()) {
      scheduler.sleep(v, now);
      scheduler.removeVcpu(v);
      // Its processor never runs again: machine memory stops telling it about frames. (A
      // service domain's vCPU runs Java services and has none.)
      if (v.cpu() != null) {
        v.cpu().detach();
      }
    }
    d.end(state, reason, status);
    if (d.eventChannels() != null) {
      d.eventChannels().closeAll();
    }
    if (state == DomainState.DYING) {
      release(d);
    } else if (d.shadow() != null) {
      // Its processor never runs again: the shadow tables (the hypervisor's, not its memory)
      // go now, as before.
      d.shadow().destroy();
    }
    // A domain that shut down or crashed keeps its memory until the toolstack destroys it, as
    // Xen keeps it until domain_kill: its frames stay its own, so the mappings dom0 and other
    // domains hold of them stay valid (a device model may still read it, for a core dump),
    // and nothing of it can reach another domain meanwhile.
  }

  /**
   * domain_kill's part: the domain's memory goes back. Its own grant mappings go; the frames
   * other domains still have grant-mapped or foreign-mapped stay its own (each mapping holds a
   * page reference) until the last unmap, and the domain stays listed until then; the rest
   * go back to the free pool and their storage to the heap, so a host that starts and
   * destroys domains for long keeps only what its live domains touched.
   */
  private void release(Domain d) {
    d.markKilled();
    java.util.Set<Long> held = new java.util.TreeSet<>();
    if (d.grantTables() != null) {
      // Xen: gnttab_release_mappings drops the domain's own mappings; the frames other
      // domains have mapped keep it until they unmap them.
      held.addAll(d.grantTables().releaseForDestroy());
    }
    // A foreign mapping holds a page reference as a grant mapping does.
    held.addAll(d.foreignRefs().frames());
    if (d.pv() != null) {
      // domain_relinquish_resources: every pin, base pointer and GDT frame is dropped, so
      // no frame leaves with a type or a reference.
      d.pv().relinquish(frames);
    }
    frames.freeAllBut(d.domid(), held, machine::release);
    if (d.ept() != null) {
      for (long mfn : d.ept().tableFrameNumbers()) {
        frames.free(mfn);
        machine.release(mfn);
      }
    }
    if (d.shadow() != null) {
      d.shadow().destroy();
    }
    if (held.isEmpty() && domains.get(d.domid()) == d) {
      forget(d);
    }
  }

  /**
   * A destroyed domain's frame that was grant-mapped by another domain is unmapped by the last
   * of them: it goes back to the free pool, and with the domain's last such frame the domain
   * is gone.
   */
  private void heldFrameReleased(Domain d, long mfn) {
    if (frames.owner(mfn) == d.domid() && !d.foreignRefs().isMapped(mfn)) {
      frames.free(mfn);
      machine.release(mfn);
    }
    forgetIfUnheld(d);
  }

  /** A dying domain that nothing holds any more leaves the lists (its last page reference). */
  private void forgetIfUnheld(Domain d) {
    boolean pinned = d.grantTables() != null && !d.grantTables().pinnedFrames().isEmpty();
    if (d.killed() && !pinned && d.foreignRefs().isEmpty()
        && domains.get(d.domid()) == d) {
      forget(d);
    }
  }

  /**
   * A service domain mapped {@code owner}'s frame {@code mfn} (privcmd): the mapping holds a
   * reference on the frame, so it stays {@code owner}'s, and a destroyed {@code owner} stays
   * dying, until {@link #foreignUnmapped} (Xen's p2m_add_foreign takes a page reference).
   */
  public void foreignMapped(Domain owner, long mfn) {
    owner.foreignRefs().take(mfn);
  }

  /**
   * A foreign mapping of {@code owner}'s frame {@code mfn} went. With the last one, a frame
   * {@code owner} gave back while mapped, or any of a destroyed owner's, is freed; a destroyed
   * owner nothing else holds is gone.
   */
  public void foreignUnmapped(Domain owner, long mfn) {
    ForeignRefs refs = owner.foreignRefs();
    if (!refs.drop(mfn)) {
      return;
    }
    boolean givenBack = refs.takeGivenBack(mfn);
    boolean grantPinned = owner.grantTables() != null && owner.grantTables().framePinned(mfn);
    if ((givenBack || owner.killed()) && !grantPinned
        && frames.owner(mfn) == owner.domid()) {
      frames.free(mfn);
      machine.release(mfn);
    }
    forgetIfUnheld(owner);
  }

  /**
   * Domain {@code d} gives back its frame {@code mfn}, already out of its P2M
   * (decrease_reservation): the frame is freed now, or by the last unmap of a foreign mapping
   * that still holds it (Xen's guest_remove_page drops the allocation reference; the mapping's
   * own reference keeps the page until it goes).
   */
  public void giveBack(Domain d, long mfn) {
    if (d.foreignRefs().isMapped(mfn)) {
      d.foreignRefs().givenBack(mfn);
      return;
    }
    frames.free(mfn);
    machine.release(mfn);
  }

  /**
   * Runs a service domain's pending work at once, outside its turn (before a domain ends): the
   * cycles are its run time in its counters and runstate and advance the clock; its credit is
   * not charged.
   */
  private void drain(DomainControl s) {
    Vcpu sv = s.domain().vcpus().get(0);
    setRunstate(sv, Runstate.RUNNING, now);
    long used = s.serve(now);
    now += used;
    serviceIdle(sv, now);
  }

  /** After a service vCPU ran: it blocks when its work is done, else stays runnable. */
  private void serviceIdle(Vcpu sv, long at) {
    if (sv.service().hasWork()) {
      setRunstate(sv, Runstate.RUNNABLE, at);
    } else if (sv.state() == VcpuState.RUNNABLE) {
      sv.setState(VcpuState.BLOCKED);
      setRunstate(sv, Runstate.BLOCKED, at);
      scheduler.sleep(sv, now);
    }
  }

  /** True while some guest domain can still run (service domains only serve guests). */
  public boolean hasLiveDomains() {
    for (Domain d : domains.values()) {
      if (d.isService()) {
        continue;
      }
      if (d.state() == DomainState.RUNNING || d.state() == DomainState.CREATED
          || d.state() == DomainState.PAUSED || d.state() == DomainState.BLOCKED) {
        return true;
      }
    }
    return false;
  }

  /**
   * Runs until no domain can run any more or {@code maxCycles} of virtual time have passed.
   * Returns the cycles that passed.
   */
  public long run(long maxCycles) {
    long start = now;
    while (now - start < maxCycles) {
      if (!step(maxCycles - (now - start))) {
        break;
      }
    }
    return now - start;
  }

  /**
   * Runs for up to {@code budget} cycles of virtual time: one scheduling decision, whose vCPU
   * runs up to its timeslice, or time passing to the next timer when every vCPU is blocked.
   * A run that the budget ends before its slice does is not a decision: it stays under way,
   * and the next step goes on with it (see {@link Run}), so where a caller cuts time changes
   * nothing in the schedule. Returns false when nothing can ever run again.
   */
  public boolean step(long budget) {
    started = true;
    if (pcpus.length > 1) {
      long caller = now;
      boolean more = stepPcpus(budget);
      // The caller's present never goes back, even when it passed a pCPU that a run under way
      // holds back (stepPcpus).
      now = Math.max(now, caller);
      // What the caller raises before the next step (an interrupt, an event, a toolstack
      // task) happens at the global time, not at the present a run left behind: a cut run's
      // pCPU may be ahead of the others, and where it stopped depends on the cut. A run that
      // goes on gets its own present back (goOn); a vCPU whose run is under way takes the
      // event at the boundary it stopped at, its clock not moved back.
      runNow = now;
      return more;
    }
    Run r = runs[0];
    if (r.active()) {
      boolean over = r.over();
      goOn(r, pcpus[0], until(budget));
      if (!over) {
        return true;
      }
      // It was preempted or stopped while no step ran: it ended without running, and this
      // step decides what runs now.
    }
    for (HvmPlatform p : platforms.values()) {
      p.fireTimers(now);
    }
    Vcpu v = scheduler.pickNext(now);
    if (v == null) {
      long next = nextTimerDeadline();
      if (!anyBlockedVcpu()) {
        // Timers can only matter by waking a blocked vCPU.
        next = Long.MAX_VALUE;
      }
      // A scheduler may hold runnable vCPUs back for a while (a capped domain, parked).
      next = Math.min(next, scheduler.nextEvent(now));
      if (next == Long.MAX_VALUE) {
        return false;
      }
      long idle = Math.min(Math.max(next - now, 1), budget);
      now += idle;
      idleCycles += idle;
      pcpus[0].addIdle(idle);
      return true;
    }
    // The slice is the scheduler's and the next timer's, not the caller's: the budget only
    // says where this step stops.
    long slice = scheduler.timeslice(v, now);
    long deadline = nextTimerDeadline();
    if (deadline != Long.MAX_VALUE && deadline > now) {
      slice = Math.min(slice, deadline - now);
    }
    v.setLastPcpu(0);
    r.begin(v, now, slice);
    goOn(r, pcpus[0], until(budget));
    return true;
  }

  /**
   * True while a vCPU's run is under way that a step's budget ended before its slice did: the
   * next step goes on with it. With several pCPUs, also while a pCPU that such a run held back
   * has not reached {@link #now} yet. A caller that wants to stop where the scheduler decides
   * (to compare two runs, say) steps on until this is false.
   */
  public boolean runUnderWay() {
    for (Run r : runs) {
      if (r.active()) {
        return true;
      }
    }
    // With several pCPUs: one that a run under way held back while the caller's time passed
    // has not reached now() yet; it gets there at its next decision, as with no cut.
    for (PhysicalCpu p : pcpus) {
      if (pcpus.length > 1 && !p.idle() && p.clock() < now) {
        return true;
      }
    }
    return false;
  }

  /** The time {@code budget} cycles from now, at least one on (saturating). */
  private long until(long budget) {
    return budget >= Long.MAX_VALUE - now ? Long.MAX_VALUE : now + Math.max(budget, 1);
  }

  /**
   * Runs {@code r} on {@code p} until its slice ends (or its vCPU stops) or virtual time
   * reaches {@code stopAt}, whichever comes first; then accounts it, if it ended. While it runs,
   * now() is its decision's time, as for a run that no one cut; after, the time it reached
   * (one pCPU) or the global time (several).
   */
  private void goOn(Run r, PhysicalCpu p, long stopAt) {
    Vcpu v = r.vcpu;
    now = r.start;
    runNow = r.present;
    long before = r.used;
    boolean ended = v.isService() ? runService(r, stopAt) : runVcpu(r, stopAt);
    long end = r.start + r.used;
    p.addBusy(r.used - before);
    if (ended) {
      r.vcpu = null;
    } else {
      r.present = runNow;
    }
    if (pcpus.length == 1) {
      now = end;
      if (ended) {
        scheduler.account(v, r.used, now);
      }
      return;
    }
    if (ended) {
      scheduler.account(p.id(), v, r.used, end);
    }
    p.setClock(end);
    now = globalTime(r.start);
  }

  /**
   * One step with several physical CPUs: the pCPU furthest behind (an idle one at the time it
   * was woken) fires the timers due at its clock, asks the scheduler for a vCPU and runs it up
   * to its timeslice, the next timer deadline or the end of the quantum, whichever comes first;
   * or goes idle. A run that reaches {@code budget} past the global time first stays under way
   * ({@link Run}), and the next step goes on with it before any other pCPU acts. The global
   * time ({@link #now} between steps) is then the clock of the pCPU furthest behind.
   */
  private boolean stepPcpus(long budget) {
    for (PhysicalCpu c : pcpus) {
      Run r = runs[c.id()];
      if (r.active()) {
        // Before any other pCPU acts, as if the step that cut it had not ended, and no
        // further than the budget's end, as a fresh run. One that has already run to it (its
        // pCPU is ahead of the pCPUs it holds back) does not run: as when the pCPU furthest
        // behind would act only after the budget's end, the caller's time passes to it. One
        // that was preempted or stopped while no step ran ends without running, and this
        // step goes on as any other.
        boolean over = r.over();
        long stopAt = until(budget);
        if (!over && c.clock() >= stopAt) {
          now = stopAt;
          return true;
        }
        goOn(r, c, stopAt);
        if (!over) {
          return true;
        }
      }
    }
    PhysicalCpu p = null;
    long at = Long.MAX_VALUE;
    for (PhysicalCpu c : pcpus) {
      long t = c.nextAction();
      if (t < at) {
        at = t;
        p = c;
      }
    }
    long limit = until(budget);
    if (p == null) {
      // Every pCPU idles: only a timer waking a blocked vCPU brings work.
      long next = anyBlockedVcpu() ? nextTimerDeadline() : Long.MAX_VALUE;
      if (next == Long.MAX_VALUE) {
        return false;
      }
      at = Math.max(next, now + 1);
      if (at >= limit) {
        now = limit;
        return true;
      }
      // The timers fire; a vCPU they wake wakes the pCPU it last ran on (or the idlers).
      now = at;
      runNow = now;
      for (HvmPlatform hp : platforms.values()) {
        hp.fireTimers(now);
      }
      return true;
    }
    if (at >= limit) {
      // Nothing happens before the budget ends: the idle time passes.
      now = limit;
      return true;
    }
    p.wakeUp(at);
    now = p.clock();
    runNow = now;
    for (HvmPlatform hp : platforms.values()) {
      hp.fireTimers(now);
    }
    Vcpu v = scheduler.pickNext(p.id(), now);
    if (v == null) {
      long wake = scheduler.nextEvent(p.id(), now);
      p.goIdle(now, wake == Long.MAX_VALUE ? wake : Math.max(wake, now + 1));
      now = globalTime(now);
      return true;
    }
    long slice = scheduler.timeslice(p.id(), v, now);
    long boundary = (now / PCPU_QUANTUM + 1) * PCPU_QUANTUM;
    slice = Math.min(slice, boundary - now);
    long deadline = nextTimerDeadline();
    if (deadline != Long.MAX_VALUE && deadline > now) {
      slice = Math.min(slice, deadline - now);
    }
    if (v.lastPcpu() >= 0 && v.lastPcpu() != p.id()) {
      p.countMigration();
      v.counters().migrations++;
    }
    v.setLastPcpu(p.id());
    Run r = runs[p.id()];
    r.begin(v, now, slice);
    goOn(r, p, limit);
    return true;
  }

  /**
   * The global time after a step begun at {@code floor}: the next pCPU action's time, or when
   * every pCPU idles with nothing in view, the latest time any reached.
   */
  private long globalTime(long floor) {
    long min = Long.MAX_VALUE;
    long latest = floor;
    for (PhysicalCpu c : pcpus) {
      min = Math.min(min, c.nextAction());
      latest = Math.max(latest, c.clock());
    }
    return Math.max(floor, min == Long.MAX_VALUE ? latest : min);
  }

  /**
   * Runs service vCPU {@code r.vcpu} on in its slice, no further than {@code stopAt}: its pending
   * work in order, each item's modelled cycles being its run time. The caller's cut falls
   * between items; the slice's end, read again before each item and offered to items that serve
   * many requests ({@link ServiceWork#preemptionDue}), preempts it as Xen preempts any vCPU at
   * its next scheduling point, also when a wake shortens the slice while it runs (a boosted
   * vCPU woken by the very request it serves). Returns true when the run ended (its slice
   * used, or no work left).
   */
  private boolean runService(Run r, long stopAt) {
    Vcpu v = r.vcpu;
    long at = r.start + r.used;
    if (!r.begun) {
      setRunstate(v, Runstate.RUNNING, at);
      r.begun = true;
    }
    runNow = at;
    long budget = Math.min(r.slice, Math.max(stopAt - r.start, r.used + 1)) - r.used;
    // r.slice, not a copy: a wake during an item that preempts this vCPU ends the run early.
    long used = v.service().run(at, budget, () -> r.start + r.slice);
    v.counters().cycles += used;
    r.used += used;
    if (r.used < r.slice && v.service().hasWork() && v.state() == VcpuState.RUNNABLE
        && v.domain().state() == DomainState.RUNNING) {
      return false;
    }
    r.used = Math.max(r.used, 1);
    serviceIdle(v, r.start + r.used);
    return true;
  }

  private boolean anyBlockedVcpu() {
    for (Domain d : domains.values()) {
      if (d.state() == DomainState.RUNNING && !d.isService()) {
        for (Vcpu v : d.vcpus()) {
          if (v.state() == VcpuState.BLOCKED && platform(d).canWake(v)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  private long nextTimerDeadline() {
    long next = Long.MAX_VALUE;
    for (Map.Entry<Integer, HvmPlatform> e : platforms.entrySet()) {
      if (domains.get(e.getKey()).state() == DomainState.RUNNING) {
        next = Math.min(next, e.getValue().nextDeadline());
      }
    }
    return next;
  }

  /** The processor's busy cycles: what its run budget counts (instructions and charges). */
  private static long busy(Cpu cpu) {
    return cpu.instructions() + cpu.chargedCycles();
  }

  /**
   * The cycles after which the processor of {@code r}, at {@code at}, stops for the caller's
   * cut at {@code stopAt} (at least one; none when there is no cut).
   */
  private static long cutAfter(long stopAt, long at) {
    return stopAt == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(stopAt - at, 1);
  }

  /**
   * Runs {@code r}'s vCPU on in its slice, no further than {@code stopAt} (where it stops at
   * the next exit or block boundary, see {@link Run}). Returns true when the run ended: its
   * slice used, or the vCPU blocked, yielded or stopped.
   */
  private boolean runVcpu(Run r, long stopAt) {
    Vcpu v = r.vcpu;
    if (v.domain().pv() != null) {
      return runPvVcpu(r, stopAt);
    }
    Cpu cpu = v.cpu();
    Counters c = v.counters();
    HvmPlatform platform = platforms.get(v.domain().domid());
    long base = r.start;
    long used = r.used;
    ShadowRealMode realMode = v.domain().shadow() != null ? v.shadowRealMode() : null;
    if (!r.begun) {
      setRunstate(v, Runstate.RUNNING, base);
      r.begun = true;
      if (realMode != null) {
        // A new slice: Xen's schedule softirq ended any emulation loop.
        realMode.loopEnded();
      }
    } else if (realMode != null && wantsKick(v, platform)) {
      // Resumed after the caller's cut with an event for it: on Xen the kick's softirq.
      realMode.loopEnded();
    }
    running = v;
    boolean cut = false;
    // r.slice, not a copy: a wake that preempts this vCPU ends it early (tickle).
    while (used < r.slice && v.state() == VcpuState.RUNNABLE
        && v.domain().state() == DomainState.RUNNING) {
      if (!r.inGuest) {
        if (base + used >= stopAt) {
          // The caller's time ends at this exit: the entry is the next step's.
          cut = true;
          break;
        }
        platform.prepareClock(v, base + used);
        // vmx_intr_assist, unless the step goes on with the real-mode emulator's loop.
        boolean inLoop = realMode != null && realMode.continuesLoop(cpu,
            v.domain().shadow().guestCr0(), platform, v);
        if (!inLoop) {
          platform.assist(v);
        }
        if (v.domain().shadow() != null) {
          try {
            if (v.domain().shadow().select(v.id())) {
              // Its root was dropped (a P2M change) while it did not run: onto the fresh one.
              ShadowControl.reload(cpu, v.vmcs(), v.domain().shadow());
            }
            ShadowControl.beforeEntry(cpu, v.vmcs(), v.domain().shadow(), v.shadowRealMode());
            if (inLoop && !realMode.emulating()) {
              // The loop ended after all (continuesLoop judges as beforeEntry does, so this is
              // a safety net): vmx_intr_assist runs on the way to the entry, and an event it
              // queues sends the vCPU back to the emulator, which delivers it.
              realMode.loopEnded();
              platform.assist(v);
              ShadowControl.beforeEntry(cpu, v.vmcs(), v.domain().shadow(), realMode);
            }
          } catch (OutOfMachineMemory e) {
            crash(v.domain(), e.getMessage());
            break;
          }
        }
        if (used >= r.slice) {
          // A timer that fired on the way in woke a vCPU that preempts this one: what it
          // prepared (an injection) waits in the VMCS for its next entry.
          break;
        }
        r.cpuLimit = busy(cpu) + r.slice - used;
      } else {
        // Preempted while it was stopped for the caller (a wake between steps).
        r.cpuLimit = Math.min(r.cpuLimit, busy(cpu) + r.slice - used);
        if (!r.pendingAtCut && wantsKick(v, platform)) {
          // Kicked: an event came from outside while its run was under way. Xen's vcpu_kick
          // sends the pCPU an event-check IPI, which external-interrupt exiting turns into a
          // VM exit at the guest's next instruction boundary, here the one the cut stopped it
          // at (an STI or MOV SS shadow holds it one instruction, as it holds any external
          // interrupt); the entry after that exit injects the event (prepareEntry).
          cpu.raiseHostInterrupt();
          c.kicks++;
        }
      }
      r.inGuest = false;
      long insns0 = cpu.instructions();
      long tlb0 = cpu.tlbMisses();
      long walks0 = cpu.pageWalkReferences();
      long charged0 = cpu.chargedCycles();
      // A shadow-paged guest in real mode (or just out of it with stale segments) is not
      // entered: the hypervisor's emulator runs it one instruction at a time (Xen's
      // vmx_realmode). Its step always ends at the instruction, before any cut.
      boolean emulating = realMode != null && realMode.emulating();
      long ioreqs0 = c.ioreqs;
      if (realMode != null) {
        if (!emulating) {
          realMode.loopEnded();
        } else if (!realMode.inLoop()) {
          realMode.loopStarted(platform);
        }
        if (emulating) {
          // In protected mode the emulator delivers no event: it waits for a VM entry.
          realMode.holdEvent(v.vmcs(), v.domain().shadow().guestCr0());
        }
      }
      int x = emulating ? cpu.emulateStep(r.cpuLimit - busy(cpu))
          : cpu.run(r.cpuLimit - busy(cpu), cutAfter(stopAt, base + used));
      // A host interrupt the emulator handed back is a softirq on Xen: it ends the loop.
      boolean hostInterrupt = emulating && x == CpuExit.VM_EXIT && (v.vmcs().read32(
          org.hospes.x86.vmx.VmcsField.VM_EXIT_REASON) & 0xFFFF)
          == org.hospes.x86.vmx.ExitReason.EXTERNAL_INTERRUPT.code();
      long insns = cpu.instructions() - insns0;
      long walks = cpu.pageWalkReferences() - walks0;
      // What the processor charged to the guest's clock as it ran (walks, event delivery,
      // device accesses): the same cycles the guest's TSC advanced by.
      long cycles = cost.instructions(insns) + cpu.chargedCycles() - charged0;
      c.instructions += insns;
      c.guestCycles += cycles;
      c.cycles += cycles;
      c.tlbMisses += cpu.tlbMisses() - tlb0;
      c.pageWalkReferences += walks;
      used += cycles;
      if (x == CpuExit.CUT) {
        // Stopped at a block boundary for the caller: the next step goes on from there.
        r.inGuest = true;
        r.pendingAtCut = wantsKick(v, platform);
        cut = true;
        break;
      }
      switch (x) {
        case CpuExit.BUDGET:
          break;
        case CpuExit.EMULATED:
          runNow = base + used;
          used += exits.emulated(v, platform, base + used);
          break;
        case CpuExit.VM_EXIT:
          runNow = base + used;
          try {
            used += exits.handle(v, platform, base + used);
          } catch (OutOfMachineMemory e) {
            // The exit needed a frame for the domain's shadows (a new root at a CR3 load, a
            // shadow page table) and the machine has none: that domain is crashed, as Xen's
            // shadow code crashes it, and no one else notices.
            crash(v.domain(), e.getMessage());
          }
          break;
        case CpuExit.VM_ENTRY_FAILED: {
          // Xen's vmx_vmentry_failure: VMRESUME failed its checks on the controls ("VMRESUME
          // error" with the VM-instruction error), and the domain is crashed (domain_crash):
          // the VMCS the hypervisor built cannot be entered, its own bug, contained there.
          org.hospes.x86.vmx.Vmcs vmcs = v.vmcs();
          crash(v.domain(), String.format("VMRESUME error: %d (injecting 0x%08x, error code"
              + " 0x%x, instruction length %d) at eip=0x%08x",
              vmcs.read32(org.hospes.x86.vmx.VmcsField.VM_INSTRUCTION_ERROR),
              vmcs.read32(org.hospes.x86.vmx.VmcsField.VM_ENTRY_INTR_INFO_FIELD),
              vmcs.read32(org.hospes.x86.vmx.VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE),
              vmcs.read32(org.hospes.x86.vmx.VmcsField.VM_ENTRY_INSTRUCTION_LEN), cpu.eip()));
          break;
        }
        case CpuExit.EXCEPTION:
          if (emulating) {
            // A software interrupt in the emulated protected mode (ShadowRealMode): Xen's
            // vmx_realmode_emulate_one crashes the domain, "exception in protected mode". The
            // instruction has not retired: EIP names it.
            cpu.setEip(cpu.eip() - cpu.exceptionInstructionLength());
            crash(v.domain(), String.format("exception %02x in protected mode (real-mode"
                + " emulation) at eip=0x%08x", cpu.exceptionVector(), cpu.eip()));
            break;
          }
          crash(v.domain(), "unexpected processor exit " + CpuExit.name(x));
          break;
        case CpuExit.HLT:
        case CpuExit.TRIPLE_FAULT:
        case CpuExit.STOPPED:
        default:
          // In non-root operation these are exits; seeing one means the VMCS lets too much
          // through, which is the hypervisor's bug: contain it in the domain.
          crash(v.domain(), "unexpected processor exit " + CpuExit.name(x));
          break;
      }
      if (emulating) {
        int raised = realMode.releaseEvent(v.vmcs(), v.domain().shadow().guestCr0());
        if (raised >= 0) {
          // Xen's vmx_realmode_emulate_one: an exception in protected mode crashes it.
          crash(v.domain(), String.format("exception %02x in protected mode (real-mode"
              + " emulation) at eip=0x%08x", raised, cpu.eip()));
        }
        // Xen's loop ends at an I/O request for the device model, a host interrupt's softirq,
        // or a vCPU that blocked (HLT) or was stopped.
        realMode.stepDone(cpu.instructions() > insns0, hostInterrupt || c.ioreqs != ioreqs0
            || v.state() != VcpuState.RUNNABLE || v.domain().state() != DomainState.RUNNING);
      }
      if (insns == 0 && x == CpuExit.BUDGET) {
        break;
      }
      if (v.takeYield()) {
        scheduler.yield(v, base + used);
        break;
      }
    }
    running = null;
    if (cut) {
      r.used = used;
      return false;
    }
    used = Math.max(used, 1);
    r.used = used;
    if (v.state() == VcpuState.RUNNABLE) {
      setRunstate(v, readyRunstate(v), base + used);
    } else if (v.state() == VcpuState.BLOCKED) {
      // It blocked in an exit: blocked from when the exit's handling ended, as Xen's runstate
      // changes at the context switch that follows.
      setRunstate(v, Runstate.BLOCKED, base + used);
    } else if (v.state() == VcpuState.OFFLINE) {
      // An INIT (to all including self) stopped it.
      setRunstate(v, Runstate.OFFLINE, base + used);
    }
    return true;
  }

  /**
   * Runs classic PV vCPU {@code v}: no VMX, the guest kernel in ring 1 on its validated tables.
   * Before each return to the guest the timers fire, the pvclock is refreshed, the TSC is the
   * hypervisor's clock and a pending event enters the event callback; every exception and
   * software interrupt comes back here ({@link org.hospes.hv.pv.PvExits}).
   */
  private boolean runPvVcpu(Run r, long stopAt) {
    Vcpu v = r.vcpu;
    Cpu cpu = v.cpu();
    Counters c = v.counters();
    Domain d = v.domain();
    org.hospes.hv.pv.PvVcpu pv = d.pv();
    HvmPlatform platform = platforms.get(d.domid());
    long base = r.start;
    long used = r.used;
    if (!r.begun) {
      setRunstate(v, Runstate.RUNNING, base);
      r.begun = true;
    }
    running = v;
    boolean cut = false;
    while (used < r.slice && v.state() == VcpuState.RUNNABLE
        && d.state() == DomainState.RUNNING) {
      if (r.inGuest && !r.pendingAtCut && wantsKick(pv)) {
        // Kicked: an event came from outside while its run was under way. Xen's event-check
        // IPI interrupts the guest at its next instruction boundary (the one the cut stopped
        // it at) and Xen returns to it through the events check, which enters the callback
        // if events are not masked: the return to the guest below, after the interrupt.
        long k = cost.interruptDelivery();
        c.cycles += k;
        used += k;
        c.kicks++;
        r.inGuest = false;
        if (used >= r.slice) {
          break;
        }
      }
      if (!r.inGuest) {
        long t = base + used;
        if (t >= stopAt) {
          // The caller's time ends here, before the return to the guest: that is the next step's.
          cut = true;
          break;
        }
        platform.fireTimers(t);
        if (d.pvTime() != null) {
          d.pvTime().refresh(v.id(), t);
        }
        cpu.setTsc(t);
        if (pvExits.deliverEvents(v, pv)) {
          long e = pvExits.eventCost();
          c.cycles += e;
          used += e;
        }
        if (d.state() != DomainState.RUNNING || used >= r.slice) {
          break;
        }
        r.cpuLimit = busy(cpu) + r.slice - used;
      } else {
        r.cpuLimit = Math.min(r.cpuLimit, busy(cpu) + r.slice - used);
      }
      r.inGuest = false;
      long insns0 = cpu.instructions();
      long tlb0 = cpu.tlbMisses();
      long walks0 = cpu.pageWalkReferences();
      long charged0 = cpu.chargedCycles();
      int x = cpu.run(r.cpuLimit - busy(cpu), cutAfter(stopAt, base + used));
      long insns = cpu.instructions() - insns0;
      long cycles = cost.instructions(insns) + cpu.chargedCycles() - charged0;
      c.instructions += insns;
      c.guestCycles += cycles;
      c.cycles += cycles;
      c.tlbMisses += cpu.tlbMisses() - tlb0;
      c.pageWalkReferences += cpu.pageWalkReferences() - walks0;
      used += cycles;
      if (x == CpuExit.CUT) {
        r.inGuest = true;
        r.pendingAtCut = wantsKick(pv);
        cut = true;
        break;
      }
      if (x != CpuExit.BUDGET) {
        runNow = base + used;
        // The hypervisor's work (hypercalls, trap bounces, emulation) is the domain's modelled
        // time as an HVM domain's exits are (Counters.addExit): in its cycles, not only its clock.
        long h = pvExits.handle(v, pv, x);
        c.cycles += h;
        used += h;
      }
      if ((insns == 0 && x == CpuExit.BUDGET) || v.takeYield()) {
        break;
      }
    }
    running = null;
    if (cut) {
      r.used = used;
      return false;
    }
    used = Math.max(used, 1);
    r.used = used;
    if (v.state() == VcpuState.RUNNABLE) {
      setRunstate(v, readyRunstate(v), base + used);
    } else if (v.state() == VcpuState.BLOCKED) {
      setRunstate(v, Runstate.BLOCKED, base + used);
    }
    return true;
  }

  /**
   * True when HVM vCPU {@code v} has something pending a kick is for: an interrupt or NMI in
   * its local APIC or on the PIC's wire, or an event-channel upcall for its callback vector.
   * Compared at a cut and when the run goes on, so that only what became pending between the
   * two kicks it (Xen kicks when an IRR bit or upcall_pending is newly set; one already
   * pending was already asked for, by an interrupt-window exit or the next entry).
   */
  private static boolean wantsKick(Vcpu v, HvmPlatform platform) {
    Domain d = v.domain();
    return platform.interruptPending(v) || d.callbackVector() >= 0
        && d.eventChannels() != null && d.eventChannels().ops().upcallPending(v.id());
  }

  /** As {@link #wantsKick(Vcpu, HvmPlatform)} for a classic PV vCPU: an upcall or an NMI. */
  private static boolean wantsKick(org.hospes.hv.pv.PvVcpu pv) {
    return pv.upcallPending() || pv.nmiPending();
  }

  /**
   * The runstate of a vCPU that may run but is not running: RUNSTATE_runnable, or, while its
   * domain is paused, RUNSTATE_offline, as Xen's vcpu_runstate_change is given at a context
   * switch and in vcpu_wake/vcpu_sleep_nosync (vcpu_runnable is false under a domain pause,
   * the creation pause of a domain not yet unpaused too). Only what is reported changes; the
   * scheduler does not read the runstate.
   */
  private static int readyRunstate(Vcpu v) {
    DomainState s = v.domain().state();
    return s == DomainState.PAUSED || s == DomainState.CREATED ? Runstate.OFFLINE
        : Runstate.RUNNABLE;
  }

  /** Moves {@code v}'s runstate and rewrites the guest's registered runstate area, if any. */
  private void setRunstate(Vcpu v, int state, long at) {
    Runstate rs = v.runstate();
    if (rs.state() == state) {
      return;
    }
    if (pcpus.length > 1) {
      // Woken from another pCPU whose clock is behind the time it blocked here: its states
      // keep their order.
      at = Math.max(at, rs.entryTime());
    }
    rs.transition(state, at);
    if (rs.areaVa() != 0 && !v.domain().state().isFinal()
        && !new GuestAccess(v).write(rs.areaVa(), rs.image(at))) {
      rs.setAreaVa(0);
    }
  }

  /**
   * Changes a domain's scheduling parameters at run time (xl sched-credit -w/-c): {@code weight}
   * 1..65535 (default 256), {@code cap} in percent of one physical CPU, 0 (uncapped) up to 100
   * per vCPU. The scheduler is told, so the change takes effect from its next decision; one
   * that ignores weights or caps ({@link Scheduler#usesWeight()}) refuses a change of them. The
   * values are longs so that a request's out-of-range number is refused as it was given,
   * never first cut to an int that may land in range.
   */
  public void setSchedulerParameters(Domain d, long weight, long cap) {
    Preconditions.checkArgument(weight >= 1 && weight <= 65535,
        "weight must be 1..65535, got %s", weight);
    int maxCap = 100 * d.vcpus().size();
    Preconditions.checkArgument(cap >= 0 && cap <= maxCap,
        "cap must be 0 (uncapped) to %s percent for %s vCPU(s), got %s", maxCap,
        d.vcpus().size(), cap);
    Preconditions.checkArgument(domains.get(d.domid()) == d, "domain %s is not on this host",
        d.name());
    // A scheduler without weights or caps would take the value and do nothing with it: the
    // user who asked for it is told instead (the value the domain has is no change).
    if (weight != d.weight() && !scheduler.usesWeight()) {
      throw new IllegalArgumentException("the " + scheduler.name() + " scheduler ignores"
          + " weights: weight " + weight + " would change nothing; weights need a scheduler"
          + " that has them (credit)");
    }
    if (cap != d.cap() && !scheduler.usesCap()) {
      throw new IllegalArgumentException("the " + scheduler.name() + " scheduler ignores caps:"
          + " cap " + cap + "% would change nothing; caps need a scheduler that has them"
          + " (credit)");
    }
    d.setWeight((int) weight);
    d.setCap((int) cap);
    for (Vcpu v : d.vcpus()) {
      scheduler.parametersChanged(v);
    }
    // A cap lifted may let a parked vCPU run on an idle pCPU.
    kickIdlePcpus(now);
  }

  /**
   * Sets the physical CPUs {@code d}'s vCPUs may run on (xl's {@code cpus=}, vcpu-pin): bit
   * {@code n} for pCPU {@code n}, at least one of this host's. A vCPU queued where it may no
   * longer run moves; a running one moves at its pCPU's next decision.
   */
  public void setHardAffinity(Domain d, long mask) {
    long all = pcpus.length == 64 ? -1L : (1L << pcpus.length) - 1;
    Preconditions.checkArgument((mask & all) != 0 && (mask & ~all) == 0,
        "hard affinity must name physical CPUs among 0..%s", pcpus.length - 1);
    d.setHardAffinity(mask);
    for (Vcpu v : d.vcpus()) {
      scheduler.parametersChanged(v);
    }
    kickIdlePcpus(now);
  }

  /**
   * Maps machine frame {@code mfn} at guest frame {@code gfn} of {@code d} (add_to_physmap):
   * the P2M and EPT change and every vCPU of the domain drops its cached translations. False
   * (nothing changed) when the EPT tables it needs find no free machine frame.
   */
  public boolean mapIntoPhysmap(Domain d, long gfn, long mfn) {
    return setPhysmap(d, gfn, mfn, true);
  }

  /**
   * Points guest frame {@code gfn} of {@code d} at machine frame {@code mfn} (P2m.INVALID:
   * nothing), read-only unless {@code writable}; P2M and EPT change together and every vCPU of
   * the domain drops its cached translations (grant map and unmap). Returns false, with
   * nothing changed, when a mapping needs EPT tables and the machine has no free frame for
   * them (as Xen's p2m_set_entry fails when its pool is empty): the guest gets an error, the
   * hypervisor does not fail. Removing a mapping, or mapping where one was, always works.
   */
  public boolean setPhysmap(Domain d, long gfn, long mfn, boolean writable) {
    if (mfn != P2m.INVALID && d.ept() != null && d.ept().tablesNeeded(gfn) > frames.freeFrames()) {
      return false;
    }
    d.physmapChanged();
    if (mfn == P2m.INVALID) {
      d.p2m().set(gfn, P2m.INVALID);
      if (d.ept() != null) {
        d.ept().unmap(gfn);
      }
    } else if (writable) {
      d.p2m().set(gfn, mfn);
      if (d.ept() != null) {
        d.ept().map(gfn, mfn);
      }
    } else {
      d.p2m().setReadOnly(gfn, mfn);
      if (d.ept() != null) {
        d.ept().mapReadOnly(gfn, mfn);
      }
    }
    try {
      if (d.shadow() != null) {
        // Shadow entries name machine frames directly: none may outlive the P2M entry.
        d.shadow().p2mChanged();
      }
      for (Vcpu v : d.vcpus()) {
        if (v.cpu() == null) {
          continue;
        }
        if (d.shadow() != null) {
          d.shadow().select(v.id());
          if ((v.cpu().cr0() & Cpu.CR0_PG) != 0) {
            ShadowControl.reload(v.cpu(), v.vmcs(), d.shadow());
          }
        }
        v.cpu().invalidateTranslations();
      }
    } catch (OutOfMachineMemory e) {
      // Fresh shadow roots for the new P2M found no frame (the old ones were freed first, so
      // this takes another consumer of the last frames): the domain cannot run on.
      crash(d, e.getMessage());
    }
    return true;
  }

  private final GrantTables.Directory grantDirectory = new GrantTables.Directory() {
    @Override
    public Domain domain(int domid) {
      return domains.get(domid);
    }

    @Override
    public GrantTables grantTables(Domain d) {
      return d.grantTables();
    }

    @Override
    public long allocateFrame(Domain d) {
      long mfn = frames.allocate(d.domid());
      if (mfn >= 0) {
        machine.zeroFrame(mfn);
      }
      return mfn;
    }

    @Override
    public int owner(long mfn) {
      return frames.owner(mfn);
    }

    @Override
    public boolean setPhysmap(Domain d, long gfn, long mfn, boolean writable) {
      return Hypervisor.this.setPhysmap(d, gfn, mfn, writable);
    }

    @Override
    public void heldFrameReleased(Domain d, long mfn) {
      Hypervisor.this.heldFrameReleased(d, mfn);
    }
  };

  /** Domain lookup and upcall delivery for event channels. */
  public EventChannels.Directory eventDirectory() {
    return eventDirectory;
  }

  private final EventChannels.Directory eventDirectory = new EventChannels.Directory() {
    @Override
    public Domain domain(int domid) {
      return domains.get(domid);
    }

    @Override
    public EventChannels channels(Domain d) {
      return d.eventChannels();
    }

    @Override
    public void portRaised(Domain d, int vcpu, int port) {
      for (Vcpu v : d.vcpus()) {
        if (v.pollingFor(port)) {
          v.endPoll();
          wake(v);
        }
      }
    }

    @Override
    public void upcall(Domain d, int vcpu) {
      if (vcpu >= 0 && vcpu < d.vcpus().size()) {
        Vcpu v = d.vcpus().get(vcpu);
        v.counters().eventUpcalls++;
        HvmPlatform p = vcpu == 0 ? platform(d) : null;
        if (p != null) {
          // Xen's hvm_assert_evtchn_irq: a GSI or PCI INTx callback line goes high now.
          p.syncCallbackLine();
        }
        wake(v);
      }
    }
  };

  /**
   * INIT for {@code v} (from an IPI), as Xen's vlapic_init_sipi_one does it whatever brought the
   * vCPU up (its first SIPI, or VCPUOP_initialise and VCPUOP_up): a vCPU that is not initialised
   * (it already waits for a start-up IPI) is left alone; any other is taken down
   * (hvm_vcpu_down: if no vCPU of the domain is left up, the domain powers off) and reset
   * (vcpu_reset), and waits for a start-up IPI, offline. Returns true if it was reset: the
   * caller then resets its local APIC too (vlapic_do_init).
   */
  public boolean initVcpu(Vcpu v) {
    if (v.cpu() == null || v.domain().state().isFinal() || v.waitingForSipi()) {
      return false;
    }
    v.setAwaitingIo(false);
    v.setPendingVector(-1);
    v.vmcs().write(org.hospes.x86.vmx.VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0);
    v.vmcs().clearBits(org.hospes.x86.vmx.VmcsField.CPU_BASED_VM_EXEC_CONTROL,
        org.hospes.x86.vmx.VmxControls.PROC_INTERRUPT_WINDOW_EXITING
        | org.hospes.x86.vmx.VmxControls.PROC_NMI_WINDOW_EXITING);
    v.cpu().startupIpi(0);
    v.setWaitingForSipi(true);
    if (v.state() != VcpuState.OFFLINE) {
      v.setState(VcpuState.OFFLINE);
      if (v != running) {
        setRunstate(v, Runstate.OFFLINE, Math.max(now, runNow));
      }
      scheduler.sleep(v, now);
    }
    boolean anyUp = false;
    for (Vcpu o : v.domain().vcpus()) {
      anyUp |= o.state() != VcpuState.OFFLINE;
    }
    if (!anyUp) {
      // hvm_vcpu_down: "All CPUs offline -- powering off."
      shutdown(v.domain(), org.hospes.abi.SchedOp.reasonName(
          org.hospes.abi.SchedOp.SHUTDOWN_POWEROFF), org.hospes.abi.SchedOp.SHUTDOWN_POWEROFF);
    }
    return true;
  }

  /**
   * A start-up IPI with {@code vector} for {@code v}: if it waits for one, it starts in real
   * mode at {@code vector} × 4096 (with EPT as VT-x's unrestricted guest runs it) and becomes
   * runnable. Returns true if it started. As Xen's hvm_vcpu_reset_state, it does nothing to an
   * initialised vCPU: one running, one VCPUOP_initialise loaded (up or still down), one
   * VCPUOP_down stopped; only INIT makes it wait for a SIPI again.
   */
  public boolean startupVcpu(Vcpu v, int vector) {
    if (!v.waitingForSipi() || v.cpu() == null || v.domain().state() != DomainState.RUNNING) {
      return false;
    }
    v.cpu().startupIpi(vector);
    v.setWaitingForSipi(false);
    v.setState(VcpuState.RUNNABLE);
    setRunstate(v, Runstate.RUNNABLE, Math.max(now, runNow));
    scheduler.wake(v, pcpus.length == 1 ? now : Math.max(now, runNow));
    kickFor(v, Math.max(now, runNow));
    return true;
  }

  /**
   * VCPUOP_up for an initialised vCPU that is down (_VPF_down cleared, vcpu_wake): it runs on
   * from the state it has (VCPUOP_initialise's, or where VCPUOP_down stopped it). Does nothing
   * to a vCPU that is up.
   */
  public void upVcpu(Vcpu v) {
    if (v.state() != VcpuState.OFFLINE || v.waitingForSipi() || v.domain().state().isFinal()) {
      return;
    }
    v.setState(VcpuState.RUNNABLE);
    setRunstate(v, readyRunstate(v), Math.max(now, runNow));
    if (v.domain().state() == DomainState.RUNNING) {
      scheduler.wake(v, pcpus.length == 1 ? now : Math.max(now, runNow));
      kickFor(v, Math.max(now, runNow));
    }
  }

  /**
   * VCPUOP_down (_VPF_down set, vcpu_sleep_nosync): {@code v} stops where it is, keeping its
   * state, until VCPUOP_up; a vCPU taking itself down stops when its exit is handled.
   */
  public void downVcpu(Vcpu v) {
    if (v.state() == VcpuState.OFFLINE) {
      return;
    }
    v.setState(VcpuState.OFFLINE);
    if (v != running) {
      setRunstate(v, Runstate.OFFLINE, Math.max(now, runNow));
    }
    scheduler.sleep(v, now);
  }

  /** Blocks {@code v} until an interrupt wakes it. */
  public void block(Vcpu v) {
    v.setState(VcpuState.BLOCKED);
    if (v != running) {
      // The running vCPU's runstate changes when its slice ends (runVcpu).
      setRunstate(v, Runstate.BLOCKED, Math.max(now, runNow));
    }
    scheduler.sleep(v, now);
  }

  /**
   * Blocks {@code v} until the ioreq it just issued has been served (Xen's wait in
   * hvm_wait_for_io): interrupts and events do not resume it, only {@link #ioreqDone}.
   */
  public void waitForIo(Vcpu v) {
    v.setAwaitingIo(true);
    block(v);
  }

  /**
   * The ioreq {@code v} waited for was served, the answer ready at virtual time {@code at}: it
   * runs again (woken, so boosted).
   */
  public void ioreqDone(Vcpu v, long at) {
    if (!v.awaitingIo()) {
      return;
    }
    v.setAwaitingIo(false);
    if (v.domain().state() == DomainState.PAUSED && v.state() == VcpuState.BLOCKED) {
      // Unpausing makes it runnable.
      v.setState(VcpuState.RUNNABLE);
      setRunstate(v, readyRunstate(v), at);
      return;
    }
    wakeAt(v, at);
  }

  /** Wakes a blocked vCPU (not one waiting for an ioreq). */
  public void wake(Vcpu v) {
    wakeAt(v, Math.max(now, runNow));
  }

  private void wakeAt(Vcpu v, long at) {
    if (v.state() == VcpuState.BLOCKED && !v.awaitingIo()
        && v.domain().state() == DomainState.PAUSED) {
      // Xen's vcpu_unblock clears _VPF_blocked whatever the pause count: the wake-up is kept,
      // and unpausing runs the vCPU. Dropped, it was lost for good: an event sent to a paused
      // domain stayed pending, so later ones (already pending) woke it no more, and a console
      // typed into while paused never answered again. As ioreqDone does.
      v.setState(VcpuState.RUNNABLE);
      setRunstate(v, readyRunstate(v), at);
      return;
    }
    if (v.state() == VcpuState.BLOCKED && !v.awaitingIo()
        && v.domain().state() == DomainState.RUNNING) {
      v.setState(VcpuState.RUNNABLE);
      setRunstate(v, Runstate.RUNNABLE, at);
      // One pCPU: the decision's time, as always; several: the wake's own time, so no pCPU
      // runs it before it was woken.
      scheduler.wake(v, pcpus.length == 1 ? now : Math.max(now, at));
      kickFor(v, Math.max(now, at));
    }
  }

  /**
   * {@code v} became runnable at {@code at}: if the pCPU it last ran on idles, that one looks
   * for work then (it finds {@code v} in its own queue); otherwise every idle pCPU does, and the
   * first steals it (Xen's tickle: the vCPU's own pCPU when idle, else the idlers).
   */
  private void kickFor(Vcpu v, long at) {
    int home = v.lastPcpu();
    if (home >= 0 && home < pcpus.length && pcpus[home].idle()) {
      pcpus[home].kick(at);
    } else {
      kickIdlePcpus(at);
    }
    tickle(v, at);
  }

  /**
   * Xen's tickle of a busy pCPU: {@code v}, runnable from {@code at}, may outrank the vCPU whose
   * run is under way; if no idle pCPU can take it, the scheduler says from when that run gives
   * up its pCPU ({@link Scheduler#preemptAt}), and the run ends there, at the next exit or block
   * boundary (at once if that time has passed), for the scheduler to decide again.
   */
  private void tickle(Vcpu v, long at) {
    for (int i = 0; i < runs.length; i++) {
      Run r = runs[i];
      if (!r.active() || r.vcpu == v) {
        continue;
      }
      if (pcpus.length > 1 && idlerFor(v)) {
        // An idler takes it; the running vCPU is left alone, as Xen leaves it.
        return;
      }
      long end = scheduler.preemptAt(i, v, Math.max(at, r.start));
      if (end != Long.MAX_VALUE && end - r.start < r.slice) {
        r.slice = Math.max(end - r.start, 0);
      }
    }
  }

  /** True if an idle pCPU may run {@code v} (its hard affinity allows it). */
  private boolean idlerFor(Vcpu v) {
    long mask = v.domain().hardAffinity();
    long all = pcpus.length == 64 ? -1L : (1L << pcpus.length) - 1;
    for (PhysicalCpu p : pcpus) {
      if (p.idle() && ((mask & all) == 0 || (mask >>> p.id() & 1) != 0)) {
        return true;
      }
    }
    return false;
  }

  /** Something may have become runnable at {@code at}: idle physical CPUs look for work then. */
  private void kickIdlePcpus(long at) {
    if (pcpus.length > 1) {
      for (PhysicalCpu p : pcpus) {
        p.kick(at);
      }
    }
  }
}
