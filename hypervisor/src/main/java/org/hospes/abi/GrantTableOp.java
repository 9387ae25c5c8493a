package org.hospes.abi;

/**
 * grant_table_op (hypercall 20: cmd, uop, count) sub-operations, grant table v1 entries, flags,
 * status codes and argument layouts, x86_32 (public/grant_table.h). IN fields are written by the
 * guest, OUT fields by the hypervisor. Each op of a batch reports its own GNTST_* status; the
 * hypercall itself returns 0 or a negative errno.
 */
public final class GrantTableOp {
  public static final int MAP_GRANT_REF = 0;
  public static final int UNMAP_GRANT_REF = 1;
  public static final int SETUP_TABLE = 2;
  public static final int DUMP_TABLE = 3;
  public static final int TRANSFER = 4;
  public static final int COPY = 5;
  public static final int QUERY_SIZE = 6;
  public static final int UNMAP_AND_REPLACE = 7;
  public static final int SET_VERSION = 8;
  public static final int GET_STATUS_FRAMES = 9;
  public static final int GET_VERSION = 10;
  public static final int SWAP_GRANT_REF = 11;
  public static final int CACHE_FLUSH = 12;

  /**
   * grant_entry_v1 (8 bytes, 512 per page): flags u16 @0 (guest writes the type and readonly;
   * the hypervisor sets and clears GTF_reading/GTF_writing), domid u16 @2 (guest: who may use
   * it), frame u32 @4 (guest: the GFN granted).
   */
  public static final int ENTRY_FLAGS = 0;
  public static final int ENTRY_DOMID = 2;
  public static final int ENTRY_FRAME = 4;
  public static final int ENTRY_SIZE = 8;
  public static final int ENTRIES_PER_FRAME = 4096 / ENTRY_SIZE;
  /** Entries 0 (console) and 1 (xenstore) are reserved for the toolstack; 8 in all. */
  public static final int NR_RESERVED_ENTRIES = 8;
  /** Default max_grant_frames (xl.cfg, Xen command line). */
  public static final int DEFAULT_MAX_FRAMES = 64;

  /** GTF_* flags: type in bits 1:0, then the modifiers. */
  public static final int GTF_INVALID = 0;
  public static final int GTF_PERMIT_ACCESS = 1;
  public static final int GTF_ACCEPT_TRANSFER = 2;
  public static final int GTF_TRANSITIVE = 3;
  public static final int GTF_TYPE_MASK = 3;
  public static final int GTF_READONLY = 1 << 2;
  public static final int GTF_READING = 1 << 3;
  public static final int GTF_WRITING = 1 << 4;
  public static final int GTF_PWT = 1 << 5;
  public static final int GTF_PCD = 1 << 6;
  public static final int GTF_PAT = 1 << 7;
  public static final int GTF_SUB_PAGE = 1 << 8;

  /** GNTMAP_* flags of map_grant_ref. */
  public static final int GNTMAP_DEVICE_MAP = 1;
  public static final int GNTMAP_HOST_MAP = 1 << 1;
  public static final int GNTMAP_READONLY = 1 << 2;
  public static final int GNTMAP_APPLICATION_MAP = 1 << 3;
  public static final int GNTMAP_CONTAINS_PTE = 1 << 4;

  /** GNTCOPY_* flags: which side names a grant reference (else a GFN of the caller). */
  public static final int GNTCOPY_SOURCE_GREF = 1;
  public static final int GNTCOPY_DEST_GREF = 1 << 1;

  /** GNTST_* status codes. */
  public static final int GNTST_OKAY = 0;
  public static final int GNTST_GENERAL_ERROR = -1;
  public static final int GNTST_BAD_DOMAIN = -2;
  public static final int GNTST_BAD_GNTREF = -3;
  public static final int GNTST_BAD_HANDLE = -4;
  public static final int GNTST_BAD_VIRT_ADDR = -5;
  public static final int GNTST_BAD_DEV_ADDR = -6;
  public static final int GNTST_NO_DEVICE_SPACE = -7;
  public static final int GNTST_PERMISSION_DENIED = -8;
  public static final int GNTST_BAD_PAGE = -9;
  public static final int GNTST_BAD_COPY_ARG = -10;
  public static final int GNTST_ADDRESS_TOO_BIG = -11;
  public static final int GNTST_EAGAIN = -12;
  public static final int GNTST_NO_SPACE = -13;

  /**
   * gnttab_map_grant_ref (32 bytes): host_addr u64 IN @0 (a GPA for HVM/PVH), flags u32 IN @8,
   * ref u32 IN @12, dom u16 IN @16, status s16 OUT @18, handle u32 OUT @20, dev_bus_addr u64
   * OUT @24.
   */
  public static final int MAP_HOST_ADDR = 0;
  public static final int MAP_FLAGS = 8;
  public static final int MAP_REF = 12;
  public static final int MAP_DOM = 16;
  public static final int MAP_STATUS = 18;
  public static final int MAP_HANDLE = 20;
  public static final int MAP_DEV_BUS_ADDR = 24;
  public static final int MAP_SIZE = 32;

  /**
   * gnttab_unmap_grant_ref (24 bytes): host_addr u64 IN @0, dev_bus_addr u64 IN @8, handle u32
   * IN @16, status s16 OUT @20.
   */
  public static final int UNMAP_HOST_ADDR = 0;
  public static final int UNMAP_DEV_BUS_ADDR = 8;
  public static final int UNMAP_HANDLE = 16;
  public static final int UNMAP_STATUS = 20;
  public static final int UNMAP_SIZE = 24;

  /**
   * gnttab_setup_table (16 bytes): dom u16 IN @0, nr_frames u32 IN @4, status s16 OUT @8,
   * frame_list handle IN @12 (array of nr_frames xen_pfn_t, 4 bytes each, OUT).
   */
  public static final int SETUP_DOM = 0;
  public static final int SETUP_NR_FRAMES = 4;
  public static final int SETUP_STATUS = 8;
  public static final int SETUP_FRAME_LIST = 12;
  public static final int SETUP_SIZE = 16;

  /**
   * gnttab_copy (24 bytes): source {u (ref or GFN) u32 @0, domid u16 @4, offset u16 @6} IN,
   * dest {same} IN @8, len u16 IN @16, flags u16 IN @18, status s16 OUT @20.
   */
  public static final int COPY_SOURCE = 0;
  public static final int COPY_DEST = 8;
  public static final int COPY_PTR_U = 0;
  public static final int COPY_PTR_DOMID = 4;
  public static final int COPY_PTR_OFFSET = 6;
  public static final int COPY_LEN = 16;
  public static final int COPY_FLAGS = 18;
  public static final int COPY_STATUS = 20;
  public static final int COPY_SIZE = 24;

  /**
   * gnttab_query_size (16 bytes): dom u16 IN @0, nr_frames u32 OUT @4, max_nr_frames u32 OUT
   * @8, status s16 OUT @12.
   */
  public static final int QUERY_DOM = 0;
  public static final int QUERY_NR_FRAMES = 4;
  public static final int QUERY_MAX_NR_FRAMES = 8;
  public static final int QUERY_STATUS = 12;
  public static final int QUERY_SIZE_BYTES = 16;

  /** gnttab_set_version (4 bytes): version u32 IN/OUT @0. */
  public static final int SET_VERSION_SIZE = 4;
  /** gnttab_get_version (8 bytes): dom u16 IN @0, pad, version u32 OUT @4. */
  public static final int GET_VERSION_DOM = 0;
  public static final int GET_VERSION_VERSION = 4;
  public static final int GET_VERSION_SIZE = 8;

  /** A GFN that is not mapped (setup_table's frame_list for a frame not in the physmap). */
  public static final int INVALID_GFN = 0xFFFF_FFFF;

  private GrantTableOp() {}
}
