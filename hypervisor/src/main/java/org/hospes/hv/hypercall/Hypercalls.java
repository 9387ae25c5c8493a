package org.hospes.hv.hypercall;

import java.io.IOException;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.HvmOp;
import org.hospes.abi.Hypercall;
import org.hospes.abi.MemoryOp;
import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.SchedOp;
import org.hospes.abi.XenErrno;
import org.hospes.abi.XenVersion;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.event.EventChannels;
import org.hospes.hv.stats.Counters;
import org.hospes.x86.Cpu;

/**
 * Hypercall dispatch for HVM and PVH guests (they enter through VMCALL in the hypercall page):
 * the number in EAX, arguments in EBX, ECX, EDX, ESI, EDI, the result in EAX. Every handler
 * checks its arguments first and answers with 0 or a negative Xen errno; a call from CPL > 0
 * gets -EPERM and an unknown or unimplemented call -ENOSYS, both counted. Which calls a
 * translated guest may make is Xen's hvm32 column: the PV MMU, trap and descriptor calls are
 * -ENOSYS for it, mmuext_op and vm_assist are not (see translatedMmuextOp, translatedVmAssist).
 */
public final class Hypercalls {
  private final Hypervisor hv;
  private final CostModel cost;
  private final GrantTableHypercalls grants;
  private final VcpuHypercalls vcpus;
  private final MulticallHypercalls multicalls;
  private final PvHypercalls pv;
  private final ControlHypercalls control;
  /** Cycles of work the current hypercall charged beyond the entry/exit cost. */
  private long work;
  /**
   * True while a guest's own hypercall is dispatched (a PV guest's int 0x82, an HVM or PVH
   * guest's VMCALL): only then may a long call be preempted and continued (a PV guest's
   * mmu_update or mmuext_op, anyone's multicall; a PV multicall's entries too, which continue
   * through it).
   */
  private boolean topLevel;
  /** The continuation the multicall just left for itself, or null. */
  private org.hospes.hv.pv.PvMmu.Continuation multicallContinuation;
  /**
   * mmu_update requests or mmuext_op ops done in one leg before the call is continued: Xen
   * continues when hypercall_preempt_check finds work due (a softirq, an event to deliver),
   * which cannot be predicted; this bound stands in for its timer, so no one call holds the
   * processor long.
   */
  static final int PV_PREEMPT_OPS = 128;

  public Hypercalls(Hypervisor hv, CostModel cost) {
    this.hv = hv;
    this.cost = cost;
    this.grants = new GrantTableHypercalls(this, cost);
    this.vcpus = new VcpuHypercalls(hv);
    this.multicalls = new MulticallHypercalls(this);
    this.pv = new PvHypercalls(hv.machineMemory());
    this.control = new ControlHypercalls(hv);
  }

  /**
   * Handles the {@code int 0x82} a classic PV guest's kernel made (EIP is already past it):
   * the call in EAX, its arguments in EBX, ECX, EDX, ESI, EDI, the result in EAX, except for
   * the iret hypercall, which restores the guest's registers (EAX included) from its stack.
   * Returns the modelled cycles.
   */
  public long handlePv(Vcpu v) {
    Cpu cpu = v.cpu();
    Counters c = v.counters();
    int nr = cpu.reg(Cpu.EAX);
    c.hypercallCount[nr >= 0 && nr < c.hypercallCount.length ? nr : 63]++;
    work = 0;
    org.hospes.hv.pv.PvPageTables tables = v.domain().pv().mmu().tables();
    long checked0 = tables.entriesChecked();
    if (nr == Hypercall.IRET.number()) {
      org.hospes.hv.pv.PvVcpu p = v.domain().pv();
      org.hospes.hv.pv.PvTraps.Regs r = p.captureRegs();
      // compat_iret crashes the domain for a frame it cannot read or one naming ring 0; a
      // frame whose selectors fault on the way out goes to the failsafe callback.
      if (!p.traps().iret(r)) {
        hv.crash(v.domain(), "iret hypercall with a bad frame at esp " + Integer.toHexString(
            cpu.reg(Cpu.ESP)));
      } else if (!unmaskNmi(p) || !p.restoreOrFailsafe(r)) {
        hv.crash(v.domain(), String.format("iret hypercall to %04x:%08x (bad selector), and no"
            + " usable failsafe callback", r.cs & 0xFFFF, r.eip));
      }
    } else {
      topLevel = true;
      int result;
      try {
        result = dispatch(v, nr, cpu.reg(Cpu.EBX), cpu.reg(Cpu.ECX), cpu.reg(Cpu.EDX),
            cpu.reg(Cpu.ESI), cpu.reg(Cpu.EDI));
      } finally {
        topLevel = false;
      }
      org.hospes.hv.pv.PvMmu.Continuation k = v.domain().pv().mmu().takeContinuation();
      if (k == null) {
        k = multicallContinuation;
      }
      multicallContinuation = null;
      if (k != null && !v.domain().state().isFinal()) {
        // hypercall_create_continuation: the guest re-executes its int 0x82 (2 bytes) with the
        // continuation's arguments; EAX holds the hypercall's number again.
        cpu.setReg(Cpu.EBX, k.arg1());
        cpu.setReg(Cpu.ECX, k.arg2());
        cpu.setEip(cpu.eip() - 2);
        result = nr;
      }
      if (result < 0) {
        c.hypercallErrors++;
      }
      if (!v.domain().state().isFinal()) {
        cpu.setReg(Cpu.EAX, result);
      }
    }
    // The PV MMU's work: every table entry it validated or released is a memory reference,
    // so pinning a tree costs what walking it does (Xen's alloc_l1_table and friends).
    long checked = tables.entriesChecked() - checked0;
    long cycles = cost.hypercall() + work + (checked == 0 ? 0 : cost.pageWalk((int) checked));
    c.hypercallCycles += cycles;
    return cycles;
  }

  /** compat_iret's async_exception_cleanup: the NMI being handled is done; always true. */
  private static boolean unmaskNmi(org.hospes.hv.pv.PvVcpu p) {
    p.setNmiMasked(false);
    return true;
  }

  /** Handles the VMCALL {@code v} exited on; returns the modelled cycles. */
  public long handle(Vcpu v) {
    Cpu cpu = v.cpu();
    Counters c = v.counters();
    int nr = cpu.reg(Cpu.EAX);
    int a1 = cpu.reg(Cpu.EBX);
    int a2 = cpu.reg(Cpu.ECX);
    int a3 = cpu.reg(Cpu.EDX);
    int a4 = cpu.reg(Cpu.ESI);
    int a5 = cpu.reg(Cpu.EDI);
    c.hypercallCount[nr >= 0 && nr < c.hypercallCount.length ? nr : 63]++;
    work = 0;
    int result;
    if (cpu.cpl() != 0) {
      result = XenErrno.EPERM.negated();
    } else {
      topLevel = true;
      try {
        result = dispatch(v, nr, a1, a2, a3, a4, a5);
      } finally {
        topLevel = false;
      }
    }
    org.hospes.hv.pv.PvMmu.Continuation k = multicallContinuation;
    multicallContinuation = null;
    if (k != null && !v.domain().state().isFinal()) {
      // hvm_hypercall returns HVM_HCALL_preempted: RIP is not advanced, so the guest
      // re-executes its VMCALL with the continuation's arguments in EBX and ECX
      // (hypercall_create_continuation for a 32-bit HVM guest) and EAX the call's number.
      cpu.setReg(Cpu.EAX, nr);
      cpu.setReg(Cpu.EBX, k.arg1());
      cpu.setReg(Cpu.ECX, k.arg2());
    } else {
      if (result < 0) {
        c.hypercallErrors++;
      }
      if (!v.domain().state().isFinal()) {
        cpu.setReg(Cpu.EAX, result);
        cpu.skipInstruction();
      }
    }
    long cycles = cost.hypercall() + work;
    c.hypercallCycles += cycles;
    return cycles;
  }

  /** Modelled cycles of the current hypercall's work (grant maps and copies), added to its cost. */
  void charge(long cycles) {
    work += cycles;
  }

  /**
   * The domain {@code domid} names for a call from {@code v}, as Xen's
   * rcu_lock_domain_by_any_id finds it: DOMID_SELF is the caller, domain 0 is dom0 when the
   * host has one; null if there is no such domain. Callers then refuse a domain other than the
   * caller with -EPERM (or GNTST_permission_denied): guests are never privileged.
   */
  Domain lookupDomain(Vcpu v, int domid) {
    if (domid == EventChannelOp.DOMID_SELF) {
      return v.domain();
    }
    return hv.eventDirectory().domain(domid);
  }

  /**
   * Runs hypercall {@code nr} with arguments {@code a1..a5} (EBX, ECX, EDX, ESI, EDI) for
   * {@code v}; returns its result. Also the entry point of each multicall entry.
   */
  int dispatch(Vcpu v, int nr, int a1, int a2, int a3, int a4, int a5) {
    // Only the guest's own call may be continued (and a multicall's entries, through it).
    boolean mayPreempt = topLevel;
    topLevel = false;
    return dispatch(v, nr, a1, a2, a3, a4, a5, mayPreempt);
  }

  /**
   * As {@link #dispatch(Vcpu, int, int, int, int, int, int)}; {@code mayPreempt}: a PV guest's
   * long call may leave a continuation (its own call, or an entry of its multicall).
   */
  int dispatch(Vcpu v, int nr, int a1, int a2, int a3, int a4, int a5, boolean mayPreempt) {
    Hypercall call = Hypercall.of(nr);
    int result;
    org.hospes.hv.pv.PvVcpu p = v.domain().pv();
    if (call == null) {
      result = XenErrno.ENOSYS.negated();
    } else if (p != null
        && (result = dispatchPv(v, p, call, mayPreempt, a1, a2, a3, a4, a5)) != NOT_PV) {
      return result;
    } else {
      switch (call) {
        case XEN_VERSION: result = XenVersionHypercall.xenVersion(v, a1, a2); break;
        case CONSOLE_IO: result = consoleIo(v, a1, a2, a3); break;
        case SCHED_OP: result = schedOp(v, a1, a2); break;
        case EVENT_CHANNEL_OP: result = eventChannelOp(v, a1, a2); break;
        case HVM_OP: result = hvmOp(v, a1, a2); break;
        case MEMORY_OP: result = memoryOp(v, a1, a2); break;
        case GRANT_TABLE_OP: result = grants.grantTableOp(v, a1, a2, a3); break;
        case VCPU_OP: result = vcpus.vcpuOp(v, a1, a2, a3); break;
        case SET_TIMER_OP: result = vcpus.setTimerOp(v, a1, a2); break;
        case MULTICALL:
          result = multicalls.multicall(v, a1, a2,
              !mayPreempt ? null : p != null ? pvPreempt(p) : hvmPreempt(v));
          break;
        case PLATFORM_OP: result = control.platformOp(v, a1); break;
        case SYSCTL: result = control.sysctl(v, a1); break;
        case DOMCTL: result = control.domctl(v, a1); break;
        case DM_OP: result = control.dmOp(v, a1, a2, a3); break;
        case MMUEXT_OP: result = translatedMmuextOp(v, a1, a2, a4); break;
        case VM_ASSIST: result = translatedVmAssist(v.domain(), a1, a2); break;
        default: result = XenErrno.ENOSYS.negated(); break;
      }
    }
    return result;
  }

  /**
   * The multicall being dispatched stopped and continues with {@code list} and {@code count}
   * (hypercall_create_continuation for __HYPERVISOR_multicall).
   */
  void continueWith(int list, int count) {
    multicallContinuation = new org.hospes.hv.pv.PvMmu.Continuation(list, count);
  }

  /** dispatchPv's answer for a call that is not PV-only. */
  private static final int NOT_PV = Integer.MIN_VALUE;

  /**
   * hypercall_preempt_check for a PV batch, asked before each entry but the first (given the
   * entries done in this leg): an event waits for delivery (local_events_need_delivery), or this
   * leg has done its share.
   */
  private static java.util.function.IntPredicate pvPreempt(org.hospes.hv.pv.PvVcpu p) {
    return i -> i % PV_PREEMPT_OPS == 0 || p.upcallPending() && p.upcallMask() == 0;
  }

  /**
   * hypercall_preempt_check for an HVM or PVH guest's multicall, asked as for a PV one: an
   * event the vCPU could take now waits (hvm_local_events_need_delivery), or this leg has done
   * its share.
   */
  private java.util.function.IntPredicate hvmPreempt(Vcpu v) {
    org.hospes.hv.hvm.HvmPlatform platform = hv.platform(v.domain());
    return i -> i % PV_PREEMPT_OPS == 0
        || platform != null && platform.eventsNeedDelivery(v);
  }

  /** The calls only a classic PV guest makes, or NOT_PV for the shared ones. */
  private int dispatchPv(Vcpu v, org.hospes.hv.pv.PvVcpu p, Hypercall call, boolean mayPreempt,
      int a1, int a2, int a3, int a4, int a5) {
    switch (call) {
      case SET_TRAP_TABLE:
        // compat_set_trap_table's hypercall_preempt_check after each entry, as mmu_update's.
        return mayPreempt ? pv.setTrapTable(p, a1, a2, pvPreempt(p)) : pv.setTrapTable(p, a1);
      case MMU_UPDATE:
        // do_mmu_update's hypercall_preempt_check, as mmuext_op's below.
        return mayPreempt ? p.mmu().mmuUpdate(a1, a2, a3, a4, pvPreempt(p))
            : p.mmu().mmuUpdate(a1, a2, a3, a4);
      case SET_GDT: return pv.setGdt(p, a1, a2);
      case STACK_SWITCH: return pv.stackSwitch(p, a1, a2);
      case SET_CALLBACKS: return pv.setCallbacks(p, a1, a2, a3, a4);
      case FPU_TASKSWITCH: return pv.fpuTaskswitch(p, a1);
      case UPDATE_DESCRIPTOR:
        return pv.updateDescriptor(p, (a1 & 0xFFFF_FFFFL) | (long) a2 << 32, a3, a4);
      case UPDATE_VA_MAPPING:
        return p.mmu().updateVaMapping(a1, (a2 & 0xFFFF_FFFFL) | (long) a3 << 32, a4);
      case UPDATE_VA_MAPPING_OTHERDOMAIN:
        return p.mmu().updateVaMappingOtherdomain(a1, (a2 & 0xFFFF_FFFFL) | (long) a3 << 32, a4,
            a5 & 0xFFFF);
      case VM_ASSIST: return pv.vmAssist(p, a1, a2);
      case SET_DEBUGREG: return pv.setDebugreg(p, a1, a2);
      case GET_DEBUGREG: return pv.getDebugreg(p, a1);
      case MMUEXT_OP:
        // hypercall_preempt_check: before an op (never the first), stop if an event waits for
        // delivery (local_events_need_delivery) or this leg has done its share.
        return mayPreempt ? p.mmu().mmuextOp(a1, a2, a3, a4, pvPreempt(p))
            : p.mmu().mmuextOp(a1, a2, a3, a4);
      case CALLBACK_OP: return p.traps().callbackOp(a1, a2);
      case NMI_OP: return p.traps().nmiOp(a1, a2);
      case PHYSDEV_OP: return pv.physdevOp(v, p, a1, a2);
      case KEXEC_OP:
        // compat_kexec_op (only the PV columns of Xen's hypercall table have it; an HVM or
        // PVH caller gets -ENOSYS): do_kexec_op_internal asks xsm_kexec(XSM_PRIV) before it
        // looks at the op or its argument, so a domU is refused whatever it passes.
        return XenErrno.EPERM.negated();
      default: return NOT_PV;
    }
  }

  /** MMU_UPDATE_PREEMPTED: the continuation bit of an mmu_update or mmuext_op count. */
  private static final int MMU_UPDATE_PREEMPTED = 0x8000_0000;

  /**
   * mmuext_op(ops, count, pdone, foreigndom) from an HVM or PVH guest. Xen has it in the hvm32
   * column of its hypercall table (compat_mmuext_op), so that a device model in a translated
   * domain can pin a PV guest's page tables; its checks, in order:
   * <ul>
   *   <li>count MMU_UPDATE_PREEMPTED with a NULL list is the continuation of a preempted call
   *       and returns foreigndom as it is (do_mmuext_op);
   *   <li>the continuation bit is dropped from the count, and no ops is 0 at once: a translated
   *       caller's handle is not range-checked (compat_handle_okay), and the loop that copies
   *       ops in and hands them to do_mmuext_op does not run;
   *   <li>otherwise do_mmuext_op gets the ops copied so far and answers before the first one
   *       (its answer replaces any copy error): get_pg_owner finds no domain for the caller's
   *       own id or an unknown one (-ESRCH); the page owner must be a PV domain (-EINVAL, so
   *       DOMID_SELF from a translated caller is -EINVAL); then xsm_mmuext_op(XSM_TARGET)
   *       refuses anyone but the owner itself, its device model or the control domain: -EPERM
   *       (DOMID_IO and DOMID_XEN count as PV owners).
   * </ul>
   * No guest is a device model or privileged here, so nothing is ever done, and pdone is never
   * written: every refusal comes before do_mmuext_op's loop.
   */
  private int translatedMmuextOp(Vcpu v, int ops, int count, int foreigndom) {
    if (count == MMU_UPDATE_PREEMPTED && ops == 0) {
      return foreigndom;
    }
    if ((count & ~MMU_UPDATE_PREEMPTED) == 0) {
      return 0;
    }
    int dom = foreigndom & 0xFFFF;
    if (dom == PvMmuAbi.DOMID_SELF) {
      return XenErrno.EINVAL.negated();
    }
    if (dom == v.domain().domid()) {
      return XenErrno.ESRCH.negated();
    }
    if (dom == PvMmuAbi.DOMID_IO || dom == PvMmuAbi.DOMID_XEN) {
      return XenErrno.EPERM.negated();
    }
    Domain owner = hv.eventDirectory().domain(dom);
    if (owner == null) {
      return XenErrno.ESRCH.negated();
    }
    // A service domain (dom0, a driver domain) is not a PV domain here either.
    return owner.pv() != null ? XenErrno.EPERM.negated() : XenErrno.EINVAL.negated();
  }

  /** HVM_VM_ASSIST_MASK: the only vm_assist type an HVM or PVH domain may set. */
  static final int HVM_VM_ASSIST_MASK =
      1 << org.hospes.hv.pv.PvVcpu.VMASST_TYPE_RUNSTATE_UPDATE_FLAG;

  /**
   * vm_assist(cmd, type) from an HVM or PVH guest: Xen's hvm32 column has it (do_vm_assist with
   * arch_vm_assist_valid_mask), whose mask for an HVM domain is runstate_update_flag alone. The
   * order is common vm_assist's: a type outside the mask (any other, or one past the word) is
   * -EINVAL whatever the command; then enable (0) or disable (1), else -ENOSYS. The flag asks
   * that runstate area updates be bracketed by XEN_RUNSTATE_UPDATE; Hospes writes the area while
   * the guest is not running, so the guest never sees an update half done and the bracket
   * would be invisible.
   */
  private static int translatedVmAssist(Domain d, int cmd, int type) {
    if (type < 0 || type >= 32 || ((HVM_VM_ASSIST_MASK >>> type) & 1) == 0) {
      return XenErrno.EINVAL.negated();
    }
    switch (cmd) {
      case 0 -> d.setVmAssist(d.vmAssist() | 1 << type);
      case 1 -> d.setVmAssist(d.vmAssist() & ~(1 << type));
      default -> {
        return XenErrno.ENOSYS.negated();
      }
    }
    return 0;
  }

  /** Reads a u16 at {@code va}, or null on a fault. */
  private static Integer readU16(GuestAccess g, int va) {
    byte[] b = g.read(va, 2);
    return b == null ? null : (b[0] & 0xFF) | (b[1] & 0xFF) << 8;
  }

  /** EVENTCHN ops: copy the struct in, call the mechanism, copy OUT fields back. */
  private int eventChannelOp(Vcpu v, int cmd, int arg) {
    EventChannels ch = v.domain().eventChannels();
    GuestAccess g = new GuestAccess(v);
    switch (cmd) {
      case EventChannelOp.ALLOC_UNBOUND: {
        Integer dom = readU16(g, arg + EventChannelOp.ALLOC_UNBOUND_DOM);
        Integer remote = readU16(g, arg + EventChannelOp.ALLOC_UNBOUND_REMOTE_DOM);
        if (dom == null || remote == null) {
          return XenErrno.EFAULT.negated();
        }
        int port = ch.allocUnbound(dom, remote);
        return port < 0 ? port : out(g, arg + EventChannelOp.ALLOC_UNBOUND_PORT, port, ch);
      }
      case EventChannelOp.BIND_INTERDOMAIN: {
        Integer remote = readU16(g, arg + EventChannelOp.BIND_INTERDOMAIN_REMOTE_DOM);
        Integer rport = g.readInt(arg + EventChannelOp.BIND_INTERDOMAIN_REMOTE_PORT);
        if (remote == null || rport == null
            || !g.writeInt(arg + EventChannelOp.BIND_INTERDOMAIN_LOCAL_PORT, 0)) {
          return XenErrno.EFAULT.negated();
        }
        int port = ch.bindInterdomain(remote, rport);
        return port < 0 ? port
            : out(g, arg + EventChannelOp.BIND_INTERDOMAIN_LOCAL_PORT, port, ch);
      }
      case EventChannelOp.BIND_VIRQ: {
        Integer virq = g.readInt(arg + EventChannelOp.BIND_VIRQ_VIRQ);
        Integer cpu = g.readInt(arg + EventChannelOp.BIND_VIRQ_VCPU);
        if (virq == null || cpu == null
            || !g.writeInt(arg + EventChannelOp.BIND_VIRQ_PORT, 0)) {
          return XenErrno.EFAULT.negated();
        }
        int port = ch.bindVirq(virq, cpu);
        return port < 0 ? port : out(g, arg + EventChannelOp.BIND_VIRQ_PORT, port, ch);
      }
      case EventChannelOp.BIND_IPI: {
        Integer cpu = g.readInt(arg + EventChannelOp.BIND_IPI_VCPU);
        if (cpu == null || !g.writeInt(arg + EventChannelOp.BIND_IPI_PORT, 0)) {
          return XenErrno.EFAULT.negated();
        }
        int port = ch.bindIpi(cpu);
        return port < 0 ? port : out(g, arg + EventChannelOp.BIND_IPI_PORT, port, ch);
      }
      case EventChannelOp.SEND:
      case EventChannelOp.CLOSE:
      case EventChannelOp.UNMASK: {
        Integer port = g.readInt(arg);
        if (port == null) {
          return XenErrno.EFAULT.negated();
        }
        return cmd == EventChannelOp.SEND ? ch.send(port)
            : cmd == EventChannelOp.CLOSE ? ch.close(port) : ch.unmask(port);
      }
      case EventChannelOp.BIND_VCPU: {
        Integer port = g.readInt(arg);
        Integer cpu = g.readInt(arg + 4);
        if (port == null || cpu == null) {
          return XenErrno.EFAULT.negated();
        }
        return ch.bindVcpu(port, cpu);
      }
      case EventChannelOp.STATUS: {
        Integer dom = readU16(g, arg + EventChannelOp.STATUS_DOM);
        Integer port = g.readInt(arg + EventChannelOp.STATUS_PORT);
        if (dom == null || port == null) {
          return XenErrno.EFAULT.negated();
        }
        // Xen's order (evtchn_status): the domain, then the port, then the permission.
        Domain target = lookupDomain(v, dom);
        if (target == null) {
          return XenErrno.ESRCH.negated();
        }
        EventChannels tc = target.eventChannels();
        if (tc == null || tc.status(port) == null) {
          return XenErrno.EINVAL.negated();
        }
        if (target != v.domain()) {
          // Only a privileged domain may look at another domain's ports.
          return XenErrno.EPERM.negated();
        }
        int[] st = ch.status(port);
        boolean ok = g.writeInt(arg + EventChannelOp.STATUS_STATUS, st[0])
            && g.writeInt(arg + EventChannelOp.STATUS_VCPU, st[1])
            && g.writeInt(arg + EventChannelOp.STATUS_UNION, st[2])
            && g.writeInt(arg + EventChannelOp.STATUS_UNION + 4, st[3]);
        return ok ? 0 : XenErrno.EFAULT.negated();
      }
      case EventChannelOp.RESET: {
        Integer dom = readU16(g, arg + EventChannelOp.RESET_DOM);
        if (dom == null) {
          return XenErrno.EFAULT.negated();
        }
        Domain target = lookupDomain(v, dom);
        if (target == null) {
          return XenErrno.ESRCH.negated();
        }
        if (target != v.domain()) {
          return XenErrno.EPERM.negated();
        }
        // evtchn_reset on itself: every port is closed (interdomain peers see them unbound).
        ch.closeAll();
        return 0;
      }
      case EventChannelOp.INIT_CONTROL:
        return initControl(v, g, arg);
      case EventChannelOp.EXPAND_ARRAY:
        // evtchn_fifo_expand_array before any init_control succeeded: -EOPNOTSUPP.
        return g.read(arg, EventChannelOp.EXPAND_ARRAY_SIZE) == null
            ? XenErrno.EFAULT.negated() : XenErrno.EOPNOTSUPP.negated();
      case EventChannelOp.SET_PRIORITY: {
        Integer port = g.readInt(arg + EventChannelOp.SET_PRIORITY_PORT);
        Integer prio = g.readInt(arg + EventChannelOp.SET_PRIORITY_PRIORITY);
        if (port == null || prio == null) {
          return XenErrno.EFAULT.negated();
        }
        // evtchn_set_priority: a port the domain cannot have is -EINVAL; the 2-level ABI has
        // no set_priority port op, so -ENOSYS.
        return ch.status(port) == null ? XenErrno.EINVAL.negated() : XenErrno.ENOSYS.negated();
      }
      default:
        // PIRQs are not offered.
        return XenErrno.ENOSYS.negated();
    }
  }

  /**
   * EVTCHNOP_init_control without the FIFO ABI: the argument checks of Xen 4.17's
   * evtchn_fifo_init_control in its order (-ENOENT for a vCPU the domain does not have;
   * -EINVAL for a control block crossing the page, an offset not 8-byte aligned, or a GFN that
   * is not a writable RAM page of the domain), then -ENOSYS: only the 2-level ABI is offered,
   * and Linux falls back to it on any error.
   */
  private int initControl(Vcpu v, GuestAccess g, int arg) {
    byte[] raw = g.read(arg, EventChannelOp.INIT_CONTROL_SIZE);
    if (raw == null) {
      return XenErrno.EFAULT.negated();
    }
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    long gfn = b.getLong(EventChannelOp.INIT_CONTROL_GFN);
    long offset = b.getInt(EventChannelOp.INIT_CONTROL_OFFSET) & 0xFFFF_FFFFL;
    long vcpu = b.getInt(EventChannelOp.INIT_CONTROL_VCPU) & 0xFFFF_FFFFL;
    Domain d = v.domain();
    if (vcpu >= d.vcpus().size()) {
      return XenErrno.ENOENT.negated();
    }
    if (offset > 4096 - EventChannelOp.FIFO_CONTROL_BLOCK_SIZE) {
      return XenErrno.EINVAL.negated();
    }
    if ((offset & 7) != 0) {
      return XenErrno.EINVAL.negated();
    }
    long mfn = gfn < 0 || gfn >= d.p2m().size() ? org.hospes.hv.memory.P2m.INVALID
        : d.p2m().lookup(gfn);
    if (mfn == org.hospes.hv.memory.P2m.INVALID || hv.frames().owner(mfn) != d.domid()
        || !d.p2m().isWritable(gfn)) {
      return XenErrno.EINVAL.negated();
    }
    return XenErrno.ENOSYS.negated();
  }

  /** Copies an OUT port number back; a fault undoes the allocation. */
  private static int out(GuestAccess g, int va, int port, EventChannels ch) {
    if (!g.writeInt(va, port)) {
      ch.close(port);
      return XenErrno.EFAULT.negated();
    }
    return 0;
  }

  /** HVMOP_set_param / get_param on the caller's own domain. */
  private int hvmOp(Vcpu v, int cmd, int arg) {
    if (cmd != HvmOp.SET_PARAM && cmd != HvmOp.GET_PARAM) {
      // pagetable_dying and the rest: -ENOSYS, which Linux tolerates.
      return XenErrno.ENOSYS.negated();
    }
    GuestAccess g = new GuestAccess(v);
    Integer dom = readU16(g, arg + HvmOp.PARAM_DOMID);
    Integer index = g.readInt(arg + HvmOp.PARAM_INDEX);
    byte[] value = g.read(arg + HvmOp.PARAM_VALUE, 8);
    if (dom == null || index == null || value == null) {
      return XenErrno.EFAULT.negated();
    }
    // Xen's order (hvmop_get_param / hvm_set_param): the domain, that it is an HVM one (a PV
    // guest may call hvm_op, but a PV domain has no HVM parameters: it learns its rings from
    // start_info), the index, then the permission to touch another domain's params.
    Domain target = lookupDomain(v, dom);
    if (target == null) {
      return XenErrno.ESRCH.negated();
    }
    if (target.pv() != null) {
      return XenErrno.EINVAL.negated();
    }
    if (index < 0 || index >= HvmOp.NR_PARAMS) {
      return XenErrno.EINVAL.negated();
    }
    if (target != v.domain()) {
      return XenErrno.EPERM.negated();
    }
    Domain d = v.domain();
    if (cmd == HvmOp.GET_PARAM) {
      long val = d.hvmParam(index);
      byte[] b = new byte[8];
      for (int k = 0; k < 8; k++) {
        b[k] = (byte) (val >>> (8 * k));
      }
      return g.write(arg + HvmOp.PARAM_VALUE, b) ? 0 : XenErrno.EFAULT.negated();
    }
    if (index != HvmOp.PARAM_CALLBACK_IRQ) {
      // The store and console parameters belong to the toolstack.
      return XenErrno.EPERM.negated();
    }
    long val = 0;
    for (int k = 0; k < 8; k++) {
      val |= (value[k] & 0xFFL) << (8 * k);
    }
    d.setHvmParam(index, val);
    org.hospes.hv.hvm.HvmPlatform platform = hv.platform(d);
    if (platform != null) {
      platform.callbackParamChanged(val);
    }
    return 0;
  }

  /**
   * XENMEM: add_to_physmap (shared_info), memory_map, current/maximum reservation,
   * get_vnumainfo (no topology).
   */
  private int memoryOp(Vcpu v, int cmd, int arg) {
    Domain d = v.domain();
    GuestAccess g = new GuestAccess(v);
    switch (cmd & MemoryOp.CMD_MASK) {
      case MemoryOp.CURRENT_RESERVATION:
      case MemoryOp.MAXIMUM_RESERVATION: {
        Integer dom = readU16(g, arg);
        if (dom == null) {
          return XenErrno.EFAULT.negated();
        }
        Domain target = lookupDomain(v, dom);
        if (target == null) {
          return XenErrno.ESRCH.negated();
        }
        if (target != d) {
          return XenErrno.EPERM.negated();
        }
        return (cmd & MemoryOp.CMD_MASK) == MemoryOp.MAXIMUM_RESERVATION ? d.p2m().ramFrames()
            : Reservations.populatedFrames(d);
      }
      case MemoryOp.DECREASE_RESERVATION:
      case MemoryOp.POPULATE_PHYSMAP:
        return Reservations.handle(hv, this, v, cmd & MemoryOp.CMD_MASK, arg);
      case MemoryOp.ADD_TO_PHYSMAP: {
        Integer dom = readU16(g, arg + MemoryOp.ATP_DOMID);
        Integer space = g.readInt(arg + MemoryOp.ATP_SPACE);
        Integer idx = g.readInt(arg + MemoryOp.ATP_IDX);
        Integer gpfn = g.readInt(arg + MemoryOp.ATP_GPFN);
        if (dom == null || space == null || idx == null || gpfn == null) {
          return XenErrno.EFAULT.negated();
        }
        if (space == MemoryOp.SPACE_GMFN_FOREIGN) {
          // Foreign mappings only through add_to_physmap_batch.
          return XenErrno.ENOSYS.negated();
        }
        Domain target = lookupDomain(v, dom);
        if (target == null) {
          return XenErrno.ESRCH.negated();
        }
        if (target.pv() != null) {
          // xatp_permission_check looks at the target first: a PV domain is not translated
          // and has no physmap (it maps shared_info and its grant frames with
          // update_va_mapping, by machine frame), whoever asks.
          return XenErrno.EACCES.negated();
        }
        if (target != d) {
          return XenErrno.EPERM.negated();
        }
        if (space == MemoryOp.SPACE_GRANT_TABLE) {
          // idx | 0x80000000 names a v2 status frame: there are none in v1.
          return d.grantTables() == null ? XenErrno.ENOSYS.negated()
              : d.grantTables().addToPhysmap(idx, gpfn & 0xFFFF_FFFFL);
        }
        if (space != MemoryOp.SPACE_SHARED_INFO || idx != 0) {
          return XenErrno.EINVAL.negated();
        }
        if (gpfn < 0 || gpfn >= d.p2m().size()) {
          return XenErrno.EINVAL.negated();
        }
        // guest_physmap_add_page's -ENOMEM when there is no memory for the P2M's tables.
        return hv.mapIntoPhysmap(d, gpfn, d.sharedInfoMfn()) ? 0 : XenErrno.ENOMEM.negated();
      }
      case MemoryOp.MEMORY_MAP: {
        Integer max = g.readInt(arg + MemoryOp.MAP_NR_ENTRIES);
        Integer buffer = g.readInt(arg + MemoryOp.MAP_BUFFER);
        if (max == null || buffer == null) {
          return XenErrno.EFAULT.negated();
        }
        long ram = (long) d.p2m().ramFrames() << 12;
        long[][] map = {{0, 0xA_0000, 1}, {0xA_0000, 0x6_0000, 2}, {0x10_0000, ram - 0x10_0000, 1}};
        if (max < map.length) {
          return XenErrno.EINVAL.negated();
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(map.length * MemoryOp.E820_ENTRY_SIZE)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (long[] e : map) {
          b.putLong(e[0]).putLong(e[1]).putInt((int) e[2]);
        }
        if (!g.write(buffer, b.array()) || !g.writeInt(arg + MemoryOp.MAP_NR_ENTRIES, map.length)) {
          return XenErrno.EFAULT.negated();
        }
        return 0;
      }
      case MemoryOp.GET_VNUMAINFO: {
        // As compat_memory_op then do_memory_op check it: the 32-bit struct is copied in
        // first; a continuation's start extent, a non-zero pad, an unknown domain and another
        // domain (XSM_TARGET) are refused in that order; a domain without a vNUMA topology
        // (every domain here: the toolstack gives none) is -EOPNOTSUPP. XENFEAT's
        // memory_op_vnode_supported only says the call exists.
        byte[] topology = g.read(arg, MemoryOp.VNUMA_SIZE);
        if (topology == null) {
          return XenErrno.EFAULT.negated();
        }
        if (cmd >>> MemoryOp.EXTENT_SHIFT != 0) {
          return XenErrno.EINVAL.negated();
        }
        int pad = (topology[MemoryOp.VNUMA_PAD] & 0xFF)
            | (topology[MemoryOp.VNUMA_PAD + 1] & 0xFF) << 8;
        if (pad != 0) {
          return XenErrno.EINVAL.negated();
        }
        int dom = (topology[MemoryOp.VNUMA_DOMID] & 0xFF)
            | (topology[MemoryOp.VNUMA_DOMID + 1] & 0xFF) << 8;
        Domain target = lookupDomain(v, dom);
        if (target == null) {
          return XenErrno.ESRCH.negated();
        }
        if (target != d) {
          return XenErrno.EPERM.negated();
        }
        return XenErrno.EOPNOTSUPP.negated();
      }
      default:
        return XenErrno.ENOSYS.negated();
    }
  }

  /** CONSOLEIO_write copies the guest's bytes to the domain's console; read has no input. */
  private int consoleIo(Vcpu v, int cmd, int count, int buf) {
    if (cmd == 1) {
      return 0;
    }
    if (cmd != 0) {
      return XenErrno.ENOSYS.negated();
    }
    if (count < 0 || count > 1 << 16) {
      return XenErrno.EINVAL.negated();
    }
    byte[] bytes = new GuestAccess(v).read(buf, count);
    if (bytes == null) {
      return XenErrno.EFAULT.negated();
    }
    try {
      v.domain().console().write(bytes);
    } catch (IOException e) {
      return XenErrno.EIO.negated();
    }
    return 0;
  }

  /**
   * SCHEDOP_poll: returns at once if one of the ports is pending, else blocks the vCPU until one
   * becomes pending (masked or not) or the absolute timeout (system time in ns; 0 = none) passes.
   */
  private int poll(Vcpu v, int arg) {
    GuestAccess g = new GuestAccess(v);
    Integer ports = g.readInt(arg + SchedOp.POLL_PORTS);
    Integer count = g.readInt(arg + SchedOp.POLL_NR_PORTS);
    byte[] timeout = g.read(arg + SchedOp.POLL_TIMEOUT, 8);
    if (ports == null || count == null || timeout == null) {
      return XenErrno.EFAULT.negated();
    }
    if (count < 0 || count > SchedOp.POLL_MAX_PORTS) {
      return XenErrno.EINVAL.negated();
    }
    EventChannels ch = v.domain().eventChannels();
    int[] list = new int[count];
    for (int k = 0; k < count; k++) {
      Integer p = g.readInt(ports + 4 * k);
      if (p == null) {
        return XenErrno.EFAULT.negated();
      }
      if (!ch.isValidPort(p)) {
        return XenErrno.EINVAL.negated();
      }
      list[k] = p;
    }
    for (int p : list) {
      if (ch.ops().isPending(p)) {
        return 0;
      }
    }
    long deadline = 0;
    for (int k = 0; k < 8; k++) {
      deadline |= (timeout[k] & 0xFFL) << (8 * k);
    }
    if (deadline != 0 && deadline <= hv.now()) {
      return 0;
    }
    v.startPoll(list);
    if (deadline != 0) {
      if (v.pollTimer() == null) {
        v.setPollTimer(hv.platform(v.domain()).timers().newTimer(v + ".poll", now -> {
          v.endPoll();
          hv.wake(v);
        }));
      }
      v.pollTimer().arm(deadline);
    }
    hv.block(v);
    return 0;
  }

  private int schedOp(Vcpu v, int cmd, int arg) {
    Domain d = v.domain();
    switch (cmd) {
      case SchedOp.YIELD:
        v.requestYield();
        return 0;
      case SchedOp.BLOCK:
        if (d.pv() != null) {
          // do_block: local_event_delivery_enable first, so the event that wakes it is taken.
          d.pv().setUpcallMask(0);
        }
        // Events wake it (upcall); one already pending means it does not block at all, as
        // Xen's do_block checks local_events_need_delivery, so no wakeup is lost.
        if (!d.eventChannels().ops().upcallPending(v.id())) {
          hv.block(v);
        }
        return 0;
      case SchedOp.POLL:
        return poll(v, arg);
      case SchedOp.REMOTE_SHUTDOWN: {
        GuestAccess g = new GuestAccess(v);
        Integer dom = readU16(g, arg + SchedOp.REMOTE_SHUTDOWN_DOMID);
        Integer reason = g.readInt(arg + SchedOp.REMOTE_SHUTDOWN_REASON);
        if (dom == null || reason == null) {
          return XenErrno.EFAULT.negated();
        }
        // rcu_lock_domain_by_id: DOMID_SELF names no domain here. Then XSM_DM_PRIV: only a
        // device model or the control domain may shut a domain down this way, not a domU.
        return hv.eventDirectory().domain(dom) == null ? XenErrno.ESRCH.negated()
            : XenErrno.EPERM.negated();
      }
      case SchedOp.SHUTDOWN: {
        Integer reason = new GuestAccess(v).readInt(arg);
        if (reason == null) {
          return XenErrno.EFAULT.negated();
        }
        if (reason < SchedOp.SHUTDOWN_POWEROFF || reason > SchedOp.SHUTDOWN_SOFT_RESET) {
          return XenErrno.EINVAL.negated();
        }
        hv.shutdown(d, SchedOp.reasonName(reason), reason);
        return 0;
      }
      default:
        return XenErrno.ENOSYS.negated();
    }
  }
}
