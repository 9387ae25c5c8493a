package org.hospes.x86;

import static org.hospes.x86.Cpu.CS;
import static org.hospes.x86.Cpu.SS;

import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * System instructions: descriptor-table registers, control and debug registers, MSRs,
 * SYSENTER/SYSEXIT, LAR/LSL/VERR/VERW/ARPL, BOUND, INVLPG. Privileged ones raise #GP(0) outside
 * ring 0 (and in virtual-8086 mode).
 */
final class SystemOps {
  // Sub-operations of Op.SYS.
  static final int SLDT = 0, STR = 1, LLDT = 2, LTR = 3, VERR = 4, VERW = 5;
  static final int SGDT = 8, SIDT = 9, LGDT = 10, LIDT = 11, SMSW = 12, LMSW = 14, INVLPG = 15;
  static final int LAR = 16, LSL = 17, CLTS = 18, INVD = 19, WBINVD = 20;
  static final int MOV_R_CR = 21, MOV_CR_R = 22, MOV_R_DR = 23, MOV_DR_R = 24;
  static final int WRMSR = 25, RDMSR = 26, SYSENTER = 27, SYSEXIT = 28, ARPL = 29, BOUND = 30;
  static final int RDPMC = 31, VMCALL = 32;

  // Model-specific registers (SDM vol. 4).
  static final int MSR_TSC = 0x10;
  static final int MSR_PLATFORM_ID = 0x17;
  static final int MSR_BIOS_SIGN_ID = 0x8B;
  static final int MSR_MTRRCAP = 0xFE;
  static final int MSR_SYSENTER_CS = 0x174;
  static final int MSR_SYSENTER_ESP = 0x175;
  static final int MSR_SYSENTER_EIP = 0x176;
  static final int MSR_MISC_ENABLE = 0x1A0;
  static final int MSR_MTRR_PHYS_BASE0 = 0x200;
  static final int MSR_MTRR_FIX64K = 0x250;
  static final int MSR_MTRR_FIX16K_80000 = 0x258;
  static final int MSR_MTRR_FIX16K_A0000 = 0x259;
  static final int MSR_MTRR_FIX4K_C0000 = 0x268;
  static final int MSR_PAT = 0x277;
  static final int MSR_MTRR_DEF_TYPE = 0x2FF;
  static final int MSR_EFER = 0xC000_0080;
  static final int MSR_PLATFORM_INFO = 0xCE;
  static final int MSR_DEBUGCTL = 0x1D9;
  /** IA32_DEBUGCTL.BTF: TF single-steps on branches, not on every instruction. */
  static final long DEBUGCTL_BTF = 1 << 1;
  static final int MSR_MISC_FEATURES_ENABLES = 0x140;
  /** MSR_PLATFORM_INFO bit 32: CPUID faulting is supported (the only bit set, as Xen gives). */
  static final long PLATFORM_INFO_CPUID_FAULTING = 1L << 32;
  static final long MISC_CPUID_FAULTING = 1;

  /** MAXPHYADDR: PAE's 36 bits (there is no CPUID leaf 0x80000008 to say otherwise). */
  static final int MAX_PHYS_BITS = 36;
  /** MTRRcap: 8 variable ranges, fixed ranges, write-combining. */
  static final long MTRRCAP_VALUE = 0x508;
  static final long PAT_RESET = 0x0007_0406_0007_0406L;

  private SystemOps() {}

  private static void requireRing0(Cpu c) {
    if (c.protectedMode() && (c.cpl != 0 || c.v86())) {
      c.raise(Exceptions.GP, 0);
    }
  }

  private static void requireProtected(Cpu c) {
    if (!c.protectedMode() || c.v86()) {
      c.raiseUndefined(Exceptions.UD);
    }
  }

  static void exec(Cpu c, int f0, int d, int sub, int nextEip) {
    int size = Cpu.size(f0);
    int reg = (f0 >>> 10) & 15;
    int rm = (f0 >>> 14) & 15;
    switch (sub) {
      case SLDT: requireProtected(c); storeSelector(c, f0, d, size, c.ldtSel); break;
      case STR: requireProtected(c); storeSelector(c, f0, d, size, c.trSel); break;
      case LLDT: requireProtected(c); requireRing0(c); Tasks.loadLdt(c, c.getE(f0, d, 1)); break;
      case LTR: requireProtected(c); requireRing0(c); Tasks.loadTr(c, c.getE(f0, d, 1)); break;
      case VERR: case VERW: requireProtected(c); verify(c, c.getE(f0, d, 1), sub == VERW); break;
      case SGDT: case SIDT: {
        int lin = c.linW(f0, d, 1);
        c.write16(lin, sub == SGDT ? c.gdtLimit : c.idtLimit);
        // The whole 32-bit base with either operand size (SDM vol. 2B, SGDT: "Full 32-bit
        // base address stored"; the 386 did the same). Only LGDT/LIDT drop the top byte of a
        // 16-bit operand. QEMU's TCG masks the stored base to 24 bits: it is no reference here.
        c.write32(c.linW(f0, d + 2, 2), sub == SGDT ? c.gdtBase : c.idtBase);
        break;
      }
      case LGDT: case LIDT: {
        requireRing0(c);
        int limit = c.read16(c.linR(f0, d, 1));
        int base = c.read32(c.linR(f0, d + 2, 2));
        if (size != 2) {
          base &= 0x00FF_FFFF;
        }
        if (sub == LGDT) {
          c.gdtBase = base;
          c.gdtLimit = limit;
        } else {
          c.idtBase = base;
          c.idtLimit = limit;
        }
        break;
      }
      case SMSW: c.setE(f0, d, Cpu.isMem(f0) ? 1 : size, guestCr0(c)); break;
      case LMSW: {
        requireRing0(c);
        int v = c.getE(f0, d, 1);
        lmswExit(c, v, Cpu.isMem(f0));
        // LMSW loads PE, MP, EM, TS; it can set PE but never clear it.
        int newCr0 = (c.cr0 & ~0xE) | (v & 0xF) | (c.cr0 & Cpu.CR0_PE);
        c.writeCr0(newCr0);
        break;
      }
      case INVLPG: {
        requireRing0(c);
        int lin = c.linear(f0, d);
        if (c.exits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_INVLPG_EXITING)) {
          c.vmExit(ExitReason.INVLPG, lin & 0xFFFF_FFFFL);
        }
        Mmu.invlpg(c, lin);
        break;
      }
      case LAR: case LSL: requireProtected(c); larLsl(c, f0, d, size, sub == LSL); break;
      case CLTS: requireRing0(c); clts(c); break;
      case INVD:
        requireRing0(c);
        if (c.nonRoot()) {
          c.vmExit(ExitReason.INVD, 0);
        }
        break;
      case WBINVD:
        requireRing0(c);
        if (c.nonRoot() && c.exits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
            VmxControls.PROC_ACTIVATE_SECONDARY)
            && c.exits(VmcsField.SECONDARY_VM_EXEC_CONTROL, VmxControls.PROC2_WBINVD_EXITING)) {
          c.vmExit(ExitReason.WBINVD, 0);
        }
        break;
      case MOV_R_CR: requireRing0(c); c.r[rm] = readCr(c, reg, rm); break;
      case MOV_CR_R: requireRing0(c); writeCr(c, reg, c.r[rm], rm); break;
      case MOV_R_DR: {
        requireRing0(c);
        int n = debugIndex(c, reg);
        drExit(c, reg, rm, true);
        generalDetect(c);
        c.r[rm] = c.dr[n];
        break;
      }
      case MOV_DR_R: {
        requireRing0(c);
        int n = debugIndex(c, reg);
        drExit(c, reg, rm, false);
        generalDetect(c);
        writeDr(c, n, c.r[rm]);
        break;
      }
      case VMCALL:
        if (!c.nonRoot()) {
          c.raiseUndefined(Exceptions.UD);
        }
        c.vmExit(ExitReason.VMCALL, 0);
        break;
      case RDMSR: {
        requireRing0(c);
        msrExit(c, false);
        long v = readMsr(c, c.r[Cpu.ECX]);
        c.r[Cpu.EAX] = (int) v;
        c.r[Cpu.EDX] = (int) (v >>> 32);
        break;
      }
      case WRMSR: {
        requireRing0(c);
        msrExit(c, true);
        long v = (c.r[Cpu.EAX] & 0xFFFF_FFFFL) | ((long) c.r[Cpu.EDX] << 32);
        writeMsr(c, c.r[Cpu.ECX], v);
        break;
      }
      case RDPMC:
        if (c.exits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_RDPMC_EXITING)) {
          c.vmExit(ExitReason.RDPMC, 0);
        }
        // No performance counters are modelled.
        c.raise(Exceptions.GP, 0);
        break;
      case SYSENTER: sysenter(c); break;
      case SYSEXIT: sysexit(c); break;
      case ARPL: {
        requireProtected(c);
        int dst = c.getE(f0, d, 1);
        int src = c.getReg(1, reg);
        int f = c.eflags();
        if ((dst & 3) < (src & 3)) {
          c.setE(f0, d, 1, (dst & ~3) | (src & 3));
          c.flags = f | Flags.ZF;
        } else {
          c.flags = f & ~Flags.ZF;
        }
        c.lfOp = Cpu.LF_NONE;
        break;
      }
      case BOUND: {
        int lin = c.linR(f0, d, size);
        int index = size == 2 ? c.r[reg] : (short) c.r[reg];
        int lower = size == 2 ? c.read32(lin) : (short) c.read16(lin);
        // The upper bound is an operand of its own: its offset is checked against the limit
        // (and wraps at 64 KiB under 16-bit addressing) as the lower bound's is.
        int upper = size == 2 ? c.read32(c.linR(f0, d + 4, 2))
            : (short) c.read16(c.linR(f0, d + 2, 1));
        if (index < lower || index > upper) {
          c.raise(Exceptions.BR, 0);
        }
        break;
      }
      default:
        c.raiseUndefined(Exceptions.UD);
    }
  }

  private static void storeSelector(Cpu c, int f0, int d, int size, int sel) {
    if (Cpu.isMem(f0)) {
      c.setE(f0, d, 1, sel);
    } else {
      c.setReg(size, (f0 >>> 14) & 15, sel);
    }
  }

  private static long crQual(int cr, int type, int gpr) {
    return cr | (type << 4) | (gpr << 8);
  }

  /** CR0 as the guest sees it: bits the host owns read from the read shadow. */
  private static int guestCr0(Cpu c) {
    Vmcs v = c.vmcs();
    if (v == null) {
      return c.cr0;
    }
    int mask = v.read32(VmcsField.CR0_GUEST_HOST_MASK);
    return (c.cr0 & ~mask) | (v.read32(VmcsField.CR0_READ_SHADOW) & mask);
  }

  private static int readCr(Cpu c, int n, int gpr) {
    Vmcs v = c.vmcs();
    switch (n) {
      case 0: return guestCr0(c);
      case 2: return c.cr2;
      case 3:
        if (c.exits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_CR3_STORE_EXITING)) {
          c.vmExit(ExitReason.CR_ACCESS, crQual(3, VmxControls.CR_QUAL_MOV_FROM_CR, gpr));
        }
        return c.cr3;
      case 4:
        if (v == null) {
          return c.cr4;
        }
        int mask = v.read32(VmcsField.CR4_GUEST_HOST_MASK);
        return (c.cr4 & ~mask) | (v.read32(VmcsField.CR4_READ_SHADOW) & mask);
      default: c.raiseUndefined(Exceptions.UD); return 0;
    }
  }

  private static void writeCr(Cpu c, int n, int value, int gpr) {
    Vmcs v = c.vmcs();
    switch (n) {
      case 0:
        if (v != null) {
          int mask = v.read32(VmcsField.CR0_GUEST_HOST_MASK);
          if (((value ^ v.read32(VmcsField.CR0_READ_SHADOW)) & mask) != 0) {
            c.vmExit(ExitReason.CR_ACCESS, crQual(0, VmxControls.CR_QUAL_MOV_TO_CR, gpr));
          }
          // The checks apply to the value the guest wrote; the bits the host owns then keep
          // their real values (under the hypervisor's real-mode emulator, PG without PE).
          c.checkCr0(value | Cpu.CR0_ET);
          c.writeCr0Unchecked((value & ~mask) | (c.cr0 & mask));
          break;
        }
        c.writeCr0(value);
        break;
      case 2: c.cr2 = value; break;
      case 3:
        if (c.exits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_CR3_LOAD_EXITING)
            && !isCr3Target(v, value)) {
          c.vmExit(ExitReason.CR_ACCESS, crQual(3, VmxControls.CR_QUAL_MOV_TO_CR, gpr));
        }
        c.writeCr3(value);
        break;
      case 4:
        if (v != null) {
          int mask = v.read32(VmcsField.CR4_GUEST_HOST_MASK);
          if (((value ^ v.read32(VmcsField.CR4_READ_SHADOW)) & mask) != 0) {
            c.vmExit(ExitReason.CR_ACCESS, crQual(4, VmxControls.CR_QUAL_MOV_TO_CR, gpr));
          }
          value = (value & ~mask) | (c.cr4 & mask);
        }
        // A bit whose feature CPUID does not report is reserved (DE and MCE among them).
        if ((value & ~Cpu.CR4_VALID) != 0) {
          c.raise(Exceptions.GP, 0);
        }
        c.writeCr4(value);
        break;
      default: c.raiseUndefined(Exceptions.UD); break;
    }
  }

  private static boolean isCr3Target(Vmcs v, int value) {
    int count = v.read32(VmcsField.CR3_TARGET_COUNT);
    VmcsField[] targets = {VmcsField.CR3_TARGET_VALUE0, VmcsField.CR3_TARGET_VALUE1,
        VmcsField.CR3_TARGET_VALUE2, VmcsField.CR3_TARGET_VALUE3};
    for (int k = 0; k < Math.min(count, 4); k++) {
      if (v.read32(targets[k]) == value) {
        return true;
      }
    }
    return false;
  }

  /** CLTS: exits when the host owns CR0.TS and the shadow has it set (SDM 25.1.3). */
  private static void clts(Cpu c) {
    Vmcs v = c.vmcs();
    if (v != null && (v.read32(VmcsField.CR0_GUEST_HOST_MASK) & Cpu.CR0_TS) != 0) {
      if ((v.read32(VmcsField.CR0_READ_SHADOW) & Cpu.CR0_TS) != 0) {
        c.vmExit(ExitReason.CR_ACCESS, crQual(0, VmxControls.CR_QUAL_CLTS, 0));
      }
      return;
    }
    c.cr0 &= ~Cpu.CR0_TS;
  }

  private static void lmswExit(Cpu c, int src, boolean mem) {
    Vmcs v = c.vmcs();
    if (v == null) {
      return;
    }
    int mask = v.read32(VmcsField.CR0_GUEST_HOST_MASK) & 0xF;
    int shadow = v.read32(VmcsField.CR0_READ_SHADOW);
    boolean exit = ((src ^ shadow) & mask & 0xE) != 0
        || ((mask & Cpu.CR0_PE) != 0 && (shadow & Cpu.CR0_PE) == 0 && (src & Cpu.CR0_PE) != 0);
    if (exit) {
      c.vmExit(ExitReason.CR_ACCESS, crQual(0, VmxControls.CR_QUAL_LMSW, 0)
          | (mem ? 1 << 6 : 0) | ((long) (src & 0xFFFF) << 16));
    }
  }

  private static void msrExit(Cpu c, boolean write) {
    Vmcs v = c.vmcs();
    if (v == null) {
      return;
    }
    int msr = c.r[Cpu.ECX];
    boolean exit = !c.exits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
        VmxControls.PROC_USE_MSR_BITMAPS) || v.msrExits(msr, write);
    if (exit) {
      c.vmExit(write ? ExitReason.WRMSR : ExitReason.RDMSR, 0);
    }
  }

  private static void drExit(Cpu c, int dr, int gpr, boolean fromDr) {
    if (c.exits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_MOV_DR_EXITING)) {
      c.vmExit(ExitReason.DR_ACCESS, dr | (fromDr ? 1 << 4 : 0) | (gpr << 8));
    }
  }

  /**
   * DR4/DR5 alias DR6/DR7 unless CR4.DE, when they are #UD (kept for a processor that reports
   * DE; this one does not, so CR4.DE cannot be set).
   */
  private static int debugIndex(Cpu c, int n) {
    if (n == 4 || n == 5) {
      if ((c.cr4 & Cpu.CR4_DE) != 0) {
        c.raiseUndefined(Exceptions.UD);
      }
      return n + 2;
    }
    return n;
  }

  /**
   * DR7.GD: a MOV DR is a #DB fault with DR6.BD, and GD is cleared so the handler can use the
   * debug registers (SDM vol. 3, 18.2.4). Privilege and #UD come first; MOV-DR exiting too.
   */
  private static void generalDetect(Cpu c) {
    if ((c.dr[7] & Breakpoints.DR7_GD) != 0) {
      c.dr[7] &= ~Breakpoints.DR7_GD;
      c.dr[6] |= Breakpoints.DR6_BD;
      c.raise(Exceptions.DB, 0);
    }
  }

  static void writeDr(Cpu c, int n, int v) {
    c.dr[n] = n == 6 ? v | 0xFFFF_0FF0 : n == 7 ? (v | 0x400) & ~0xD000 : v;
    int enabled = c.dr[7] & 0xFF;
    if (n == 7 || (n < 4 && enabled != 0) || enabled != c.bpEnabled) {
      c.bpEnabled = enabled;
      // Pages holding data breakpoints must leave the TLB (see Breakpoints).
      Mmu.flushTlb(c);
    }
  }

  static long readMsr(Cpu c, int msr) {
    switch (msr) {
      case MSR_TSC: return c.tsc();
      case MSR_PLATFORM_ID: return 0;
      case MSR_BIOS_SIGN_ID: return 0;
      case MSR_MTRRCAP: return MTRRCAP_VALUE;
      case MSR_SYSENTER_CS: return c.sysenterCs & 0xFFFF_FFFFL;
      case MSR_SYSENTER_ESP: return c.sysenterEsp & 0xFFFF_FFFFL;
      case MSR_SYSENTER_EIP: return c.sysenterEip & 0xFFFF_FFFFL;
      case MSR_MISC_ENABLE: return c.miscEnable;
      case MSR_PAT: return c.pat;
      case MSR_MTRR_DEF_TYPE: return c.mtrrDefType;
      case MSR_EFER: return c.efer;
      case MSR_DEBUGCTL: return c.debugCtl;
      case MSR_PLATFORM_INFO: return PLATFORM_INFO_CPUID_FAULTING;
      case MSR_MISC_FEATURES_ENABLES: return c.miscFeatures;
      case ApicBaseMsr.MSR:
        if (c.apicBaseMsr() == null) {
          c.raise(Exceptions.GP, 0);
        }
        return c.apicBaseMsr().readApicBase();
      default:
        int idx = mtrrIndex(msr);
        if (idx >= 0) {
          return c.mtrr[idx];
        }
        c.raise(Exceptions.GP, 0);
        return 0;
    }
  }

  static void writeMsr(Cpu c, int msr, long v) {
    switch (msr) {
      case MSR_TSC: c.setTsc(v); break;
      case MSR_BIOS_SIGN_ID: break;
      case MSR_SYSENTER_CS: c.sysenterCs = (int) v & 0xFFFF; break;
      case MSR_SYSENTER_ESP: c.sysenterEsp = (int) v; break;
      case MSR_SYSENTER_EIP: c.sysenterEip = (int) v; break;
      case MSR_MISC_ENABLE: c.miscEnable = v; break;
      case MSR_PAT:
        for (int k = 0; k < 8; k++) {
          int type = (int) (v >>> (8 * k)) & 0xFF;
          if (type == 2 || type == 3 || type > 7) {
            c.raise(Exceptions.GP, 0);
          }
        }
        c.pat = v;
        break;
      case MSR_MTRR_DEF_TYPE:
        // Xen's mtrr_def_type_msr_set: the type must be one the MTRRs have, and only the
        // type, FE (bit 10) and E (bit 11) are writable.
        if (!validMtrrType((int) v & 0xFF) || (v & ~0xCFFL) != 0) {
          c.raise(Exceptions.GP, 0);
        }
        c.mtrrDefType = v;
        break;
      case MSR_MISC_FEATURES_ENABLES:
        if ((v & ~MISC_CPUID_FAULTING) != 0) {
          c.raise(Exceptions.GP, 0);
        }
        c.miscFeatures = v;
        break;
      case MSR_DEBUGCTL:
        // As Xen 4.17 offers a guest without LBR records: BTF only, the rest reserved.
        if ((v & ~DEBUGCTL_BTF) != 0) {
          c.raise(Exceptions.GP, 0);
        }
        c.debugCtl = v;
        break;
      case MSR_EFER:
        // A 32-bit processor with NX: SCE, LME, LMA and the rest are reserved (#GP).
        if ((v & ~(long) Cpu.EFER_NXE) != 0) {
          c.raise(Exceptions.GP, 0);
        }
        if ((int) v != c.efer) {
          c.efer = (int) v;
          // Cached translations were checked under the old XD rules.
          Mmu.flushTlb(c);
        }
        break;
      case ApicBaseMsr.MSR:
        if (c.apicBaseMsr() == null || !c.apicBaseMsr().writeApicBase(v)) {
          c.raise(Exceptions.GP, 0);
        }
        break;
      default:
        int idx = mtrrIndex(msr);
        if (idx >= 0) {
          if (!validMtrr(idx, v)) {
            c.raise(Exceptions.GP, 0);
          }
          c.mtrr[idx] = v;
          return;
        }
        c.raise(Exceptions.GP, 0);
    }
  }

  /** The memory types an MTRR may hold: UC, WC, WT, WP and WB (SDM vol. 3, 12.11.1). */
  private static boolean validMtrrType(int type) {
    return type == 0 || type == 1 || type == 4 || type == 5 || type == 6;
  }

  /**
   * A value MTRR slot {@code idx} ({@link #mtrrIndex}) accepts, as Xen's mtrr_var_range_msr_set
   * and mtrr_fix_range_msr_set check it (SDM vol. 3, 12.11.2): a variable range's base holds a
   * valid type in bits 7:0, bits 11:8 reserved; its mask has bits 10:0 reserved; in both, the
   * bits at and above MAXPHYADDR (36) are reserved. A fixed-range MTRR holds eight types.
   */
  private static boolean validMtrr(int idx, long v) {
    long aboveMaxPhys = -1L << MAX_PHYS_BITS;
    if (idx < 16) {
      boolean mask = (idx & 1) != 0;
      if (!mask && !validMtrrType((int) v & 0xFF)) {
        return false;
      }
      return (v & (aboveMaxPhys | (mask ? 0x7FFL : 0xF00L))) == 0;
    }
    for (int k = 0; k < 8; k++) {
      if (!validMtrrType((int) (v >>> (8 * k)) & 0xFF)) {
        return false;
      }
    }
    return true;
  }

  /** Slot of an MTRR in {@code Cpu.mtrr}: 16 variable-range MSRs, then 11 fixed-range. */
  private static int mtrrIndex(int msr) {
    if (msr >= MSR_MTRR_PHYS_BASE0 && msr < MSR_MTRR_PHYS_BASE0 + 16) {
      return msr - MSR_MTRR_PHYS_BASE0;
    }
    if (msr == MSR_MTRR_FIX64K) {
      return 16;
    }
    if (msr == MSR_MTRR_FIX16K_80000 || msr == MSR_MTRR_FIX16K_A0000) {
      return 17 + msr - MSR_MTRR_FIX16K_80000;
    }
    if (msr >= MSR_MTRR_FIX4K_C0000 && msr < MSR_MTRR_FIX4K_C0000 + 8) {
      return 19 + msr - MSR_MTRR_FIX4K_C0000;
    }
    return -1;
  }

  private static void sysenter(Cpu c) {
    if (!c.protectedMode() || (c.sysenterCs & 0xFFFC) == 0) {
      c.raise(Exceptions.GP, 0);
    }
    int cs = c.sysenterCs & 0xFFFC;
    c.setEflags(c.eflags() & ~(Flags.VM | Flags.IF | Flags.RF));
    setFlatSegment(c, CS, cs, 0x9B, 0);
    setFlatSegment(c, SS, cs + 8, 0x93, 0);
    c.r[Cpu.ESP] = c.sysenterEsp;
    c.eip = c.sysenterEip;
  }

  private static void sysexit(Cpu c) {
    if (!c.protectedMode() || (c.sysenterCs & 0xFFFC) == 0 || c.cpl != 0 || c.v86()) {
      c.raise(Exceptions.GP, 0);
    }
    int cs = c.sysenterCs & 0xFFFC;
    setFlatSegment(c, CS, (cs + 16) | 3, 0xFB, 3);
    setFlatSegment(c, SS, (cs + 24) | 3, 0xF3, 3);
    c.r[Cpu.ESP] = c.r[Cpu.ECX];
    c.eip = c.r[Cpu.EDX];
  }

  /** SYSENTER/SYSEXIT load fixed flat descriptors without reading the GDT. */
  private static void setFlatSegment(Cpu c, int seg, int sel, int accessByte, int newCpl) {
    c.segSel[seg] = sel & 0xFFFF;
    c.segBase[seg] = 0;
    c.segLimit[seg] = -1;
    c.segAttr[seg] = Segments.USABLE | accessByte | Segments.ATTR_DB | Segments.ATTR_G;
    c.segmentChanged(seg);
    if (seg == CS) {
      c.setCpl(newCpl);
    }
  }

  private static void verify(Cpu c, int sel, boolean write) {
    boolean ok = false;
    if ((sel & 0xFFFC) != 0 && Segments.fetch(c, sel) && Segments.isCodeOrData(c.dHi)) {
      int hi = c.dHi;
      int type = Segments.type(hi);
      boolean code = Segments.isCode(hi);
      boolean conforming = code && (type & Segments.TYPE_CE) != 0;
      boolean privOk = conforming
          || (Segments.dpl(hi) >= c.cpl && Segments.dpl(hi) >= (sel & 3));
      if (privOk) {
        ok = write ? !code && (type & Segments.TYPE_RW) != 0
            : !code || (type & Segments.TYPE_RW) != 0;
      }
    }
    setZf(c, ok);
  }

  private static void larLsl(Cpu c, int f0, int d, int size, boolean lsl) {
    int sel = c.getE(f0, d, 1);
    boolean ok = false;
    int value = 0;
    if ((sel & 0xFFFC) != 0 && Segments.fetch(c, sel)) {
      int hi = c.dHi;
      boolean valid;
      if (Segments.isCodeOrData(hi)) {
        valid = true;
      } else {
        int t = Segments.type(hi);
        valid = lsl ? t == 1 || t == 2 || t == 3 || t == 9 || t == 11
            : t == 1 || t == 2 || t == 3 || t == 4 || t == 5 || t == 9 || t == 11 || t == 12;
      }
      boolean conforming = Segments.isCode(hi) && (Segments.type(hi) & Segments.TYPE_CE) != 0;
      if (valid && (conforming
          || (Segments.dpl(hi) >= c.cpl && Segments.dpl(hi) >= (sel & 3)))) {
        ok = true;
        value = lsl ? Segments.limit(c.dLo, hi) : hi & 0x00F0_FF00;
      }
    }
    if (ok) {
      c.setG(f0, size, value);
    }
    setZf(c, ok);
  }

  private static void setZf(Cpu c, boolean z) {
    int f = c.eflags();
    c.flags = z ? f | Flags.ZF : f & ~Flags.ZF;
    c.lfOp = Cpu.LF_NONE;
  }
}
