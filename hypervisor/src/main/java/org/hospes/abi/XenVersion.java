package org.hospes.abi;

/** XENVER_* sub-operations (public/version.h) and the version Hospes reports. */
public final class XenVersion {
  public static final int VERSION = 0;
  public static final int EXTRAVERSION = 1;
  public static final int COMPILE_INFO = 2;
  public static final int CAPABILITIES = 3;
  public static final int CHANGESET = 4;
  public static final int PLATFORM_PARAMETERS = 5;
  public static final int GET_FEATURES = 6;
  public static final int PAGESIZE = 7;
  public static final int GUEST_HANDLE = 8;
  public static final int COMMANDLINE = 9;
  public static final int BUILD_ID = 10;

  /** Sizes of the OUT buffers (public/version.h). */
  public static final int EXTRAVERSION_LEN = 16;
  public static final int CAPABILITIES_LEN = 1024;
  public static final int CHANGESET_LEN = 64;
  public static final int GUEST_HANDLE_LEN = 16;
  public static final int COMMANDLINE_LEN = 1024;
  /** xen_compile_info: compiler[64] @0, compile_by[16] @64, compile_domain[32] @80, date[32] @112. */
  public static final int COMPILE_COMPILER = 0;
  public static final int COMPILE_BY = 64;
  public static final int COMPILE_DOMAIN = 80;
  public static final int COMPILE_DATE = 112;
  public static final int COMPILE_INFO_SIZE = 144;
  /** xen_feature_info: submap_idx u32 IN @0, submap u32 OUT @4 (8 bytes). */
  public static final int FEATURES_SUBMAP_IDX = 0;
  public static final int FEATURES_SUBMAP = 4;
  public static final int FEATURES_SIZE = 8;
  /** compat_platform_parameters (a 32-bit caller): virt_start u32 OUT (4 bytes). */
  public static final int PLATFORM_VIRT_START = 0;
  public static final int PLATFORM_PARAMETERS_COMPAT_SIZE = 4;
  /** What an unprivileged caller reads instead of a denied string (xen_deny()). */
  public static final String DENIED = "<denied>";

  /** XENFEAT_* bits of submap 0 (public/features.h). */
  public static final int FEAT_WRITABLE_PAGE_TABLES = 1 << 0;
  public static final int FEAT_AUTO_TRANSLATED_PHYSMAP = 1 << 2;
  public static final int FEAT_PAE_PGDIR_ABOVE_4GB = 1 << 4;
  public static final int FEAT_MMU_PT_UPDATE_PRESERVE_AD = 1 << 5;
  public static final int FEAT_HIGHMEM_ASSIST = 1 << 6;
  public static final int FEAT_GNTTAB_MAP_AVAIL_BITS = 1 << 7;
  public static final int FEAT_HVM_CALLBACK_VECTOR = 1 << 8;
  public static final int FEAT_HVM_SAFE_PVCLOCK = 1 << 9;
  public static final int FEAT_MEMORY_OP_VNODE_SUPPORTED = 1 << 13;
  public static final int FEAT_NOT_DIRECT_MAPPED = 1 << 16;
  public static final int FEAT_DIRECT_MAPPED = 1 << 17;

  /** Hospes speaks the ABI of Xen 4.17. */
  public static final int MAJOR = 4;
  public static final int MINOR = 17;
  public static final String EXTRA = "-hospes";

  private XenVersion() {}
}
