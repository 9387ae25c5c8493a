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
      throw new IllegalStateException("out of machine memory for EPT tables");
    }
    byte[] zero = new byte[4096];
    machine.write(mfn << 12, zero, 0, zero.length);
    tables.add(mfn);
    return mfn << 12;
  }

  /** Maps every populated frame of {@code p2m}. */
  public void mapAll(P2m p2m) {
    for (long gfn = 0; gfn < p2m.size(); gfn++) {
      long mfn = p2m.lookup(gfn);
      if (mfn != P2m.INVALID) {
        map(gfn, mfn);
      }
    }
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
