package org.hospes.x86;

import static org.hospes.x86.Float80.DE;
import static org.hospes.x86.Float80.IE;
import static org.hospes.x86.Float80.PE;
import static org.hospes.x86.Float80.SF;
import static org.hospes.x86.Float80.ZE;

import java.math.BigInteger;

/**
 * The x87 transcendental instructions (FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X,
 * FYL2XP1).
 *
 * <p><b>Precision:</b> the core function is evaluated in IEEE double precision with
 * {@link StrictMath} (so results are reproducible on every JVM) and the double result is widened
 * exactly; results are therefore good to about 2^-52 relative, not to an extended ulp. Arguments
 * are converted to double by rounding to nearest, except where a scaling keeps the full
 * extended range (FYL2X and FYL2XP1 take the exponent apart; FPATAN scales both operands by the
 * same power of two). Special operands, the out-of-range rule of FSIN/FCOS/FSINCOS/FPTAN
 * (|x| &gt;= 2^63 sets C2 and leaves ST(0) alone), stack faults and invalid/zero-divide
 * exceptions follow the SDM exactly. Every finite, non-trivial result raises PE; C1 is left
 * clear (the SDM leaves it meaning "rounded up", which a double evaluation cannot know).
 */
final class FpuTranscendental {
  private static final double LN2 = 0.6931471805599453;
  /**
   * pi/2 as the hardware knows it for argument reduction: pi rounded to 66 bits, times 2^129
   * (so that an extended argument times 2^129 is an integer).
   */
  private static final BigInteger HALF_PI_66 =
      new BigInteger("3243F6A8885A308D3", 16).shiftLeft(64);

  private FpuTranscendental() {}

  static void exec(Fpu f, Float80 x, int modrm) {
    f.armUnit();
    // Precision control does not apply to the transcendental instructions.
    x.pc = 64;
    switch (modrm) {
      case 0xF0: unary(f, x, 0); break;
      case 0xFE: unary(f, x, 1); break;
      case 0xFF: unary(f, x, 2); break;
      case 0xF2: pushing(f, x, true); break;
      case 0xFB: pushing(f, x, false); break;
      case 0xF1: binary(f, x, 0); break;
      case 0xF9: binary(f, x, 1); break;
      default: binary(f, x, 2); break;
    }
  }

  // ------------------------------------------------------------------ conversions

  static double toDouble(int se, long sig) {
    int cls = Float80.classify(se, sig);
    double sign = (se & 0x8000) != 0 ? -1.0 : 1.0;
    switch (cls) {
      case Float80.ZERO: return sign * 0.0;
      case Float80.INF: return sign * Double.POSITIVE_INFINITY;
      default: break;
    }
    int e = Float80.exponent(se, sig);
    long m = Float80.significand(sig);
    // (m >>> 1) is a positive long; its conversion rounds to nearest.
    return sign * Math.scalb((double) (m >>> 1), e - 62);
  }

  /** Widens a double exactly into x.se/x.sig. */
  static void fromDouble(Float80 x, double v) {
    long bits = Double.doubleToRawLongBits(v);
    int save = x.exc;
    x.loadBinary(bits, true);
    x.exc = save;
  }

  // ------------------------------------------------------------------ argument reduction

  /**
   * Reduces a finite x with |x| &lt; 2^63 to r = x - k pi/2 (|r| &lt;= about pi/4) exactly, with
   * the 66-bit pi the hardware uses, then rounds r to double into {@code out[0]}; returns k
   * (only its low two bits matter). This path allocates (BigInteger); it is not a hot path.
   */
  static int reduce(int se, long sig, double[] out) {
    int e = Float80.exponent(se, sig);
    long m = Float80.significand(sig);
    boolean neg = (se & 0x8000) != 0;
    if (e < -1) {
      out[0] = toDouble(se, sig);
      return 0;
    }
    BigInteger xs = new BigInteger(1, toBytes(m)).shiftLeft(e + 66);
    BigInteger[] qr = xs.shiftLeft(1).add(HALF_PI_66).divideAndRemainder(HALF_PI_66.shiftLeft(1));
    BigInteger k = qr[0];
    BigInteger rem = xs.subtract(k.multiply(HALF_PI_66));
    double r = Math.scalb(rem.doubleValue(), -129);
    int q = k.intValue() & 3;
    if (neg) {
      r = -r;
      q = -q & 3;
    }
    out[0] = r;
    return q;
  }

  private static byte[] toBytes(long m) {
    byte[] b = new byte[8];
    for (int i = 0; i < 8; i++) {
      b[i] = (byte) (m >>> (56 - 8 * i));
    }
    return b;
  }

  /** sin(r + q pi/2). */
  private static double sinQ(int q, double r) {
    switch (q & 3) {
      case 0: return StrictMath.sin(r);
      case 1: return StrictMath.cos(r);
      case 2: return -StrictMath.sin(r);
      default: return -StrictMath.cos(r);
    }
  }

  // ------------------------------------------------------------------ F2XM1, FSIN, FCOS

  private static void unary(Fpu f, Float80 x, int fn) {
    if (f.isEmpty(0)) {
      if (fn != 0) {
        f.setConditionC2(false);
      }
      f.transcendentalUnderflow();
      return;
    }
    int se = f.stSe(0);
    long sig = f.stSig(0);
    int cls = Float80.classify(se, sig);
    int ex = 0;
    boolean c2 = false;
    switch (cls) {
      case Float80.UNSUPPORTED:
        x.invalid();
        ex = IE;
        break;
      case Float80.QNAN: case Float80.SNAN:
        x.propagateNan(se, sig, cls, se, sig, cls);
        ex = x.exc;
        break;
      case Float80.INF:
        if (fn == 0) {
          if ((se & 0x8000) != 0) {
            fromDouble(x, -1.0);
          } else {
            x.setInf(0);
          }
        } else {
          x.invalid();
          ex = IE;
        }
        break;
      case Float80.ZERO:
        if (fn == 2) {
          x.setResult(0, Float80.BIAS, Float80.INT_BIT);
        } else {
          x.se = se;
          x.sig = sig;
        }
        break;
      default: {
        if (cls == Float80.DENORMAL) {
          ex = DE;
        }
        int e = Float80.exponent(se, sig);
        if (fn != 0 && e >= 63) {
          c2 = true;
          break;
        }
        if (fn == 0 && (e > 0 || (e == 0 && Float80.significand(sig) != Float80.INT_BIT))) {
          // Outside -1..+1 the hardware leaves the operand as it is but signals PE.
          x.se = se;
          x.sig = sig;
          ex |= PE;
          break;
        }
        if (e < -60) {
          // Tiny argument: sin x = x, cos x = 1, 2^x - 1 = x ln 2, to well below a double ulp.
          if (fn == 0) {
            x.mul(se, sig, 0x3FFE, 0xB172_17F7_D1CF_79ACL);
            if ((x.se & 0x7FFF) == 0 && (x.masks & Float80.UE) != 0) {
              // 2^x - 1 is never exact: a result this small underflows even where the
              // product with the 64-bit ln 2 happened to be.
              x.exc |= Float80.UE;
            }
          } else if (fn == 1) {
            x.se = se;
            x.sig = sig;
            tinyUnderflow(x);
            tinySine(x);
          } else {
            tinyCosine(x);
          }
          ex |= x.exc | PE;
          break;
        }
        double r;
        if (fn == 0) {
          r = StrictMath.expm1(toDouble(se, sig) * LN2);
        } else {
          int q = reduce(se, sig, f.reduced);
          r = fn == 1 ? sinQ(q, f.reduced[0]) : sinQ(q + 1, f.reduced[0]);
        }
        fromDouble(x, r);
        ex |= PE;
        break;
      }
    }
    if (fn != 0) {
      f.setConditionC2(c2);
    }
    if (c2 || f.unmaskedPreFor(ex)) {
      f.abortWith(ex);
      return;
    }
    f.setStAndFlags(0, x.se, x.sig, ex);
  }

  /**
   * sin x = x - x^3/6 for a tiny x lies just inside x, so a rounding toward zero (RC chop, down
   * for a positive x, up for a negative one) gives the value one unit in the last place below
   * |x|, on the result's own grid: the denormal one, or the 64-bit significand of the wrapped
   * result of an unmasked underflow. The host x87 does so (the smallest denormal becomes a
   * zero, with UE still signalled); round to nearest and away from zero keep x.
   */
  private static void tinySine(Float80 x) {
    int sign = x.se >>> 15 & 1;
    if (x.rc != Float80.RZ && x.rc != (sign == 0 ? Float80.RD : Float80.RU)) {
      return;
    }
    int exp = x.se & 0x7FFF;
    if (exp == 0) {
      x.sig--;
    } else if (x.sig != Float80.INT_BIT) {
      x.sig--;
    } else if (exp == 1) {
      // Just below the smallest normal: tiny and inexact, so an underflow.
      x.exc |= Float80.UE;
      if ((x.masks & Float80.UE) != 0) {
        x.se = sign << 15;
        x.sig = Float80.INT_BIT - 1;
      } else {
        // Unmasked: normalized, 2^-16383 times 1.11...1, with the exponent wrapped by 24576.
        x.se = sign << 15 | Float80.ADJUST;
        x.sig = -1L;
      }
    } else {
      x.se--;
      x.sig = -1L;
    }
  }

  /** cos x = 1 - x^2/2 for a tiny x: 1, or the value just below 1 when rounding down or chop. */
  private static void tinyCosine(Float80 x) {
    if (x.rc == Float80.RD || x.rc == Float80.RZ) {
      x.setResult(0, Float80.BIAS - 1, -1L);
    } else {
      x.setResult(0, Float80.BIAS, Float80.INT_BIT);
    }
  }

  /**
   * A result equal to a tiny argument: a pseudo-denormal is written in its canonical form
   * (exponent 1), and a true denormal is tiny and inexact (UE).
   */
  private static void tinyUnderflow(Float80 x) {
    if ((x.se & 0x7FFF) == 0 && x.sig != 0) {
      if (x.sig < 0) {
        x.se |= 1;
      } else {
        x.exc |= Float80.UE;
        if ((x.masks & Float80.UE) == 0) {
          // Unmasked: normalized, with the exponent wrapped by 24576.
          int e = Float80.exponent(x.se, x.sig);
          x.se = (x.se & 0x8000) | (e + Float80.BIAS + Float80.ADJUST);
          x.sig = Float80.significand(x.sig);
        }
      }
    }
  }

  // ------------------------------------------------------------------ FPTAN, FSINCOS

  private static void pushing(Fpu f, Float80 x, boolean tan) {
    f.setConditionC2(false);
    if (f.isEmpty(0)) {
      // Masked: both results are the indefinite.
      if (!f.masksInvalid()) {
        f.rawFlags(IE | SF);
        return;
      }
      f.setStAndFlags(0, Float80.INDEF_SE, Float80.INDEF_SIG, 0);
      f.pushResult(Float80.INDEF_SE, Float80.INDEF_SIG, IE | SF);
      return;
    }
    if (!f.isEmpty(7)) {
      if (!f.masksInvalid()) {
        f.rawFlags(IE | SF | Float80.C1);
        return;
      }
      f.setStAndFlags(0, Float80.INDEF_SE, Float80.INDEF_SIG, 0);
      f.pushResult(Float80.INDEF_SE, Float80.INDEF_SIG, IE | SF | Float80.C1);
      return;
    }
    int se = f.stSe(0);
    long sig = f.stSig(0);
    int cls = Float80.classify(se, sig);
    int ex = 0;
    int firstSe;
    long firstSig;
    int secondSe;
    long secondSig;
    switch (cls) {
      case Float80.UNSUPPORTED: case Float80.INF:
        ex = IE;
        firstSe = secondSe = Float80.INDEF_SE;
        firstSig = secondSig = Float80.INDEF_SIG;
        break;
      case Float80.QNAN: case Float80.SNAN:
        ex = cls == Float80.SNAN ? IE : 0;
        firstSe = secondSe = se;
        firstSig = secondSig = sig | Float80.QUIET_BIT;
        break;
      case Float80.ZERO:
        firstSe = se;
        firstSig = sig;
        secondSe = Float80.BIAS;
        secondSig = Float80.INT_BIT;
        break;
      default: {
        if (cls == Float80.DENORMAL) {
          ex = DE;
        }
        int e = Float80.exponent(se, sig);
        if (e >= 63) {
          f.setConditionC2(true);
          f.rawFlags(ex);
          return;
        }
        ex |= PE;
        if (e < -60) {
          x.se = se;
          x.sig = sig;
          tinyUnderflow(x);
          if (!tan) {
            tinySine(x);
          }
          ex |= x.exc & Float80.UE;
          firstSe = x.se;
          firstSig = x.sig;
          if (tan) {
            secondSe = Float80.BIAS;
            secondSig = Float80.INT_BIT;
          } else {
            tinyCosine(x);
            secondSe = x.se;
            secondSig = x.sig;
          }
        } else {
          int q = reduce(se, sig, f.reduced);
          double r = f.reduced[0];
          fromDouble(x, tan ? ((q & 1) == 0 ? StrictMath.tan(r) : -1 / StrictMath.tan(r))
              : sinQ(q, r));
          firstSe = x.se;
          firstSig = x.sig;
          if (tan) {
            secondSe = Float80.BIAS;
            secondSig = Float80.INT_BIT;
          } else {
            fromDouble(x, sinQ(q + 1, r));
            secondSe = x.se;
            secondSig = x.sig;
          }
        }
        break;
      }
    }
    f.setConditionC2(false);
    if (f.unmaskedPreFor(ex)) {
      f.abortWith(ex);
      return;
    }
    f.setStAndFlags(0, firstSe, firstSig, 0);
    f.pushResult(secondSe, secondSig, ex);
  }

  // ------------------------------------------------------------------ FYL2X, FYL2XP1, FPATAN

  private static void binary(Fpu f, Float80 x, int fn) {
    if (f.isEmpty(0) || f.isEmpty(1)) {
      if (!f.masksInvalid()) {
        f.rawFlags(IE | SF);
        return;
      }
      f.popAfterBinary(Float80.INDEF_SE, Float80.INDEF_SIG, IE | SF);
      return;
    }
    int aSe = f.stSe(0);
    long aSig = f.stSig(0);
    int bSe = f.stSe(1);
    long bSig = f.stSig(1);
    int ca = Float80.classify(aSe, aSig);
    int cb = Float80.classify(bSe, bSig);
    x.exc = 0;
    if (ca == Float80.UNSUPPORTED || cb == Float80.UNSUPPORTED) {
      x.invalid();
    } else if (Float80.isNan(ca) || Float80.isNan(cb)) {
      x.propagateNan(aSe, aSig, ca, bSe, bSig, cb);
    } else if (fn == 2) {
      fpatan(x, aSe, aSig, ca, bSe, bSig, cb);
    } else {
      ylog(x, fn == 1, aSe, aSig, ca, bSe, bSig, cb);
    }
    if ((x.se & 0x7FFF) == 0 && x.sig != 0 && (x.exc & PE) != 0) {
      // A denormal result of an inexact evaluation is tiny and inexact.
      x.exc |= Float80.UE;
    }
    int ex = x.exc & ~Float80.C1;
    if (f.unmaskedPreFor(ex)) {
      f.abortWith(ex);
      return;
    }
    f.popAfterBinary(x.se, x.sig, ex);
  }

  /** ST(1) * log2(ST(0)) (or log2(ST(0) + 1)). */
  private static void ylog(Float80 x, boolean plus1, int aSe, long aSig, int ca, int bSe,
      long bSig, int cb) {
    boolean aNeg = (aSe & 0x8000) != 0;
    int bSign = bSe >>> 15 & 1;
    double lg;
    if (!plus1) {
      if (aNeg && ca != Float80.ZERO) {
        x.invalid();
        return;
      }
      if (ca == Float80.ZERO) {
        if (cb == Float80.ZERO) {
          x.invalid();
        } else {
          // The zero divide outranks a denormal ST(1).
          if (cb != Float80.INF) {
            x.exc |= ZE;
          }
          x.setInf(bSign ^ 1);
        }
        return;
      }
      if (ca == Float80.INF) {
        if (cb == Float80.ZERO) {
          x.invalid();
        } else {
          x.denormalCheck(ca, cb);
          x.setInf(bSign);
        }
        return;
      }
      int e = Float80.exponent(aSe, aSig);
      long m = Float80.significand(aSig);
      if (e == -1 || e == 0) {
        // Near 1: x - 1 is exact in extended precision, and log1p keeps the digits that
        // e + log2(significand) would cancel.
        int ex0 = x.exc;
        x.add(aSe, aSig, Float80.BIAS, Float80.INT_BIT, true);
        x.exc = ex0;
        lg = StrictMath.log1p(toDouble(x.se, x.sig)) / LN2;
      } else {
        double frac = Math.scalb((double) (m >>> 1), -62);
        lg = e + StrictMath.log(frac) / LN2;
      }
      if (lg == 0) {
        // log2(1) = +0
        if (cb == Float80.INF) {
          x.invalid();
          return;
        }
        x.denormalCheck(ca, cb);
        x.setZero(bSign ^ (e < 0 ? 1 : 0));
        return;
      }
    } else {
      if (ca == Float80.INF) {
        if (aNeg || cb == Float80.ZERO) {
          x.invalid();
        } else {
          x.denormalCheck(ca, cb);
          x.setInf(bSign);
        }
        return;
      }
      if (ca == Float80.ZERO) {
        if (cb == Float80.INF) {
          x.invalid();
        } else {
          x.denormalCheck(ca, cb);
          x.setZero((aSe ^ bSe) >>> 15 & 1);
        }
        return;
      }
      if (cb == Float80.INF || cb == Float80.ZERO) {
        // log2(1 + a) has the sign of a.
        x.denormalCheck(ca, cb);
        if (cb == Float80.INF) {
          x.setInf(bSign ^ (aNeg ? 1 : 0));
        } else {
          x.setZero(bSign ^ (aNeg ? 1 : 0));
        }
        return;
      }
      if (aNeg && Float80.exponent(aSe, aSig) >= 0) {
        // At or below -1 (outside the documented range) the hardware returns ST(0).
        x.denormalCheck(ca, cb);
        x.se = aSe;
        x.sig = aSig;
        x.exc |= PE;
        return;
      }
      int ea = Float80.exponent(aSe, aSig);
      if (ea < -60 && cb != Float80.INF && cb != Float80.ZERO) {
        // log2(1 + a) = a / ln 2 to far below a double ulp: stay in extended precision.
        // y / ln 2 is kept with an unbounded exponent so that the product is rounded once.
        x.denormalCheck(ca, cb);
        long t = x.productSignificand(Float80.significand(bSig), 0xB8AA_3B29_5C17_F0BCL);
        int te = Float80.exponent(bSe, bSig) + x.productCarry;
        x.mulFinite((aSe ^ bSe) >>> 15 & 1, te, t, ea, Float80.significand(aSig), 64);
        x.exc |= PE;
        return;
      }
      if (ea >= 60) {
        // 1 + a rounds to a: log2 from the exponent and the significand.
        long m = Float80.significand(aSig);
        lg = ea + StrictMath.log(Math.scalb((double) (m >>> 1), -62)) / LN2;
      } else if (aNeg && ea == -1) {
        // -1 < a <= -1/2 (outside the documented range, but the hardware computes it): 1 + a
        // is exact in extended precision, whereas a in double precision rounds to -1 within
        // 2^-54 of it, and log1p(-1) is an infinity where the hardware gives -64.
        int ex0 = x.exc;
        x.add(aSe, aSig, Float80.BIAS, Float80.INT_BIT, false);
        x.exc = ex0;
        int e = Float80.exponent(x.se, x.sig);
        lg = e + StrictMath.log(Math.scalb((double) (Float80.significand(x.sig) >>> 1), -62))
            / LN2;
      } else {
        lg = StrictMath.log1p(toDouble(aSe, aSig)) / LN2;
      }
    }
    if (cb == Float80.INF) {
      x.denormalCheck(ca, cb);
      x.setInf(bSign ^ (lg < 0 ? 1 : 0));
      return;
    }
    if (cb == Float80.ZERO) {
      x.denormalCheck(ca, cb);
      x.setZero(bSign ^ (lg < 0 ? 1 : 0));
      return;
    }
    x.denormalCheck(ca, cb);
    fromDouble(x, lg);
    int s = x.se;
    long g = x.sig;
    x.pc = 64;
    x.mul(s, g, bSe, bSig);
    x.exc |= PE;
  }

  /** atan2(ST(1), ST(0)). */
  private static void fpatan(Float80 x, int aSe, long aSig, int ca, int bSe, long bSig, int cb) {
    double xs;
    double ys;
    if (ca == Float80.INF || cb == Float80.INF || ca == Float80.ZERO || cb == Float80.ZERO) {
      xs = toDouble(aSe, aSig);
      ys = toDouble(bSe, bSig);
      if (ca == Float80.INF) {
        xs = Math.copySign(Double.POSITIVE_INFINITY, xs);
      }
      x.denormalCheck(ca, cb);
      if (ca != Float80.ZERO && ca != Float80.INF) {
        xs = Math.copySign(1.0, xs);
      }
      if (cb != Float80.ZERO && cb != Float80.INF) {
        ys = Math.copySign(1.0, ys);
      }
    } else {
      x.denormalCheck(ca, cb);
      int ea = Float80.exponent(aSe, aSig);
      int eb = Float80.exponent(bSe, bSig);
      int shift = Math.max(ea, eb);
      xs = Math.scalb(toDouble(aSe & 0x8000 | Float80.BIAS, Float80.significand(aSig)),
          ea - shift);
      ys = Math.scalb(toDouble(bSe & 0x8000 | Float80.BIAS, Float80.significand(bSig)),
          eb - shift);
      if (eb - ea < -60) {
        // |y/x| < 2^-60: atan(y/x) = y/x for x > 0 (in extended precision), else +-pi.
        if ((aSe & 0x8000) == 0) {
          x.div(bSe, bSig, aSe, aSig);
          x.exc |= PE;
          return;
        }
        ys = Math.copySign(Double.MIN_NORMAL, ys);
      }
    }
    double r = StrictMath.atan2(ys, xs);
    fromDouble(x, r);
    if (!(ca == Float80.ZERO && cb == Float80.ZERO) && r != 0) {
      x.exc |= PE;
    }
  }
}
