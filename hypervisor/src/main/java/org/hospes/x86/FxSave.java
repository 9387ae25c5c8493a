package org.hospes.x86;

/**
 * FXSAVE/FXRSTOR: the 512-byte x87, MMX and SSE state image in its 32-bit (non-64-bit mode)
 * layout (SDM vol. 2, FXSAVE, table 3-53):
 *
 * <pre>
 *     0  FCW          2  FSW          4  abridged FTW (1 bit per physical register, 1 = not empty)
 *     6  FOP (11 bits)                8  FIP          12  FCS
 *    16  FDP         20  FDS          24  MXCSR       28  MXCSR_MASK
 *    32  ST0..ST7, 16 bytes apart (80-bit value in the low 10 bytes)
 *   160  XMM0..XMM7, 16 bytes apart
 *   288  reserved (not written)
 * </pre>
 * The callers check CR0.EM/TS (#NM) and the 16-byte alignment (#GP(0)).
 */
final class FxSave {
  static final int FCW = 0, FSW = 2, FTW = 4, FOP = 6, FIP = 8, FCS = 12, FDP = 16, FDS = 20;
  static final int MXCSR = 24, MXCSR_MASK = 28, ST0 = 32, XMM0 = 160;
  static final int SIZE = 512;

  private FxSave() {}

  static void save(Cpu c, Simd s, int lin) {
    Fpu f = c.fpu;
    c.write16(lin + FCW, f.cw);
    c.write16(lin + FSW, f.statusWord());
    c.write16(lin + FTW, ~f.emptyMask & 0xFF);
    c.write16(lin + FOP, f.fop & 0x7FF);
    c.write32(lin + FIP, f.fip);
    c.write32(lin + FCS, f.fcs & 0xFFFF);
    c.write32(lin + FDP, f.fdp);
    c.write32(lin + FDS, f.fds & 0xFFFF);
    c.write32(lin + MXCSR, s.mxcsr);
    c.write32(lin + MXCSR_MASK, Simd.MXCSR_MASK);
    for (int i = 0; i < 8; i++) {
      int p = f.phys(i);
      int at = lin + ST0 + 16 * i;
      c.write32(at, (int) f.sig[p]);
      c.write32(at + 4, (int) (f.sig[p] >>> 32));
      c.write32(at + 8, f.se[p] & 0xFFFF);
      c.write32(at + 12, 0);
    }
    for (int i = 0; i < 16; i++) {
      long v = s.xmm[i];
      c.write32(lin + XMM0 + 8 * i, (int) v);
      c.write32(lin + XMM0 + 8 * i + 4, (int) (v >>> 32));
    }
  }

  /** Reads the whole image before changing anything, so a fault leaves the state as it was. */
  static void restore(Cpu c, Simd s, int lin) {
    int mxcsr = c.read32(lin + MXCSR);
    if ((mxcsr & ~Simd.MXCSR_MASK) != 0) {
      c.raise(Exceptions.GP, 0);
    }
    int cw = c.read16(lin + FCW);
    int sw = c.read16(lin + FSW);
    int ftw = c.read16(lin + FTW) & 0xFF;
    int fop = c.read16(lin + FOP) & 0x7FF;
    int fip = c.read32(lin + FIP);
    int fcs = c.read16(lin + FCS);
    int fdp = c.read32(lin + FDP);
    int fds = c.read16(lin + FDS);
    long[] sig = s.fxSig;
    int[] se = s.fxSe;
    for (int i = 0; i < 8; i++) {
      int at = lin + ST0 + 16 * i;
      sig[i] = (long) c.read32(at + 4) << 32 | c.read32(at) & 0xFFFF_FFFFL;
      se[i] = c.read16(at + 8);
    }
    long[] xmm = s.fxXmm;
    for (int i = 0; i < 16; i++) {
      xmm[i] = (long) c.read32(lin + XMM0 + 8 * i + 4) << 32
          | c.read32(lin + XMM0 + 8 * i) & 0xFFFF_FFFFL;
    }
    Fpu f = c.fpu;
    f.cw = (cw & 0x1F3F) | 0x0040;
    f.top = (sw >>> 11) & 7;
    f.sw = sw & ~0x3800;
    f.emptyMask = ~ftw & 0xFF;
    f.fop = fop;
    f.fip = fip;
    f.fcs = fcs;
    f.fdp = fdp;
    f.fds = fds;
    for (int i = 0; i < 8; i++) {
      int p = f.phys(i);
      f.sig[p] = sig[i];
      f.se[p] = se[i];
    }
    f.updateEs();
    System.arraycopy(xmm, 0, s.xmm, 0, 16);
    s.mxcsr = mxcsr;
  }
}
