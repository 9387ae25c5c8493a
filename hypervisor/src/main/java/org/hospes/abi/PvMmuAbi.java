package org.hospes.abi;

/**
 * The classic PV MMU interface of public/xen.h for x86_32 PAE guests: mmu_update (hypercall 1),
 * update_va_mapping (14) and mmuext_op (26), and the PV32 virtual-address layout of
 * arch-x86/xen-x86_32.h.
 */
public final class PvMmuAbi {
  /** mmu_update_t (16 bytes): ptr u64 IN @0 (machine address, low bits = command), val u64 IN @8. */
  public static final int MMU_PTR = 0;
  public static final int MMU_VAL = 8;
  public static final int MMU_SIZE = 16;

  /** Commands in ptr[1:0] (Xen masks ptr with sizeof(l1_pgentry_t)-1, so 4..7 are ENOSYS). */
  public static final int MMU_NORMAL_PT_UPDATE = 0;
  public static final int MMU_MACHPHYS_UPDATE = 1;
  public static final int MMU_PT_UPDATE_PRESERVE_AD = 2;
  public static final int MMU_PT_UPDATE_NO_TRANSLATE = 3;

  /** struct mmuext_op (x86_32, 12 bytes): cmd u32 @0, arg1 (mfn / linear_addr) @4, arg2 @8. */
  public static final int EXT_CMD = 0;
  public static final int EXT_ARG1 = 4;
  public static final int EXT_ARG2 = 8;
  public static final int EXT_SIZE = 12;

  public static final int MMUEXT_PIN_L1_TABLE = 0;
  public static final int MMUEXT_PIN_L2_TABLE = 1;
  public static final int MMUEXT_PIN_L3_TABLE = 2;
  public static final int MMUEXT_PIN_L4_TABLE = 3;
  public static final int MMUEXT_UNPIN_TABLE = 4;
  public static final int MMUEXT_NEW_BASEPTR = 5;
  public static final int MMUEXT_TLB_FLUSH_LOCAL = 6;
  public static final int MMUEXT_INVLPG_LOCAL = 7;
  public static final int MMUEXT_TLB_FLUSH_MULTI = 8;
  public static final int MMUEXT_INVLPG_MULTI = 9;
  public static final int MMUEXT_TLB_FLUSH_ALL = 10;
  public static final int MMUEXT_INVLPG_ALL = 11;
  public static final int MMUEXT_FLUSH_CACHE = 12;
  public static final int MMUEXT_SET_LDT = 13;
  public static final int MMUEXT_NEW_USER_BASEPTR = 15;
  public static final int MMUEXT_CLEAR_PAGE = 16;
  public static final int MMUEXT_COPY_PAGE = 17;
  public static final int MMUEXT_FLUSH_CACHE_GLOBAL = 18;
  public static final int MMUEXT_MARK_SUPER = 19;
  public static final int MMUEXT_UNMARK_SUPER = 20;

  /** update_va_mapping flags: flush type in bits 1:0, then UVMF_ALL or a vCPU-bitmap pointer. */
  public static final int UVMF_NONE = 0;
  public static final int UVMF_TLB_FLUSH = 1;
  public static final int UVMF_INVLPG = 2;
  public static final int UVMF_FLUSHTYPE_MASK = 3;
  public static final int UVMF_LOCAL = 0;
  public static final int UVMF_ALL = 1 << 2;

  /** foreigndom values (public/xen.h). */
  public static final int DOMID_SELF = 0x7FF0;
  public static final int DOMID_IO = 0x7FF1;
  public static final int DOMID_XEN = 0x7FF2;

  /** Start of the hypervisor's hole in a PAE PV32 guest (__HYPERVISOR_VIRT_START_PAE). */
  public static final int HYPERVISOR_VIRT_START = 0xF580_0000;
  /** The read-only machine-to-physical table (__MACH2PHYS_VIRT_START/END_PAE). */
  public static final int MACH2PHYS_VIRT_START = 0xF580_0000;
  public static final int MACH2PHYS_VIRT_END = 0xF680_0000;

  private PvMmuAbi() {}
}
