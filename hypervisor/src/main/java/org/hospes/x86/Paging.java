package org.hospes.x86;

/**
 * The page walker: 2-level paging with 4 KiB and (CR4.PSE) 4 MiB pages, and PAE 3-level paging
 * with 64-bit entries, 4 KiB and 2 MiB pages (SDM vol. 3 ch. 4). It checks U/S and R/W with
 * CR0.WP, execute-disable in PAE entries with EFER.NXE, sets accessed and dirty bits as hardware
 * does (only on a permitted access), and raises #PF with the exact error code and CR2. The
 * physical address width is 36 bits.
 */
final class Paging {
  static final int P = 1, RW = 2, US = 4, PWT = 8, PCD = 16, A = 32, D = 64, PS = 128, G = 256;

  /** Access kinds passed to {@link #walk}. */
  static final int WRITE = 1, USER = 2, FETCH = 4;

  /** #PF error-code bits; I/D is bit 4. */
  static final int PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8, PF_ID = 16;

  /** Bits 63:36 of a PAE entry: above the physical address width, and XD while EFER.NXE=0. */
  private static final long PAE_RESERVED_HIGH = 0xFFFF_FFF0_0000_0000L;
  /** The execute-disable bit of a PAE PDE or PTE (with EFER.NXE=1; PDPTEs have none). */
  static final long PAE_XD = 1L << 63;
  private static final long PAE_ADDR = 0x0000_000F_FFFF_F000L;

  private Paging() {}

  /**
   * Translates {@code lin}; on success returns the physical address and leaves in
   * {@code c.walkWritable} whether a write at this privilege would be allowed without faulting
   * and with the dirty bit already set, and in {@code c.walkGlobal} the G bit.
   */
  static long walk(Cpu c, int lin, int access) {
    return (c.cr4 & Cpu.CR4_PAE) != 0 ? walkPae(c, lin, access) : walk32(c, lin, access);
  }

  private static void fault(Cpu c, int lin, int access, int bits) {
    // CR2 is written when the #PF is delivered, not before: a #PF that causes a VM exit leaves
    // the guest's CR2 alone.
    c.pfAddr = lin;
    c.pfPending = true;
    int code = bits | ((access & WRITE) != 0 ? PF_W : 0) | ((access & USER) != 0 ? PF_U : 0);
    // I/D reports an instruction fetch only where execute-disable exists: PAE with EFER.NXE
    // (SDM vol. 3, 4.7; no SMEP here).
    if ((access & FETCH) != 0 && (c.efer & Cpu.EFER_NXE) != 0 && (c.cr4 & Cpu.CR4_PAE) != 0) {
      code |= PF_ID;
    }
    c.raise(Exceptions.PF, code);
  }

  /** Permission check over the combined U/S and R/W bits of all levels. */
  private static void check(Cpu c, int lin, int access, int combined) {
    boolean user = (access & USER) != 0;
    if (user && (combined & US) == 0) {
      fault(c, lin, access, PF_P);
    }
    if ((access & WRITE) != 0 && (combined & RW) == 0
        && (user || (c.cr0 & Cpu.CR0_WP) != 0)) {
      fault(c, lin, access, PF_P);
    }
  }

  private static boolean writable(Cpu c, int access, int combined) {
    if ((access & USER) != 0) {
      return (combined & (US | RW)) == (US | RW);
    }
    return (combined & RW) != 0 || (c.cr0 & Cpu.CR0_WP) == 0;
  }

  private static long walk32(Cpu c, int lin, int access) {
        long pdeAddr = (c.cr3 & 0xFFFF_F000L) | ((lin >>> 22) << 2);
    int pde = c.gpaRead32(pdeAddr);
    if ((pde & P) == 0) {
      fault(c, lin, access, 0);
    }
    if ((pde & PS) != 0 && (c.cr4 & Cpu.CR4_PSE) != 0) {
      check(c, lin, access, pde);
      int upd = pde | A | ((access & WRITE) != 0 ? D : 0);
      if (upd != pde) {
        c.gpaWrite32(pdeAddr, upd);
      }
      c.walkWritable = (upd & D) != 0 && writable(c, access, pde);
      c.walkGlobal = (pde & G) != 0 && (c.cr4 & Cpu.CR4_PGE) != 0;
      c.walkLarge = true;
      return (pde & 0xFFC0_0000L) | (lin & 0x3F_FFFF);
    }
    // The PDE is used to reach the page table: it is marked accessed whatever the PTE says
    // (SDM vol. 3, 4.8), as QEMU does too.
    if ((pde & A) == 0) {
      c.gpaWrite32(pdeAddr, pde | A);
    }
    long pteAddr = (pde & 0xFFFF_F000L) | (((lin >>> 12) & 0x3FF) << 2);
    int pte = c.gpaRead32(pteAddr);
    if ((pte & P) == 0) {
      fault(c, lin, access, 0);
    }
    int combined = pde & pte;
    check(c, lin, access, combined);
    int upd = pte | A | ((access & WRITE) != 0 ? D : 0);
    if (upd != pte) {
      c.gpaWrite32(pteAddr, upd);
    }
    c.walkWritable = (upd & D) != 0 && writable(c, access, combined);
    c.walkGlobal = (pte & G) != 0 && (c.cr4 & Cpu.CR4_PGE) != 0;
    c.walkLarge = false;
    return (pte & 0xFFFF_F000L) | (lin & 0xFFF);
  }

  private static long walkPae(Cpu c, int lin, int access) {
    long reserved = (c.efer & Cpu.EFER_NXE) != 0 ? PAE_RESERVED_HIGH & ~PAE_XD
        : PAE_RESERVED_HIGH;
    long pdpte = c.pdpte[lin >>> 30];
    if ((pdpte & P) == 0) {
      fault(c, lin, access, 0);
    }
    long pdeAddr = (pdpte & PAE_ADDR) | (((lin >>> 21) & 0x1FF) << 3);
    long pde = c.gpaRead64(pdeAddr);
    if ((pde & P) == 0) {
      fault(c, lin, access, 0);
    }
    if ((pde & reserved) != 0) {
      fault(c, lin, access, PF_P | PF_RSVD);
    }
    if ((pde & PS) != 0) {
      if ((pde & 0x1F_E000L) != 0) {
        fault(c, lin, access, PF_P | PF_RSVD);
      }
      check(c, lin, access, (int) pde);
      if ((access & FETCH) != 0 && (pde & PAE_XD) != 0) {
        fault(c, lin, access, PF_P);
      }
      long upd = pde | A | ((access & WRITE) != 0 ? D : 0);
      if (upd != pde) {
        c.gpaWrite32(pdeAddr, (int) upd);
      }
      c.walkWritable = (upd & D) != 0 && writable(c, access, (int) pde);
      c.walkGlobal = (pde & G) != 0 && (c.cr4 & Cpu.CR4_PGE) != 0;
      c.walkLarge = true;
      return (pde & 0xF_FFE0_0000L) | (lin & 0x1F_FFFF);
    }
    if ((pde & A) == 0) {
      c.gpaWrite32(pdeAddr, (int) (pde | A));
    }
    long pteAddr = (pde & PAE_ADDR) | (((lin >>> 12) & 0x1FF) << 3);
    long pte = c.gpaRead64(pteAddr);
    if ((pte & P) == 0) {
      fault(c, lin, access, 0);
    }
    if ((pte & reserved) != 0) {
      fault(c, lin, access, PF_P | PF_RSVD);
    }
    int combined = (int) (pde & pte);
    check(c, lin, access, combined);
    if ((access & FETCH) != 0 && ((pde | pte) & PAE_XD) != 0) {
      fault(c, lin, access, PF_P);
    }
    long upd = pte | A | ((access & WRITE) != 0 ? D : 0);
    if (upd != pte) {
      c.gpaWrite32(pteAddr, (int) upd);
    }
    c.walkWritable = (upd & D) != 0 && writable(c, access, combined);
    c.walkGlobal = (pte & G) != 0 && (c.cr4 & Cpu.CR4_PGE) != 0;
    c.walkLarge = false;
    return (pte & PAE_ADDR) | (lin & 0xFFF);
  }

  /**
   * Loads the four PDPTEs when CR3 is written with PAE on (they are cached, as on hardware);
   * a reserved bit set in a present entry is a #GP(0) on the MOV to CR3.
   */
  static boolean loadPdptes(Cpu c, int cr3) {
    long base = cr3 & 0xFFFF_FFE0L;
    long[] next = new long[4];
    for (int k = 0; k < 4; k++) {
      long e = c.gpaRead64(base + 8L * k);
      if ((e & P) != 0 && ((e & 0x1E6L) != 0 || (e & PAE_RESERVED_HIGH) != 0)) {
        return false;
      }
      next[k] = e;
    }
    System.arraycopy(next, 0, c.pdpte, 0, 4);
    return true;
  }
}
