package org.hospes.dom0.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Reads the whole-number options (RAM sizes, counts, weights) as picocli's own converter does
 * ({@link Long#parseLong}), but says what is wrong in the user's words: picocli's "'lots' is
 * not a long" names a Java type. The options take longs so that a number too big for an int
 * still gets the option's range message; one too big even for a long is said here. A class,
 * not a lambda: picocli's interfaces are Java 5 class files, which the class-data archive's
 * dump will not link a lambda to.
 */
final class WholeNumberConverter implements ITypeConverter<Long> {

  @Override
  public Long convert(String text) {
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new TypeConversionException("'" + text + "' is "
          + (text.matches("[+-]?[0-9]+") ? "far out of range" : "not a whole number"));
    }
  }
}
