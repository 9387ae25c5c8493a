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

  /**
   * vcpu_hvm_context (public/hvm/hvm_vcpu.h, 128 bytes): mode u32 @0 (0 = 32-bit, 1 = 64-bit),
   * pad u32 @4, then the registers @8; for mode 0 vcpu_hvm_x86_32: eax, ecx, edx, ebx, esp,
   * ebp, esi, edi, eip, eflags, cr0, cr3, cr4, pad1 (u32 each), efer u64, the bases, then the
   * limits of cs, ds, ss, es, tr (u32), their access rights (u16: bits 0-3 type, 4 S, 5-6 DPL,
   * 7 P, 8 AVL, 9 L, 10 D/B, 11 G, 12-15 zero), pad2 u16[3].
   */
  public static final int HVM_CTX_MODE = 0;
  public static final int HVM_CTX_PAD = 4;
  public static final int HVM_CTX_REGS = 8;
  public static final int HVM_MODE_32B = 0;
  public static final int HVM_MODE_64B = 1;
  public static final int HVM32_EIP = HVM_CTX_REGS + 32;
  public static final int HVM32_EFLAGS = HVM_CTX_REGS + 36;
  public static final int HVM32_CR0 = HVM_CTX_REGS + 40;
  public static final int HVM32_CR3 = HVM_CTX_REGS + 44;
  public static final int HVM32_CR4 = HVM_CTX_REGS + 48;
  public static final int HVM32_PAD1 = HVM_CTX_REGS + 52;
  public static final int HVM32_EFER = HVM_CTX_REGS + 56;
  public static final int HVM32_BASES = HVM_CTX_REGS + 64;
  public static final int HVM32_LIMITS = HVM_CTX_REGS + 84;
  public static final int HVM32_ARS = HVM_CTX_REGS + 104;
  public static final int HVM32_PAD2 = HVM_CTX_REGS + 114;
  public static final int HVM_CTX_SIZE = 128;
  /** The order of the segment fields: cs, ds, ss, es, tr. */
  public static final int SEG_CS = 0, SEG_DS = 1, SEG_SS = 2, SEG_ES = 3, SEG_TR = 4;

  /**
   * The compat (x86_32) vcpu_guest_context a PV guest passes to VCPUOP_initialise: fpu_ctxt
   * 512, flags 4, cpu_user_regs 68, trap_ctxt[256] of 8, ldt_base/ents 8, gdt_frames[16] and
   * gdt_ents 68, kernel_ss/sp 8, ctrlreg[8] 32, debugreg[8] 32, the event and failsafe
   * callbacks 16, vm_assist 4: 2800 bytes.
   */
  public static final int PV_CTX_SIZE = 2800;

  private VcpuOp() {}
}
