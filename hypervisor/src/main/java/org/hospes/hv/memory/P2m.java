package org.hospes.hv.memory;

import java.util.Arrays;

/**
 * A domain's physical-to-machine map: guest frame number to machine frame number. It is the one
 * place that says which machine frames a domain can reach; EPT tables and shadow page tables are
 * built from it.
 */
public final class P2m {
  public static final long INVALID = -1;

  private long[] map;
  /** The RAM frames the domain was built with: the map may grow above them, the RAM may not. */
  private final int ramFrames;
  /** Guest frames mapped read-only (grant maps with GNTMAP_readonly). */
  private final java.util.BitSet readOnly = new java.util.BitSet();

  public P2m(int guestFrames) {
    map = new long[guestFrames];
    ramFrames = guestFrames;
    Arrays.fill(map, INVALID);
  }

  /**
   * Frames the map covers: the RAM it was built with, and more once something is mapped above
   * it (grant-table frames in a PCI BAR, grant maps at a host address).
   */
  public int size() {
    return map.length;
  }

  /**
   * The guest frames that are RAM (what the domain was built with): the bound for ballooning and
   * the maximum reservation, which frames mapped above it must not raise.
   */
  public int ramFrames() {
    return ramFrames;
  }

  /** Machine frame of guest frame {@code gfn}, or {@link #INVALID}. */
  public long lookup(long gfn) {
    return gfn >= 0 && gfn < map.length ? map[(int) gfn] : INVALID;
  }

  /**
   * Copies the machine frames of guest frames {@code gfn} .. {@code gfn + count - 1} into
   * {@code dst} ({@link #INVALID} where not populated): for walks over the whole map, which a
   * short run makes before its code is compiled.
   */
  public void lookup(long gfn, long[] dst, int count) {
    int in = (int) Math.max(0, Math.min(count, map.length - gfn));
    if (gfn < 0 || in <= 0) {
      Arrays.fill(dst, 0, count, INVALID);
      return;
    }
    System.arraycopy(map, (int) gfn, dst, 0, in);
    Arrays.fill(dst, in, count, INVALID);
  }

  public void set(long gfn, long mfn) {
    if (gfn >= map.length) {
      int old = map.length;
      map = Arrays.copyOf(map, (int) gfn + 1);
      Arrays.fill(map, old, map.length, INVALID);
    }
    map[(int) gfn] = mfn;
    readOnly.clear((int) gfn);
  }

  /** Maps {@code gfn} to {@code mfn} read-only: neither the guest nor copy_to_guest may write. */
  public void setReadOnly(long gfn, long mfn) {
    set(gfn, mfn);
    readOnly.set((int) gfn);
  }

  /** True unless {@code gfn} is mapped read-only. */
  public boolean isWritable(long gfn) {
    return gfn < 0 || gfn >= map.length || !readOnly.get((int) gfn);
  }

  /** Machine address of guest-physical {@code gpa}, or -1 when the frame is not populated. */
  public long machineAddress(long gpa) {
    long mfn = lookup(gpa >>> 12);
    return mfn == INVALID ? -1 : (mfn << 12) | (gpa & 0xFFF);
  }
}
