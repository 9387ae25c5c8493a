package org.hospes.hv.pv;

import org.hospes.abi.XenErrno;
import org.hospes.hv.memory.FrameTable;
import org.hospes.x86.PhysicalMemory;

/**
 * The GDT a PV32 vCPU runs on, as Xen builds it: the guest's own descriptor frames from
 * {@code set_gdt} for entries 0 .. FIRST_RESERVED_GDT_ENTRY-1 (14 pages), then Xen's reserved
 * page with the flat ring-1 and ring-3 segments (FLAT_RING1_CS 0xE019, FLAT_RING1_DS 0xE021,
 * FLAT_RING3_CS 0xE02B, FLAT_RING3_DS 0xE033). The 16 pages are mapped, supervisor and
 * read-only, by an L1 the hypervisor owns at {@link #VIRT_START}, in Xen's L2 slot of every PAE
 * L2 under L3 slot 3; the guest cannot change that mapping nor write through it.
 *
 * <p>Where this differs from Xen 4.17: a 64-bit Xen keeps its per-vCPU GDT mapping above 4 GiB,
 * out of a compat guest's reach; this 32-bit machine has no room there, so the mapping lies in
 * the hypervisor hole at 0xFFC00000, read-only. Since the processor may not write it, every
 * code and data descriptor is marked accessed when it is checked (see {@link Descriptors}).
 */
public final class PvGdt {
  /** Linear address of the GDT area (Hospes's choice inside the hypervisor hole). */
  public static final int VIRT_START = 0xFFC0_0000;
  /** GDT pages a guest may supply (FIRST_RESERVED_GDT_PAGE). */
  public static final int GUEST_PAGES = 14;
  /** FIRST_RESERVED_GDT_ENTRY. */
  public static final int FIRST_RESERVED_ENTRY = GUEST_PAGES * 512;
  /** The GDTR limit: the guest's 14 pages and Xen's reserved page. */
  public static final int LIMIT = (GUEST_PAGES + 1) * 4096 - 1;
  public static final int FLAT_RING1_CS = 0xE019;
  public static final int FLAT_RING1_DS = 0xE021;
  public static final int FLAT_RING3_CS = 0xE02B;
  public static final int FLAT_RING3_DS = 0xE033;
  /**
   * Where the processor reads the guest's LDT: 16 pages after the GDT area, mapped read-only page
   * by page when first touched (Xen's per-vCPU shadow LDT, pv_map_ldt_shadow_page).
   */
  public static final int LDT_VIRT_START = VIRT_START + 16 * 4096;
  /** Pages of the shadow LDT (8192 descriptors). */
  public static final int LDT_PAGES = 16;
  /** Xen's LDT selector in its reserved GDT entries (LDT_ENTRY << 3 for a compat guest). */
  public static final int LDT_SELECTOR = (FIRST_RESERVED_ENTRY + 10) << 3;
  /** L2 slot of VIRT_START in the L2 under L3 slot 3. */
  static final int L2_SLOT = (VIRT_START >>> 21) & 511;
  private static final long P = 1, RW = 2, A = 32, D = 64;

  /** Frames the hypervisor keeps for each PV vCPU's GDT area: its L1, reserved and blank page. */
  public static final int HYPERVISOR_FRAMES = 3;

  private final PvPageTables tables;
  private final PhysicalMemory machine;
  private final long l1;
  private final long reserved;
  private final long zero;
  private final long[] frames = new long[GUEST_PAGES];
  private int nrFrames;
  private int entries;

  /** Allocates the hypervisor's frames (L1, reserved page, blank page) from {@code owners}. */
  public PvGdt(PvPageTables tables, PhysicalMemory machine, FrameTable owners) {
    this.tables = tables;
    this.machine = machine;
    // All three or none: a build that fails here keeps no frame of the hypervisor's.
    if (owners.freeFrames() < HYPERVISOR_FRAMES) {
      throw new org.hospes.hv.memory.OutOfMachineMemory("out of machine memory for a PV GDT");
    }
    long[] got = owners.allocate(FrameTable.DOMID_XEN, HYPERVISOR_FRAMES);
    this.l1 = got[0];
    this.reserved = got[1];
    this.zero = got[2];
    byte[] blank = new byte[4096];
    for (long f : new long[] {l1, reserved, zero}) {
      machine.write(f << 12, blank, 0, blank.length);
    }
    // Xen's flat segments for a compat guest: base 0, 4 GiB, 32-bit, accessed.
    long r = reserved << 12;
    descriptor(r, FLAT_RING1_CS, 0x00CF_BB00);
    descriptor(r, FLAT_RING1_DS, 0x00CF_B300);
    descriptor(r, FLAT_RING3_CS, 0x00CF_FB00);
    descriptor(r, FLAT_RING3_DS, 0x00CF_F300);
    for (int i = 0; i < 16; i++) {
      long f = i == GUEST_PAGES ? reserved : zero;
      machine.write64((l1 << 12) + 8L * i, f << 12 | P | A);
    }
    tables.setXenL2Slot(L2_SLOT, l1 << 12 | P | RW | A | D);
  }

  private void descriptor(long page, int sel, int hi) {
    long at = page + ((sel & 0xFFF8) - FIRST_RESERVED_ENTRY * 8L);
    machine.write32(at, 0x0000_FFFF);
    machine.write32(at + 4, hi);
  }

  /** How many entries the guest's GDT has (0 until set_gdt). */
  public int entries() {
    return entries;
  }

  /**
   * do_set_gdt / pv_set_gdt: {@code mfns} (one per 512 entries) each become a descriptor page
   * of this domain, or nothing changes and -EINVAL is returned; the old frames are released.
   * The caller flushes the TLB.
   */
  public int set(long[] mfns, int newEntries) {
    if (newEntries < 0 || newEntries > FIRST_RESERVED_ENTRY) {
      return XenErrno.EINVAL.negated();
    }
    int n = (newEntries + 511) / 512;
    if (mfns.length < n) {
      return XenErrno.EINVAL.negated();
    }
    for (int i = 0; i < n; i++) {
      if (tables.getPageAndType(mfns[i], PageType.SEG_DESC_PAGE, false) != 0) {
        while (i-- > 0) {
          tables.putPageAndType(mfns[i]);
        }
        return XenErrno.EINVAL.negated();
      }
    }
    release();
    for (int i = 0; i < n; i++) {
      frames[i] = mfns[i];
      machine.write64((l1 << 12) + 8L * i, mfns[i] << 12 | P | A);
    }
    nrFrames = n;
    entries = newEntries;
    return 0;
  }

  /** The guest's frame backing GDT page {@code i}, or -1. */
  public long frame(int i) {
    return i < nrFrames ? frames[i] : -1;
  }

  /** The domain is gone: its GDT frames are released and the hypervisor's go back to the pool. */
  public void destroy(FrameTable owners) {
    release();
    owners.free(l1);
    owners.free(reserved);
    owners.free(zero);
  }

  /** True if {@code va} lies in the shadow LDT area. */
  public static boolean inLdtShadow(int va) {
    return Integer.compareUnsigned(va - LDT_VIRT_START, LDT_PAGES * 4096) < 0;
  }

  /** Maps LDT page {@code page} (already typed a descriptor page) read-only in the shadow. */
  public void mapLdtPage(int page, long mfn) {
    machine.write64((l1 << 12) + 8L * (16 + page), mfn << 12 | P | A);
  }

  /** Unmaps every shadow LDT page (pv_destroy_ldt); the caller flushes the TLB. */
  public void clearLdt() {
    for (int i = 0; i < LDT_PAGES; i++) {
      machine.write64((l1 << 12) + 8L * (16 + i), 0);
    }
  }

  /** pv_destroy_gdt: the frames go back to the guest as ordinary pages. */
  public void release() {
    for (int i = 0; i < nrFrames; i++) {
      tables.putPageAndType(frames[i]);
      machine.write64((l1 << 12) + 8L * i, zero << 12 | P | A);
    }
    nrFrames = 0;
    entries = 0;
  }
}
