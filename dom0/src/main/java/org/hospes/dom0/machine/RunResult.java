package org.hospes.dom0.machine;

/**
 * How a run of a machine ended.
 *
 * @param exitStatus the process exit status this outcome maps to (see {@link ExitStatus})
 * @param reason a short human-readable cause: {@value #HALTED}, {@value #DEBUG_EXIT}, or for
 *     crashes and limits a one-line description such as
 *     {@code "unhandled #UD at eip=0x00101234 (error code 0)"}
 * @param instructions instructions the processor retired since the kernel was loaded
 */
public record RunResult(int exitStatus, String reason, long instructions) {

  public static final String HALTED = "halted";
  public static final String DEBUG_EXIT = "debug-exit";
  /** Reasons of PV shutdowns that are not failures start with this ("shutdown: poweroff"). */
  public static final String SHUTDOWN_PREFIX = "shutdown: ";
  /** Reasons of runs ended from outside ({@link HostLink}) start with this. */
  public static final String STOPPED_PREFIX = "stopped: ";

  /** True if the run was ended from outside, not by the kernel or a limit. */
  public boolean isStopped() {
    return reason.startsWith(STOPPED_PREFIX);
  }

  /**
   * True if the kernel crashed or ran out of instructions rather than stopping by itself. An
   * ACPI soft off ({@link org.hospes.hv.hvm.HvmPlatform#ACPI_SOFT_OFF}, how Linux powers off an
   * HVM PC) is a kernel stopping by itself.
   */
  public boolean isFailure() {
    return !reason.equals(HALTED) && !reason.equals(DEBUG_EXIT)
        && !reason.equals(org.hospes.hv.hvm.HvmPlatform.ACPI_SOFT_OFF)
        && !reason.startsWith(SHUTDOWN_PREFIX) && !isStopped();
  }
}
