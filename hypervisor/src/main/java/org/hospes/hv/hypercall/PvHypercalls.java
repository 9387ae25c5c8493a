package org.hospes.hv.hypercall;

import org.hospes.abi.XenErrno;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.pv.Descriptors;
import org.hospes.hv.pv.PageType;
import org.hospes.hv.pv.PvGdt;
import org.hospes.hv.pv.PvPageTables;
import org.hospes.hv.pv.PvVcpu;
import org.hospes.x86.PhysicalMemory;

/**
 * The hypercalls only a classic PV32 guest has (Xen's pv32 column of hypercall-defs.c): its
 * virtual IDT, stacks and callbacks, its GDT and descriptors, the PV MMU, the virtual FPU switch,
 * vm_assist and the IOPL. Arguments as the compat ABI passes them; answers are Xen's errnos in
 * Xen's order of checks. The MMU calls are {@link org.hospes.hv.pv.PvMmu}'s.
 */
final class PvHypercalls {
  /** PHYSDEVOP numbers (public/physdev.h). */
  static final int PHYSDEVOP_SET_IOPL = 6;
  static final int PHYSDEVOP_SET_IOBITMAP = 7;

  private final PhysicalMemory machine;

  PvHypercalls(PhysicalMemory machine) {
    this.machine = machine;
  }

  /** set_trap_table(traps): the virtual IDT, entries up to one with address 0. */
  int setTrapTable(PvVcpu pv, int va) {
    return pv.traps().setTrapTable(va);
  }

  /**
   * compat set_gdt(frame_list, entries): more than FIRST_RESERVED_GDT_ENTRY entries is -EINVAL,
   * an unreadable list -EFAULT, a frame that cannot become a descriptor page -EINVAL (nothing
   * changes then). The TLB is flushed: the GDT area's mappings changed.
   */
  int setGdt(PvVcpu pv, int frameList, int entries) {
    if (Integer.compareUnsigned(entries, PvGdt.FIRST_RESERVED_ENTRY) > 0) {
      return XenErrno.EINVAL.negated();
    }
    int n = (entries + 511) / 512;
    byte[] b = new byte[4 * n];
    if (n > 0 && !pv.mmu().copyFromGuest(frameList, b)) {
      return XenErrno.EFAULT.negated();
    }
    long[] mfns = new long[n];
    for (int i = 0; i < n; i++) {
      mfns[i] = (b[4 * i] & 0xFFL) | (b[4 * i + 1] & 0xFFL) << 8 | (b[4 * i + 2] & 0xFFL) << 16
          | (b[4 * i + 3] & 0xFFL) << 24;
    }
    int rc = pv.gdt().set(mfns, entries);
    if (rc == 0) {
      pv.cpu().invalidateTranslations();
    }
    return rc;
  }

  /**
   * do_update_descriptor(pa, desc): the 8-byte-aligned machine address must be in a frame the
   * domain owns, the descriptor must pass check_descriptor (it is stored as fixed up: DPL 0
   * becomes 1, a call gate gets DPL 0), and the frame must be usable as a descriptor page (if
   * it is one) or as writable memory (otherwise: never a page table). -EINVAL for any of these.
   */
  int updateDescriptor(PvVcpu pv, long pa, int lo, int hi) {
    int[] d = {lo, hi};
    if ((pa & 7) != 0 || !Descriptors.check(d)) {
      return XenErrno.EINVAL.negated();
    }
    PvPageTables t = pv.mmu().tables();
    long mfn = pa >>> 12;
    if (!t.getPage(mfn)) {
      return XenErrno.EINVAL.negated();
    }
    int rc = XenErrno.EINVAL.negated();
    PageType type = t.info().type(mfn) == PageType.SEG_DESC_PAGE ? PageType.SEG_DESC_PAGE
        : PageType.WRITABLE_PAGE;
    if (t.getType(mfn, type, false) == 0) {
      machine.write32(pa, d[0]);
      machine.write32(pa + 4, d[1]);
      t.putType(mfn);
      rc = 0;
    }
    t.putPage(mfn);
    return rc;
  }

  /** stack_switch(ss, esp): the ring-1 stack a trap from ring 3 lands on. */
  int stackSwitch(PvVcpu pv, int ss, int esp) {
    return pv.traps().stackSwitch(ss, esp);
  }

  /** compat set_callbacks(event cs, eip, failsafe cs, eip). */
  int setCallbacks(PvVcpu pv, int eventCs, int eventEip, int failsafeCs, int failsafeEip) {
    return pv.traps().setCallbacks(eventCs, eventEip, failsafeCs, failsafeEip);
  }

  /** fpu_taskswitch(set): the guest's CR0.TS. */
  int fpuTaskswitch(PvVcpu pv, int set) {
    pv.fpuTaskswitch(set != 0);
    return 0;
  }

  /** vm_assist(cmd, type). */
  int vmAssist(PvVcpu pv, int cmd, int type) {
    return pv.vmAssist(cmd, type);
  }

  /**
   * physdev_op for a domU's own I/O privilege: set_iopl ({iopl}: 0..3, else -EINVAL). The I/O
   * bitmap (set_iobitmap) and interrupt routing are not offered: -ENOSYS.
   */
  int physdevOp(Vcpu v, PvVcpu pv, int cmd, int arg) {
    if (cmd != PHYSDEVOP_SET_IOPL) {
      return XenErrno.ENOSYS.negated();
    }
    Integer iopl = new GuestAccess(v).readInt(arg);
    if (iopl == null) {
      return XenErrno.EFAULT.negated();
    }
    if (Integer.compareUnsigned(iopl, 3) > 0) {
      return XenErrno.EINVAL.negated();
    }
    pv.setIopl(iopl);
    return 0;
  }
}
