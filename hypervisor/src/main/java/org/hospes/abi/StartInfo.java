package org.hospes.abi;

/**
 * start_info (public/xen.h), the page a classic PV guest finds through ESI at its entry, x86_32
 * layout (offsets checked with gcc -m32 against /usr/include/xen/xen.h): 1112 bytes. All fields
 * are written by the domain builder; the guest reads them.
 */
public final class StartInfo {
  /** "xen-3.0-x86_32p": Xen 3.0 ABI, x86_32 with PAE. */
  public static final String MAGIC_X86_32P = "xen-3.0-x86_32p";

  public static final int MAGIC = 0; // char[32]
  public static final int NR_PAGES = 32;
  /** Machine address of the shared_info page. */
  public static final int SHARED_INFO = 36;
  public static final int FLAGS = 40;
  public static final int STORE_MFN = 44;
  public static final int STORE_EVTCHN = 48;
  public static final int CONSOLE_MFN = 52;
  public static final int CONSOLE_EVTCHN = 56;
  /** Virtual address of the initial page-table base (the L3). */
  public static final int PT_BASE = 60;
  public static final int NR_PT_FRAMES = 64;
  /** Virtual address of the P2M list (mfn of each pfn). */
  public static final int MFN_LIST = 68;
  public static final int MOD_START = 72;
  public static final int MOD_LEN = 76;
  public static final int CMD_LINE = 80;
  public static final int MAX_GUEST_CMDLINE = 1024;
  public static final int FIRST_P2M_PFN = 1104;
  public static final int NR_P2M_FRAMES = 1108;
  public static final int SIZE = 1112;

  /** SIF_* flags. */
  public static final int SIF_PRIVILEGED = 1;
  public static final int SIF_INITDOMAIN = 2;
  public static final int SIF_MULTIBOOT_MOD = 4;
  public static final int SIF_MOD_START_PFN = 8;

  private StartInfo() {}
}
