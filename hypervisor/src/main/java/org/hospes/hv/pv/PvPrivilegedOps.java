package org.hospes.hv.pv;

import org.hospes.x86.Cpu;

/**
 * The privileged instructions Xen 4.17 emulates for a PV32 guest after they fault with
 * {@code #GP(0)} in ring 1 or 3 (pv_emulate_privileged_op, whose validate hook admits only these):
 *
 * <ul>
 *   <li>IN and OUT (immediate port and DX forms) when guest_io_okay admits them: the virtual
 *       IOPL from {@code physdev_op set_iopl} admits the ring (1 for the kernel, 3 for its
 *       applications), or the guest's I/O bitmap ({@code set_iobitmap}) clears the ports' bits
 *       below its limit. A domU owns no ports
 *       (admin_io_okay fails), so guest_io_read answers all ones except the latches Xen keeps
 *       per domain (the CMOS index at 0x70 and the PCI CONFIG_ADDRESS at 0xCF8, dword), and
 *       guest_io_write drops the rest. INS/OUTS are not offered here;
 *   <li>from ring 1 only: CLTS ({@code fpu_taskswitch(0)}), WBINVD (ignored: no cache-flush permission);
 *   <li>MOV from CR0 (TS as the guest set it), CR2, CR3 (the base pointer's frame in Xen's
 *       compat encoding) and CR4; MOV to CR0 (only TS may change), CR2 and CR3 (new_guest_cr3);
 *   <li>CLI and STI: nothing happens when iopl_ok (Xen no longer lets them touch the upcall
 *       mask), else #GP.
 * </ul>
 *
 * Everything else (HLT, LGDT, LIDT, MOV to CR4, MOV DR, RDMSR/WRMSR, ...) is left to the
 * caller, which bounces the #GP to the guest.
 */
final class PvPrivilegedOps {
  private static final int CMOS_INDEX = 0x70;
  private static final int PCI_CONFIG_ADDRESS = 0xCF8;

  private PvPrivilegedOps() {}

  /** Emulates the instruction at CS:EIP; false if it is not one Xen emulates (the guest's #GP). */
  static boolean emulate(PvVcpu pv) {
    Cpu cpu = pv.cpu();
    byte[] code = new byte[15];
    int at = cpu.segmentBase(Cpu.CS) + cpu.eip();
    int n = 0;
    // Fetch what is mapped; a short read leaves zeros, which decode to nothing emulated.
    byte[] one = new byte[1];
    while (n < code.length && pv.mmu().copyFromGuest(at + n, one)) {
      code[n++] = one[0];
    }
    int i = 0;
    boolean opsize = false;
    for (; i < n; i++) {
      int b = code[i] & 0xFF;
      if (b == 0x66) {
        opsize = true;
      } else if (b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65
          || b == 0x67) {
        continue;
      } else {
        break;
      }
    }
    if (i >= n) {
      return false;
    }
    int op = code[i] & 0xFF;
    int len;
    switch (op) {
      case 0xE4, 0xE5, 0xEC, 0xED -> {
        int port = (op & 8) == 0 ? code[i + 1] & 0xFF : cpu.reg(Cpu.EDX) & 0xFFFF;
        int bytes = (op & 1) == 0 ? 1 : opsize ? 2 : 4;
        if (!pv.ioOkay(port, bytes)) {
          return false;
        }
        int value = pv.ioRead(port, bytes);
        int eax = cpu.reg(Cpu.EAX);
        int mask = bytes == 4 ? -1 : (1 << (8 * bytes)) - 1;
        cpu.setReg(Cpu.EAX, (eax & ~mask) | (value & mask));
        len = i + ((op & 8) == 0 ? 2 : 1);
      }
      case 0xE6, 0xE7, 0xEE, 0xEF -> {
        int port = (op & 8) == 0 ? code[i + 1] & 0xFF : cpu.reg(Cpu.EDX) & 0xFFFF;
        int bytes = (op & 1) == 0 ? 1 : opsize ? 2 : 4;
        if (!pv.ioOkay(port, bytes)) {
          return false;
        }
        pv.ioWrite(port, bytes, cpu.reg(Cpu.EAX));
        len = i + ((op & 8) == 0 ? 2 : 1);
      }
      case 0xFA, 0xFB -> {
        if (!ioplOk(pv)) {
          return false;
        }
        len = i + 1;
      }
      case 0x0F -> {
        if (cpu.cpl() != 1) {
          return false; // CLTS, WBINVD and MOV CR are ring 0 instructions: the guest's #GP
        }
        int op2 = code[i + 1] & 0xFF;
        switch (op2) {
          case 0x06 -> pv.fpuTaskswitch(false);
          case 0x09 -> { } // WBINVD without cache-flush permission: ignored, as in Xen
          case 0x20, 0x22 -> {
            int modrm = code[i + 2] & 0xFF;
            int cr = (modrm >>> 3) & 7;
            int reg = modrm & 7;
            boolean ok = op2 == 0x20 ? readCr(pv, cr, reg) : writeCr(pv, cr, cpu.reg(reg));
            if (!ok) {
              return false;
            }
            len = i + 3;
            cpu.setEip(cpu.eip() + len);
            return true;
          }
          default -> {
            return false;
          }
        }
        len = i + 2;
      }
      default -> {
        return false;
      }
    }
    cpu.setEip(cpu.eip() + len);
    return true;
  }

  /** iopl_ok: the virtual IOPL admits the guest's ring (1 for its kernel, 3 for its users). */
  private static boolean ioplOk(PvVcpu pv) {
    return pv.iopl() >= (pv.cpu().cpl() == 1 ? 1 : 3);
  }

  private static boolean readCr(PvVcpu pv, int cr, int reg) {
    Cpu cpu = pv.cpu();
    int value;
    switch (cr) {
      case 0 -> value = (cpu.cr0() & ~Cpu.CR0_TS) | (pv.guestTs() ? Cpu.CR0_TS : 0);
      case 2 -> value = pv.guestCr2();
      case 3 -> {
        long mfn = pv.mmu().baseMfn();
        // compat_pfn_to_cr3: frame bits 31:12, and the frame's bits above 20 in 11:0.
        value = (int) (mfn << 12 | mfn >>> 20);
      }
      case 4 -> value = cpu.cr4();
      default -> {
        return false;
      }
    }
    cpu.setReg(reg, value);
    return true;
  }

  private static boolean writeCr(PvVcpu pv, int cr, int value) {
    Cpu cpu = pv.cpu();
    switch (cr) {
      case 0 -> {
        int current = (cpu.cr0() & ~Cpu.CR0_TS) | (pv.guestTs() ? Cpu.CR0_TS : 0);
        if (((value ^ current) & ~Cpu.CR0_TS) != 0) {
          return false; // "Attempt to change unmodifiable CR0 flags"
        }
        pv.fpuTaskswitch((value & Cpu.CR0_TS) != 0);
        return true;
      }
      case 2 -> {
        pv.setGuestCr2(value);
        return true;
      }
      case 3 -> {
        // compat_cr3_to_pfn
        long mfn = ((value & 0xFFFF_FFFFL) >>> 12) | ((long) (value & 0xFFF) << 20);
        return pv.mmu().newBaseptr(mfn) == 0;
      }
      default -> {
        return false;
      }
    }
  }
}
