package org.hospes.x86;

import java.math.BigDecimal;

/**
 * IEEE 754 single and double arithmetic as SSE/SSE2 does it (SDM vol. 1, 10.2.3, 11.5 and 4.9):
 * the four MXCSR rounding modes, DAZ and FTZ, the six exception flags with their precedence, and
 * the SSE NaN rules (the first source NaN wins, an SNaN is quieted, invalid operations give the
 * default NaN 0xFFC00000 / 0xFFF8000000000000). Tininess is detected after rounding, as x86 does.
 *
 * <p>How the rounding modes are done with Java's round-to-nearest arithmetic: an operation first
 * computes its round-to-nearest result {@code q} in Java, then the sign of {@code exact - q}:
 * <ul>
 *   <li>fast path (results well inside the normal range): error-free transformations. For double,
 *       TwoSum gives the exact error of a sum, {@code Math.fma} the exact error of a product and
 *       the exact remainder of a quotient or square root. For single, the double computation is
 *       exact for products and its error is known for the others; the float result is the double
 *       one rounded again, which is correct for +, -, *, / and sqrt since 53 &gt;= 2*24+2.
 *   <li>slow path (near overflow, tiny results, extreme operands): {@link BigDecimal}, in which
 *       every double is exact and the exact result is compared with any threshold (a quotient or
 *       root by cross-multiplication).
 * </ul>
 * A directed mode then moves {@code q} one ulp toward the exact value when it lies on the wrong
 * side ({@code Math.nextUp}/{@code nextDown} also step across the subnormal range and to or from
 * infinity correctly). Inexact is {@code exact != result}.
 *
 * <p>One object per processor; {@link #begin} starts an instruction, lanes accumulate their
 * pre-computation (IE, DE, ZE) and post-computation (OE, UE, PE) flags, and the caller commits
 * them to MXCSR (see {@link Simd}).
 */
final class SseFloat {
  static final int IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32;
  static final int MXCSR_DAZ = 0x40, MXCSR_FTZ = 0x8000;
  static final int RN = 0, RD = 1, RU = 2, RZ = 3;

  static final int ADD = 0, SUB = 1, MUL = 2, DIV = 3, SQRT = 4, CVT = 5;

  static final int QNAN_S = 0xFFC0_0000;
  static final long QNAN_D = 0xFFF8_0000_0000_0000L;

  int pre;
  int post;
  int mode;
  boolean daz;
  boolean ftz;
  /** Exception mask bits (MXCSR bits 7-12 shifted down to 0-5). */
  int masks;

  void begin(int mxcsr) {
    pre = 0;
    post = 0;
    mode = (mxcsr >>> 13) & 3;
    daz = (mxcsr & MXCSR_DAZ) != 0;
    ftz = (mxcsr & MXCSR_FTZ) != 0;
    masks = (mxcsr >>> 7) & 0x3F;
  }

  // ================================================================== classification

  /**
   * RCPPS/RCPSS: an approximate reciprocal. The SDM promises only a relative error of at most
   * 1.5 * 2^-12 and processors differ in the low bits (this host's AMD part gives 1 - 2^-12 for
   * 1/1), so Hospes gives the reciprocal rounded to 12 fraction bits (error at most 2^-13):
   * deterministic, and within the bound. Special cases as the SDM and real parts give them:
   * zeros and denormals give infinities of their sign, infinities give zeros, a NaN comes back
   * quieted, and inputs from 1.11111111110100000000000B * 2^125 up give a tiny result, flushed to
   * zero. No flag is ever raised (the instructions signal no SIMD exception).
   */
  static int rcpApprox(int b) {
    int sign = b & 0x8000_0000;
    int mag = b & 0x7FFF_FFFF;
    if (mag > 0x7F80_0000) {
      return b | 0x0040_0000;
    }
    if (mag == 0x7F80_0000) {
      return sign;
    }
    if (mag < 0x0080_0000) {
      return sign | 0x7F80_0000;
    }
    if (mag >= 0x7E7F_E800) {
      return sign;
    }
    return round12(1.0 / Float.intBitsToFloat(b));
  }

  /**
   * RSQRTPS/RSQRTSS: an approximate reciprocal square root, rounded to 12 fraction bits as
   * {@link #rcpApprox}. Zeros and denormals give infinities of their sign, +infinity gives +0, a
   * NaN comes back quieted, and any other negative input gives the default NaN.
   */
  static int rsqrtApprox(int b) {
    int sign = b & 0x8000_0000;
    int mag = b & 0x7FFF_FFFF;
    if (mag > 0x7F80_0000) {
      return b | 0x0040_0000;
    }
    if (mag < 0x0080_0000) {
      return sign | 0x7F80_0000;
    }
    if (sign != 0) {
      return QNAN_S;
    }
    if (mag == 0x7F80_0000) {
      return 0;
    }
    return round12(1.0 / Math.sqrt(Float.intBitsToFloat(b)));
  }

  /** {@code v} (a normal float's range) rounded to nearest with 12 fraction bits kept. */
  private static int round12(double v) {
    long d = Double.doubleToRawLongBits(v);
    // 52 - 12 = 40 fraction bits dropped; a carry into the exponent is a correct rounding up.
    d = d + (1L << 39) & ~((1L << 40) - 1);
    return Float.floatToRawIntBits((float) Double.longBitsToDouble(d));
  }

  static boolean nanS(int x) {
    return (x & 0x7FFF_FFFF) > 0x7F80_0000;
  }

  static boolean snanS(int x) {
    return nanS(x) && (x & 0x0040_0000) == 0;
  }

  static boolean denS(int x) {
    return (x & 0x7F80_0000) == 0 && (x & 0x007F_FFFF) != 0;
  }

  static boolean nanD(long x) {
    return (x & 0x7FFF_FFFF_FFFF_FFFFL) > 0x7FF0_0000_0000_0000L;
  }

  static boolean snanD(long x) {
    return nanD(x) && (x & 0x0008_0000_0000_0000L) == 0;
  }

  static boolean denD(long x) {
    return (x & 0x7FF0_0000_0000_0000L) == 0 && (x & 0x000F_FFFF_FFFF_FFFFL) != 0;
  }

  /** DAZ: a denormal source reads as a zero of its sign. */
  int dazS(int x) {
    return daz && denS(x) ? x & 0x8000_0000 : x;
  }

  long dazD(long x) {
    return daz && denD(x) ? x & 0x8000_0000_0000_0000L : x;
  }

  // ================================================================== arithmetic

  /** Single precision {@code a op b} (b unused for SQRT, where a is the source). */
  int opS(int op, int a, int b) {
    a = dazS(a);
    b = op == SQRT ? 0 : dazS(b);
    if (op == SQRT) {
      if (nanS(a)) {
        if (snanS(a)) {
          pre |= IE;
        }
        return a | 0x0040_0000;
      }
    } else if (nanS(a) || nanS(b)) {
      if (snanS(a) || snanS(b)) {
        pre |= IE;
      }
      return (nanS(a) ? a : b) | 0x0040_0000;
    }
    float fa = Float.intBitsToFloat(a);
    float fb = Float.intBitsToFloat(b);
    int special = specials(op, fa, fb, denS(a) || op != SQRT && denS(b));
    if (special == 1) {
      return QNAN_S;
    }
    if (special == 2) {
      return Float.floatToRawIntBits(exactSpecialS(op, fa, fb));
    }
    return Float.floatToRawIntBits((float) round(op, fa, fb, true));
  }

  /** Double precision {@code a op b}. */
  long opD(int op, long a, long b) {
    a = dazD(a);
    b = op == SQRT ? 0 : dazD(b);
    if (op == SQRT) {
      if (nanD(a)) {
        if (snanD(a)) {
          pre |= IE;
        }
        return a | 0x0008_0000_0000_0000L;
      }
    } else if (nanD(a) || nanD(b)) {
      if (snanD(a) || snanD(b)) {
        pre |= IE;
      }
      return (nanD(a) ? a : b) | 0x0008_0000_0000_0000L;
    }
    double da = Double.longBitsToDouble(a);
    double db = Double.longBitsToDouble(b);
    int special = specials(op, da, db, denD(a) || op != SQRT && denD(b));
    if (special == 1) {
      return QNAN_D;
    }
    if (special == 2) {
      return Double.doubleToRawLongBits(exactSpecialD(op, da, db));
    }
    return Double.doubleToRawLongBits(round(op, da, db, false));
  }

  /**
   * Pre-computation checks for non-NaN operands: 1 = invalid (IE, default NaN), 2 = an exact
   * special result (infinity, division by zero, zero operand of a product), 0 = round normally.
   * Sets ZE, IE and DE with their precedence (SDM vol. 1, 4.9.2: invalid and divide-by-zero
   * before denormal).
   */
  private int specials(int op, double a, double b, boolean denormal) {
    boolean ia = Double.isInfinite(a);
    boolean ib = Double.isInfinite(b);
    switch (op) {
      case ADD:
      case SUB:
        if (ia && ib && ((a > 0) != (b > 0)) == (op == ADD)) {
          pre |= IE;
          return 1;
        }
        break;
      case MUL:
        if (ia && b == 0 || ib && a == 0) {
          pre |= IE;
          return 1;
        }
        break;
      case DIV:
        if (ia && ib || a == 0 && b == 0) {
          pre |= IE;
          return 1;
        }
        if (b == 0 && !ia) {
          pre |= ZE;
          return 2;
        }
        break;
      case SQRT:
        if (a < 0) {
          pre |= IE;
          return 1;
        }
        break;
      default:
        break;
    }
    if (denormal) {
      pre |= DE;
    }
    if (ia || ib) {
      return 2;
    }
    return 0;
  }

  private static double exactSpecialD(int op, double a, double b) {
    switch (op) {
      case ADD: return a + b;
      case SUB: return a - b;
      case MUL: return a * b;
      case DIV: return a / b;
      default: return Math.sqrt(a);
    }
  }

  private static float exactSpecialS(int op, float a, float b) {
    switch (op) {
      case ADD: return a + b;
      case SUB: return a - b;
      case MUL: return a * b;
      case DIV: return a / b;
      default: return (float) Math.sqrt(a);
    }
  }

  private static final double FAST_LO = 0x1p-900;
  private static final double FAST_HI = 0x1p900;

  /**
   * The rounded result of {@code a op b} for finite operands (DAZ applied), in single precision
   * (returned as the float's exact double value) or double; adds OE, UE, PE.
   */
  double round(int op, double a, double b, boolean single) {
    double q;
    int dir;
    if (op == SUB) {
      op = ADD;
      b = -b;
    }
    if (single) {
      double d;
      float qf;
      switch (op) {
        case ADD: {
          d = a + b;
          double err = twoSumErr(a, b, d);
          qf = (float) d;
          double t = d - qf;
          double s = t + err;
          dir = s != 0 ? sign(s) : sign(twoSumErr(t, err, s));
          break;
        }
        case MUL:
          d = a * b;
          qf = (float) d;
          dir = sign(d - qf);
          break;
        case DIV:
          d = a / b;
          qf = (float) d;
          dir = d != qf ? sign(d - qf) : sign(Math.fma(-d, b, a)) * sign(b);
          break;
        case SQRT:
          d = Math.sqrt(a);
          qf = (float) d;
          dir = d != qf ? sign(d - qf) : sign(Math.fma(-d, d, a));
          break;
        default:
          d = a;
          qf = (float) d;
          dir = sign(d - qf);
          break;
      }
      float m = Math.abs(qf);
      if (m > Float.MIN_NORMAL && m < Float.MAX_VALUE) {
        if (dir != 0) {
          post |= PE;
        }
        return adjustS(qf, dir);
      }
      return slow(op, a, b, true, qf);
    }
    boolean fast = true;
    switch (op) {
      case ADD: {
        q = a + b;
        double err = twoSumErr(a, b, q);
        dir = sign(err);
        // TwoSum's own steps overflow near the top of the range (DBL_MAX minus a smaller
        // number: s - a passes -DBL_MAX), and its error is then an infinity or NaN.
        fast = Double.isFinite(err);
        break;
      }
      case MUL:
        q = a * b;
        dir = sign(Math.fma(a, b, -q));
        fast = Math.abs(q) > FAST_LO;
        break;
      case DIV:
        q = a / b;
        dir = sign(Math.fma(-q, b, a)) * sign(b);
        fast = Math.abs(a) > FAST_LO && Math.abs(a) < FAST_HI && Math.abs(b) > FAST_LO
            && Math.abs(b) < FAST_HI;
        break;
      case SQRT:
        q = Math.sqrt(a);
        dir = sign(Math.fma(-q, q, a));
        fast = a > FAST_LO;
        break;
      default:
        q = a;
        dir = 0;
        break;
    }
    double m = Math.abs(q);
    if (fast && m > Double.MIN_NORMAL && m < Double.MAX_VALUE) {
      if (dir != 0) {
        post |= PE;
      }
      return adjustD(q, dir);
    }
    return slow(op, a, b, false, q);
  }

  /** Exact error of the rounded sum {@code s = a + b} (TwoSum; exact unless s overflows). */
  private static double twoSumErr(double a, double b, double s) {
    double bb = s - a;
    return (a - (s - bb)) + (b - bb);
  }

  private static int sign(double v) {
    return v > 0 ? 1 : v < 0 ? -1 : 0;
  }

  private double adjustD(double q, int dir) {
    if (dir == 0) {
      return q;
    }
    switch (mode) {
      case RD: return dir < 0 ? Math.nextDown(q) : q;
      case RU: return dir > 0 ? Math.nextUp(q) : q;
      case RZ:
        if (q > 0 && dir < 0) {
          return Math.nextDown(q);
        }
        return q < 0 && dir > 0 ? Math.nextUp(q) : q;
      default: return q;
    }
  }

  private float adjustS(float q, int dir) {
    if (dir == 0) {
      return q;
    }
    switch (mode) {
      case RD: return dir < 0 ? Math.nextDown(q) : q;
      case RU: return dir > 0 ? Math.nextUp(q) : q;
      case RZ:
        if (q > 0 && dir < 0) {
          return Math.nextDown(q);
        }
        return q < 0 && dir > 0 ? Math.nextUp(q) : q;
      default: return q;
    }
  }

  // ------------------------------------------------------------------ the exact slow path

  private static final BigDecimal TWO = BigDecimal.valueOf(2);

  /** sign(exact - t) for the operation on a and b (ADD or MUL or DIV or SQRT or CVT). */
  private static int cmp(int op, BigDecimal a, BigDecimal b, BigDecimal t) {
    switch (op) {
      case ADD: return a.add(b).compareTo(t);
      case MUL: return a.multiply(b).compareTo(t);
      case DIV: return a.subtract(t.multiply(b)).signum() * b.signum();
      case SQRT:
        if (t.signum() < 0) {
          return 1;
        }
        return a.compareTo(t.multiply(t));
      default: return a.compareTo(t);
    }
  }

  private double slow(int op, double a, double b, boolean single, double qRn) {
    BigDecimal ba = new BigDecimal(a);
    BigDecimal bb = new BigDecimal(b);
    int sgn = cmp(op, ba, bb, BigDecimal.ZERO);
    if (sgn == 0) {
      if (op == ADD) {
        // An exact zero sum: +0, or -0 when both addends are -0 or rounding is toward -inf.
        boolean neg = mode == RD ? !(isPosZero(a) && isPosZero(b))
            : Double.doubleToRawLongBits(a) < 0 && Double.doubleToRawLongBits(b) < 0;
        return neg ? -0.0 : 0.0;
      }
      return qRn;
    }
    int p = single ? 24 : 53;
    int emin = single ? -126 : -1022;
    double max = single ? Float.MAX_VALUE : Double.MAX_VALUE;
    BigDecimal bmax = new BigDecimal(max);
    BigDecimal limit = TWO.pow(single ? 128 : 1024);
    boolean towardZero = mode == RZ || mode == RD && sgn > 0 || mode == RU && sgn < 0;
    boolean aboveMax = sgn > 0 ? cmp(op, ba, bb, bmax) > 0 : cmp(op, ba, bb, bmax.negate()) < 0;
    if (aboveMax) {
      boolean overflow;
      if (mode == RN) {
        overflow = Double.isInfinite(qRn);
      } else if (towardZero) {
        overflow = sgn > 0 ? cmp(op, ba, bb, limit) >= 0 : cmp(op, ba, bb, limit.negate()) <= 0;
      } else {
        overflow = true;
      }
      post |= PE;
      if (overflow) {
        post |= OE;
        if (!towardZero) {
          return sgn > 0 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
        }
      }
      return sgn > 0 ? max : -max;
    }
    BigDecimal minNormal = new BigDecimal(Math.scalb(1.0, emin));
    // Tiny after rounding: |exact| rounded to p bits with an unbounded exponent is below 2^emin.
    boolean tiny;
    if (mode == RN) {
      BigDecimal thr = new BigDecimal(Math.scalb(1.0, emin) - Math.scalb(1.0, emin - p - 1));
      tiny = sgn > 0 ? cmp(op, ba, bb, thr) < 0 : cmp(op, ba, bb, thr.negate()) > 0;
    } else if (towardZero) {
      tiny = sgn > 0 ? cmp(op, ba, bb, minNormal) < 0 : cmp(op, ba, bb, minNormal.negate()) > 0;
    } else {
      BigDecimal thr = new BigDecimal(Math.scalb(1.0, emin) - Math.scalb(1.0, emin - p));
      tiny = sgn > 0 ? cmp(op, ba, bb, thr) <= 0 : cmp(op, ba, bb, thr.negate()) >= 0;
    }
    int dir = cmp(op, ba, bb, new BigDecimal(qRn));
    double r = single ? adjustS((float) qRn, dir) : adjustD(qRn, dir);
    boolean inexact = dir != 0;
    if (tiny) {
      if ((masks & UE) == 0) {
        post |= UE | (inexact ? PE : 0);
      } else if (ftz) {
        post |= UE | PE;
        return sgn > 0 ? 0.0 : -0.0;
      } else if (inexact) {
        post |= UE | PE;
      }
    } else if (inexact) {
      post |= PE;
    }
    return r;
  }

  private static boolean isPosZero(double v) {
    return Double.doubleToRawLongBits(v) == 0;
  }

  // ================================================================== conversions

  /** CVTSS2SD / CVTPS2PD: exact, except NaN quieting and the denormal flag. */
  long floatToDouble(int a) {
    a = dazS(a);
    if (nanS(a)) {
      if (snanS(a)) {
        pre |= IE;
      }
      return (long) (a >>> 31) << 63 | 0x7FF8_0000_0000_0000L
          | (long) (a & 0x003F_FFFF) << 29;
    }
    if (denS(a)) {
      pre |= DE;
    }
    return Double.doubleToRawLongBits(Float.intBitsToFloat(a));
  }

  /** CVTSD2SS / CVTPD2PS: rounds with the MXCSR mode; NaNs keep their upper payload bits. */
  int doubleToFloat(long a) {
    a = dazD(a);
    if (nanD(a)) {
      if (snanD(a)) {
        pre |= IE;
      }
      return (int) (a >>> 63) << 31 | 0x7FC0_0000 | (int) ((a >>> 29) & 0x003F_FFFF);
    }
    double v = Double.longBitsToDouble(a);
    if (denD(a)) {
      pre |= DE;
    }
    if (Double.isInfinite(v) || v == 0) {
      return Float.floatToRawIntBits((float) v);
    }
    return Float.floatToRawIntBits((float) round(CVT, v, 0, true));
  }

  /** CVTSI2SS / CVTDQ2PS / CVTPI2PS: an int rounded to single. */
  int intToFloat(int i) {
    return Float.floatToRawIntBits((float) round(CVT, i, 0, true));
  }

  /**
   * CVT(T)SS2SI, CVT(T)SD2SI, CVT(T)PS2DQ...: to int32 with the MXCSR mode or truncation;
   * NaN and out-of-range give the integer indefinite 0x80000000 with IE, inexact gives PE.
   */
  int toInt32(double v, boolean truncate) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      pre |= IE;
      return 0x8000_0000;
    }
    double r;
    int m = truncate ? RZ : mode;
    switch (m) {
      case RD: r = Math.floor(v); break;
      case RU: r = Math.ceil(v); break;
      case RZ: r = v < 0 ? Math.ceil(v) : Math.floor(v); break;
      default: r = Math.rint(v); break;
    }
    if (r < -2147483648.0 || r > 2147483647.0) {
      pre |= IE;
      return 0x8000_0000;
    }
    if (r != v) {
      post |= PE;
    }
    return (int) r;
  }

  double sourceS(int a) {
    return Float.intBitsToFloat(dazS(a));
  }

  double sourceD(long a) {
    return Double.longBitsToDouble(dazD(a));
  }

  // ================================================================== compare, min, max

  /**
   * CMPPS/CMPSS predicate {@code pred} (0-7: EQ LT LE UNORD NEQ NLT NLE ORD). LT, LE, NLT and
   * NLE signal invalid on any NaN, the others only on an SNaN.
   */
  boolean compare(int pred, double a, double b, boolean snan, boolean den) {
    boolean unordered = Double.isNaN(a) || Double.isNaN(b);
    if (unordered) {
      int p = pred & 3;
      if (snan || p == 1 || p == 2) {
        pre |= IE;
      }
    } else if (den) {
      pre |= DE;
    }
    boolean r;
    switch (pred & 7) {
      case 0: r = !unordered && a == b; break;
      case 1: r = !unordered && a < b; break;
      case 2: r = !unordered && a <= b; break;
      case 3: r = unordered; break;
      case 4: r = unordered || a != b; break;
      case 5: r = unordered || !(a < b); break;
      case 6: r = unordered || !(a <= b); break;
      default: r = !unordered; break;
    }
    return r;
  }

  int cmpS(int pred, int a, int b) {
    a = dazS(a);
    b = dazS(b);
    boolean r = compare(pred, Float.intBitsToFloat(a), Float.intBitsToFloat(b),
        snanS(a) || snanS(b), denS(a) || denS(b));
    return r ? -1 : 0;
  }

  long cmpD(int pred, long a, long b) {
    a = dazD(a);
    b = dazD(b);
    boolean r = compare(pred, Double.longBitsToDouble(a), Double.longBitsToDouble(b),
        snanD(a) || snanD(b), denD(a) || denD(b));
    return r ? -1L : 0L;
  }

  /** MIN/MAX: a NaN or two zeros give the second (source) operand; any NaN signals invalid. */
  int minMaxS(boolean max, int a, int b) {
    a = dazS(a);
    b = dazS(b);
    if (nanS(a) || nanS(b)) {
      pre |= IE;
      return b;
    }
    if (denS(a) || denS(b)) {
      pre |= DE;
    }
    float fa = Float.intBitsToFloat(a);
    float fb = Float.intBitsToFloat(b);
    if (max) {
      return fa > fb ? a : b;
    }
    return fa < fb ? a : b;
  }

  long minMaxD(boolean max, long a, long b) {
    a = dazD(a);
    b = dazD(b);
    if (nanD(a) || nanD(b)) {
      pre |= IE;
      return b;
    }
    if (denD(a) || denD(b)) {
      pre |= DE;
    }
    double fa = Double.longBitsToDouble(a);
    double fb = Double.longBitsToDouble(b);
    if (max) {
      return fa > fb ? a : b;
    }
    return fa < fb ? a : b;
  }

  /**
   * (U)COMISS/(U)COMISD: the EFLAGS result (ZF PF CF = 111 unordered, 000 greater, 001 less,
   * 100 equal). COMIS signals invalid on any NaN, UCOMIS only on an SNaN.
   */
  int comi(double a, double b, boolean signalling, boolean snan, boolean den) {
    if (Double.isNaN(a) || Double.isNaN(b)) {
      if (signalling || snan) {
        pre |= IE;
      }
      return Flags.ZF | Flags.PF | Flags.CF;
    }
    if (den) {
      pre |= DE;
    }
    if (a > b) {
      return 0;
    }
    return a < b ? Flags.CF : Flags.ZF;
  }
}
