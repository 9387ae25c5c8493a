package org.hospes.hv.hypercall;

import org.hospes.abi.PvMmuAbi;
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
      default:
        // initialise/up/down (vCPUs are brought up through the local APIC here) and
        // send_nmi (no virtual NMIs) are not offered.
        return XenErrno.ENOSYS.negated();
    }
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
