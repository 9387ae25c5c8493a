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

  /** set_trap_table that may be continued ({@code ecx} kept for the continuation). */
  int setTrapTable(PvVcpu pv, int va, int ecx, java.util.function.IntPredicate preempt) {
    return pv.traps().setTrapTable(va, ecx, preempt);
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

  /** DR7's local and global enable bits (L0..G3). */
  private static final int DR7_ACTIVE_MASK = 0xFF;
  /** DR7's R/W field value 10b: an I/O breakpoint (with CR4.DE only). */
  private static final int DR_IO = 2;

  /**
   * set_debugreg(reg, value) as Xen 4.17's set_debugreg answers a PV32 vCPU: DR0..3 take any
   * linear address (a 32-bit one is always access_ok); DR6 gets its reserved ones set and bit
   * 12 cleared (x86_adj_dr6_rsvd, no RTM or bus-lock detect); DR7 its bit 10 set and bits 11,
   * 12, 14, 15 cleared (x86_adj_dr7_rsvd); an I/O breakpoint needs the guest's CR4.DE, which a
   * PV guest here never has: -EPERM; DR4 and DR5 alias DR6 and DR7 without CR4.DE; any other
   * register is -ENODEV. The value goes into the processor's register at once (the vCPU is
   * the current one), so breakpoints hit the guest as #DB, bounced to its handler.
   */
  int setDebugreg(PvVcpu pv, int reg, int value) {
    org.hospes.x86.Cpu cpu = pv.cpu();
    switch (reg) {
      case 0, 1, 2, 3 -> cpu.loadDebugRegister(reg, value);
      case 4, 6 -> cpu.loadDebugRegister(6, (value | 0xFFFF_0FF0) & ~0x1000);
      case 5, 7 -> {
        int v = (value & ~0xD800) | 0x400;
        if ((v & DR7_ACTIVE_MASK) != 0) {
          for (int i = 16; i < 32; i += 4) {
            if (((v >>> i) & 3) == DR_IO) {
              return XenErrno.EPERM.negated();
            }
          }
        }
        cpu.loadDebugRegister(7, v);
      }
      default -> {
        return XenErrno.ENODEV.negated();
      }
    }
    return 0;
  }

  /**
   * get_debugreg(reg) (x86emul_read_dr for a PV vCPU): the register's value, DR4/DR5 reading
   * DR6/DR7 without CR4.DE; any other register is -ENODEV (as a value, which is all a PV32
   * caller sees).
   */
  int getDebugreg(PvVcpu pv, int reg) {
    return switch (reg) {
      case 0, 1, 2, 3, 6, 7 -> pv.cpu().debugRegister(reg);
      case 4, 5 -> pv.cpu().debugRegister(reg + 2);
      default -> XenErrno.ENODEV.negated();
    };
  }

  /** vm_assist(cmd, type). */
  int vmAssist(PvVcpu pv, int cmd, int type) {
    return pv.vmAssist(cmd, type);
  }

  /**
   * physdev_op for a domU's own I/O privilege, in do_physdev_op's order of checks: set_iopl
   * ({iopl}: -EFAULT unreadable, -EINVAL above 3) and set_iobitmap ({bitmap, nr_ports}:
   * -EFAULT unreadable, -EINVAL when the 8 KiB bitmap does not lie below the hypervisor hole
   * or nr_ports exceeds 65536). Interrupt routing and the rest are not offered: -ENOSYS.
   */
  int physdevOp(Vcpu v, PvVcpu pv, int cmd, int arg) {
    GuestAccess g = new GuestAccess(v);
    switch (cmd) {
      case PHYSDEVOP_SET_IOPL -> {
        Integer iopl = g.readInt(arg);
        if (iopl == null) {
          return XenErrno.EFAULT.negated();
        }
        if (Integer.compareUnsigned(iopl, 3) > 0) {
          return XenErrno.EINVAL.negated();
        }
        pv.setIopl(iopl);
        return 0;
      }
      case PHYSDEVOP_SET_IOBITMAP -> {
        Integer bitmap = g.readInt(arg);
        Integer nrPorts = g.readInt(arg + 4);
        if (bitmap == null || nrPorts == null) {
          return XenErrno.EFAULT.negated();
        }
        long end = (bitmap & 0xFFFF_FFFFL) + PvVcpu.IOBMP_BYTES;
        if (end > (org.hospes.abi.PvMmuAbi.HYPERVISOR_VIRT_START & 0xFFFF_FFFFL)
            || Integer.compareUnsigned(nrPorts, 65536) > 0) {
          return XenErrno.EINVAL.negated();
        }
        pv.setIoBitmap(bitmap, nrPorts);
        return 0;
      }
      default -> {
        return XenErrno.ENOSYS.negated();
      }
    }
  }
}
