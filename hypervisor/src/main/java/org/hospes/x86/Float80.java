package org.hospes.x86;

/**
 * Extended-precision (80-bit) arithmetic for the x87 unit, done exactly: every operation
 * computes its infinitely precise result (or enough of it: a 128-bit significand plus a sticky
 * bit) and rounds it once, to the precision and with the rounding mode the caller sets.
 *
 * <p>A value is two primitives: {@code se} holds the sign in bit 15 and the biased exponent in
 * bits 0-14, {@code sig} the 64-bit significand with its explicit integer bit (bit 63), exactly
 * as in memory. One instance belongs to one {@link Fpu}; operations leave their result in
 * {@link #se}/{@link #sig} (or return packed memory bits) and OR the exception flags they raise
 * into {@link #exc}, so nothing is allocated per operation.
 *
 * <p>Inside, an operand is unpacked to a sign, an unbiased exponent {@code e} and a normalized
 * significand {@code m} (bit 63 set), standing for {@code m / 2^63 * 2^e}; denormals and
 * pseudo-denormals are normalized on unpacking.
 */
final class Float80 {
  // Exception flags as in the FSW, plus C1 (set when the last rounding was upward).
  static final int IE = 0x01;
  static final int DE = 0x02;
  static final int ZE = 0x04;
  static final int OE = 0x08;
  static final int UE = 0x10;
  static final int PE = 0x20;
  static final int SF = 0x40;
  static final int C1 = 0x200;

  // Rounding control (FCW bits 10-11).
  static final int RN = 0;
  static final int RD = 1;
  static final int RU = 2;
  static final int RZ = 3;

  // Operand classes.
  static final int ZERO = 0;
  static final int NORMAL = 1;
  /** A denormal or pseudo-denormal: a finite value whose use signals the denormal exception. */
  static final int DENORMAL = 2;
  static final int INF = 3;
  static final int QNAN = 4;
  static final int SNAN = 5;
  /** Unnormals, pseudo-NaNs and pseudo-infinities: the 387 and later reject them (#IA). */
  static final int UNSUPPORTED = 6;

  static final int BIAS = 16383;
  static final int EMIN = 1 - BIAS;
  static final int EMAX = 0x7FFE - BIAS;
  /** Exponent wrap applied to unmasked overflow and underflow results (SDM vol. 1, 8.5.4). */
  static final int ADJUST = 24576;

  /** The real indefinite: the default QNaN produced by a masked invalid operation. */
  static final int INDEF_SE = 0xFFFF;
  static final long INDEF_SIG = 0xC000_0000_0000_0000L;

  static final long INT_BIT = 0x8000_0000_0000_0000L;
  static final long QUIET_BIT = 0x4000_0000_0000_0000L;

  // Settings for the next operation (set by the Fpu from the FCW).
  int rc;
  /** Significand bits kept by the operations subject to precision control: 24, 53 or 64. */
  int pc = 64;
  /** Exception masks (FCW bits 0-5): a set bit masks the exception. */
  int masks = 0x3F;

  // Results.
  int se;
  long sig;
  /** Exception flags (and {@link #C1}) raised since the caller last cleared it. */
  int exc;

  // Scratch for the rounding and shifting helpers.
  private long rSig;
  private long rExt;
  private boolean rCarry;
  private boolean rInexact;
  private boolean rUp;

  // ================================================================== classification

  static int classify(int se, long sig) {
    int exp = se & 0x7FFF;
    if (exp == 0x7FFF) {
      if (sig >= 0) {
        return UNSUPPORTED;
      }
      if ((sig << 1) == 0) {
        return INF;
      }
      return (sig & QUIET_BIT) != 0 ? QNAN : SNAN;
    }
    if (exp == 0) {
      return sig == 0 ? ZERO : DENORMAL;
    }
    return sig < 0 ? NORMAL : UNSUPPORTED;
  }

  static boolean isNan(int cls) {
    return cls == QNAN || cls == SNAN;
  }

  /** Unbiased exponent of a finite nonzero value, after normalization. */
  static int exponent(int se, long sig) {
    int exp = se & 0x7FFF;
    if (exp == 0) {
      return 1 - BIAS - Long.numberOfLeadingZeros(sig);
    }
    return exp - BIAS;
  }

  /** Normalized significand of a finite nonzero value. */
  static long significand(long sig) {
    return sig << Long.numberOfLeadingZeros(sig);
  }

  // ================================================================== results

  void setResult(int sign, int exp, long s) {
    se = (sign << 15) | exp;
    sig = s;
  }

  void setIndefinite() {
    se = INDEF_SE;
    sig = INDEF_SIG;
  }

  void setZero(int sign) {
    se = sign << 15;
    sig = 0;
  }

  void setInf(int sign) {
    se = (sign << 15) | 0x7FFF;
    sig = INT_BIT;
  }

  /** Signals invalid: with IE masked the result is the real indefinite. */
  void invalid() {
    exc |= IE;
    setIndefinite();
  }

  /**
   * Result of an operation with NaN operands (x87 rules, SDM vol. 1 table 4-7): an SNaN raises
   * #IA and is quieted; a QNaN beats an SNaN; of two NaNs of the same kind the one with the
   * larger significand wins (on a tie, the positive one).
   */
  void propagateNan(int seA, long sigA, int clsA, int seB, long sigB, int clsB) {
    if (clsA == SNAN || clsB == SNAN) {
      exc |= IE;
    }
    boolean aNan = isNan(clsA);
    boolean bNan = isNan(clsB);
    boolean pickA;
    if (aNan && bNan) {
      if (clsA != clsB) {
        // An SNaN and a QNaN: the QNaN wins.
        pickA = clsA == QNAN;
      } else {
        int cmp = Long.compareUnsigned(sigA | QUIET_BIT, sigB | QUIET_BIT);
        // Equal significands: the positive one.
        pickA = cmp > 0 || (cmp == 0 && (seA & 0x8000) == 0);
      }
    } else {
      pickA = aNan;
    }
    if (pickA) {
      se = seA;
      sig = sigA | QUIET_BIT;
    } else {
      se = seB;
      sig = sigB | QUIET_BIT;
    }
  }

  // ================================================================== rounding

  /**
   * Rounds {@code m} (64 bits) with lower-order bits {@code ext} to a significand that keeps
   * its top {@code 64 - drop} bit positions. Sets rSig, rCarry (the significand wrapped to
   * zero: the caller bumps the exponent), rInexact and rUp.
   */
  private void roundBits(int sign, long m, long ext, int drop) {
    long mask = drop == 0 ? 0 : (1L << drop) - 1;
    long low = m & mask;
    rCarry = false;
    rUp = false;
    if ((low | ext) == 0) {
      rSig = m;
      rInexact = false;
      return;
    }
    rInexact = true;
    boolean inc;
    switch (rc) {
      case RN: {
        boolean roundBit;
        boolean rest;
        long lsb;
        if (drop == 0) {
          roundBit = ext < 0;
          rest = (ext << 1) != 0;
          lsb = m & 1;
        } else {
          long half = 1L << (drop - 1);
          roundBit = (low & half) != 0;
          rest = (low & (half - 1)) != 0 || ext != 0;
          lsb = (m >>> drop) & 1;
        }
        inc = roundBit && (rest || lsb != 0);
        break;
      }
      case RD: inc = sign != 0; break;
      case RU: inc = sign == 0; break;
      default: inc = false; break;
    }
    long r = m & ~mask;
    if (inc) {
      r += 1L << drop;
      rUp = true;
      if (r == 0) {
        rCarry = true;
        r = INT_BIT;
      }
    }
    rSig = r;
  }

  /** Shifts the 128-bit value hi:lo right by n >= 1 bits, ORing lost bits into bit 0. */
  private void shiftRightJam(long hi, long lo, int n) {
    if (n < 64) {
      long lost = lo << (64 - n);
      rExt = (hi << (64 - n)) | (lo >>> n) | (lost != 0 ? 1 : 0);
      rSig = hi >>> n;
    } else if (n == 64) {
      rExt = hi | (lo != 0 ? 1 : 0);
      rSig = 0;
    } else if (n < 128) {
      long lost = (hi << (128 - n)) | lo;
      rExt = (hi >>> (n - 64)) | (lost != 0 ? 1 : 0);
      rSig = 0;
    } else {
      rExt = (hi | lo) != 0 ? 1 : 0;
      rSig = 0;
    }
  }

  // Output of round(): the value rOutSig / 2^63 * 2^rOutExp, or infinity.
  private long rOutSig;
  private int rOutExp;
  private boolean rOutInf;

  /**
   * Rounds the exact value (m + ext / 2^64) / 2^63 * 2^e (m normalized, sign given) to
   * {@code p} significand bits in a format with normal exponents emin..emax. Overflow and
   * underflow follow the masks: masked, the result saturates to infinity or the largest
   * finite number, or is denormalized (tininess is detected after rounding); unmasked, the
   * exponent is wrapped by {@code adjust}. Sets rOutSig/rOutExp/rOutInf; a denormal or zero
   * result has rOutExp = emin and bit 63 of rOutSig clear.
   */
  private void round(int sign, int e, long m, long ext, int p, int emin, int emax, int adjust) {
    int drop = 64 - p;
    rOutInf = false;
    roundBits(sign, m, ext, drop);
    long s1 = rSig;
    int e1 = rCarry ? e + 1 : e;
    boolean inexact1 = rInexact;
    boolean up1 = rUp;
    if (e1 > emax) {
      exc |= OE;
      if ((masks & OE) == 0 && e1 - adjust > emax) {
        // Unmasked, the exponent is wrapped; a result too large even for that (FSCALE) is an
        // infinity whatever the rounding mode.
        exc |= PE | C1;
        rOutInf = true;
        return;
      }
      if ((masks & OE) != 0) {
        exc |= PE;
        boolean toInf = rc == RN || (rc == RU && sign == 0) || (rc == RD && sign != 0);
        if (toInf) {
          rOutInf = true;
          exc |= C1;
        } else {
          rOutSig = drop == 0 ? -1L : -1L << drop;
          rOutExp = emax;
        }
      } else {
        rOutSig = s1;
        rOutExp = e1 - adjust;
        flagInexact(inexact1, up1);
      }
      return;
    }
    if (e < emin) {
      boolean tiny = e1 < emin;
      if (tiny && (masks & UE) == 0 && e1 + adjust < emin) {
        // Too small even for the wrapped exponent (FSCALE): zero.
        exc |= UE | PE;
        rOutSig = 0;
        rOutExp = emin;
        return;
      }
      if (tiny && (masks & UE) == 0) {
        exc |= UE;
        rOutSig = s1;
        rOutExp = e1 + adjust;
        flagInexact(inexact1, up1);
        return;
      }
      shiftRightJam(m, ext, emin - e);
      roundBits(sign, rSig, rExt, drop);
      rOutSig = rSig;
      rOutExp = emin;
      if (tiny && (rInexact || (masks & UE) == 0)) {
        exc |= UE;
      }
      flagInexact(rInexact, rUp);
      return;
    }
    rOutSig = s1;
    rOutExp = e1;
    flagInexact(inexact1, up1);
  }

  private void flagInexact(boolean inexact, boolean up) {
    if (inexact) {
      exc |= PE;
      if (up) {
        exc |= C1;
      }
    }
  }

  /** Rounds to the extended format with {@code p} bits; result in se/sig. */
  void roundPack(int sign, int e, long m, long ext, int p) {
    round(sign, e, m, ext, p, EMIN, EMAX, ADJUST);
    if (rOutInf) {
      setInf(sign);
      return;
    }
    long s = rOutSig;
    if (s == 0) {
      setZero(sign);
    } else if (s > 0) {
      // Denormal (only reachable when the exponent is at emin).
      setResult(sign, 0, s);
    } else {
      setResult(sign, (rOutExp + BIAS) & 0x7FFF, s);
    }
  }

  /**
   * Rounds to an IEEE interchange format: 32-bit (p=24, 8-bit exponent) or 64-bit (p=53,
   * 11-bit exponent). Returns the packed bits.
   */
  long roundToBinary(int sign, int e, long m, long ext, boolean dbl) {
    int p = dbl ? 53 : 24;
    int bias = dbl ? 1023 : 127;
    int adjust = dbl ? 1536 : 192;
    round(sign, e, m, ext, p, 1 - bias, bias, adjust);
    int fracBits = p - 1;
    long signBit = (long) sign << (dbl ? 63 : 31);
    long expMax = dbl ? 0x7FF : 0xFF;
    if (rOutInf) {
      return signBit | expMax << fracBits;
    }
    long s = rOutSig;
    long frac = (s >>> (64 - p)) & ((1L << fracBits) - 1);
    long biased = s < 0 ? rOutExp + bias : 0;
    return signBit | (biased & expMax) << fracBits | frac;
  }

  // ================================================================== conversions

  /** Unpacks an m32fp (dbl false) or m64fp value into se/sig, quieting an SNaN (FLD). */
  void loadBinary(long bits, boolean dbl) {
    loadBinary(bits, dbl, true);
  }

  /**
   * Unpacks an m32fp or m64fp value into se/sig. An SNaN signals #IA and, unless {@code quiet}
   * is false (arithmetic operands, which still need to know it was signaling), is quieted; a
   * denormal signals #D.
   */
  void loadBinary(long bits, boolean dbl, boolean quiet) {
    int fracBits = dbl ? 52 : 23;
    int expMax = dbl ? 0x7FF : 0xFF;
    int bias = dbl ? 1023 : 127;
    int sign = (int) (bits >>> (dbl ? 63 : 31)) & 1;
    int exp = (int) (bits >>> fracBits) & expMax;
    long frac = bits & ((1L << fracBits) - 1);
    long top = frac << (63 - fracBits);
    if (exp == expMax) {
      if (frac == 0) {
        setInf(sign);
      } else {
        if ((top & QUIET_BIT) == 0) {
          exc |= IE;
        }
        setResult(sign, 0x7FFF, INT_BIT | (quiet ? QUIET_BIT : 0) | top);
      }
    } else if (exp == 0) {
      if (frac == 0) {
        setZero(sign);
      } else {
        exc |= DE;
        int nlz = Long.numberOfLeadingZeros(top);
        setResult(sign, 1 - bias + BIAS - nlz, top << nlz);
      }
    } else {
      setResult(sign, exp - bias + BIAS, INT_BIT | top);
    }
  }

  /**
   * Converts the extended value to m32fp or m64fp bits with the current rounding mode (not
   * precision control). NaNs are truncated and quieted; an SNaN or unsupported operand signals
   * #IA; a denormal signals #D.
   */
  long storeBinary(int se, long sig, boolean dbl) {
    int cls = classify(se, sig);
    int sign = se >>> 15 & 1;
    int fracBits = dbl ? 52 : 23;
    long expMax = dbl ? 0x7FF : 0xFF;
    long signBit = (long) sign << (dbl ? 63 : 31);
    switch (cls) {
      case ZERO:
        return signBit;
      case INF:
        return signBit | expMax << fracBits;
      case SNAN:
      case QNAN: {
        if (cls == SNAN) {
          exc |= IE;
        }
        long frac = ((sig | QUIET_BIT) << 1) >>> (64 - fracBits);
        return signBit | expMax << fracBits | frac;
      }
      case UNSUPPORTED:
        exc |= IE;
        return dbl ? 0xFFF8_0000_0000_0000L : 0xFFC0_0000L;
      default:
        // A denormal source does not signal #D here: it underflows instead.
        return roundToBinary(sign, exponent(se, sig), significand(sig), 0, dbl);
    }
  }

  /** Loads a signed 64-bit integer exactly. */
  void loadInt(long v) {
    if (v == 0) {
      setZero(0);
      return;
    }
    int sign = v < 0 ? 1 : 0;
    long mag = v < 0 ? -v : v;
    int nlz = Long.numberOfLeadingZeros(mag);
    setResult(sign, 63 - nlz + BIAS, mag << nlz);
  }

  // Output of roundToInt: the rounded magnitude (unsigned) and whether it overflowed 64 bits.
  long intMag;
  boolean intHuge;

  /**
   * Rounds a finite value to an integer with the current rounding mode: sets intMag (the
   * magnitude, unsigned) or intHuge when it is 2^64 or more; raises PE and C1.
   */
  void roundToInt(int se, long sig) {
    intHuge = false;
    if (sig == 0) {
      intMag = 0;
      return;
    }
    int sign = se >>> 15 & 1;
    int e = exponent(se, sig);
    long m = significand(sig);
    if (e >= 64) {
      intHuge = true;
      return;
    }
    if (e == 63) {
      intMag = m;
      return;
    }
    long ip;
    long frac;
    if (e >= 0) {
      ip = m >>> (63 - e);
      frac = m << (e + 1);
    } else {
      ip = 0;
      // Below one half only a sticky bit remains.
      frac = e == -1 ? m : 1;
    }
    if (frac == 0) {
      intMag = ip;
      return;
    }
    exc |= PE;
    boolean inc;
    switch (rc) {
      case RN: inc = frac < 0 && ((frac << 1) != 0 || (ip & 1) != 0); break;
      case RD: inc = sign != 0; break;
      case RU: inc = sign == 0; break;
      default: inc = false; break;
    }
    if (inc) {
      exc |= C1;
      ip++;
      if (ip == 0) {
        intHuge = true;
      }
    }
    intMag = ip;
  }

  // ================================================================== arithmetic

  /**
   * a + b (negB flips b's sign, giving a - b), rounded to {@link #pc} bits. Handles every
   * operand class.
   */
  void add(int seA, long sigA, int seB, long sigB, boolean negB) {
    if (negB) {
      seB ^= 0x8000;
    }
    int ca = classify(seA, sigA);
    int cb = classify(seB, sigB);
    if (ca >= QNAN || cb >= QNAN) {
      if (specialNanOrUnsupported(seA, sigA, ca, seB, sigB, cb, negB)) {
        return;
      }
    }
    int sa = seA >>> 15 & 1;
    int sb = seB >>> 15 & 1;
    if (ca == INF || cb == INF) {
      if (ca == INF && cb == INF && sa != sb) {
        invalid();
      } else {
        setInf(ca == INF ? sa : sb);
        denormalCheck(ca, cb);
      }
      return;
    }
    denormalCheck(ca, cb);
    if (ca == ZERO && cb == ZERO) {
      setZero(sa == sb ? sa : rc == RD ? 1 : 0);
      return;
    }
    if (cb == ZERO) {
      roundPack(sa, exponent(seA, sigA), significand(sigA), 0, pc);
      return;
    }
    if (ca == ZERO) {
      roundPack(sb, exponent(seB, sigB), significand(sigB), 0, pc);
      return;
    }
    addFinite(sa, exponent(seA, sigA), significand(sigA), sb, exponent(seB, sigB),
        significand(sigB));
  }

  private void addFinite(int sa, int ea, long ma, int sb, int eb, long mb) {
    if (ea < eb || (ea == eb && Long.compareUnsigned(ma, mb) < 0)) {
      int ts = sa;
      sa = sb;
      sb = ts;
      int te = ea;
      ea = eb;
      eb = te;
      long tm = ma;
      ma = mb;
      mb = tm;
    }
    int d = ea - eb;
    long bh;
    long bl;
    if (d == 0) {
      bh = mb;
      bl = 0;
    } else {
      shiftRightJam(mb, 0, d);
      bh = rSig;
      bl = rExt;
    }
    if (sa == sb) {
      long hi = ma + bh;
      long lo = bl;
      int e = ea;
      if (Long.compareUnsigned(hi, ma) < 0) {
        shiftRightJam(hi, lo, 1);
        hi = rSig | INT_BIT;
        lo = rExt;
        e++;
      }
      roundPack(sa, e, hi, lo, pc);
      return;
    }
    long lo = -bl;
    long hi = ma - bh - (bl != 0 ? 1 : 0);
    if (hi == 0 && lo == 0) {
      setZero(rc == RD ? 1 : 0);
      return;
    }
    int n = hi != 0 ? Long.numberOfLeadingZeros(hi) : 64 + Long.numberOfLeadingZeros(lo);
    if (n >= 64) {
      hi = lo << (n - 64);
      lo = 0;
    } else if (n > 0) {
      hi = (hi << n) | (lo >>> (64 - n));
      lo <<= n;
    }
    roundPack(sa, ea - n, hi, lo, pc);
  }

  /** a * b rounded to {@link #pc} bits. */
  void mul(int seA, long sigA, int seB, long sigB) {
    int ca = classify(seA, sigA);
    int cb = classify(seB, sigB);
    if (ca >= QNAN || cb >= QNAN) {
      if (specialNanOrUnsupported(seA, sigA, ca, seB, sigB, cb, false)) {
        return;
      }
    }
    int sign = (seA ^ seB) >>> 15 & 1;
    if (ca == INF || cb == INF) {
      if (ca == ZERO || cb == ZERO) {
        invalid();
      } else {
        denormalCheck(ca, cb);
        setInf(sign);
      }
      return;
    }
    denormalCheck(ca, cb);
    if (ca == ZERO || cb == ZERO) {
      setZero(sign);
      return;
    }
    mulFinite(sign, exponent(seA, sigA), significand(sigA), exponent(seB, sigB),
        significand(sigB), pc);
  }

  /** Product of two normalized finite values (unbounded exponents), rounded to p bits. */
  void mulFinite(int sign, int ea, long ma, int eb, long mb, int p) {
    long lo = ma * mb;
    long hi = Math.multiplyHigh(ma, mb) + ((ma >> 63) & mb) + ((mb >> 63) & ma);
    int e = ea + eb;
    if (hi < 0) {
      e++;
    } else {
      hi = (hi << 1) | (lo >>> 63);
      lo <<= 1;
    }
    roundPack(sign, e, hi, lo, p);
  }

  /**
   * Significand of the product of two normalized significands, truncated to 64 bits; the
   * product's exponent is ea + eb + {@link #productCarry}. For intermediate products that
   * must not be bounded by the format's exponent range.
   */
  long productSignificand(long ma, long mb) {
    long lo = ma * mb;
    long hi = Math.multiplyHigh(ma, mb) + ((ma >> 63) & mb) + ((mb >> 63) & ma);
    if (hi < 0) {
      productCarry = 1;
      return hi;
    }
    productCarry = 0;
    return (hi << 1) | (lo >>> 63);
  }

  int productCarry;

  /** a / b rounded to {@link #pc} bits. */
  void div(int seA, long sigA, int seB, long sigB) {
    int ca = classify(seA, sigA);
    int cb = classify(seB, sigB);
    if (ca >= QNAN || cb >= QNAN) {
      if (specialNanOrUnsupported(seA, sigA, ca, seB, sigB, cb, false)) {
        return;
      }
    }
    int sign = (seA ^ seB) >>> 15 & 1;
    if (ca == INF) {
      if (cb == INF) {
        invalid();
      } else {
        denormalCheck(ca, cb);
        setInf(sign);
      }
      return;
    }
    if (cb == INF) {
      denormalCheck(ca, cb);
      setZero(sign);
      return;
    }
    if (cb == ZERO) {
      if (ca == ZERO) {
        invalid();
      } else {
        exc |= ZE;
        setInf(sign);
      }
      return;
    }
    denormalCheck(ca, cb);
    if (ca == ZERO) {
      setZero(sign);
      return;
    }
    long a = significand(sigA);
    long b = significand(sigB);
    int e = exponent(seA, sigA) - exponent(seB, sigB);
    long rem = a;
    boolean remHi = false;
    if (Long.compareUnsigned(a, b) < 0) {
      e--;
      remHi = rem < 0;
      rem <<= 1;
    }
    long q = 0;
    for (int i = 0; i < 64; i++) {
      q <<= 1;
      if (remHi || Long.compareUnsigned(rem, b) >= 0) {
        rem -= b;
        q |= 1;
      }
      remHi = rem < 0;
      rem <<= 1;
    }
    long ext = 0;
    if (remHi || Long.compareUnsigned(rem, b) >= 0) {
      rem -= b;
      ext = INT_BIT;
    }
    if (rem != 0) {
      ext |= 1;
    }
    roundPack(sign, e, q, ext, pc);
  }

  /** Square root rounded to {@link #pc} bits. */
  void sqrt(int seA, long sigA) {
    int ca = classify(seA, sigA);
    int sign = seA >>> 15 & 1;
    switch (ca) {
      case SNAN:
      case QNAN:
        propagateNan(seA, sigA, ca, seA, sigA, ca);
        return;
      case UNSUPPORTED:
        invalid();
        return;
      case ZERO:
        setZero(sign);
        return;
      case INF:
        if (sign != 0) {
          invalid();
        } else {
          setInf(0);
        }
        return;
      default:
        break;
    }
    if (sign != 0) {
      invalid();
      return;
    }
    denormalCheck(ca, ZERO);
    int e = exponent(seA, sigA);
    long m = significand(sigA);
    // N = m * 2^s with s in {63, 64} chosen so that e - 63 - s is even; N has 127-128 bits.
    int s = ((e - 63 - 63) & 1) == 0 ? 63 : 64;
    long nHi = s == 63 ? m >>> 1 : m;
    long nLo = s == 63 ? m << 63 : 0;
    // Digit-by-digit square root, two bits of N per step. The remainder needs up to 67 bits
    // (remH:remL), the trial value up to 66.
    long root = 0;
    long remH = 0;
    long remL = 0;
    for (int i = 0; i < 65; i++) {
      long two;
      if (i < 32) {
        two = (nHi >>> (62 - 2 * i)) & 3;
      } else if (i < 64) {
        two = (nLo >>> (62 - 2 * (i - 32))) & 3;
      } else {
        two = 0;
      }
      remH = (remH << 2) | (remL >>> 62);
      remL = (remL << 2) | two;
      // trial = root * 4 + 1 (root < 2^64 here, so trial < 2^66)
      long tH = root >>> 62;
      long tL = (root << 2) | 1;
      boolean ge = remH != tH ? Long.compareUnsigned(remH, tH) > 0
          : Long.compareUnsigned(remL, tL) >= 0;
      if (i < 64) {
        root <<= 1;
      }
      if (ge) {
        long nl = remL - tL;
        remH = remH - tH - (Long.compareUnsigned(remL, tL) < 0 ? 1 : 0);
        remL = nl;
        if (i < 64) {
          root |= 1;
        }
      }
      if (i == 64) {
        long ext = (ge ? INT_BIT : 0) | ((remH | remL) != 0 ? 1 : 0);
        int er = ((e - 63 - s) >> 1) + 63;
        roundPack(0, er, root, ext, pc);
      }
    }
  }

  /** Raises #D when either class is a denormal (masked or not; the caller decides). */
  void denormalCheck(int ca, int cb) {
    if (ca == DENORMAL || cb == DENORMAL) {
      exc |= DE;
    }
  }

  /**
   * Handles NaN and unsupported operands of a two-operand arithmetic instruction; returns
   * false when neither is one.
   */
  private boolean specialNanOrUnsupported(int seA, long sigA, int ca, int seB, long sigB, int cb,
      boolean negB) {
    if (ca == UNSUPPORTED || cb == UNSUPPORTED) {
      invalid();
      return true;
    }
    if (isNan(ca) || isNan(cb)) {
      if (negB) {
        // The sign flip of FSUB does not apply to a NaN operand.
        seB ^= 0x8000;
      }
      propagateNan(seA, sigA, ca, seB, sigB, cb);
      return true;
    }
    return false;
  }

  // ================================================================== compare

  static final int CMP_GT = 0;
  static final int CMP_LT = 1;
  static final int CMP_EQ = 2;
  static final int CMP_UN = 3;

  /**
   * Compares a with b. NaNs give unordered; {@code quiet} (FUCOM) signals #IA only for SNaNs,
   * otherwise any NaN signals. Unsupported operands signal #IA and compare unordered.
   */
  int compare(int seA, long sigA, int seB, long sigB, boolean quiet) {
    int ca = classify(seA, sigA);
    int cb = classify(seB, sigB);
    if (ca == UNSUPPORTED || cb == UNSUPPORTED) {
      exc |= IE;
      return CMP_UN;
    }
    if (isNan(ca) || isNan(cb)) {
      if (!quiet || ca == SNAN || cb == SNAN) {
        exc |= IE;
      }
      return CMP_UN;
    }
    denormalCheck(ca, cb);
    return compareOrdered(seA, sigA, ca, seB, sigB, cb);
  }

  static int compareOrdered(int seA, long sigA, int ca, int seB, long sigB, int cb) {
    if (ca == ZERO && cb == ZERO) {
      return CMP_EQ;
    }
    int sa = seA >>> 15 & 1;
    int sb = seB >>> 15 & 1;
    if (ca == ZERO) {
      return sb != 0 ? CMP_GT : CMP_LT;
    }
    if (cb == ZERO) {
      return sa != 0 ? CMP_LT : CMP_GT;
    }
    if (sa != sb) {
      return sa != 0 ? CMP_LT : CMP_GT;
    }
    int mag;
    if (ca == INF || cb == INF) {
      mag = ca == cb ? 0 : ca == INF ? 1 : -1;
    } else {
      int ea = exponent(seA, sigA);
      int eb = exponent(seB, sigB);
      if (ea != eb) {
        mag = ea > eb ? 1 : -1;
      } else {
        mag = Long.compareUnsigned(significand(sigA), significand(sigB));
        mag = Integer.signum(mag);
      }
    }
    if (mag == 0) {
      return CMP_EQ;
    }
    if (sa != 0) {
      mag = -mag;
    }
    return mag > 0 ? CMP_GT : CMP_LT;
  }
}
