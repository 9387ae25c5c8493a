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

  /** XENFEAT_* bits of submap 0 (public/features.h). */
  public static final int FEAT_AUTO_TRANSLATED_PHYSMAP = 1 << 2;
  public static final int FEAT_HVM_CALLBACK_VECTOR = 1 << 8;
  public static final int FEAT_HVM_SAFE_PVCLOCK = 1 << 9;

  /** Hospes speaks the ABI of Xen 4.17. */
  public static final int MAJOR = 4;
  public static final int MINOR = 17;
  public static final String EXTRA = "-hospes";

  private XenVersion() {}
}
