package org.hospes.abi;

/** Hypercall numbers (Xen public/xen.h, __HYPERVISOR_*). */
public enum Hypercall {
  SET_TRAP_TABLE(0),
  MMU_UPDATE(1),
  SET_GDT(2),
  STACK_SWITCH(3),
  SET_CALLBACKS(4),
  FPU_TASKSWITCH(5),
  SCHED_OP_COMPAT(6),
  PLATFORM_OP(7),
  SET_DEBUGREG(8),
  GET_DEBUGREG(9),
  UPDATE_DESCRIPTOR(10),
  MEMORY_OP(12),
  MULTICALL(13),
  UPDATE_VA_MAPPING(14),
  SET_TIMER_OP(15),
  EVENT_CHANNEL_OP_COMPAT(16),
  XEN_VERSION(17),
  CONSOLE_IO(18),
  PHYSDEV_OP_COMPAT(19),
  GRANT_TABLE_OP(20),
  VM_ASSIST(21),
  UPDATE_VA_MAPPING_OTHERDOMAIN(22),
  IRET(23),
  VCPU_OP(24),
  SET_SEGMENT_BASE(25),
  MMUEXT_OP(26),
  XSM_OP(27),
  NMI_OP(28),
  SCHED_OP(29),
  CALLBACK_OP(30),
  XENOPROF_OP(31),
  EVENT_CHANNEL_OP(32),
  PHYSDEV_OP(33),
  HVM_OP(34),
  SYSCTL(35),
  DOMCTL(36),
  KEXEC_OP(37),
  TMEM_OP(38),
  ARGO_OP(39),
  XENPMU_OP(40),
  DM_OP(41),
  HYPFS_OP(42);

  private static final Hypercall[] BY_NUMBER = new Hypercall[64];

  static {
    for (Hypercall h : values()) {
      BY_NUMBER[h.number] = h;
    }
  }

  private final int number;

  Hypercall(int number) {
    this.number = number;
  }

  public int number() {
    return number;
  }

  /** The hypercall with number {@code n}, or null. */
  public static Hypercall of(int n) {
    return n >= 0 && n < BY_NUMBER.length ? BY_NUMBER[n] : null;
  }
}
