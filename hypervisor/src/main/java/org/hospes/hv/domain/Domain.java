package org.hospes.hv.domain;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.hospes.hv.ioreq.IoreqServer;
import org.hospes.hv.memory.EptTables;
import org.hospes.hv.memory.GuestMemory;
import org.hospes.hv.memory.P2m;
import org.hospes.hv.stats.Counters;
import org.hospes.x86.Cpu;
import org.hospes.x86.IoBus;
import org.hospes.x86.vmx.Vmcs;

/**
 * A domain: an isolated guest with its own guest-physical memory (a {@link P2m} over machine
 * frames it owns), its vCPUs, its scheduling parameters and its counters.
 */
public final class Domain {
  private final int domid;
  private final String name;
  private final DomainMode mode;
  private final P2m p2m;
  private final GuestMemory memory;
  private final EptTables ept;
  private org.hospes.hv.memory.ShadowPager shadow;
  private final List<Vcpu> vcpus = new ArrayList<>();
  /** The read-only view {@link #vcpus()} returns, made once: callers on the run loop ask often. */
  private final List<Vcpu> vcpusView = Collections.unmodifiableList(vcpus);
  /** Ports emulated inside the hypervisor (platform devices); the rest go to the ioreq server. */
  private final IoBus platformPorts = new IoBus();
  private DomainState state = DomainState.CREATED;
  private int weight = 256;
  private int cap;
  private IoreqServer ioreqServer;
  private org.hospes.hv.control.DomainControl ioreqService;
  private java.io.OutputStream console = java.io.OutputStream.nullOutputStream();
  private org.hospes.hv.event.EventChannels eventChannels;
  private long sharedInfoMfn = -1;
  private org.hospes.hv.grant.GrantTables grantTables;
  private org.hospes.hv.time.PvTime pvTime;
  /** HVM parameters (HVM_PARAM_*), set by the toolstack or the guest. */
  private final long[] hvmParams = new long[org.hospes.abi.HvmOp.NR_PARAMS];
  /** Guest-physical address of the installed hypercall page, or -1. */
  private long hypercallPage = -1;
  /** Changes of the P2M since the domain was built ({@link #physmapChanges()}). */
  private long physmapChanges;
  /** The page references service domains' foreign mappings hold on this domain's frames. */
  private final org.hospes.hv.memory.ForeignRefs foreignRefs =
      new org.hospes.hv.memory.ForeignRefs();
  private String endReason = "";
  /** True once its memory was released (domain_kill): at destroy, also after a shutdown. */
  private boolean killed;
  private int exitStatus = -1;
  /** The PV vCPU state of a classic PV domain, else null. */
  private org.hospes.hv.pv.PvVcpu pv;
  /** d->vm_assist of a translated (HVM or PVH) domain; a PV domain keeps its own in pv. */
  private int vmAssist;

  Domain(int domid, String name, DomainMode mode, P2m p2m, GuestMemory memory, EptTables ept) {
    this.domid = domid;
    this.name = name;
    this.mode = mode;
    this.p2m = p2m;
    this.memory = memory;
    this.ept = ept;
  }

  Vcpu addVcpu(Cpu cpu, Vmcs vmcs) {
    Vcpu v = new Vcpu(this, vcpus.size(), cpu, vmcs, null);
    vcpus.add(v);
    return v;
  }

  Vcpu addServiceVcpu(org.hospes.hv.control.ServiceWork work) {
    Vcpu v = new Vcpu(this, vcpus.size(), null, null, work);
    vcpus.add(v);
    return v;
  }

  /** The vm_assist types a translated domain has enabled (bit n: VMASST_TYPE n). */
  public int vmAssist() {
    return vmAssist;
  }

  public void setVmAssist(int bits) {
    this.vmAssist = bits;
  }

  /** The PV32 state (MMU, virtual IDT, GDT) of a {@link DomainMode#PV} domain, else null. */
  public org.hospes.hv.pv.PvVcpu pv() {
    return pv;
  }

  void setPv(org.hospes.hv.pv.PvVcpu pv) {
    this.pv = pv;
  }

  /** True for a service domain (dom0, a driver domain): Java services, no guest code. */
  public boolean isService() {
    return !vcpus.isEmpty() && vcpus.get(0).isService();
  }

  public int domid() {
    return domid;
  }

  public String name() {
    return name;
  }

  public DomainMode mode() {
    return mode;
  }

  public P2m p2m() {
    return p2m;
  }

  /** The domain's guest-physical memory (through its P2M: only its own frames). */
  public GuestMemory memory() {
    return memory;
  }

  /** The shadow pager of an HVM_SHADOW domain, else null. */
  public org.hospes.hv.memory.ShadowPager shadow() {
    return shadow;
  }

  void setShadow(org.hospes.hv.memory.ShadowPager shadow) {
    this.shadow = shadow;
  }

  /** EPT tables, or null in shadow mode. */
  public EptTables ept() {
    return ept;
  }

  public List<Vcpu> vcpus() {
    return vcpusView;
  }

  public IoBus platformPorts() {
    return platformPorts;
  }

  public DomainState state() {
    return state;
  }

  public void setState(DomainState state) {
    this.state = state;
  }

  /**
   * The toolstack's pauses not yet undone (Xen's controller_pause_count, less the one every
   * domain is created with, which {@link DomainState#CREATED} stands for).
   */
  private int controllerPauses;

  public int controllerPauses() {
    return controllerPauses;
  }

  public void setControllerPauses(int pauses) {
    this.controllerPauses = pauses;
  }

  private long hardAffinity = -1L;

  public int weight() {
    return weight;
  }

  /** Credit-scheduler weight, 1..65535 (default 256). */
  public void setWeight(int weight) {
    if (weight < 1 || weight > 65535) {
      throw new IllegalArgumentException("weight must be 1..65535, got " + weight);
    }
    this.weight = weight;
  }

  /**
   * Hard affinity: bit {@code n} set if the domain's vCPUs may run on physical CPU {@code n}
   * (xl's {@code cpus=}); all bits set by default.
   */
  public long hardAffinity() {
    return hardAffinity;
  }

  public void setHardAffinity(long mask) {
    if (mask == 0) {
      throw new IllegalArgumentException("hard affinity must allow at least one physical CPU");
    }
    this.hardAffinity = mask;
  }

  /** Cap in percent of one physical CPU; 0 means uncapped. */
  public int cap() {
    return cap;
  }

  public void setCap(int cap) {
    if (cap < 0) {
      throw new IllegalArgumentException("cap must be >= 0, got " + cap);
    }
    this.cap = cap;
  }

  /** Where the domain's console_io output goes (the toolstack decides). */
  public java.io.OutputStream console() {
    return console;
  }

  public void setConsole(java.io.OutputStream console) {
    this.console = console;
  }

  public org.hospes.hv.event.EventChannels eventChannels() {
    return eventChannels;
  }

  public void setEventChannels(org.hospes.hv.event.EventChannels channels) {
    this.eventChannels = channels;
  }

  /** The domain's grant table (v1), or null for a domain without one. */
  public org.hospes.hv.grant.GrantTables grantTables() {
    return grantTables;
  }

  public void setGrantTables(org.hospes.hv.grant.GrantTables tables) {
    this.grantTables = tables;
  }

  /** Per-vCPU PV time: singleshot timers and the pvclock (vcpu_time_info), or null. */
  public org.hospes.hv.time.PvTime pvTime() {
    return pvTime;
  }

  public void setPvTime(org.hospes.hv.time.PvTime pvTime) {
    this.pvTime = pvTime;
  }

  /**
   * How many times an existing guest-physical frame was remapped or removed (ballooning, grant
   * and shared_info mappings): a device model's cached mappings of the domain's memory are
   * stale when this has moved (Xen sends its ioreq servers an invalidate request then).
   */
  public long physmapChanges() {
    return physmapChanges;
  }

  public void physmapChanged() {
    physmapChanges++;
  }

  /** The references foreign mappings (privcmd) of other domains hold on this one's frames. */
  public org.hospes.hv.memory.ForeignRefs foreignRefs() {
    return foreignRefs;
  }

  /** Machine frame of the domain's shared_info page. */
  public long sharedInfoMfn() {
    return sharedInfoMfn;
  }

  public void setSharedInfoMfn(long mfn) {
    this.sharedInfoMfn = mfn;
  }

  public long hvmParam(int index) {
    return hvmParams[index];
  }

  public void setHvmParam(int index, long value) {
    hvmParams[index] = value;
  }

  /** The upcall vector from HVM_PARAM_CALLBACK_IRQ (type 2), or -1 if none is set. */
  public int callbackVector() {
    long v = hvmParams[org.hospes.abi.HvmOp.PARAM_CALLBACK_IRQ];
    return (v >>> 56) == org.hospes.abi.HvmOp.CALLBACK_TYPE_VECTOR && (v & 0xFF) >= 0x10
        ? (int) (v & 0xFF) : -1;
  }

  public long hypercallPage() {
    return hypercallPage;
  }

  public void setHypercallPage(long gpa) {
    this.hypercallPage = gpa;
  }

  public IoreqServer ioreqServer() {
    return ioreqServer;
  }

  /** The service domain whose vCPU runs {@link #ioreqServer()}, or null. */
  public org.hospes.hv.control.DomainControl ioreqService() {
    return ioreqService;
  }

  /**
   * Set through {@link org.hospes.hv.control.DomainControl#serveIoreqs}, which checks that
   * {@code service} may serve this domain.
   */
  public void setIoreqServer(IoreqServer server, org.hospes.hv.control.DomainControl service) {
    this.ioreqServer = server;
    this.ioreqService = service;
  }

  /** Why the domain stopped ("poweroff", "triple fault at ...", "destroyed"). */
  public String endReason() {
    return endReason;
  }

  /** The status its shutdown asked for (e.g. isa-debug-exit's (V<<1)|1), or -1. */
  public int exitStatus() {
    return exitStatus;
  }

  public void end(DomainState finalState, String reason, int status) {
    this.state = finalState;
    this.endReason = reason;
    this.exitStatus = status;
    for (Vcpu v : vcpus) {
      v.setState(VcpuState.OFFLINE);
    }
  }

  /**
   * True once the domain was destroyed and its memory released (Xen's domain_kill). A domain
   * that shut down or crashed keeps its memory, and its state, until then.
   */
  public boolean killed() {
    return killed;
  }

  /** The hypervisor released the domain's memory (destroy). */
  public void markKilled() {
    killed = true;
  }

  /** Counters of all vCPUs added up. */
  public Counters totals() {
    Counters c = new Counters();
    for (Vcpu v : vcpus) {
      c.addAll(v.counters());
    }
    return c;
  }
}
