package org.hospes.dom0.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link TextFormat} gives what {@code String.format(Locale.ROOT, ...)} gives, byte for byte. */
class TextFormatTest {
  private static final long SEED = new Random().nextLong();
  private final Random random = new Random(SEED);

  private static String f(String pattern, Object... args) {
    return String.format(Locale.ROOT, pattern, args);
  }

  @Test
  void groupedIsPercentCommaD() {
    long[] edges = {0, 1, -1, 9, 10, 99, 100, 999, 1000, -999, -1000, 9999, 10000, 99999, 100000,
        999_999, 1_000_000, -1_000_000, 358_414_249L, Integer.MAX_VALUE, Integer.MIN_VALUE,
        Long.MAX_VALUE, Long.MIN_VALUE, Long.MIN_VALUE + 1};
    for (long v : edges) {
      assertThat(TextFormat.grouped(v)).as("%d", v).isEqualTo(f("%,d", v));
    }
    for (int i = 0; i < 20_000; i++) {
      long v = random.nextLong() >> random.nextInt(64);
      assertThat(TextFormat.grouped(v)).as("seed %d: %d", SEED, v).isEqualTo(f("%,d", v));
    }
  }

  @Test
  void fixedIsPercentDotNF() {
    double[] edges = {0.0, -0.0, 0.5, 1.5, 2.5, -0.5, 0.05, 0.15, 0.25, 0.35, 0.45, 0.125,
        0.0005, 0.0015, 0.00049, 0.000_000_5, 1.005, 2.675, 9.95, 9.995, 99.95, 999.9999999,
        -0.0001, -0.04, -1.25, 100.0, 1e-300, Double.MIN_VALUE, 1e7, 1e15, 123456789.125,
        1e22, Double.MAX_VALUE, Double.NaN, Double.POSITIVE_INFINITY,
        Double.NEGATIVE_INFINITY, 0.1 + 0.2, 1.0 / 3, 2.0 / 3, 29.1, 0.244, 0.007208034};
    for (double v : edges) {
      for (int n = 0; n <= 8; n++) {
        assertThat(TextFormat.fixed(v, n)).as("%s with %d decimals", v, n)
            .isEqualTo(f("%." + n + "f", v));
      }
    }
  }

  @Test
  void fixedOnTheShapesTheStatsPrint() {
    for (int i = 0; i < 20_000; i++) {
      long nanos = random.nextLong() >>> (1 + random.nextInt(40)); // up to about 50 days
      long count = random.nextLong() >>> (1 + random.nextInt(40));
      long of = 1 + (random.nextLong() >>> (1 + random.nextInt(40)));
      double[] shapes = {
          nanos / 1e9, // seconds (%.3f), virtual time (%.6f)
          nanos / 1e6, // milliseconds translating (%.1f)
          count / Math.max(nanos / 1e3, 1.0), // MIPS (%.1f)
          100.0 * Math.min(count, of) / of, // busy share (%.1f)
          (random.nextDouble() - 0.5) * Math.pow(10, random.nextInt(14) - 4), // anything
          random.nextInt(1 << 20) / 1024.0, // short binary fractions, exact in decimal
          random.nextInt(100_000) / 1000.0 + 0.0005, // half-way cases
      };
      for (double v : shapes) {
        for (int n : new int[] {1, 3, 6, random.nextInt(9)}) {
          assertThat(TextFormat.fixed(v, n)).as("seed %d: %s with %d decimals", SEED, v, n)
              .isEqualTo(f("%." + n + "f", v));
        }
      }
    }
  }

  @Test
  void paddingIsPercentMinusNSAndPercentNS() {
    String[] texts = {"", "x", "instructions", "undefined opcodes (#UD)", "a label that is far"
        + " longer than twenty-six", "1,234,567", "12345678901234567890"};
    for (String t : texts) {
      for (int w : new int[] {1, 5, 18, 24, 26}) {
        assertThat(TextFormat.left(t, w)).as("'%s' %d", t, w).isEqualTo(f("%-" + w + "s", t));
        assertThat(TextFormat.right(t, w)).as("'%s' %d", t, w).isEqualTo(f("%" + w + "s", t));
      }
    }
  }
}
