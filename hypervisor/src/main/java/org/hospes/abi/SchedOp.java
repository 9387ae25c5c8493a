package org.hospes.abi;

/** SCHEDOP_* sub-operations and SHUTDOWN_* reasons (public/sched.h). */
public final class SchedOp {
  public static final int YIELD = 0;
  public static final int BLOCK = 1;
  public static final int SHUTDOWN = 2;
  public static final int POLL = 3;
  public static final int REMOTE_SHUTDOWN = 4;
  public static final int SHUTDOWN_CODE = 5;

  /** sched_poll (x86_32): ports handle u32 @0, nr_ports u32 @4, timeout u64 @8 (16 bytes). */
  public static final int POLL_PORTS = 0;
  public static final int POLL_NR_PORTS = 4;
  public static final int POLL_TIMEOUT = 8;
  public static final int POLL_SIZE = 16;
  /** Xen refuses polls on more than 128 ports. */
  public static final int POLL_MAX_PORTS = 128;

  /** sched_remote_shutdown: domain_id u16 IN @0, reason u32 IN @4 (8 bytes). */
  public static final int REMOTE_SHUTDOWN_DOMID = 0;
  public static final int REMOTE_SHUTDOWN_REASON = 4;

  public static final int SHUTDOWN_POWEROFF = 0;
  public static final int SHUTDOWN_REBOOT = 1;
  public static final int SHUTDOWN_SUSPEND = 2;
  public static final int SHUTDOWN_CRASH = 3;
  public static final int SHUTDOWN_WATCHDOG = 4;
  public static final int SHUTDOWN_SOFT_RESET = 5;

  private static final String[] REASONS = {
    "poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"
  };

  private SchedOp() {}

  public static String reasonName(int reason) {
    return reason >= 0 && reason < REASONS.length ? REASONS[reason] : "reason " + reason;
  }
}
