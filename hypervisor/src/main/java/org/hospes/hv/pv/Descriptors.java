package org.hospes.hv.pv;

import org.hospes.abi.XenErrno;
import org.hospes.x86.PhysicalMemory;

/**
 * Xen's check_descriptor for a PV32 guest (arch/x86/pv/descriptor-tables.c): what a GDT or LDT
 * page may hold, so that no descriptor the guest writes leads to ring 0. Descriptors are fixed up
 * in place as Xen does: DPL 0 becomes 1; flat segments reaching into the hypervisor hole are
 * widened to 4 GiB; call gates get DPL 0 (so any use faults) with the original DPL kept in the
 * target selector's RPL.
 */
public final class Descriptors {
  private static final int SEG_P = 1 << 15, SEG_S = 1 << 12, SEG_DPL = 3 << 13, SEG_L = 1 << 21;
  private static final int SEG_G = 1 << 23, SEG_TYPE = 0xF00, SEG_ACCESSED = 1 << 8;
  /** FIRST_RESERVED_GDT_ENTRY: GDT entries from here on are Xen's (page 14 onward). */
  static final int FIRST_RESERVED_GDT_ENTRY = 14 * 512;
  /** FLAT_RING1_CS (arch-x86/xen-x86_32.h). */
  static final int FLAT_RING1_CS = 0xE019;

  private Descriptors() {}

  /**
   * check_descriptor on the 8-byte descriptor at machine address {@code ma}; fixes it up in place.
   * Returns true if it may be used.
   */
  public static boolean check(PhysicalMemory m, long ma) {
    int[] d = {m.read32(ma), m.read32(ma + 4)};
    if (!check(d)) {
      return false;
    }
    m.write32(ma, d[0]);
    m.write32(ma + 4, d[1]);
    return true;
  }

  /**
   * check_descriptor on the descriptor {@code {low word, high word}}, fixed up in place. Returns
   * true if it may be used.
   */
  public static boolean check(int[] d) {
    int a = d[0];
    int b = d[1];
    if ((b & SEG_P) == 0) {
      return true; // a not-present descriptor always faults
    }
    int dpl = (b >>> 13) & 3;
    if (dpl < 1) {
      dpl = 1; // __fixup_guest_selector: the guest kernel's RPL is 1
    }
    b = (b & ~SEG_DPL) | (dpl << 13);
    if ((b & SEG_S) != 0) {
      if ((b & SEG_L) != 0) {
        return false;
      }
      long base = (b & 0xFF00_0000L) | ((b & 0xFFL) << 16) | (a >>> 16);
      long limit = ((b & 0xF0000L) | (a & 0xFFFFL)) + 1;
      if ((b & SEG_G) != 0) {
        limit <<= 12;
      }
      if (base == 0 && limit > 0xF580_0000L) {
        a |= 0x0000_FFFF;
        b |= 0x000F_0000;
      }
      // Hospes maps the GDT read-only in the hypervisor hole (PvGdt): the processor must never
      // need to set the accessed bit itself.
      b |= SEG_ACCESSED;
    } else {
      if ((b & SEG_TYPE) == 0) {
        return true; // type 0: the second half of a call gate, harmless
      }
      if ((b & SEG_TYPE) != 0xC00) {
        return false; // only call gates among system descriptors
      }
      int cs = a >>> 16;
      boolean okay = (cs >>> 3) < FIRST_RESERVED_GDT_ENTRY || cs == FLAT_RING1_CS || (cs & 4) != 0;
      if (!okay) {
        return false;
      }
      b &= ~SEG_DPL;
      cs = (cs & ~3) | dpl;
      a = (a & 0xFFFF) | (cs << 16);
      if ((b & 0xE0) != 0) {
        return false;
      }
    }
    d[0] = a;
    d[1] = b;
    return true;
  }

  /** alloc_segdesc_page: all 512 descriptors of frame {@code mfn} must pass, else -EINVAL. */
  static int validatePage(PhysicalMemory m, long mfn) {
    for (int i = 0; i < 512; i++) {
      if (!check(m, (mfn << 12) + 8L * i)) {
        return XenErrno.EINVAL.negated();
      }
    }
    return 0;
  }
}
