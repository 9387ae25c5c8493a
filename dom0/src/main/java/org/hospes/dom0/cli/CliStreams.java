package org.hospes.dom0.cli;

import java.io.InputStream;
import java.io.PrintStream;

/**
 * The process's standard streams as the commands see them. Kernel serial output is bytes and goes
 * to {@code out} untouched; Hospes's own messages go to {@code err}; {@code in}, when there is
 * one, is forwarded to the guest's console. Tests pass captured streams.
 *
 * @param in what the user types or pipes in, or null for no input (tests, by default)
 * @param process true when these are the process's own streams (main): only then may a command
 *     put the terminal in raw mode
 */
record CliStreams(InputStream in, PrintStream out, PrintStream err, boolean process) {

  /** Output streams only: the guest gets no input. */
  CliStreams(PrintStream out, PrintStream err) {
    this(null, out, err, false);
  }

  /** Prints a one-line error the way every Hospes command does. */
  void error(String message) {
    err.println("hospes: " + message);
    err.flush();
  }
}
