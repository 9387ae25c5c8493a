package org.hospes.x86;

/**
 * The debug registers' breakpoint conditions (Intel SDM vol. 3, 18.2): DR0-DR3 addresses, DR7's
 * enables, R/W and LEN fields, and the DR6 status bits a #DB reports.
 *
 * <p>Data breakpoints cost the memory fast path nothing: a page holding an armed data breakpoint
 * is never entered in the TLB, so every access to it takes the slow path, which asks
 * {@link #dataAccess}. I/O breakpoints (R/W = 10 with CR4.DE) are not modelled.
 */
final class Breakpoints {
  /** DR6 bits. */
  static final int DR6_B0 = 1;
  static final int DR6_BD = 1 << 13;
  static final int DR6_BS = 1 << 14;
  /** DR7.GD: MOV DR raises #DB. */
  static final int DR7_GD = 1 << 13;
  /** DR7 R/W field values. */
  static final int RW_EXECUTE = 0;
  static final int RW_WRITE = 1;
  static final int RW_READ_WRITE = 3;

  private Breakpoints() {}

  /** True when breakpoint {@code n} is enabled locally or globally in {@code dr7}. */
  static boolean enabled(int dr7, int n) {
    return ((dr7 >>> (2 * n)) & 3) != 0;
  }

  static int rw(int dr7, int n) {
    return (dr7 >>> (16 + 4 * n)) & 3;
  }

  /** Bytes covered: LEN 00, 01, 11 are 1, 2, 4; 10 (8 bytes) is undefined on a 32-bit CPU, as 4. */
  static int length(int dr7, int n) {
    int len = (dr7 >>> (18 + 4 * n)) & 3;
    return len == 0 ? 1 : len == 1 ? 2 : 4;
  }

  /** The B0-B3 bits of enabled instruction breakpoints at linear address {@code lin}. */
  static int instructionHits(int[] dr, int lin) {
    int dr7 = dr[7];
    int hits = 0;
    for (int n = 0; n < 4; n++) {
      if (enabled(dr7, n) && rw(dr7, n) == RW_EXECUTE && dr[n] == lin) {
        hits |= DR6_B0 << n;
      }
    }
    return hits;
  }

  /** True when an enabled data breakpoint lies in the page of {@code lin}. */
  static boolean watchedPage(int[] dr, int lin) {
    int dr7 = dr[7];
    for (int n = 0; n < 4; n++) {
      if (enabled(dr7, n) && (rw(dr7, n) & 1) != 0 && (dr[n] >>> 12) == (lin >>> 12)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The B0-B3 bits of enabled data breakpoints that an access of {@code bytes} at {@code lin}
   * matches: any byte of the access inside the breakpoint's (LEN-aligned) range.
   */
  static int dataAccess(int[] dr, int lin, int bytes, boolean write) {
    int dr7 = dr[7];
    int hits = 0;
    for (int n = 0; n < 4; n++) {
      int rw = rw(dr7, n);
      if (!enabled(dr7, n) || (rw & 1) == 0 || (rw == RW_WRITE && !write)) {
        continue;
      }
      int len = length(dr7, n);
      long start = (dr[n] & 0xFFFF_FFFFL) & ~(long) (len - 1);
      long a = lin & 0xFFFF_FFFFL;
      if (a < start + len && start < a + bytes) {
        hits |= DR6_B0 << n;
      }
    }
    return hits;
  }
}
