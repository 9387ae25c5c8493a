package org.hospes.hv.pv;

import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.memory.OutOfMachineMemory;
import org.hospes.x86.PhysicalMemory;

/**
 * The machine-to-physical table: for each machine frame, the pseudo-physical frame number its
 * PV owner gave it (MMU_MACHPHYS_UPDATE), 32 bits per entry as a PV32 guest reads it. As in Xen
 * it lives in machine frames the hypervisor owns, and PV guests see it read-only at
 * MACH2PHYS_VIRT_START through L1 tables of the hypervisor's that {@link #l2Entries} names for
 * Xen's slots of every PAE L2 under L3 slot 3.
 */
public final class MachToPhys {
  /** Xen's INVALID_M2P_ENTRY as a 32-bit guest sees it. */
  public static final int INVALID = -1;
  /** At most 16 MiB of table (MACH2PHYS_VIRT_END - START): 8 L2 slots. */
  public static final int MAX_L2_SLOTS = 8;

  private final PhysicalMemory machine;
  private final long[] tableFrames;
  private final long[] l2Entries;
  private final int frames;

  /**
   * Allocates the table and its L1s from {@code owners} as the hypervisor's (DOMID_XEN), all
   * of them or, when the machine has not that many free, none: OutOfMachineMemory, and the
   * frame table is as it was.
   */
  public MachToPhys(PhysicalMemory machine, FrameTable owners) {
    this.machine = machine;
    this.frames = owners.frames();
    int nTable = framesFor(frames) - l1sFor(frames);
    int nL1 = l1sFor(frames);
    if (owners.freeFrames() < nTable + nL1) {
      throw new OutOfMachineMemory(String.format(
          "out of machine memory for the machine-to-physical table: %d frames needed, %d free",
          nTable + nL1, owners.freeFrames()));
    }
    // One allocation, in the order frame-by-frame allocation gave: the table, then its L1s.
    long[] got = owners.allocate(FrameTable.DOMID_XEN, nTable + nL1);
    tableFrames = java.util.Arrays.copyOf(got, nTable);
    byte[] invalid = new byte[4096];
    java.util.Arrays.fill(invalid, (byte) 0xFF);
    for (int i = 0; i < nTable; i++) {
      machine.write(tableFrames[i] << 12, invalid, 0, 4096);
    }
    l2Entries = new long[nL1];
    byte[] zero = new byte[4096];
    for (int j = 0; j < nL1; j++) {
      long l1 = got[nTable + j];
      machine.write(l1 << 12, zero, 0, 4096);
      for (int i = 0; i < 512 && j * 512 + i < nTable; i++) {
        // Read-only, and readable from ring 3 too, as Xen maps it for PV32 guests.
        machine.write64((l1 << 12) + 8L * i, tableFrames[j * 512 + i] << 12
            | PvPageTables.P | PvPageTables.US | PvPageTables.A);
      }
      l2Entries[j] = l1 << 12 | PvPageTables.P | PvPageTables.US | PvPageTables.A;
    }
  }

  /** Frames the table of a machine with {@code machineFrames} frames takes, its L1s included. */
  public static int framesFor(int machineFrames) {
    int nTable = (int) (((long) machineFrames * 4 + 4095) / 4096);
    return nTable + l1sFor(machineFrames);
  }

  private static int l1sFor(int machineFrames) {
    int nTable = (int) (((long) machineFrames * 4 + 4095) / 4096);
    return Math.min((nTable + 511) / 512, MAX_L2_SLOTS);
  }

  public int get(long mfn) {
    if (mfn < 0 || mfn >= frames) {
      return INVALID;
    }
    return machine.read32((tableFrames[(int) (mfn >>> 10)] << 12) + 4 * (mfn & 1023));
  }

  /**
   * Sets the entry of {@code mfn}: by the hypervisor when it gives a frame to a PV domain
   * (set_gpfn_from_mfn), and by MMU_MACHPHYS_UPDATE for a frame the guest owns.
   */
  public void set(long mfn, int pfn) {
    machine.write32((tableFrames[(int) (mfn >>> 10)] << 12) + 4 * (mfn & 1023), pfn);
  }

  /** The L2 entries for Xen slots FIRST_XEN_L2_SLOT, FIRST_XEN_L2_SLOT + 1, ... */
  public long[] l2Entries() {
    return l2Entries.clone();
  }
}
