package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Double additions and subtractions whose operands lie in the top binades, in every MXCSR
 * rounding mode, against the exact sum rounded independently (BigDecimal). The fast path's
 * TwoSum overflows there (DBL_MAX minus a smaller number: its s - a passes -DBL_MAX) and once
 * answered "exact", so a directed mode kept the round-to-nearest result: SimdHostDiffTest seed
 * 0x4141 case 28298, SUBPD 0x7FD149F01A3B0DFF - DBL_MAX under RZ, one ulp off the host.
 */
class SseFloatTopOfRangeTest {
  private static final long SEED = 0x70_9_0F_4A_6EL;

  @Test
  void topOfRangeSumsRoundAsTheExactSumDoesInEveryMode() {
    SplittableRandom rnd = new SplittableRandom(SEED);
    SseFloat f = new SseFloat();
    int checked = 0;
    for (int n = 0; n < 4000; n++) {
      double a = top(rnd);
      double b = -top(rnd);
      if (n == 0) {
        a = Double.longBitsToDouble(0x7FD1_49F0_1A3B_0DFFL);
        b = -Double.MAX_VALUE;
      }
      if (rnd.nextBoolean()) {
        double t = a;
        a = -b;
        b = -t;
      }
      BigDecimal exact = new BigDecimal(a).add(new BigDecimal(b));
      for (int mode = 0; mode < 4; mode++) {
        f.begin(0x1F80 | mode << 13);
        double got = f.round(SseFloat.ADD, a, b, false);
        double want = rounded(exact, a + b, mode);
        String what = String.format("seed 0x%x case %d: %a + %a, mode %d", SEED, n, a, b, mode);
        assertThat(Double.doubleToRawLongBits(got)).as(what)
            .isEqualTo(Double.doubleToRawLongBits(want));
        boolean inexact = new BigDecimal(want).compareTo(exact) != 0;
        assertThat((f.post & SseFloat.PE) != 0).as(what + ": PE").isEqualTo(inexact);
        f.begin(0x1F80 | mode << 13);
        assertThat(Double.doubleToRawLongBits(f.round(SseFloat.SUB, a, -b, false))).as(what)
            .isEqualTo(Double.doubleToRawLongBits(want));
        checked++;
      }
    }
    assertThat(checked).isEqualTo(16000);
  }

  /** A finite double of either sign's magnitude in the top four binades, or DBL_MAX. */
  private static double top(SplittableRandom rnd) {
    if (rnd.nextInt(8) == 0) {
      return Double.MAX_VALUE;
    }
    long exp = 0x7FE - rnd.nextInt(4);
    return Double.longBitsToDouble(exp << 52 | rnd.nextLong() >>> 12);
  }

  /** The exact sum rounded in {@code mode}, from the round-to-nearest double next to it. */
  private static double rounded(BigDecimal exact, double nearest, int mode) {
    if (exact.signum() == 0) {
      // x + (-x) is +0, and -0 when rounding down (IEEE 754, 6.3).
      return mode == SseFloat.RD ? -0.0 : 0.0;
    }
    int c = new BigDecimal(nearest).compareTo(exact);
    if (c == 0) {
      return nearest;
    }
    double below = c > 0 ? Math.nextDown(nearest) : nearest;
    double above = c > 0 ? nearest : Math.nextUp(nearest);
    switch (mode) {
      case SseFloat.RD: return below;
      case SseFloat.RU: return above;
      case SseFloat.RZ: return exact.signum() > 0 ? below : above;
      default: return nearest;
    }
  }
}
