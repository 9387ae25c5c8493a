package org.hospes.abi;

/**
 * The toolstack's and device model's hypercalls as Xen 4.17 defines them (public/domctl.h,
 * sysctl.h, platform.h, hvm/dm_op.h): interface versions, the size of each argument struct a
 * hypercall copies in whole, and the domctl commands whose domain Xen does not look up first.
 */
public final class ControlOp {
  /** XEN_DOMCTL_INTERFACE_VERSION of Xen 4.16 and 4.17. */
  public static final int DOMCTL_INTERFACE_VERSION = 0x15;
  /** XEN_SYSCTL_INTERFACE_VERSION, last bumped in Xen 4.17. */
  public static final int SYSCTL_INTERFACE_VERSION = 0x15;
  /** XENPF_INTERFACE_VERSION. */
  public static final int PLATFORM_INTERFACE_VERSION = 0x0300_0001;

  /** xen_domctl: cmd u32 @0, interface_version u32 @4, domain u16 @8, pad, union (128) @16. */
  public static final int DOMCTL_CMD = 0;
  public static final int DOMCTL_VERSION = 4;
  public static final int DOMCTL_DOMAIN = 8;
  public static final int DOMCTL_SIZE = 144;
  /** xen_sysctl and xen_platform_op: cmd u32 @0, interface_version u32 @4, union (128) @8. */
  public static final int SYSCTL_CMD = 0;
  public static final int SYSCTL_VERSION = 4;
  public static final int SYSCTL_SIZE = 136;
  public static final int PLATFORM_OP_SIZE = 136;

  public static final int DOMCTL_CREATEDOMAIN = 1;
  public static final int DOMCTL_DESTROYDOMAIN = 2;
  public static final int DOMCTL_PAUSEDOMAIN = 3;
  public static final int DOMCTL_GETDOMAININFO = 5;
  public static final int DOMCTL_ASSIGN_DEVICE = 37;
  public static final int DOMCTL_TEST_ASSIGN_DEVICE = 45;
  public static final int DOMCTL_DEASSIGN_DEVICE = 47;
  public static final int DOMCTL_VM_EVENT_OP = 56;
  public static final int DOMCTL_GDBSX_GUESTMEMIO = 1000;

  public static final int SYSCTL_READCONSOLE = 1;

  /** dm_op takes at most two buffers (struct dmop_args); a compat buffer is {handle, size}. */
  public static final int DM_OP_MAX_BUFS = 2;
  public static final int DM_OP_COMPAT_BUF_SIZE = 8;

  /** DOMID_IO and DOMID_INVALID (public/xen.h). */
  public static final int DOMID_IO = 0x7FF1;
  public static final int DOMID_INVALID = 0x7FF4;

  private ControlOp() {}
}
