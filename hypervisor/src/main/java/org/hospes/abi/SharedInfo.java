package org.hospes.abi;

/**
 * shared_info and vcpu_info layouts for x86_32 guests (public/xen.h, arch-x86/xen.h):
 * xen_ulong_t is 4 bytes, 32 legacy vCPU slots, 2-level event channels with 1024 ports.
 */
public final class SharedInfo {
  public static final int VCPU_INFO_SIZE = 64;
  public static final int MAX_LEGACY_VCPUS = 32;
  /** vcpu_info fields. */
  public static final int VI_UPCALL_PENDING = 0;
  public static final int VI_UPCALL_MASK = 1;
  public static final int VI_PENDING_SEL = 4;
  public static final int VI_ARCH = 8;
  public static final int VI_TIME = 32;
  /** shared_info fields. */
  public static final int EVTCHN_PENDING = 2048;
  public static final int EVTCHN_MASK = 2176;
  public static final int WC_VERSION = 2304;
  public static final int WC_SEC = 2308;
  public static final int WC_NSEC = 2312;
  public static final int ARCH = 2316;
  public static final int WC_SEC_HI = 2340;
  public static final int SIZE = 2344;
  /** Ports of the 2-level ABI for a 32-bit guest: 32 words of 32 bits. */
  public static final int NR_PORTS = 1024;
  /** vcpu_time_info fields (32 bytes, at VI_TIME). */
  public static final int TIME_VERSION = 0;
  public static final int TIME_TSC_TIMESTAMP = 8;
  public static final int TIME_SYSTEM_TIME = 16;
  public static final int TIME_TSC_TO_SYSTEM_MUL = 24;
  public static final int TIME_TSC_SHIFT = 28;
  public static final int TIME_FLAGS = 29;
  public static final int TIME_INFO_SIZE = 32;
  /** vcpu_time_info.flags: the TSC is stable across vCPUs (XEN_PVCLOCK_TSC_STABLE_BIT). */
  public static final int PVCLOCK_TSC_STABLE = 1;
  public static final int PVCLOCK_GUEST_STOPPED = 2;

  private SharedInfo() {}
}
