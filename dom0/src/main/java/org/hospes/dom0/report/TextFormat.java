package org.hospes.dom0.report;

import java.util.Locale;

/**
 * The few number formats of the {@code --stats} output, written without {@link
 * java.util.Formatter}: a run prints its statistics once, so the Formatter's start-up (its
 * format-string regular expression, locale data, the floating-point formatter) was most of that
 * output's cost. Each method gives exactly what {@code String.format(Locale.ROOT, ...)} gives for
 * the pattern it names ({@code TextFormatTest} compares them on seeded values).
 */
public final class TextFormat {
  /** Beyond this many significant digits {@link #fixed} leaves the work to the Formatter. */
  private static final int FAST_DIGITS = 15;

  private TextFormat() {}

  /** {@code %,d}: grouped by thousands with commas, a minus sign when negative. */
  public static String grouped(long value) {
    String digits = Long.toString(value);
    int sign = value < 0 ? 1 : 0;
    int n = digits.length() - sign;
    if (n <= 3) {
      return digits;
    }
    StringBuilder b = new StringBuilder(digits.length() + (n - 1) / 3);
    b.append(digits, 0, sign);
    int first = n % 3 == 0 ? 3 : n % 3;
    b.append(digits, sign, sign + first);
    for (int i = sign + first; i < digits.length(); i += 3) {
      b.append(',').append(digits, i, i + 3);
    }
    return b.toString();
  }

  /**
   * {@code %.Nf} with {@code decimals} = N: the Formatter rounds half up the decimal digits that
   * {@link Double#toString} shows (the shortest that identify the double), and so does this.
   * Values that are not finite or that need more than 15 significant digits go to the
   * Formatter itself.
   */
  public static String fixed(double value, int decimals) {
    if (!Double.isFinite(value) || decimals < 0) {
      return slow(value, decimals);
    }
    String shown = Double.toString(Math.abs(value));
    int e = shown.indexOf('E');
    String mantissa = e < 0 ? shown : shown.substring(0, e);
    int exponent = e < 0 ? 0 : Integer.parseInt(shown.substring(e + 1));
    int dot = mantissa.indexOf('.');
    StringBuilder all = new StringBuilder(mantissa.length()).append(mantissa, 0, dot)
        .append(mantissa, dot + 1, mantissa.length());
    int point = dot + exponent; // digits before the decimal point
    int lead = 0;
    while (lead < all.length() - 1 && all.charAt(lead) == '0') {
      lead++;
      point--;
    }
    String digits = all.substring(lead);
    if (Math.max(point, 1) + decimals > FAST_DIGITS) {
      return slow(value, decimals);
    }
    // The value times 10^decimals, rounded half up, as digits.
    int keep = point + decimals;
    StringBuilder scaled = new StringBuilder(Math.max(keep, 0) + decimals + 3);
    for (int i = 0; i < keep; i++) {
      scaled.append(i < digits.length() ? digits.charAt(i) : '0');
    }
    if (keep >= 0 && keep < digits.length() && digits.charAt(keep) >= '5') {
      int i = scaled.length() - 1;
      while (i >= 0 && scaled.charAt(i) == '9') {
        scaled.setCharAt(i, '0');
        i--;
      }
      if (i >= 0) {
        scaled.setCharAt(i, (char) (scaled.charAt(i) + 1));
      } else {
        scaled.insert(0, '1');
      }
    }
    while (scaled.length() < decimals + 1) {
      scaled.insert(0, '0');
    }
    if (decimals > 0) {
      scaled.insert(scaled.length() - decimals, '.');
    }
    // The Formatter keeps the sign of a negative value that rounds to zero, and of -0.0.
    if (Double.doubleToRawLongBits(value) < 0) {
      scaled.insert(0, '-');
    }
    return scaled.toString();
  }

  private static String slow(double value, int decimals) {
    return String.format(Locale.ROOT, "%." + decimals + "f", value);
  }

  /** {@code %-Ns}: {@code text} padded with spaces on the right to {@code width}. */
  public static String left(String text, int width) {
    return pad(new StringBuilder(Math.max(width, text.length())).append(text), width, false)
        .toString();
  }

  /** {@code %Ns}: {@code text} padded with spaces on the left to {@code width}. */
  public static String right(String text, int width) {
    return pad(new StringBuilder(Math.max(width, text.length())).append(text), width, true)
        .toString();
  }

  private static StringBuilder pad(StringBuilder b, int width, boolean onTheLeft) {
    int spaces = width - b.length();
    for (int i = 0; i < spaces; i++) {
      if (onTheLeft) {
        b.insert(0, ' ');
      } else {
        b.append(' ');
      }
    }
    return b;
  }
}
