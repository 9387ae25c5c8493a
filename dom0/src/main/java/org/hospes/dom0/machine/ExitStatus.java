package org.hospes.dom0.machine;

/**
 * The process exit statuses of a Hospes run, in one place so that the CLI, scripts and tests
 * agree. A kernel that uses isa-debug-exit with value V exits with {@code (V << 1) | 1} (always
 * odd), as under QEMU; these fixed values cover everything else.
 */
public final class ExitStatus {

  /** The kernel halted with nothing left that could wake it: a clean stop. */
  public static final int HALTED = 0;
  /** Hospes itself failed (a bug, or the host ran out of something). */
  public static final int INTERNAL_ERROR = 1;
  /** The command line or the kernel file was unusable; nothing ran. */
  public static final int USAGE = 2;
  /** The kernel crashed: an exception it could not handle, or a triple fault. */
  public static final int GUEST_CRASHED = 3;
  /** The instruction limit was reached before the kernel stopped. */
  public static final int INSTRUCTION_LIMIT = 4;
  /**
   * The run was ended from outside before the kernel stopped: the escape key, or stdout closed
   * by its reader. 128 + SIGINT, as a shell reports a command ended by Ctrl-C (a SIGTERM gives
   * 143: see {@link HostLink#stopStatus}).
   */
  public static final int STOPPED = 130;

  private ExitStatus() {}
}
