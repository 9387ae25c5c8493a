package org.hospes.dom0.toolstack;

/**
 * xl's CPU lists (xl.cfg {@code cpus=}): "all", or physical CPU numbers and ranges separated by
 * commas ("0", "0-3", "0,2-3"), as a hard-affinity mask with bit {@code n} for pCPU {@code n}.
 */
public final class CpuList {
  private CpuList() {}

  /** The forms a list takes, as the errors give them. */
  static final String FORMS = "(expected all, N, N-M or N,M-K)";

  /**
   * The mask of {@code text}; -1 for "all".
   *
   * @throws IllegalArgumentException with a one-line message saying what is wrong
   */
  public static long parse(String text) {
    String t = text.strip();
    if (t.equalsIgnoreCase("all")) {
      return -1L;
    }
    if (t.isEmpty()) {
      throw new IllegalArgumentException("an empty CPU list " + FORMS);
    }
    long mask = 0;
    for (String part : t.split(",", -1)) {
      String p = part.strip();
      int dash = p.indexOf('-');
      int lo = cpu(dash < 0 ? p : p.substring(0, dash), text);
      int hi = dash < 0 ? lo : cpu(p.substring(dash + 1), text);
      if (hi < lo) {
        throw new IllegalArgumentException("'" + p + "' in CPU list '" + text
            + "' is a backwards range");
      }
      for (int c = lo; c <= hi; c++) {
        mask |= 1L << c;
      }
    }
    return mask;
  }

  private static int cpu(String s, String text) {
    try {
      int n = Integer.parseInt(s.strip());
      if (n >= 0 && n < 64) {
        return n;
      }
    } catch (NumberFormatException e) {
      // Said below.
    }
    throw new IllegalArgumentException("'" + s.strip() + "' in CPU list '" + text
        + "' is not a physical CPU number 0..63 " + FORMS);
  }
}
