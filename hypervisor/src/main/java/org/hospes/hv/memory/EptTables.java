package org.hospes.hv.memory;

import java.util.function.LongSupplier;
import org.hospes.x86.MemoryBus;

/**
 * Builds and maintains a domain's EPT tables in machine memory from its {@link P2m}: four
 * levels, 4 KiB leaves with read/write/execute and write-back memory type. Table frames come from
 * the hypervisor's own pool. Guest frames that are not populated stay not-present, so touching
 * them is an EPT violation (MMIO, or a bug the hypervisor contains).
 */
public final class EptTables {
  /** EPTP: write-back (6), 4-level walk (3 in bits 5:3). */
  private static final long EPTP_FLAGS = 6 | (3 << 3);
  private static final long RWX = 7;
  private static final long WB = 6 << 3;
  private static final long ADDR = 0x0000_000F_FFFF_F000L;
  /** Entries in a table: a leaf table covers 512 guest frames. */
  private static final int ENTRIES = 512;

  private final MemoryBus machine;
  private final LongSupplier frameAllocator;
  private final long root;
  private final java.util.List<Long> tables = new java.util.ArrayList<>();

  /** {@code frameAllocator} hands out zeroed machine frames (numbers) for tables. */
  public EptTables(MemoryBus machine, LongSupplier frameAllocator) {
    this.machine = machine;
    this.frameAllocator = frameAllocator;
    this.root = newTable();
  }

  /**
   * How many table frames {@link #mapAll} of a P2M whose {@code pages} frames are all populated
   * takes, the root included: one leaf table per 512 frames, one directory per 512 leaves and so
   * up. A domain builder checks the machine has them before it takes anything.
   */
  public static long tablesFor(long pages) {
    long n = 1; // the root (PML4)
    long covered = pages;
    for (int level = 1; level <= 3; level++) {
      covered = (covered + ENTRIES - 1) / ENTRIES;
      n += Math.max(covered, 1);
    }
    return n;
  }

  public long eptPointer() {
    return root | EPTP_FLAGS;
  }

  public int tableFrames() {
    return tables.size();
  }

  /** Machine frames holding the tables, to give back when the domain dies. */
  public java.util.List<Long> tableFrameNumbers() {
    return java.util.Collections.unmodifiableList(tables);
  }

  private long newTable() {
    long mfn = frameAllocator.getAsLong();
    if (mfn < 0) {
      throw new OutOfMachineMemory("out of machine memory for EPT tables");
    }
    byte[] zero = new byte[4096];
    machine.write(mfn << 12, zero, 0, zero.length);
    tables.add(mfn);
    return mfn << 12;
  }

  /**
   * Maps every populated frame of {@code p2m}: the same entries, and the same table frames in
   * the same order, as {@link #map} of each populated frame from the lowest up, but one leaf
   * table (2 MiB of guest memory) at a time: it is read once, filled in a Java array and written
   * back whole. Page by page, a 256 MiB domain took 65,536 walks of four levels (six 32-bit
   * reads and two writes each), most of them interpreted in a short run.
   */
  public void mapAll(P2m p2m) {
    long size = p2m.size();
    long[] mfns = new long[ENTRIES];
    long[] slots = null;
    byte[] leaf = null;
    java.nio.LongBuffer entries = null;
    for (long base = 0; base < size; base += ENTRIES) {
      int count = (int) Math.min(ENTRIES, size - base);
      p2m.lookup(base, mfns, count);
      int first = 0;
      while (first < count && mfns[first] == P2m.INVALID) {
        first++;
      }
      if (first == count) {
        continue;
      }
      // The walk of the first populated frame creates the upper tables as map() would.
      long table = leafSlot(base + first, true) - first * 8L;
      if (leaf == null) {
        leaf = new byte[4096];
        // Tables are little-endian, as the processor reads them; the view converts in bulk.
        entries = java.nio.ByteBuffer.wrap(leaf).order(java.nio.ByteOrder.LITTLE_ENDIAN)
            .asLongBuffer();
        slots = new long[ENTRIES];
      }
      machine.read(table, leaf, 0, leaf.length);
      entries.clear();
      entries.get(slots);
      for (int i = first; i < count; i++) {
        if (mfns[i] != P2m.INVALID) {
          slots[i] = (mfns[i] << 12) | RWX | WB;
        }
      }
      entries.clear();
      entries.put(slots);
      machine.write(table, leaf, 0, leaf.length);
    }
  }

  /**
   * How many table frames mapping {@code gfn} would allocate (0 to 3: the levels below the
   * root not there yet), so that a caller can refuse a mapping the machine has no memory for
   * before changing anything.
   */
  public int tablesNeeded(long gfn) {
    long table = root;
    long gpa = gfn << 12;
    for (int level = 4; level > 1; level--) {
      long entry = machine.read64(table + ((gpa >>> (12 + 9 * (level - 1))) & 0x1FF) * 8);
      if ((entry & RWX) == 0) {
        return level - 1;
      }
      table = entry & ADDR;
    }
    return 0;
  }

  /** Maps guest frame {@code gfn} to machine frame {@code mfn}, read/write/execute. */
  public void map(long gfn, long mfn) {
    long pte = leafSlot(gfn, true);
    machine.write64(pte, (mfn << 12) | RWX | WB);
  }

  /** Maps {@code gfn} to {@code mfn} read/execute only: a guest write is an EPT violation. */
  public void mapReadOnly(long gfn, long mfn) {
    long pte = leafSlot(gfn, true);
    machine.write64(pte, (mfn << 12) | (RWX & ~2L) | WB);
  }

  /** Removes the mapping of {@code gfn} (the caller flushes the vCPUs' translations). */
  public void unmap(long gfn) {
    long pte = leafSlot(gfn, false);
    if (pte >= 0) {
      machine.write64(pte, 0);
    }
  }

  /** Machine address of the leaf entry for {@code gfn}, creating tables if asked; else -1. */
  private long leafSlot(long gfn, boolean create) {
    long table = root;
    long gpa = gfn << 12;
    for (int level = 4; level > 1; level--) {
      int shift = 12 + 9 * (level - 1);
      long slot = table + ((gpa >>> shift) & 0x1FF) * 8;
      long entry = machine.read64(slot);
      if ((entry & RWX) == 0) {
        if (!create) {
          return -1;
        }
        long next = newTable();
        machine.write64(slot, next | RWX);
        table = next;
      } else {
        table = entry & ADDR;
      }
    }
    return table + ((gpa >>> 12) & 0x1FF) * 8;
  }
}
