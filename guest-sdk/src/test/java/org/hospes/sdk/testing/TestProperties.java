package org.hospes.sdk.testing;

/**
 * The {@code -Dhospes.*} numbers a guest-sdk test takes from the command line (a fuzzer's
 * seed), read as dom0's and the hypervisor's tests read theirs (each module has its own: test
 * classes are not shared between modules). {@code Long.getLong} answered a value that is not a
 * number with the default, so {@code -Dhospes.fuzz.seed=abc} silently ran the default seed;
 * here such a value stops the test naming the property and the value, and a value given is
 * printed, so the output says which seed ran.
 */
public final class TestProperties {
  private TestProperties() {}

  /**
   * {@code property} as a long ({@link Long#decode}'s decimal, {@code 0x} or {@code #} hex, and
   * {@code 0x} hex up to 64 bits, as seeds are printed with {@code %x}), or {@code dflt} when it
   * is not set.
   *
   * @throws IllegalArgumentException naming the property if its value is not such a number
   */
  public static long longValue(String property, long dflt) {
    String given = System.getProperty(property);
    if (given == null) {
      return dflt;
    }
    String t = given.strip();
    long value;
    try {
      value = Long.decode(t);
    } catch (NumberFormatException e) {
      boolean hex = t.startsWith("0x") || t.startsWith("0X");
      try {
        if (!hex) {
          throw e;
        }
        value = Long.parseUnsignedLong(t.substring(2), 16);
      } catch (NumberFormatException again) {
        throw new IllegalArgumentException("-D" + property + "=" + given + ": not a number"
            + " (give a decimal or 0x hexadecimal one)", e);
      }
    }
    System.out.println("-D" + property + "=" + given + ": " + value);
    return value;
  }
}
