package org.hospes.dom0.bench;

/**
 * A workload of {@code hospes bench} cannot be set up (a missing kernel, busybox or file); the
 * message is one line for the user, saying how to fix it.
 */
final class BenchSetupException extends Exception {
  private static final long serialVersionUID = 1L;

  BenchSetupException(String message) {
    super(message);
  }
}
