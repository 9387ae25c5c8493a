package org.hospes.x86;

import static org.hospes.x86.Cpu.EAX;
import static org.hospes.x86.Cpu.EDX;
import static org.hospes.x86.Cpu.LF_CFOF;
import static org.hospes.x86.Cpu.SHIFT;

/** MUL, IMUL (one, two and three operands), DIV, IDIV. */
final class MulDiv {
  private MulDiv() {}

  /** Records CF = OF = {@code overflow}; SF/ZF/PF (undefined) follow the low result. */
  private static void setFlags(Cpu c, int size, int low, boolean overflow) {
    int sh = SHIFT[size];
    c.lfOp = LF_CFOF;
    c.lfR = low << sh >> sh;
    c.lfCf = overflow ? 1 : 0;
    c.lfOf = c.lfCf;
  }

  static void mul(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int src = c.getE(f0, d, size);
    int[] r = c.r;
    switch (size) {
      case 0: {
        int p = (r[EAX] & 0xFF) * src;
        r[EAX] = (r[EAX] & 0xFFFF_0000) | (p & 0xFFFF);
        setFlags(c, 0, p, (p & 0xFF00) != 0);
        break;
      }
      case 1: {
        int p = (r[EAX] & 0xFFFF) * src;
        r[EAX] = (r[EAX] & 0xFFFF_0000) | (p & 0xFFFF);
        r[EDX] = (r[EDX] & 0xFFFF_0000) | (p >>> 16);
        setFlags(c, 1, p, (p >>> 16) != 0);
        break;
      }
      default: {
        long p = (r[EAX] & 0xFFFF_FFFFL) * (src & 0xFFFF_FFFFL);
        r[EAX] = (int) p;
        r[EDX] = (int) (p >>> 32);
        setFlags(c, 2, (int) p, (p >>> 32) != 0);
        break;
      }
    }
  }

  static void imul1(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int src = c.getE(f0, d, size);
    int[] r = c.r;
    switch (size) {
      case 0: {
        int p = (byte) r[EAX] * (byte) src;
        r[EAX] = (r[EAX] & 0xFFFF_0000) | (p & 0xFFFF);
        setFlags(c, 0, p, p != (byte) p);
        break;
      }
      case 1: {
        int p = (short) r[EAX] * (short) src;
        r[EAX] = (r[EAX] & 0xFFFF_0000) | (p & 0xFFFF);
        r[EDX] = (r[EDX] & 0xFFFF_0000) | ((p >>> 16) & 0xFFFF);
        setFlags(c, 1, p, p != (short) p);
        break;
      }
      default: {
        long p = (long) r[EAX] * (long) src;
        r[EAX] = (int) p;
        r[EDX] = (int) (p >>> 32);
        setFlags(c, 2, (int) p, p != (int) p);
        break;
      }
    }
  }

  static void imulGE(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    imul3(c, f0, size, c.getG(f0, size), c.getE(f0, d, size));
  }

  static void imulGEI(Cpu c, int f0, int d, int imm) {
    int size = Cpu.size(f0);
    imul3(c, f0, size, c.getE(f0, d, size), imm);
  }

  private static void imul3(Cpu c, int f0, int size, int a, int b) {
    if (size == 1) {
      int p = (short) a * (short) b;
      c.setG(f0, 1, p);
      setFlags(c, 1, p, p != (short) p);
    } else {
      long p = (long) a * (long) b;
      c.setG(f0, 2, (int) p);
      setFlags(c, 2, (int) p, p != (int) p);
    }
  }

  static void div(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int src = c.getE(f0, d, size);
    int[] r = c.r;
    if (src == 0) {
      c.raise(Exceptions.DE, 0);
    }
    switch (size) {
      case 0: {
        int n = r[EAX] & 0xFFFF;
        int q = n / src;
        if (q > 0xFF) {
          c.raise(Exceptions.DE, 0);
        }
        r[EAX] = (r[EAX] & 0xFFFF_0000) | (n % src) << 8 | q;
        break;
      }
      case 1: {
        long n = ((r[EDX] & 0xFFFFL) << 16) | (r[EAX] & 0xFFFF);
        long q = n / src;
        if (q > 0xFFFF) {
          c.raise(Exceptions.DE, 0);
        }
        r[EAX] = (r[EAX] & 0xFFFF_0000) | (int) q;
        r[EDX] = (r[EDX] & 0xFFFF_0000) | (int) (n % src);
        break;
      }
      default: {
        long n = ((long) r[EDX] << 32) | (r[EAX] & 0xFFFF_FFFFL);
        long dv = src & 0xFFFF_FFFFL;
        long q = Long.divideUnsigned(n, dv);
        if ((q >>> 32) != 0) {
          c.raise(Exceptions.DE, 0);
        }
        r[EAX] = (int) q;
        r[EDX] = (int) Long.remainderUnsigned(n, dv);
        break;
      }
    }
  }

  static void idiv(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int src = c.getE(f0, d, size);
    int[] r = c.r;
    switch (size) {
      case 0: {
        int dv = (byte) src;
        if (dv == 0) {
          c.raise(Exceptions.DE, 0);
        }
        int n = (short) r[EAX];
        int q = n / dv;
        if (q != (byte) q) {
          c.raise(Exceptions.DE, 0);
        }
        r[EAX] = (r[EAX] & 0xFFFF_0000) | ((n % dv) & 0xFF) << 8 | (q & 0xFF);
        break;
      }
      case 1: {
        int dv = (short) src;
        if (dv == 0) {
          c.raise(Exceptions.DE, 0);
        }
        int n = (r[EDX] << 16) | (r[EAX] & 0xFFFF);
        long q = (long) n / dv;
        if (q != (short) q) {
          c.raise(Exceptions.DE, 0);
        }
        r[EAX] = (r[EAX] & 0xFFFF_0000) | ((int) q & 0xFFFF);
        r[EDX] = (r[EDX] & 0xFFFF_0000) | ((n % dv) & 0xFFFF);
        break;
      }
      default: {
        if (src == 0) {
          c.raise(Exceptions.DE, 0);
        }
        long n = ((long) r[EDX] << 32) | (r[EAX] & 0xFFFF_FFFFL);
        if (n == Long.MIN_VALUE && src == -1) {
          c.raise(Exceptions.DE, 0);
        }
        long q = n / src;
        if (q != (int) q) {
          c.raise(Exceptions.DE, 0);
        }
        r[EAX] = (int) q;
        r[EDX] = (int) (n % src);
        break;
      }
    }
  }
}
