package org.hospes.dom0.cli;

import java.io.PrintStream;

/**
 * The process's standard streams as the commands see them. Kernel serial output is bytes and goes
 * to {@code out} untouched; Hospes's own messages go to {@code err}. Tests pass captured streams.
 */
record CliStreams(PrintStream out, PrintStream err) {

  /** Prints a one-line error the way every Hospes command does. */
  void error(String message) {
    err.println("hospes: " + message);
    err.flush();
  }
}
