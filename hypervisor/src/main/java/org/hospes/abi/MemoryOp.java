package org.hospes.abi;

/** memory_op (hypercall 12) sub-operations and layouts, x86_32 (public/memory.h). */
public final class MemoryOp {
  public static final int INCREASE_RESERVATION = 0;
  public static final int DECREASE_RESERVATION = 1;
  public static final int CURRENT_RESERVATION = 3;
  public static final int MAXIMUM_RESERVATION = 4;
  public static final int POPULATE_PHYSMAP = 6;
  public static final int ADD_TO_PHYSMAP = 7;
  public static final int MEMORY_MAP = 9;
  public static final int GET_VNUMAINFO = 26;
  /** cmd bits 5:0 select the operation; the rest carries a continuation. */
  public static final int CMD_MASK = 0x3F;
  /** MEMOP_EXTENT_SHIFT: the bits above it carry a continuation's start extent. */
  public static final int EXTENT_SHIFT = 6;

  /** xen_add_to_physmap: domid u16 @0, size u16 @2, space u32 @4, idx u32 @8, gpfn u32 @12. */
  public static final int ATP_DOMID = 0;
  public static final int ATP_SPACE = 4;
  public static final int ATP_IDX = 8;
  public static final int ATP_GPFN = 12;
  public static final int ATP_SIZE = 16;
  public static final int SPACE_SHARED_INFO = 0;
  public static final int SPACE_GRANT_TABLE = 1;
  public static final int SPACE_GMFN_FOREIGN = 4;

  /**
   * xen_memory_reservation (x86_32): extent_start handle @0 (a list of u32 GPFNs), nr_extents
   * @4, extent_order @8, mem_flags @12, domid u16 @16 (20 bytes).
   */
  public static final int RES_EXTENT_START = 0;
  public static final int RES_NR_EXTENTS = 4;
  public static final int RES_EXTENT_ORDER = 8;
  public static final int RES_MEM_FLAGS = 12;
  public static final int RES_DOMID = 16;
  public static final int RES_SIZE = 20;

  /** xen_memory_map: nr_entries u32 @0 (IN max, OUT count), buffer handle @4 (8 bytes). */
  public static final int MAP_NR_ENTRIES = 0;
  public static final int MAP_BUFFER = 4;
  public static final int E820_ENTRY_SIZE = 20;

  /**
   * xen_vnuma_topology_info as a 32-bit guest passes it (compat, 4-byte packing): domid u16
   * @0, pad u16 @2, nr_vnodes @4, nr_vcpus @8, nr_vmemranges @12, then the vdistance,
   * vcpu_to_vnode and vmemrange handles, each in an 8-byte union, @16, @24, @32 (40 bytes).
   */
  public static final int VNUMA_DOMID = 0;
  public static final int VNUMA_PAD = 2;
  public static final int VNUMA_SIZE = 40;

  private MemoryOp() {}
}
