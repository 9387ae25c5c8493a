package org.hospes.abi;

/**
 * vcpu_op (hypercall 24: cmd, vcpuid, extra_args) sub-operations and argument layouts, x86_32
 * (public/vcpu.h). On x86_32 a u64 inside a struct is 4-byte aligned.
 */
public final class VcpuOp {
  public static final int INITIALISE = 0;
  public static final int UP = 1;
  public static final int DOWN = 2;
  public static final int IS_UP = 3;
  public static final int GET_RUNSTATE_INFO = 4;
  public static final int REGISTER_RUNSTATE_MEMORY_AREA = 5;
  public static final int SET_PERIODIC_TIMER = 6;
  public static final int STOP_PERIODIC_TIMER = 7;
  public static final int SET_SINGLESHOT_TIMER = 8;
  public static final int STOP_SINGLESHOT_TIMER = 9;
  public static final int REGISTER_VCPU_INFO = 10;
  public static final int SEND_NMI = 11;
  public static final int GET_PHYSID = 12;
  public static final int REGISTER_VCPU_TIME_MEMORY_AREA = 13;

  /**
   * vcpu_set_singleshot_timer (12 bytes): timeout_abs_ns u64 IN @0 (Xen system time), flags u32
   * IN @8.
   */
  public static final int SSHOT_TIMEOUT = 0;
  public static final int SSHOT_FLAGS = 8;
  public static final int SSHOT_SIZE = 12;
  /** Fail with -ETIME if the timeout is already in the past. */
  public static final int SSHOTTMR_FUTURE = 1;

  /**
   * vcpu_register_vcpu_info (16 bytes): mfn u64 IN @0 (a GFN for HVM/PVH guests), offset u32 IN
   * @8 (vcpu_info must fit in the page), rsvd u32 @12.
   */
  public static final int REGISTER_VCPU_INFO_MFN = 0;
  public static final int REGISTER_VCPU_INFO_OFFSET = 8;
  public static final int REGISTER_VCPU_INFO_SIZE = 16;

  /**
   * vcpu_runstate_info (x86_32, 44 bytes, OUT): state u32 @0, state_entry_time u64 @4, time[4]
   * u64 @12 (running, runnable, blocked, offline).
   */
  public static final int RUNSTATE_STATE = 0;
  public static final int RUNSTATE_ENTRY_TIME = 4;
  public static final int RUNSTATE_TIME = 12;
  public static final int RUNSTATE_INFO_SIZE = 44;
  /** vcpu_register_runstate_memory_area / register_time_memory_area: addr (a guest VA) @0. */
  public static final int AREA_ADDR = 0;
  /** vcpu_set_periodic_timer: period_ns u64 @0; Xen refuses periods under 1 ms. */
  public static final int PERIOD_NS = 0;
  public static final long MIN_PERIOD_NS = 1_000_000L;
  /**
   * ... and periods above STIME_DELTA_MAX (2^62 - 1 ns), chosen so that now + period cannot
   * overflow within 200 years of uptime.
   */
  public static final long MAX_PERIOD_NS = (1L << 62) - 1;

  private VcpuOp() {}
}
