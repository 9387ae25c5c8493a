package org.hospes.dom0.boot;

import java.util.function.LongUnaryOperator;
import org.hospes.abi.StartInfo;
import org.hospes.x86.PhysicalMemory;

/**
 * The start-of-day address space of a classic PAE PV domU as Xen's domain builder
 * (libxenguest xc_dom_x86.c) lays it out: from the kernel's end upwards, page by page, the
 * module, the P2M list, start_info, the xenstore and console pages, the initial page tables and
 * the boot stack; everything from VIRT_BASE to a 4 MiB boundary at least 512 KiB past the stack
 * is mapped, pseudo-physical frame {@code (va - virtBase) >> 12} at {@code va}. The tables map
 * themselves read-only, as the PV MMU insists; L3 slot 3 always has its L2 (Xen's slots).
 *
 * @param virtBase VIRT_BASE
 * @param moduleVa the module (ramdisk), or 0
 * @param p2mVa the P2M list: 4 bytes (an MFN) per pseudo-physical frame
 * @param startInfoVa start_info
 * @param storeVa the xenstore ring page
 * @param consoleVa the console ring page
 * @param tablesVa the page tables, L3 first, then the L2s by slot, then the L1s
 * @param nrTables how many table frames
 * @param stackVa the boot stack page; ESP starts at its top
 * @param mappedEnd the first virtual address not mapped
 */
public record PvBootLayout(long virtBase, long moduleVa, long p2mVa, long startInfoVa,
    long storeVa, long consoleVa, long tablesVa, int nrTables, long stackVa, long mappedEnd) {

  private static final long P = 1, RW = 2, US = 4, A = 32, D = 64;
  private static final long MB4 = 4L << 20;

  /**
   * Plans the layout after a kernel ending at virtual {@code kernelEnd}, with a module of
   * {@code moduleBytes} and {@code nrPages} pages of memory.
   */
  public static PvBootLayout plan(long virtBase, long kernelEnd, long moduleBytes, int nrPages)
      throws BootException {
    long next = roundUp(kernelEnd, 4096);
    long moduleVa = moduleBytes > 0 ? next : 0;
    next += roundUp(moduleBytes, 4096);
    long p2mVa = next;
    next += roundUp(4L * nrPages, 4096);
    long startInfo = next;
    long store = startInfo + 4096;
    long console = store + 4096;
    long tables = console + 4096;
    int nrTables = 0;
    long end;
    // The number of tables depends on how far they map, which depends on how many there are.
    while (true) {
      long stack = tables + 4096L * nrTables;
      end = roundUp(stack + 4096 + (512 << 10), MB4);
      int need = tablesFor(virtBase, end);
      if (need <= nrTables) {
        break;
      }
      nrTables = need;
    }
    long stack = tables + 4096L * nrTables;
    if (((end - virtBase) >>> 12) > nrPages) {
      throw BootException.format("PV domain: %d MiB is too small for the kernel and its boot"
          + " area (%d MiB needed)", nrPages >> 8, (end - virtBase) >>> 20);
    }
    return new PvBootLayout(virtBase, moduleVa, p2mVa, startInfo, store, console, tables,
        nrTables, stack, end);
  }

  private static long roundUp(long v, long to) {
    return (v + to - 1) / to * to;
  }

  /** One L3, an L2 per 1 GiB slot touched plus slot 3's, an L1 per 2 MiB. */
  private static int tablesFor(long start, long end) {
    int l2 = 0;
    for (int slot = 0; slot < 4; slot++) {
      long lo = (long) slot << 30;
      long hi = lo + (1L << 30);
      if (slot == 3 || (start < hi && end > lo)) {
        l2++;
      }
    }
    int l1 = (int) ((roundUp(end, 2L << 20) - (start & ~((2L << 20) - 1))) >>> 21);
    return 1 + l2 + l1;
  }

  public long pfnOf(long va) {
    return (va - virtBase) >>> 12;
  }

  /** Virtual address of table {@code i} (0 is the L3). */
  public long tableVa(int i) {
    return tablesVa + 4096L * i;
  }

  /**
   * Writes the P2M list and the page tables through the domain's pseudo-physical memory;
   * {@code mfnOf} gives the machine frame of each pseudo-physical frame. Returns the machine
   * frame of the L3.
   */
  public long writeTables(PhysicalMemory guest, LongUnaryOperator mfnOf, int nrPages) {
    for (int pfn = 0; pfn < nrPages; pfn++) {
      guest.write32((pfnOf(p2mVa) << 12) + 4L * pfn, (int) mfnOf.applyAsLong(pfn));
    }
    int next = 1;
    long l3pfn = pfnOf(tableVa(0));
    long[] l2pfn = new long[4];
    for (int slot = 0; slot < 4; slot++) {
      long lo = (long) slot << 30;
      if (slot == 3 || (virtBase < lo + (1L << 30) && mappedEnd > lo)) {
        l2pfn[slot] = pfnOf(tableVa(next++));
        guest.write64((l3pfn << 12) + 8L * slot, mfnOf.applyAsLong(l2pfn[slot]) << 12 | P);
      }
    }
    long firstTable = pfnOf(tablesVa);
    long lastTable = firstTable + nrTables;
    for (long va = virtBase & ~((2L << 20) - 1); va < mappedEnd; va += 2L << 20) {
      long l1pfn = pfnOf(tableVa(next++));
      int slot = (int) (va >>> 30);
      guest.write64((l2pfn[slot] << 12) + 8L * ((va >>> 21) & 511),
          mfnOf.applyAsLong(l1pfn) << 12 | P | RW | US | A | D);
      for (int i = 0; i < 512; i++) {
        long pva = va + 4096L * i;
        if (pva < virtBase || pva >= mappedEnd) {
          continue;
        }
        long pfn = pfnOf(pva);
        long flags = pfn >= firstTable && pfn < lastTable ? P | US | A : P | RW | US | A | D;
        guest.write64((l1pfn << 12) + 8L * i, mfnOf.applyAsLong(pfn) << 12 | flags);
      }
    }
    return mfnOf.applyAsLong(l3pfn);
  }

  /**
   * Fills start_info: magic "xen-3.0-x86_32p", the page count, shared_info's machine address,
   * the store and console rings (MFNs) and their event channels, the table base and count, the
   * P2M list, the module and the command line.
   */
  public void writeStartInfo(PhysicalMemory guest, LongUnaryOperator mfnOf, int nrPages,
      long sharedInfoMa, int storeEvtchn, int consoleEvtchn, long moduleBytes, String cmdline) {
    long si = pfnOf(startInfoVa) << 12;
    byte[] zero = new byte[4096];
    guest.write(si, zero, 0, zero.length);
    byte[] magic = StartInfo.MAGIC_X86_32P.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    guest.write(si + StartInfo.MAGIC, magic, 0, magic.length);
    guest.write32(si + StartInfo.NR_PAGES, nrPages);
    guest.write32(si + StartInfo.SHARED_INFO, (int) sharedInfoMa);
    guest.write32(si + StartInfo.STORE_MFN, (int) mfnOf.applyAsLong(pfnOf(storeVa)));
    guest.write32(si + StartInfo.STORE_EVTCHN, storeEvtchn);
    guest.write32(si + StartInfo.CONSOLE_MFN, (int) mfnOf.applyAsLong(pfnOf(consoleVa)));
    guest.write32(si + StartInfo.CONSOLE_EVTCHN, consoleEvtchn);
    guest.write32(si + StartInfo.PT_BASE, (int) tablesVa);
    guest.write32(si + StartInfo.NR_PT_FRAMES, nrTables);
    guest.write32(si + StartInfo.MFN_LIST, (int) p2mVa);
    guest.write32(si + StartInfo.MOD_START, (int) moduleVa);
    guest.write32(si + StartInfo.MOD_LEN, (int) moduleBytes);
    byte[] cmd = cmdline.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    guest.write(si + StartInfo.CMD_LINE, cmd, 0,
        Math.min(cmd.length, StartInfo.MAX_GUEST_CMDLINE - 1));
  }
}
