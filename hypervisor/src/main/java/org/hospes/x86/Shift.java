package org.hospes.x86;

import static org.hospes.x86.Cpu.BITS;
import static org.hospes.x86.Cpu.LF_CFOF;
import static org.hospes.x86.Cpu.MASK;
import static org.hospes.x86.Cpu.SHIFT;

/**
 * ROL ROR RCL RCR SHL SHR SAL SAR, SHLD, SHRD. The count is masked to 5 bits; a masked count of
 * zero changes neither the operand nor the flags. Flags the SDM leaves undefined get the values
 * noted per case (tests mask them).
 */
final class Shift {
  static final int ROL = 0, ROR = 1, RCL = 2, RCR = 3, SHL = 4, SHR = 5, SAL = 6, SAR = 7;

  private Shift() {}

  static void shiftE(Cpu c, int f0, int d, int op, int count) {
    int cnt = count & 0x1F;
    if (cnt == 0) {
      return;
    }
    int size = Cpu.size(f0);
    if (Cpu.isMem(f0)) {
      int lin = c.linW(f0, d, size);
      int v = c.readSized(size, lin);
      c.writeSized(size, lin, shift(c, op, size, v, cnt));
    } else if (size == 2 && op != RCL && op != RCR) {
      int reg = (f0 >>> 14) & 15;
      c.r[reg] = shift32(c, op, c.r[reg], cnt);
    } else {
      int reg = (f0 >>> 14) & 15;
      c.setReg(size, reg, shift(c, op, size, c.getReg(size, reg), cnt));
    }
  }

  /** The common 32-bit shifts and rotates (not RCL/RCR), kept small so the JIT inlines them. */
  private static int shift32(Cpu c, int op, int v, int cnt) {
    int res;
    switch (op) {
      case ROL:
        res = Integer.rotateLeft(v, cnt);
        c.setCfOf(res & 1, (res >>> 31) ^ (res & 1));
        return res;
      case ROR:
        res = Integer.rotateRight(v, cnt);
        c.setCfOf(res >>> 31, ((res >>> 31) ^ (res >>> 30)) & 1);
        return res;
      case SHR:
        res = v >>> cnt;
        setShiftFlags(c, res, (v >>> (cnt - 1)) & 1, v >>> 31);
        return res;
      case SAR:
        res = v >> cnt;
        setShiftFlags(c, res, (v >> (cnt - 1)) & 1, 0);
        return res;
      default:
        res = v << cnt;
        int cf = (v >>> (32 - cnt)) & 1;
        setShiftFlags(c, res, cf, (res >>> 31) ^ cf);
        return res;
    }
  }

  /** Shifts zero-extended {@code v} by a non-zero masked count; sets flags; returns result. */
  static int shift(Cpu c, int op, int size, int v, int cnt) {
    int bits = BITS[size];
    int mask = MASK[size];
    int sh = SHIFT[size];
    int res;
    int cf;
    switch (op) {
      case ROL: {
        int k = cnt & (bits - 1);
        res = k == 0 ? v : ((v << k) | (v >>> (bits - k))) & mask;
        cf = res & 1;
        setRotateFlags(c, cf, ((res >>> (bits - 1)) & 1) ^ cf);
        return res;
      }
      case ROR: {
        int k = cnt & (bits - 1);
        res = k == 0 ? v : ((v >>> k) | (v << (bits - k))) & mask;
        int msb = (res >>> (bits - 1)) & 1;
        setRotateFlags(c, msb, msb ^ ((res >>> (bits - 2)) & 1));
        return res;
      }
      case RCL: {
        int k = size == 2 ? cnt : cnt % (bits + 1);
        int oldCf = c.cf();
        if (k == 0) {
          res = v;
          cf = oldCf;
        } else {
          long wide = ((long) oldCf << bits) | (v & 0xFFFF_FFFFL);
          long rot = ((wide << k) | (wide >>> (bits + 1 - k))) & ((1L << (bits + 1)) - 1);
          res = (int) rot & mask;
          cf = (int) (rot >>> bits) & 1;
        }
        setRotateFlags(c, cf, ((res >>> (bits - 1)) & 1) ^ cf);
        return res;
      }
      case RCR: {
        int k = size == 2 ? cnt : cnt % (bits + 1);
        int oldCf = c.cf();
        if (k == 0) {
          res = v;
          cf = oldCf;
        } else {
          long wide = ((long) oldCf << bits) | (v & 0xFFFF_FFFFL);
          long rot = ((wide >>> k) | (wide << (bits + 1 - k))) & ((1L << (bits + 1)) - 1);
          res = (int) rot & mask;
          cf = (int) (rot >>> bits) & 1;
        }
        int top2 = res >>> (bits - 2);
        setRotateFlags(c, cf, ((top2 >>> 1) ^ top2) & 1);
        return res;
      }
      case SHL:
      case SAL: {
        long wide = (v & 0xFFFF_FFFFL) << cnt;
        res = (int) wide & mask;
        cf = (int) (wide >>> bits) & 1;
        setShiftFlags(c, res << sh >> sh, cf, ((res >>> (bits - 1)) & 1) ^ cf);
        return res;
      }
      case SHR: {
        long z = v & 0xFFFF_FFFFL;
        res = (int) (z >>> cnt) & mask;
        cf = (int) (z >>> (cnt - 1)) & 1;
        setShiftFlags(c, res << sh >> sh, cf, (v >>> (bits - 1)) & 1);
        return res;
      }
      default: {
        int s = v << sh >> sh;
        res = (s >> cnt) & mask;
        cf = (s >> (cnt - 1)) & 1;
        setShiftFlags(c, res << sh >> sh, cf, 0);
        return res;
      }
    }
  }

  private static void setShiftFlags(Cpu c, int signExtendedResult, int cf, int of) {
    c.lfOp = LF_CFOF;
    c.lfR = signExtendedResult;
    c.lfCf = cf;
    c.lfOf = of;
  }

  /** Rotates change only CF and OF. */
  private static void setRotateFlags(Cpu c, int cf, int of) {
    c.setCfOf(cf, of);
  }

  static void shld(Cpu c, int f0, int d, int count) {
    doubleShift(c, f0, d, count, true);
  }

  static void shrd(Cpu c, int f0, int d, int count) {
    doubleShift(c, f0, d, count, false);
  }

  private static void doubleShift(Cpu c, int f0, int d, int count, boolean left) {
    int cnt = count & 0x1F;
    if (cnt == 0) {
      return;
    }
    int size = Cpu.size(f0);
    int bits = BITS[size];
    int mask = MASK[size];
    int src = c.getG(f0, size);
    boolean mem = Cpu.isMem(f0);
    int lin = mem ? c.linW(f0, d, size) : 0;
    int dst = mem ? c.readSized(size, lin) : c.getReg(size, (f0 >>> 14) & 15);
    int res;
    int cf;
    if (size == 1) {
      // 16-bit with a count above 16 is undefined; this follows the 32-bit concatenation
      // (dest:src:dest) that Intel processors use.
      long wide = left
          ? ((long) (dst & 0xFFFF) << 32) | ((long) (src & 0xFFFF) << 16) | (dst & 0xFFFF)
          : ((long) (dst & 0xFFFF) << 32) | ((long) (src & 0xFFFF) << 16) | (dst & 0xFFFF);
      if (left) {
        long sh = wide << cnt;
        res = (int) (sh >>> 32) & 0xFFFF;
        cf = (int) (sh >>> 48) & 1;
      } else {
        long in = ((long) (dst & 0xFFFF)) | ((long) (src & 0xFFFF) << 16)
            | ((long) (dst & 0xFFFF) << 32);
        res = (int) (in >>> cnt) & 0xFFFF;
        cf = (int) (in >>> (cnt - 1)) & 1;
      }
    } else {
      long z = dst & 0xFFFF_FFFFL;
      long s = src & 0xFFFF_FFFFL;
      if (left) {
        long wide = (z << 32) | s;
        res = (int) ((wide << cnt) >>> 32);
        cf = (int) (z >>> (32 - cnt)) & 1;
      } else {
        long wide = (s << 32) | z;
        res = (int) (wide >>> cnt);
        cf = (int) (z >>> (cnt - 1)) & 1;
      }
    }
    res &= mask;
    int of = ((res ^ dst) >>> (bits - 1)) & 1;
    if (mem) {
      c.writeSized(size, lin, res);
    } else {
      c.setReg(size, (f0 >>> 14) & 15, res);
    }
    int sh = SHIFT[size];
    c.lfOp = LF_CFOF;
    c.lfR = res << sh >> sh;
    c.lfCf = cf;
    c.lfOf = of;
  }
}
