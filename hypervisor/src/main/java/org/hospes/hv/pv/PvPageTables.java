package org.hospes.hv.pv;

import org.hospes.abi.XenErrno;
import org.hospes.hv.memory.FrameTable;
import org.hospes.x86.PhysicalMemory;

/**
 * The rules of Xen's PV MMU (arch/x86/mm.c) for one PAE PV32 domain: general references and
 * typed references on machine frames, validation of a frame's contents when it becomes an L1, L2
 * or L3 table (and release of what its entries hold when its last typed use goes), and checked
 * updates of single entries ({@code mod_l1_entry} and friends). Answers are Xen's errnos in
 * Xen's order of checks.
 *
 * <p>The tables are the guest's own frames, which the processor walks directly (machine
 * addresses). Isolation rests on three invariants kept here: every present L1 entry maps a frame
 * the domain owns; a writable L1 entry holds the writable type of its frame, so a frame in use as
 * a page table (or descriptor page) can never be mapped writable; every present L2/L3 entry
 * holds a validated lower table.
 *
 * <p>NX (bit 63) is allowed in L1 and L2 entries, as Xen's base_disallow_mask allows it where
 * the processor has NX: a PV vCPU runs with EFER.NXE set ({@link PvVcpu#boot}), as Xen's long
 * mode does, so the processor enforces it.
 *
 * <p>Deviations, because the emulated processor runs real PAE paging where Xen runs PV32 guests
 * in long mode: L3 entries (PDPTEs) may carry only P and the available bits (RW/US/A/D are
 * reserved in a PDPTE); bits 52..62 (Xen's AVAIL_HIGH, which long mode ignores) are refused,
 * since PAE paging reserves them and faults on them; bit 63 too in an L3 (Xen refuses every
 * high flag there for a PV32 guest). Linear page tables (an L2 used as an L1) are not
 * offered.
 */
public final class PvPageTables {
  static final long P = 1, RW = 2, US = 4, PWT = 8, PCD = 16, A = 32, D = 64, PS = 128, G = 256;
  static final long AVAIL = 0xE00;
  static final long ADDR = 0x000F_FFFF_FFFF_F000L;
  /** Execute-disable: allowed in L1 and L2 entries (the processor has NX). */
  static final long NX = 1L << 63;
  private static final long HIGH_FLAGS = 0xFFF0_0000_0000_0000L;
  /** A domU without I/O capabilities: no cache attributes (PWT, PCD, PAT) in an L1. */
  static final long L1_DISALLOW = HIGH_FLAGS & ~NX | (0xFFF & ~(P | RW | US | A | D | G | AVAIL));
  static final long L2_DISALLOW = HIGH_FLAGS & ~NX | (0xFFF & ~(P | RW | US | A | D | AVAIL));
  static final long L3_DISALLOW = HIGH_FLAGS | (0xFFF & ~(P | AVAIL));
  /** Bits that must not change for Xen's fast path (FASTPATH_FLAG_WHITELIST is the rest). */
  private static final long FASTPATH_CHECKED = ADDR | (0xFFF & ~(US | A | D | G | AVAIL));

  public static final int ENTRIES = 512;
  /** Entries of a PAE L3 (PDPT) the processor uses; the rest of the frame is ignored. */
  public static final int L3_ENTRIES = 4;
  /** First L2 slot of Xen's area in the L2 under L3 slot 3 (HYPERVISOR_VIRT_START >> 21 & 511). */
  public static final int FIRST_XEN_L2_SLOT = (0xF580_0000 >>> 21) & 511;

  private final int domid;
  private final FrameTable owners;
  private final PageInfo info;
  private final PhysicalMemory machine;
  /** What the hypervisor puts in Xen's slots of every PAE L2 in L3 slot 3 (the M2P mapping). */
  private final long[] xenL2Slots = new long[ENTRIES - FIRST_XEN_L2_SLOT];
  /** Told when a read-only mapping of a descriptor page in use goes (Xen drops the LDT shadow). */
  private Runnable segDescUnmapped = () -> { };
  /**
   * Machine addresses of the L1 entries grant mappings wrote (PvGrantMappings). Such an entry
   * holds no reference of its own; overwriting it, or its table losing its last type, is an
   * implicit unmap that releases nothing.
   */
  private final java.util.Set<Long> grantEntries = new java.util.HashSet<>();
  /**
   * Flushes the domain's TLBs. A frame that was writable may still be writable through a stale
   * TLB entry after its last writable mapping went (mmu_update does not flush), so Xen flushes
   * before such a frame becomes a table or descriptor page (_get_page_type's tlbflush_filter).
   */
  private Runnable flushTlbs = () -> { };
  /** Entries read by validation and devalidation so far: the PV MMU's own work, for the cost model. */
  private long entriesChecked;

  public PvPageTables(int domid, FrameTable owners, PageInfo info, PhysicalMemory machine) {
    this.domid = domid;
    this.owners = owners;
    this.info = info;
    this.machine = machine;
  }

  public int domid() {
    return domid;
  }

  public PageInfo info() {
    return info;
  }

  public FrameTable owners() {
    return owners;
  }

  /** Sets the entry the hypervisor writes into Xen slot {@code slot} (428..511) of PAE L2s. */
  public void setXenL2Slot(int slot, long entry) {
    xenL2Slots[slot - FIRST_XEN_L2_SLOT] = entry;
  }

  public void onSegDescUnmapped(Runnable hook) {
    this.segDescUnmapped = hook;
  }

  public void onTypeChangeFlush(Runnable flush) {
    this.flushTlbs = flush;
  }

  // ---- references ----------------------------------------------------------------------------

  boolean validMfn(long mfn) {
    return mfn >= 0 && mfn < info.frames();
  }

  /** get_page: a general reference on a frame this domain owns. */
  public boolean getPage(long mfn) {
    if (!validMfn(mfn) || owners.owner(mfn) != domid) {
      return false;
    }
    info.addRef(mfn, 1);
    return true;
  }

  public void putPage(long mfn) {
    if (info.refCount(mfn) <= 0) {
      throw new IllegalStateException("reference count underflow on mfn " + mfn);
    }
    info.addRef(mfn, -1);
  }

  /**
   * get_page_type: one more use of the frame as {@code type}. With no typed use left the type may
   * change; a table type is then validated. Returns 0 or a negative errno (-EINVAL on a type
   * conflict, or the validation's error).
   */
  public int getType(long mfn, PageType type, boolean paeXenL2) {
    int want = paeXenL2 ? PageInfo.PAE_XEN_L2 : 0;
    if (info.typeCount(mfn) > 0) {
      if (info.type(mfn) != type || (info.flags(mfn) & PageInfo.PAE_XEN_L2) != want) {
        return XenErrno.EINVAL.negated();
      }
      info.addType(mfn, 1);
      return 0;
    }
    if (info.type(mfn) != type || (info.flags(mfn) & PageInfo.PAE_XEN_L2) != want) {
      if (info.type(mfn) == PageType.WRITABLE_PAGE && type != PageType.WRITABLE_PAGE) {
        flushTlbs.run();
      }
      info.setType(mfn, type, want | (info.flags(mfn) & PageInfo.PINNED));
    }
    info.addType(mfn, 1);
    if (!info.isValidated(mfn)) {
      int rc = validate(mfn, type, paeXenL2);
      if (rc != 0) {
        info.addType(mfn, -1);
        info.setType(mfn, PageType.NONE, 0);
        return rc;
      }
      info.setFlag(mfn, PageInfo.VALIDATED, true);
    }
    return 0;
  }

  /** put_page_type: when a table's last typed use goes, what its entries hold is released. */
  public void putType(long mfn) {
    if (info.typeCount(mfn) <= 0) {
      throw new IllegalStateException("type count underflow on mfn " + mfn);
    }
    info.addType(mfn, -1);
    if (info.typeCount(mfn) == 0 && (info.type(mfn).isPageTable()
        || info.type(mfn) == PageType.SEG_DESC_PAGE)) {
      info.setFlag(mfn, PageInfo.VALIDATED, false);
      devalidate(mfn, info.type(mfn));
    }
  }

  /** get_page_and_type_from_mfn: -EINVAL if the frame is not this domain's. */
  public int getPageAndType(long mfn, PageType type, boolean paeXenL2) {
    if (!getPage(mfn)) {
      return XenErrno.EINVAL.negated();
    }
    int rc = getType(mfn, type, paeXenL2);
    if (rc != 0) {
      putPage(mfn);
    }
    return rc;
  }

  public void putPageAndType(long mfn) {
    putType(mfn);
    putPage(mfn);
  }

  /** The L1 entry at machine address {@code at} now holds a grant mapping. */
  void addGrantEntry(long at) {
    grantEntries.add(at);
  }

  /** The grant mapping left the entry at {@code at}; true if it was one. */
  boolean removeGrantEntry(long at) {
    return grantEntries.remove(at);
  }

  // ---- validation ----------------------------------------------------------------------------

  private long entry(long mfn, int slot) {
    return machine.read64((mfn << 12) + 8L * slot);
  }

  private void setEntry(long mfn, int slot, long value) {
    machine.write64((mfn << 12) + 8L * slot, value);
  }

  /** Table entries validated or released so far (512 per L1 or L2, 4 per L3). */
  public long entriesChecked() {
    return entriesChecked;
  }

  private int validate(long mfn, PageType type, boolean paeXenL2) {
    entriesChecked += type == PageType.L3_PAGE_TABLE ? L3_ENTRIES
        : type.isPageTable() || type == PageType.SEG_DESC_PAGE ? ENTRIES : 0;
    return switch (type) {
      case L1_PAGE_TABLE -> validateL1(mfn);
      case L2_PAGE_TABLE -> validateL2(mfn, paeXenL2);
      case L3_PAGE_TABLE -> validateL3(mfn);
      case SEG_DESC_PAGE -> Descriptors.validatePage(machine, mfn);
      // A PV32 guest has no L4; the rest need no check of their contents.
      case L4_PAGE_TABLE -> XenErrno.EINVAL.negated();
      default -> 0;
    };
  }

  private void devalidate(long mfn, PageType type) {
    entriesChecked += type == PageType.L3_PAGE_TABLE ? L3_ENTRIES
        : type.isPageTable() ? ENTRIES : 0;
    switch (type) {
      case L1_PAGE_TABLE -> {
        for (int i = 0; i < ENTRIES; i++) {
          putFromL1e(entry(mfn, i), (mfn << 12) + 8L * i);
        }
      }
      case L2_PAGE_TABLE -> {
        int n = info.isPaeXenL2(mfn) ? FIRST_XEN_L2_SLOT : ENTRIES;
        for (int i = 0; i < n; i++) {
          putFromL2e(entry(mfn, i));
        }
      }
      case L3_PAGE_TABLE -> {
        for (int i = 0; i < L3_ENTRIES; i++) {
          putFromL3e(entry(mfn, i));
        }
      }
      default -> { }
    }
  }

  private int validateL1(long mfn) {
    for (int i = 0; i < ENTRIES; i++) {
      int rc = getFromL1e(entry(mfn, i));
      if (rc != 0) {
        while (i-- > 0) {
          putFromL1e(entry(mfn, i), (mfn << 12) + 8L * i);
        }
        return rc;
      }
    }
    return 0;
  }

  private int validateL2(long mfn, boolean paeXenL2) {
    int n = paeXenL2 ? FIRST_XEN_L2_SLOT : ENTRIES;
    for (int i = 0; i < n; i++) {
      int rc = getFromL2e(entry(mfn, i));
      if (rc != 0) {
        while (i-- > 0) {
          putFromL2e(entry(mfn, i));
        }
        return rc;
      }
    }
    if (paeXenL2) {
      // init_xen_pae_l2_slots: whatever the guest left there is replaced by Xen's mappings.
      for (int i = FIRST_XEN_L2_SLOT; i < ENTRIES; i++) {
        setEntry(mfn, i, xenL2Slots[i - FIRST_XEN_L2_SLOT]);
      }
    }
    return 0;
  }

  private int validateL3(long mfn) {
    for (int i = 0; i < L3_ENTRIES; i++) {
      long e = entry(mfn, i);
      int rc;
      if (i == 3) {
        // Slot 3 holds the L2 with Xen's private mappings: it must be present.
        rc = (e & P) == 0 || (e & L3_DISALLOW) != 0
            ? XenErrno.EINVAL.negated()
            : getPageAndType((e & ADDR) >>> 12, PageType.L2_PAGE_TABLE, true);
      } else {
        rc = getFromL3e(e);
      }
      if (rc == 0 && i == 3 && info.typeCount((e & ADDR) >>> 12) != 1) {
        // pae_xen_mappings_check: "PAE L3 3rd slot is shared".
        putPageAndType((e & ADDR) >>> 12);
        rc = XenErrno.EINVAL.negated();
      }
      if (rc != 0) {
        while (i-- > 0) {
          putFromL3e(entry(mfn, i));
        }
        return rc;
      }
    }
    return 0;
  }

  // ---- entries -------------------------------------------------------------------------------

  /** get_page_from_l1e for a PV domU without I/O capabilities, the page owner itself. */
  int getFromL1e(long e) {
    return getFromL1e(e, false);
  }

  /**
   * get_page_from_l1e; {@code pgOwnerIo}: the page owner named is DOMID_IO, which reverts to
   * the caller for I/O space, and owns no RAM frame here (Xen gives dom_io only frames that are
   * not RAM), so a RAM frame's real owner differs from it and the unprivileged dom_io may not
   * lend it: "could_not_pin".
   */
  int getFromL1e(long e, boolean pgOwnerIo) {
    if ((e & P) == 0) {
      return 0;
    }
    if ((e & L1_DISALLOW) != 0) {
      return XenErrno.EINVAL.negated();
    }
    long mfn = (e & ADDR) >>> 12;
    if (!validMfn(mfn)) {
      // Not RAM: I/O space, which a domain without iomem capabilities may not map.
      return XenErrno.EPERM.negated();
    }
    if (pgOwnerIo) {
      return XenErrno.EBUSY.negated();
    }
    if (!getPage(mfn)) {
      // Free, the hypervisor's, or another domain's frame ("could_not_pin").
      return XenErrno.EBUSY.negated();
    }
    if ((e & RW) != 0 && getType(mfn, PageType.WRITABLE_PAGE, false) != 0) {
      putPage(mfn);
      return XenErrno.EBUSY.negated();
    }
    return 0;
  }

  /**
   * put_page_from_l1e for the entry {@code e} found at machine address {@code at}. An entry a
   * grant mapping wrote holds no references (the grant does): it only stops being one.
   */
  void putFromL1e(long e, long at) {
    if (!grantEntries.isEmpty() && grantEntries.remove(at)) {
      return; // (the emptiness test keeps the common case free of boxing)
    }
    if ((e & P) == 0) {
      return;
    }
    long mfn = (e & ADDR) >>> 12;
    if (owners.owner(mfn) != domid) {
      // Only a grant mapping puts another domain's frame in an L1 (getFromL1e refuses it).
      return;
    }
    if ((e & RW) != 0) {
      putType(mfn);
    } else if (info.type(mfn) == PageType.SEG_DESC_PAGE && info.typeCount(mfn) > 0) {
      segDescUnmapped.run();
    }
    putPage(mfn);
  }

  int getFromL2e(long e) {
    if ((e & P) == 0) {
      return 0;
    }
    if ((e & L2_DISALLOW) != 0) {
      return XenErrno.EINVAL.negated();
    }
    return getPageAndType((e & ADDR) >>> 12, PageType.L1_PAGE_TABLE, false);
  }

  void putFromL2e(long e) {
    if ((e & P) != 0) {
      putPageAndType((e & ADDR) >>> 12);
    }
  }

  int getFromL3e(long e) {
    if ((e & P) == 0) {
      return 0;
    }
    if ((e & L3_DISALLOW) != 0) {
      return XenErrno.EINVAL.negated();
    }
    return getPageAndType((e & ADDR) >>> 12, PageType.L2_PAGE_TABLE, false);
  }

  void putFromL3e(long e) {
    if ((e & P) != 0) {
      putPageAndType((e & ADDR) >>> 12);
    }
  }

  private static boolean changed(long oldE, long newE) {
    return ((oldE ^ newE) & FASTPATH_CHECKED) != 0;
  }

  private static long withAd(long oldE, long newE, boolean preserveAd) {
    return preserveAd ? newE | (oldE & (A | D)) : newE;
  }

  /** mod_l1_entry: entry {@code slot} of the validated L1 {@code l1mfn} becomes {@code nl1e}. */
  public int modL1(long l1mfn, int slot, long nl1e, boolean preserveAd) {
    return modEntry(1, l1mfn, slot, nl1e, preserveAd, false);
  }

  /** As above, the new entry's page owner DOMID_IO when {@code pgOwnerIo}. */
  public int modL1(long l1mfn, int slot, long nl1e, boolean preserveAd, boolean pgOwnerIo) {
    return modEntry(1, l1mfn, slot, nl1e, preserveAd, pgOwnerIo);
  }

  /** mod_l2_entry: Xen's slots of a PAE L2 under L3 slot 3 are -EPERM. */
  public int modL2(long l2mfn, int slot, long nl2e, boolean preserveAd) {
    if (info.isPaeXenL2(l2mfn) && slot >= FIRST_XEN_L2_SLOT) {
      return XenErrno.EPERM.negated();
    }
    return modEntry(2, l2mfn, slot, nl2e, preserveAd, false);
  }

  /**
   * mod_l3_entry: slot 3 (Xen's L2) and beyond are -EINVAL; the rest of the frame past the four
   * PDPTEs counts as beyond.
   */
  public int modL3(long l3mfn, int slot, long nl3e, boolean preserveAd) {
    if (slot >= 3) {
      return XenErrno.EINVAL.negated();
    }
    return modEntry(3, l3mfn, slot, nl3e, preserveAd, false);
  }

  /**
   * The common body of mod_lN_entry: bad flags are -EINVAL; a change of nothing but the
   * fast-path flags is written as is; otherwise the new entry's references are taken before it
   * is written and the old entry's released after.
   */
  private int modEntry(int level, long table, int slot, long ne, boolean preserveAd,
      boolean pgOwnerIo) {
    long oe = entry(table, slot);
    if ((ne & P) != 0) {
      long disallow = level == 1 ? L1_DISALLOW : level == 2 ? L2_DISALLOW : L3_DISALLOW;
      if ((ne & disallow) != 0) {
        return XenErrno.EINVAL.negated();
      }
      if (!changed(oe, ne)) {
        setEntry(table, slot, withAd(oe, ne, preserveAd));
        return 0;
      }
      int rc = level == 1 ? getFromL1e(ne, pgOwnerIo) : level == 2 ? getFromL2e(ne)
          : getFromL3e(ne);
      if (rc != 0) {
        return rc;
      }
    }
    setEntry(table, slot, withAd(oe, ne, preserveAd));
    switch (level) {
      case 1 -> putFromL1e(oe, (table << 12) + 8L * slot);
      case 2 -> putFromL2e(oe);
      default -> putFromL3e(oe);
    }
    return 0;
  }
}
