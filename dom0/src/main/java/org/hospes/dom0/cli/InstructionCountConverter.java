package org.hospes.dom0.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Reads an instruction count such as {@code 250000}, {@code 1_000_000}, {@code 10k}, {@code 5M}
 * or {@code 2G} (decimal multipliers: these are counts, not sizes).
 */
class InstructionCountConverter implements ITypeConverter<Long> {

  private final String what;
  private final String limit;

  InstructionCountConverter() {
    this("instruction count", "instruction limit");
  }

  /** For other counts: {@code what} names the value, {@code limit} the option's meaning. */
  InstructionCountConverter(String what, String limit) {
    this.what = what;
    this.limit = limit;
  }

  @Override
  public Long convert(String text) {
    String s = text.strip().replace("_", "");
    long multiplier = 1;
    if (!s.isEmpty()) {
      switch (Character.toUpperCase(s.charAt(s.length() - 1))) {
        case 'K' -> multiplier = 1_000L;
        case 'M' -> multiplier = 1_000_000L;
        case 'G' -> multiplier = 1_000_000_000L;
        default -> multiplier = 1;
      }
      if (multiplier != 1) {
        s = s.substring(0, s.length() - 1);
      }
    }
    long value;
    try {
      value = Math.multiplyExact(Long.parseLong(s), multiplier);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new TypeConversionException(
          "'" + text + "' is not " + article(what) + " " + what + " (e.g. 1000000, 10M)");
    }
    if (value <= 0) {
      throw new TypeConversionException("the " + limit + " must be positive, got " + text);
    }
    return value;
  }

  private static String article(String noun) {
    return "aeiou".indexOf(noun.charAt(0)) >= 0 ? "an" : "a";
  }
}
