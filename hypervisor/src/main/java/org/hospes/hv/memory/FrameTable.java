package org.hospes.hv.memory;

import com.google.common.base.Preconditions;

/**
 * Ownership of machine memory, frame by frame (4 KiB). Every frame is free, owned by a domain,
 * or owned by the hypervisor itself (page tables for EPT and shadows). Allocation is
 * deterministic: the lowest free frames first.
 */
public final class FrameTable {
  public static final int FREE = -1;
  /** Owner id of frames the hypervisor keeps for itself (Xen's DOMID_XEN). */
  public static final int DOMID_XEN = 0x7FF2;

  private final int[] owner;
  private int nextHint;
  private int freeCount;
  /**
   * Per owner: the lowest and highest frame it was ever given, so that {@link #freeAll} of one
   * domain searches its range and not the whole machine (a thousand domains ending would
   * otherwise scan machine memory a thousand times). Allocation is lowest-first, so a domain's
   * frames are mostly one run.
   */
  private final java.util.Map<Integer, long[]> ranges = new java.util.HashMap<>();

  public FrameTable(long machineBytes, long reservedBytes) {
    Preconditions.checkArgument(machineBytes % 4096 == 0 && reservedBytes % 4096 == 0,
        "sizes must be page-aligned");
    owner = new int[(int) (machineBytes >>> 12)];
    java.util.Arrays.fill(owner, FREE);
    int reserved = (int) (reservedBytes >>> 12);
    for (int f = 0; f < reserved; f++) {
      owner[f] = DOMID_XEN;
    }
    freeCount = owner.length - reserved;
    nextHint = reserved;
  }

  public int frames() {
    return owner.length;
  }

  public int freeFrames() {
    return freeCount;
  }

  public int owner(long mfn) {
    return mfn >= 0 && mfn < owner.length ? owner[(int) mfn] : FREE;
  }

  /** Allocates one frame for {@code domid}; returns its number, or -1 when memory is full. */
  public long allocate(int domid) {
    for (int n = 0; n < owner.length; n++) {
      int f = (nextHint + n) % owner.length;
      if (owner[f] == FREE) {
        owner[f] = domid;
        freeCount--;
        nextHint = f + 1;
        long[] r = ranges.computeIfAbsent(domid, k -> new long[] {f, f});
        r[0] = Math.min(r[0], f);
        r[1] = Math.max(r[1], f);
        return f;
      }
    }
    return -1;
  }

  /**
   * Allocates {@code count} frames for {@code domid}, the ones {@code count} calls of {@link
   * #allocate(int)} would give, in that order; none when fewer are free. For a domain's RAM: a
   * 256 MiB domain is 65,536 frames, and one call each (a map look-up and a lambda apiece) was
   * most of building it in a short run, interpreted.
   */
  public long[] allocate(int domid, int count) {
    Preconditions.checkArgument(count >= 0, "count must not be negative, got %s", count);
    Preconditions.checkState(count <= freeCount, "%s frames asked, %s free", count, freeCount);
    long[] got = new long[count];
    int lowest = Integer.MAX_VALUE;
    int highest = -1;
    int at = nextHint;
    for (int i = 0; i < count; i++) {
      if (at >= owner.length) {
        at = 0;
      }
      while (owner[at] != FREE) {
        at = at + 1 == owner.length ? 0 : at + 1;
      }
      owner[at] = domid;
      got[i] = at;
      lowest = Math.min(lowest, at);
      highest = Math.max(highest, at);
      at++;
    }
    if (count > 0) {
      freeCount -= count;
      nextHint = at;
      long[] r = ranges.get(domid);
      if (r == null) {
        ranges.put(domid, new long[] {lowest, highest});
      } else {
        r[0] = Math.min(r[0], lowest);
        r[1] = Math.max(r[1], highest);
      }
    }
    return got;
  }

  public void free(long mfn) {
    Preconditions.checkArgument(owner[(int) mfn] != FREE, "frame %s is already free", mfn);
    owner[(int) mfn] = FREE;
    freeCount++;
    if (mfn < nextHint) {
      nextHint = (int) mfn;
    }
  }

  /** Frees every frame {@code domid} owns; returns how many. */
  public int freeAll(int domid) {
    return freeAll(domid, f -> { });
  }

  /** As {@link #freeAll(int)}, telling {@code each} every frame it frees, lowest first. */
  public int freeAll(int domid, java.util.function.LongConsumer each) {
    return freeAllBut(domid, java.util.Set.of(), each);
  }

  /**
   * As {@link #freeAll(int, java.util.function.LongConsumer)}, except the frames in
   * {@code keep}, which stay {@code domid}'s until each is {@link #free freed} on its own (a
   * destroyed domain's frames another domain still has grant-mapped).
   */
  public int freeAllBut(int domid, java.util.Set<Long> keep,
      java.util.function.LongConsumer each) {
    long[] r = ranges.remove(domid);
    if (r == null) {
      return 0; // never given a frame by allocate
    }
    int n = 0;
    for (int f = (int) r[0]; f <= r[1]; f++) {
      if (owner[f] == domid && !keep.contains((long) f)) {
        owner[f] = FREE;
        n++;
        each.accept(f);
      }
    }
    freeCount += n;
    nextHint = Math.min(nextHint, (int) r[0]);
    return n;
  }
}
