package org.hospes.hv.pv;

/**
 * What a machine frame is used as, with the numbers of Xen's PGT_* type field (asm-x86/mm.h). A
 * frame has one type at a time; the type may change only while its type count is zero.
 */
public enum PageType {
  NONE(0),
  L1_PAGE_TABLE(1),
  L2_PAGE_TABLE(2),
  L3_PAGE_TABLE(3),
  L4_PAGE_TABLE(4),
  SEG_DESC_PAGE(5),
  SHARED_PAGE(6),
  WRITABLE_PAGE(7);

  private static final PageType[] BY_CODE = values();

  private final int code;

  PageType(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  public static PageType of(int code) {
    return BY_CODE[code];
  }

  /** True for the types whose contents the hypervisor validates before the frame may take them. */
  public boolean isPageTable() {
    return this == L1_PAGE_TABLE || this == L2_PAGE_TABLE || this == L3_PAGE_TABLE
        || this == L4_PAGE_TABLE;
  }
}
