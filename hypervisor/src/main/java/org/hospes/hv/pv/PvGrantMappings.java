package org.hospes.hv.pv;

import org.hospes.abi.GrantTableOp;
import org.hospes.x86.PhysicalMemory;

/**
 * Grant mappings in a classic PV domain's own page tables: Xen 4.17's create_grant_pv_mapping
 * and replace_grant_pv_mapping (arch/x86/pv/grant_table.c). A PV guest is not translated, so a
 * grant is mapped by writing an L1 entry: {@code host_addr} is a linear address whose L1 entry
 * (through the current base pointer) is replaced, or with GNTMAP_contains_pte the machine
 * address of the L1 entry itself.
 *
 * <p>The references on the granted frame (a general one, and the writable type for a writable
 * map) belong to the grant mapping, not to the entry: {@link PvPageTables} records the entry as
 * a grant's and releases nothing when it goes. An entry the guest overwrites by mmu_update (or
 * whose table loses its last type) is an implicit unmap: the mapping then stays, with its
 * references, until the guest's death (Xen's "active grants it cannot destroy").
 *
 * <p>Every failure is GNTST_general_error, as in Xen (which only logs the reason).
 */
public final class PvGrantMappings {
  private PvGrantMappings() {}

  /**
   * grantflags_to_pte_flags for a domU: present, accessed, dirty; writable unless
   * GNTMAP_readonly; user if GNTMAP_application_map; the guest's available bits from
   * GNTMAP_guest_avail0 (bit 16) up into the entry's bits 9..11; and NX, as Xen's
   * grant_to_pte_flags sets it on every grant mapping (a PV vCPU runs with EFER.NXE). No cache
   * attributes (a domU without I/O capabilities).
   */
  static long pteFlags(int flags) {
    long f = PvPageTables.P | PvPageTables.A | PvPageTables.D | PvPageTables.NX;
    if ((flags & GrantTableOp.GNTMAP_READONLY) == 0) {
      f |= PvPageTables.RW;
    }
    if ((flags & GrantTableOp.GNTMAP_APPLICATION_MAP) != 0) {
      f |= PvPageTables.US;
    }
    return f | (long) ((flags >>> 16) & 7) << 9;
  }

  /**
   * The machine address of the L1 entry {@code addr} names for {@code flags}, in a frame the
   * domain owns that is a validated L1 table now, or -1 (Xen: misaligned PTE address, L1 not
   * found for the linear address, no reference on the L1 frame, or not an L1 page table).
   */
  private static long entryAddress(PvMmu mmu, long addr, int flags) {
    PvPageTables t = mmu.tables();
    long entry;
    if ((flags & GrantTableOp.GNTMAP_CONTAINS_PTE) != 0) {
      if ((addr & 7) != 0 || addr < 0) {
        return -1;
      }
      entry = addr;
    } else {
      if (addr != (addr & 0xFFFF_FFFFL)) {
        return -1; // a PV32 guest's linear addresses are 32 bits
      }
      long l1 = mmu.l1FrameOf((int) addr);
      if (l1 < 0) {
        return -1;
      }
      entry = (l1 << 12) + 8L * ((addr >>> 12) & 511);
    }
    long l1 = entry >>> 12;
    PageInfo info = t.info();
    if (!t.validMfn(l1) || !t.getPage(l1)) {
      return -1;
    }
    boolean l1Table = info.typeCount(l1) > 0 && info.isValidated(l1)
        && info.type(l1) == PageType.L1_PAGE_TABLE;
    t.putPage(l1);
    return l1Table ? entry : -1;
  }

  /**
   * create_grant_pv_mapping: the entry {@code addr} names becomes a mapping of {@code mfn} with
   * {@code flags}; what it mapped before is released as mmu_update would. Returns the entry's
   * machine address (to find it again when the grant is revoked), or GNTST_general_error.
   */
  public static long create(PvMmu mmu, PhysicalMemory machine, long addr, long mfn, int flags) {
    long entry = entryAddress(mmu, addr, flags);
    if (entry < 0) {
      return GrantTableOp.GNTST_GENERAL_ERROR;
    }
    long old = machine.read64(entry);
    machine.write64(entry, mfn << 12 | pteFlags(flags));
    mmu.tables().putFromL1e(old, entry);
    mmu.tables().addGrantEntry(entry);
    mmu.flushTlb();
    return entry;
  }

  /**
   * replace_grant_pv_mapping (no replacement address): the entry {@code addr} names must map
   * {@code mfn} present, writable exactly when the grant was mapped writable; it becomes empty.
   * Returns GNTST_okay or GNTST_general_error ("PTE doesn't match grant").
   */
  public static int destroy(PvMmu mmu, PhysicalMemory machine, long addr, long mfn, int flags) {
    long entry = entryAddress(mmu, addr, flags);
    if (entry < 0) {
      return GrantTableOp.GNTST_GENERAL_ERROR;
    }
    long e = machine.read64(entry);
    long want = pteFlags(flags);
    if (((e & PvPageTables.ADDR) >>> 12) != mfn
        || ((e ^ want) & (PvPageTables.P | PvPageTables.RW)) != 0) {
      return GrantTableOp.GNTST_GENERAL_ERROR;
    }
    if (!mmu.tables().removeGrantEntry(entry)) {
      return GrantTableOp.GNTST_GENERAL_ERROR; // the guest's own mapping of the same frame
    }
    machine.write64(entry, 0);
    mmu.flushTlb();
    return GrantTableOp.GNTST_OKAY;
  }

  /**
   * The grant is torn down from outside (the granter or the mapper is dying): if the entry at
   * machine address {@code entry} still maps {@code mfn} in a live L1 of the domain, it is
   * cleared, so no path to the frame outlives the grant's references on it.
   */
  public static void revoke(PvMmu mmu, PhysicalMemory machine, long entry, long mfn) {
    PvPageTables t = mmu.tables();
    long l1 = entry >>> 12;
    PageInfo info = t.info();
    if (!t.validMfn(l1) || t.owners().owner(l1) != t.domid() || info.typeCount(l1) == 0
        || !info.isValidated(l1) || info.type(l1) != PageType.L1_PAGE_TABLE) {
      return; // not walked by the processor; revalidating it refuses the foreign entry
    }
    if (!t.removeGrantEntry(entry)) {
      return; // overwritten already, or its table is no longer one
    }
    long e = machine.read64(entry);
    if ((e & PvPageTables.P) != 0 && ((e & PvPageTables.ADDR) >>> 12) == mfn) {
      machine.write64(entry, 0);
      mmu.flushTlb();
    }
  }
}
