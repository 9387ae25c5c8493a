package org.hospes.hv.pv;

/**
 * Per machine frame bookkeeping of the PV MMU, the counterpart of Xen's {@code struct page_info}
 * in the frame table: the frame's type, its type count (how many validated uses of that type
 * exist: pins, base pointers, higher-level table entries, writable mappings), its general
 * reference count (every mapping and every typed use holds one; the allocation reference is
 * implied by ownership in {@link org.hospes.hv.memory.FrameTable}) and the flags validated,
 * pinned and "PAE L2 with Xen's slots". Plain arrays indexed by frame: one object for the machine.
 */
public final class PageInfo {
  static final int VALIDATED = 1;
  static final int PINNED = 2;
  static final int PAE_XEN_L2 = 4;

  private final byte[] type;
  private final int[] typeCount;
  private final int[] refCount;
  private final byte[] flags;

  public PageInfo(int frames) {
    type = new byte[frames];
    typeCount = new int[frames];
    refCount = new int[frames];
    flags = new byte[frames];
  }

  public int frames() {
    return type.length;
  }

  public PageType type(long mfn) {
    return PageType.of(type[(int) mfn]);
  }

  public int typeCount(long mfn) {
    return typeCount[(int) mfn];
  }

  public int refCount(long mfn) {
    return refCount[(int) mfn];
  }

  public boolean isValidated(long mfn) {
    return (flags[(int) mfn] & VALIDATED) != 0;
  }

  public boolean isPinned(long mfn) {
    return (flags[(int) mfn] & PINNED) != 0;
  }

  public boolean isPaeXenL2(long mfn) {
    return (flags[(int) mfn] & PAE_XEN_L2) != 0;
  }

  /** True while the frame is in use as a page table (typed, validated, counted). */
  public boolean isLivePageTable(long mfn) {
    return typeCount(mfn) > 0 && type(mfn).isPageTable();
  }

  void setType(long mfn, PageType t, int newFlags) {
    type[(int) mfn] = (byte) t.code();
    flags[(int) mfn] = (byte) newFlags;
  }

  int flags(long mfn) {
    return flags[(int) mfn];
  }

  void setFlag(long mfn, int flag, boolean on) {
    int f = flags[(int) mfn];
    flags[(int) mfn] = (byte) (on ? f | flag : f & ~flag);
  }

  void addType(long mfn, int delta) {
    typeCount[(int) mfn] += delta;
  }

  void addRef(long mfn, int delta) {
    refCount[(int) mfn] += delta;
  }
}
