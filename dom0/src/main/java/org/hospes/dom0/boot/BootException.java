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

  /**
   * The line to print for a boot of {@code kernel}: the message after the kernel's name, or the
   * message alone when it names another thing the user gave (a module, a device), which is
   * then what is wrong, not the kernel.
   */
  public String about(Object kernel) {
    String m = getMessage();
    return m.startsWith("module ") || m.startsWith("--device ") || m.startsWith("device ")
        ? m : kernel + ": " + m;
  }

  public static BootException format(String format, Object... args) {
    return new BootException(String.format(format, args));
  }
}
