package org.hospes.hv.hypercall;

import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.SchedOp;
import org.hospes.abi.SharedInfo;
import org.hospes.abi.VcpuOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.event.PortOps;
import org.hospes.hv.memory.P2m;
import org.hospes.hv.time.PvTime;
import org.hospes.x86.Cpu;
import org.hospes.x86.MemoryBus;

/**
 * vcpu_op (hypercall 24: cmd, vcpuid, extra_args) and set_timer_op (15): is_up,
 * register_vcpu_info, the runstate and time areas, the singleshot and periodic timers, and
 * get_physid, in the checks and order of Xen 4.17's compat_vcpu_op (every guest here is
 * 32-bit): an unknown vCPU is -ENOENT before anything else; the periodic timer, runstate and
 * time areas may be any vCPU of the caller's domain, the singleshot timer only its own. Times
 * are absolute Xen system time in nanoseconds, which is the hypervisor's virtual time (see
 * {@link PvTime}).
 */
final class VcpuHypercalls {
  /** set_timer_op clamps timeouts this far beyond now, as Xen does for old Linux kernels. */
  static final long MAX_TIMER_OFFSET = 1L << 50;

  private final Hypervisor hv;

  VcpuHypercalls(Hypervisor hv) {
    this.hv = hv;
  }

  int vcpuOp(Vcpu v, int cmd, int vcpuid, int arg) {
    Domain d = v.domain();
    if (vcpuid < 0 || vcpuid >= d.vcpus().size()) {
      return XenErrno.ENOENT.negated();
    }
    Vcpu target = d.vcpus().get(vcpuid);
    GuestAccess g = new GuestAccess(v);
    switch (cmd) {
      case VcpuOp.IS_UP:
        return target.state() == VcpuState.OFFLINE ? 0 : 1;
      case VcpuOp.STOP_PERIODIC_TIMER:
        // Any vCPU of the domain. Succeeding here selects Linux's vcpuop clockevent
        // (singleshot timer + VIRQ_TIMER).
        d.pvTime().stopPeriodic(target.id());
        return 0;
      case VcpuOp.SET_SINGLESHOT_TIMER: {
        // 4.17's compat_common_vcpu_op copies the struct in before do_vcpu_op looks at the
        // vCPU, so an unreadable argument is -EFAULT even for another vCPU.
        byte[] b = g.read(arg, VcpuOp.SSHOT_SIZE);
        if (b == null) {
          return XenErrno.EFAULT.negated();
        }
        // Only the caller's own singleshot timer (it is migrated to the caller's CPU).
        if (target != v) {
          return XenErrno.EINVAL.negated();
        }
        long timeout = le64(b, VcpuOp.SSHOT_TIMEOUT);
        int flags = le32(b, VcpuOp.SSHOT_FLAGS);
        if ((flags & VcpuOp.SSHOTTMR_FUTURE) != 0 && Long.compareUnsigned(timeout, hv.now()) < 0) {
          return XenErrno.ETIME.negated();
        }
        // A u64 beyond 2^63 ns is as good as never.
        arm(v, timeout < 0 ? Long.MAX_VALUE - 1 : timeout);
        return 0;
      }
      case VcpuOp.STOP_SINGLESHOT_TIMER:
        if (target != v) {
          return XenErrno.EINVAL.negated();
        }
        d.pvTime().stopSingleshot(v.id());
        return 0;
      case VcpuOp.REGISTER_VCPU_INFO:
        return registerVcpuInfo(g, v, target, arg);
      case VcpuOp.GET_RUNSTATE_INFO:
        return g.write(arg, target.runstate().image(hv.now())) ? 0 : XenErrno.EFAULT.negated();
      case VcpuOp.REGISTER_RUNSTATE_MEMORY_AREA: {
        Integer va = g.readInt(arg + VcpuOp.AREA_ADDR);
        if (va == null || !areaOkay(d, va, VcpuOp.RUNSTATE_INFO_SIZE)) {
          return XenErrno.EFAULT.negated();
        }
        target.runstate().setAreaVa(va);
        // Written at once, then at every schedule; a bad address just stops the updates.
        if (va != 0 && !g.write(va, target.runstate().image(hv.now()))) {
          target.runstate().setAreaVa(0);
        }
        return 0;
      }
      case VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA: {
        Integer va = g.readInt(arg + VcpuOp.AREA_ADDR);
        if (va == null || !areaOkay(d, va, SharedInfo.TIME_INFO_SIZE)) {
          return XenErrno.EFAULT.negated();
        }
        target.setTimeAreaVa(va);
        d.pvTime().invalidate(target.id());
        return 0;
      }
      case VcpuOp.SET_PERIODIC_TIMER: {
        // Any vCPU of the caller's domain, as stop_periodic_timer: common_vcpu_op checks the
        // struct and the period, never that the vCPU is the caller.
        byte[] b = g.read(arg, 8);
        if (b == null) {
          return XenErrno.EFAULT.negated();
        }
        // period_ns is a u64: as a long, those past 2^63 are negative, below the minimum.
        long period = le64(b, VcpuOp.PERIOD_NS);
        if (period < VcpuOp.MIN_PERIOD_NS || period > VcpuOp.MAX_PERIOD_NS) {
          return XenErrno.EINVAL.negated();
        }
        d.pvTime().setPeriodic(target.id(), period, hv.now());
        return 0;
      }
      case VcpuOp.GET_PHYSID:
        // Only the hardware domain's pinned vCPUs learn their physical CPU; for anyone else
        // do_vcpu_op answers -EINVAL before it looks at the argument.
        return XenErrno.EINVAL.negated();
      case VcpuOp.INITIALISE:
        return initialise(g, v, target, arg);
      case VcpuOp.UP:
        // common_vcpu_op: an uninitialised vCPU cannot come up; an up one stays up.
        if (!initialised(target)) {
          return XenErrno.EINVAL.negated();
        }
        hv.upVcpu(target);
        return 0;
      case VcpuOp.DOWN: {
        // The last vCPU going down (no other one up, whatever the target's own state) powers
        // the domain off; otherwise the target stops where it is.
        for (Vcpu o : d.vcpus()) {
          if (o != target && o.state() != VcpuState.OFFLINE) {
            hv.downVcpu(target);
            return 0;
          }
        }
        hv.shutdown(d, SchedOp.reasonName(SchedOp.SHUTDOWN_POWEROFF), SchedOp.SHUTDOWN_POWEROFF);
        return 0;
      }
      case VcpuOp.SEND_NMI:
        // arch_do_vcpu_op: the argument must be NULL; then nmi_pending, and a kick.
        if (arg != 0) {
          return XenErrno.EINVAL.negated();
        }
        if (d.pv() != null) {
          d.pv().raiseNmi();
        } else if (hv.platform(d) != null) {
          hv.platform(d).sendNmi(target.id());
        }
        return 0;
      default:
        return XenErrno.ENOSYS.negated();
    }
  }

  /**
   * v->is_initialised: a PV vCPU always (the builder starts the domain's one vCPU); an HVM or
   * PVH vCPU unless it still waits for its first start-up IPI (an application processor before
   * SIPI or VCPUOP_initialise, or any after INIT, which resets it).
   */
  private static boolean initialised(Vcpu v) {
    return v.domain().pv() != null || !v.waitingForSipi();
  }

  /**
   * VCPUOP_initialise as compat_vcpu_op does it: a vCPU past the legacy 32 with no vcpu_info
   * of its own is -EINVAL; the context (vcpu_hvm_context for HVM and PVH, the compat
   * vcpu_guest_context for PV) is copied in (-EFAULT); an initialised vCPU is -EEXIST; then
   * arch_set_info_hvm_guest. A PV domain here has one vCPU, already initialised, so a readable
   * context is always -EEXIST.
   */
  private int initialise(GuestAccess g, Vcpu caller, Vcpu target, int arg) {
    Domain d = caller.domain();
    long defaultSlot = (d.sharedInfoMfn() << 12) + (long) target.id() * SharedInfo.VCPU_INFO_SIZE;
    if (target.id() >= SharedInfo.MAX_LEGACY_VCPUS
        && d.eventChannels().ops().vcpuInfo(target.id()) == defaultSlot) {
      return XenErrno.EINVAL.negated();
    }
    byte[] ctx = g.read(arg, d.pv() != null ? VcpuOp.PV_CTX_SIZE : VcpuOp.HVM_CTX_SIZE);
    if (ctx == null) {
      return XenErrno.EFAULT.negated();
    }
    if (initialised(target)) {
      return XenErrno.EEXIST.negated();
    }
    return setInfoHvmGuest(target, ctx);
  }

  /** The CR4 bits an HVM guest may set (hvm_cr4_guest_valid_bits of this processor's CPUID). */
  private static final int CR4_GUEST_VALID = Cpu.CR4_VALID;

  /**
   * arch_set_info_hvm_guest, in its order, every refusal -EINVAL: the pads are zero; the mode
   * is 32-bit (a 64-bit context needs long mode, which this processor lacks: EFER.LME is not a
   * bit it has, so Xen's checks end -EINVAL too); each segment (cs, ds, ss, es, tr) passes
   * check_segment after the accessed (busy, for TR) bit is set in a present one; EIP within
   * CS's limit; SS.DPL = CS.DPL, a present DS or ES no more privileged than CS; EFER.LMA not
   * without LME; CR4 within the guest's valid bits; EFER only NXE (hvm_efer_valid: every other
   * bit is a feature this processor does not have). Then the state is loaded (selectors 0, CPL
   * SS.DPL, FS, GS and the descriptor tables as the reset left them) and the vCPU is
   * initialised but down, until VCPUOP_up. State the processor cannot enter (paging without
   * protection, PAE roots with reserved bits, reserved EFLAGS bits) crashes the domain, as a
   * failed VM entry does in Xen.
   */
  private int setInfoHvmGuest(Vcpu target, byte[] c) {
    if (le32(c, VcpuOp.HVM_CTX_PAD) != 0) {
      return XenErrno.EINVAL.negated();
    }
    if (le32(c, VcpuOp.HVM_CTX_MODE) != VcpuOp.HVM_MODE_32B) {
      return XenErrno.EINVAL.negated();
    }
    if (le32(c, VcpuOp.HVM32_PAD1) != 0 || le16(c, VcpuOp.HVM32_PAD2) != 0
        || le16(c, VcpuOp.HVM32_PAD2 + 2) != 0 || le16(c, VcpuOp.HVM32_PAD2 + 4) != 0) {
      return XenErrno.EINVAL.negated();
    }
    int[] base = new int[5];
    int[] limit = new int[5];
    int[] ar = new int[5];
    boolean bad = false;
    for (int s = 0; s < 5; s++) {
      base[s] = le32(c, VcpuOp.HVM32_BASES + 4 * s);
      limit[s] = le32(c, VcpuOp.HVM32_LIMITS + 4 * s);
      ar[s] = le16(c, VcpuOp.HVM32_ARS + 2 * s);
      if ((ar[s] & 0x80) != 0) {
        ar[s] |= s == VcpuOp.SEG_TR ? 2 : 1;
      }
      bad |= !checkSegment(ar[s], s);
    }
    if (bad) {
      return XenErrno.EINVAL.negated();
    }
    int eip = le32(c, VcpuOp.HVM32_EIP);
    int csLimit = (ar[VcpuOp.SEG_CS] & 0x800) != 0 ? limit[VcpuOp.SEG_CS] << 12 | 0xFFF
        : limit[VcpuOp.SEG_CS];
    if (Integer.compareUnsigned(eip, csLimit) > 0) {
      return XenErrno.EINVAL.negated();
    }
    int csDpl = dpl(ar[VcpuOp.SEG_CS]);
    if (dpl(ar[VcpuOp.SEG_SS]) != csDpl) {
      return XenErrno.EINVAL.negated();
    }
    for (int s : new int[] {VcpuOp.SEG_DS, VcpuOp.SEG_ES}) {
      if ((ar[s] & 0x80) != 0 && dpl(ar[s]) > csDpl) {
        return XenErrno.EINVAL.negated();
      }
    }
    long efer = le64(c, VcpuOp.HVM32_EFER);
    final long lme = 1L << 8;
    final long lma = 1L << 10;
    if ((efer & lma) != 0 && (efer & lme) == 0) {
      return XenErrno.EINVAL.negated();
    }
    int cr0 = le32(c, VcpuOp.HVM32_CR0);
    int cr3 = le32(c, VcpuOp.HVM32_CR3);
    int cr4 = le32(c, VcpuOp.HVM32_CR4);
    if ((cr4 & ~CR4_GUEST_VALID) != 0 || (efer & ~(long) Cpu.EFER_NXE) != 0) {
      return XenErrno.EINVAL.negated();
    }
    Domain d = target.domain();
    Cpu cpu = target.cpu();
    int eflags = le32(c, VcpuOp.HVM32_EFLAGS);
    if ((cr0 & Cpu.CR0_PG) != 0 && (cr0 & Cpu.CR0_PE) == 0
        || (eflags & EFLAGS_RESERVED) != 0 || (eflags & 2) == 0) {
      hv.crash(d, "VCPUOP_initialise: vCPU " + target.id() + " given a state it cannot enter");
      return 0;
    }
    for (int r = 0; r < 8; r++) {
      cpu.setReg(HVM32_REG_ORDER[r], le32(c, VcpuOp.HVM_CTX_REGS + 4 * r));
    }
    cpu.setEip(eip);
    cpu.setEflags(eflags);
    cpu.loadEfer((int) efer);
    boolean entered;
    if (d.shadow() != null) {
      entered = org.hospes.hv.hvm.ShadowControl.adopt(cpu, target.vmcs(), d.shadow(),
          target.shadowRealMode(), target.id(), cr0, cr3, cr4);
    } else {
      try {
        cpu.loadControlRegisters(cr0, cr3, cr4);
        entered = true;
      } catch (IllegalArgumentException e) {
        entered = false;
      }
    }
    if (!entered) {
      hv.crash(d, "VCPUOP_initialise: vCPU " + target.id() + " given PAE roots it cannot load");
      return 0;
    }
    int[] segs = {Cpu.CS, Cpu.DS, Cpu.SS, Cpu.ES};
    for (int s = 0; s < 4; s++) {
      cpu.loadSegmentState(segs[s], 0, base[s], limit[s], attributes(ar[s]));
    }
    cpu.setTaskRegister(0, base[VcpuOp.SEG_TR], limit[VcpuOp.SEG_TR]);
    cpu.loadCpl(dpl(ar[VcpuOp.SEG_SS]));
    // is_initialised, _VPF_down still set: it waits for VCPUOP_up.
    target.setWaitingForSipi(false);
    return 0;
  }

  /** vcpu_hvm_x86_32's general registers in their order: eax, ecx, edx, ebx, esp, ebp, esi, edi. */
  private static final int[] HVM32_REG_ORDER = {Cpu.EAX, Cpu.ECX, Cpu.EDX, Cpu.EBX, Cpu.ESP,
      Cpu.EBP, Cpu.ESI, Cpu.EDI};
  /** EFLAGS bits that must be zero (VM entry refuses them): 3, 5, 15, 22-31. */
  private static final int EFLAGS_RESERVED = 1 << 3 | 1 << 5 | 1 << 15 | 0xFFC0_0000;

  /**
   * check_segment (hvm/domain.c): bits 12-15 zero; a null (attr 0) segment only for DS or ES;
   * TR a system segment of type busy 32-bit TSS, the others code or data segments; present; CS
   * a code segment, SS a writable data segment, DS and ES not execute-only code.
   */
  private static boolean checkSegment(int ar, int seg) {
    if ((ar & 0xF000) != 0) {
      return false;
    }
    if (ar == 0) {
      return seg == VcpuOp.SEG_DS || seg == VcpuOp.SEG_ES;
    }
    int type = ar & 0xF;
    boolean s = (ar & 0x10) != 0;
    if (seg == VcpuOp.SEG_TR) {
      if (s || type != 11) {
        return false;
      }
    } else if (!s) {
      return false;
    }
    if ((ar & 0x80) == 0) {
      return false;
    }
    return switch (seg) {
      case VcpuOp.SEG_CS -> (type & 8) != 0;
      case VcpuOp.SEG_SS -> (type & 8) == 0 && (type & 2) != 0;
      case VcpuOp.SEG_DS, VcpuOp.SEG_ES -> (type & 8) == 0 || (type & 2) != 0;
      default -> true;
    };
  }

  private static int dpl(int ar) {
    return ar >>> 5 & 3;
  }

  /**
   * Xen's compressed access rights (type, S, DPL, P in bits 0-7; AVL, L, D/B, G in 8-11) in
   * this processor's encoding (VMX's: AVL, L, D/B, G in 12-15, usable in 16); 0, a null
   * segment, is unusable.
   */
  private static int attributes(int ar) {
    return ar == 0 ? 0 : 1 << 16 | (ar & 0xFF) | (ar & 0xF00) << 4;
  }

  static int le16(byte[] b, int off) {
    return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8;
  }

  /**
   * compat_handle_okay for a guest handle to one struct of {@code size} bytes: a translated
   * guest's address is checked when it is used; a PV guest's area must end below its hypervisor
   * hole, or -EFAULT at registration (Xen keeps the hypervisor's own mappings out of reach).
   */
  private static boolean areaOkay(Domain d, int va, int size) {
    return d.pv() == null
        || (va & 0xFFFF_FFFFL) + size <= (PvMmuAbi.HYPERVISOR_VIRT_START & 0xFFFF_FFFFL);
  }

  /** set_timer_op(lo, hi): the 64-bit absolute timeout split over two registers; 0 cancels. */
  int setTimerOp(Vcpu v, int lo, int hi) {
    long timeout = (long) hi << 32 | (lo & 0xFFFF_FFFFL);
    PvTime t = v.domain().pvTime();
    if (timeout == 0) {
      t.stopSingleshot(v.id());
      return 0;
    }
    long now = hv.now();
    if (timeout < 0 || timeout - now > MAX_TIMER_OFFSET) {
      timeout = now + MAX_TIMER_OFFSET;
    }
    arm(v, timeout);
    return 0;
  }

  private void arm(Vcpu v, long deadline) {
    v.counters().timerArms++;
    v.domain().pvTime().setSingleshot(v.id(), deadline);
  }

  /**
   * Moves {@code target}'s vcpu_info to frame+offset of its own RAM (once per vCPU, as Xen): the
   * current contents are copied there, every event is then marked pending so none is lost (as
   * Xen does), and the pvclock is rewritten at the new place.
   *
   * <p>The checks are map_vcpu_info's (Xen 4.17), every one answered with -EINVAL: the offset
   * leaves room for the struct and keeps the compat vcpu_info's 4-byte alignment; a vCPU moves
   * once; a guest moves its own vCPU or an offline one; the frame is RAM the domain owns (a
   * translated guest names a GFN, a classic PV guest a machine frame) and takes the writable
   * type. The last matters for a PV guest: the hypervisor writes vcpu_info from then on, so
   * the frame must never be one of its page tables or descriptor pages, and the type is held
   * for as long as vcpu_info lives there.
   */
  private int registerVcpuInfo(GuestAccess g, Vcpu caller, Vcpu target, int arg) {
    Domain d = caller.domain();
    byte[] b = g.read(arg, VcpuOp.REGISTER_VCPU_INFO_SIZE);
    if (b == null) {
      return XenErrno.EFAULT.negated();
    }
    long gfn = le64(b, VcpuOp.REGISTER_VCPU_INFO_MFN);
    int offset = le32(b, VcpuOp.REGISTER_VCPU_INFO_OFFSET);
    if (offset < 0 || offset > 4096 - SharedInfo.VCPU_INFO_SIZE || (offset & 3) != 0) {
      return XenErrno.EINVAL.negated();
    }
    PortOps ops = d.eventChannels().ops();
    long old = ops.vcpuInfo(target.id());
    long defaultSlot = (d.sharedInfoMfn() << 12) + (long) target.id() * SharedInfo.VCPU_INFO_SIZE;
    if (old != defaultSlot) {
      return XenErrno.EINVAL.negated();
    }
    if (target != caller && target.state() != VcpuState.OFFLINE) {
      return XenErrno.EINVAL.negated();
    }
    long mfn;
    if (d.pv() != null) {
      // Not translated: the number is a machine frame, checked and typed by the PV MMU.
      mfn = gfn;
      if (!d.pv().moveVcpuInfo(mfn, offset)) {
        return XenErrno.EINVAL.negated();
      }
    } else {
      mfn = d.p2m().lookup(gfn);
      if (gfn < 0 || mfn == P2m.INVALID || hv.frames().owner(mfn) != d.domid()
          || !d.p2m().isWritable(gfn)) {
        return XenErrno.EINVAL.negated();
      }
    }
    MemoryBus m = hv.machineMemory();
    long now = (mfn << 12) + offset;
    byte[] info = new byte[SharedInfo.VCPU_INFO_SIZE];
    if (target.id() < SharedInfo.MAX_LEGACY_VCPUS) {
      m.read(old, info, 0, info.length);
    }
    m.write(now, info, 0, info.length);
    ops.setVcpuInfo(target.id(), now);
    m.write8(now + SharedInfo.VI_UPCALL_PENDING, 1);
    m.write32(now + SharedInfo.VI_PENDING_SEL, -1);
    d.pvTime().invalidate(target.id());
    d.pvTime().update(target.id(), hv.now());
    hv.eventDirectory().upcall(d, target.id());
    return 0;
  }

  static long le64(byte[] b, int off) {
    return (le32(b, off) & 0xFFFF_FFFFL) | (long) le32(b, off + 4) << 32;
  }

  static int le32(byte[] b, int off) {
    return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8 | (b[off + 2] & 0xFF) << 16
        | (b[off + 3] & 0xFF) << 24;
  }
}
