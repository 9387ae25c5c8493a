package org.hospes.hv.testing;

/**
 * The {@code -Dhospes.*} numbers a test takes from the command line (a fuzzer's seed, its
 * number of cases). {@code Long.getLong} and {@code Integer.getInteger}, which these tests used,
 * answer a value that is not a number with the default, so {@code -Dhospes.xsfuzz.seed=abc}
 * silently ran the default seed and looked like a run of another one. Here a value that is not
 * a number stops the test with the property and the value named, and a value given is printed,
 * so the output says which seed ran.
 */
public final class TestProperties {
  private TestProperties() {}

  /**
   * {@code property} as a long (decimal, {@code 0x} hex or {@code #} hex, as
   * {@link Long#decode} reads it, and {@code 0x} hex up to 64 bits, as the tests print seeds
   * with {@code %x}), or {@code dflt} when it is not set.
   *
   * @throws IllegalArgumentException naming the property if its value is not such a number
   */
  public static long longValue(String property, long dflt) {
    String s = System.getProperty(property);
    if (s == null) {
      return dflt;
    }
    String t = s.strip();
    long value;
    try {
      value = Long.decode(t);
    } catch (NumberFormatException e) {
      try {
        if (!t.startsWith("0x") && !t.startsWith("0X")) {
          throw e;
        }
        value = Long.parseUnsignedLong(t.substring(2), 16);
      } catch (NumberFormatException again) {
        throw new IllegalArgumentException("-D" + property + "=" + s + ": not a number (give a"
            + " decimal or 0x hexadecimal one)", e);
      }
    }
    System.out.println("-D" + property + "=" + s + ": " + value);
    return value;
  }

  /** As {@link #longValue}, for a count: a whole number from 1 to {@link Integer#MAX_VALUE}. */
  public static int count(String property, int dflt) {
    long value = longValue(property, dflt);
    if (value < 1 || value > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("-D" + property + "=" + System.getProperty(property)
          + ": must be 1 to " + Integer.MAX_VALUE);
    }
    return (int) value;
  }
}
