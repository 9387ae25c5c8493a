package org.hospes.hv.pv;

import java.util.Arrays;

/**
 * The machine-to-physical table: for each machine frame, the pseudo-physical frame number its
 * PV owner gave it (MMU_MACHPHYS_UPDATE). Xen keeps one table for the machine and shows it
 * read-only to PV guests at MACH2PHYS_VIRT_START; entries are 32 bits for PV32 guests.
 */
public final class MachToPhys {
  /** Xen's INVALID_M2P_ENTRY as a 32-bit guest sees it. */
  public static final int INVALID = -1;

  private final int[] entries;

  public MachToPhys(int frames) {
    entries = new int[frames];
    Arrays.fill(entries, INVALID);
  }

  public int get(long mfn) {
    return mfn >= 0 && mfn < entries.length ? entries[(int) mfn] : INVALID;
  }

  void set(long mfn, int pfn) {
    entries[(int) mfn] = pfn;
  }
}
