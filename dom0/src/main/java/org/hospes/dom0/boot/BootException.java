package org.hospes.dom0.boot;

/**
 * A kernel image cannot be booted. The message is one line, fit to print after the file name
 * ("hospes: kernel.elf: not an ELF file"); it says what is wrong, not where in the loader.
 */
public final class BootException extends Exception {

  public BootException(String message) {
    super(message);
  }

  public BootException(String message, Throwable cause) {
    super(message, cause);
  }

  public static BootException format(String format, Object... args) {
    return new BootException(String.format(format, args));
  }
}
