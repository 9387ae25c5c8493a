package org.hospes.hv.grant;

import static org.hospes.abi.GrantTableOp.ENTRIES_PER_FRAME;
import static org.hospes.abi.GrantTableOp.ENTRY_DOMID;
import static org.hospes.abi.GrantTableOp.ENTRY_FLAGS;
import static org.hospes.abi.GrantTableOp.ENTRY_FRAME;
import static org.hospes.abi.GrantTableOp.ENTRY_SIZE;
import static org.hospes.abi.GrantTableOp.GNTST_BAD_COPY_ARG;
import static org.hospes.abi.GrantTableOp.GNTST_BAD_DOMAIN;
import static org.hospes.abi.GrantTableOp.GNTST_BAD_GNTREF;
import static org.hospes.abi.GrantTableOp.GNTST_BAD_HANDLE;
import static org.hospes.abi.GrantTableOp.GNTST_BAD_PAGE;
import static org.hospes.abi.GrantTableOp.GNTST_GENERAL_ERROR;
import static org.hospes.abi.GrantTableOp.GNTST_NO_SPACE;
import static org.hospes.abi.GrantTableOp.GNTST_OKAY;
import static org.hospes.abi.GrantTableOp.GNTST_PERMISSION_DENIED;
import static org.hospes.abi.GrantTableOp.GTF_PERMIT_ACCESS;
import static org.hospes.abi.GrantTableOp.GTF_READING;
import static org.hospes.abi.GrantTableOp.GTF_READONLY;
import static org.hospes.abi.GrantTableOp.GTF_TYPE_MASK;
import static org.hospes.abi.GrantTableOp.GTF_WRITING;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.memory.P2m;
import org.hospes.x86.MemoryBus;

/**
 * One domain's grant table, v1 (Xen's grant_table.c, in far fewer lines): the shared entries the
 * domain writes to offer its frames to others, the hypervisor's active record of each entry in
 * use (who pinned it, for reading or writing, which machine frame), and the domain's own maptrack
 * of the grants it has mapped from others.
 *
 * <p>Rules: a domain may map or copy only an entry whose type is GTF_permit_access and whose domid
 * is that domain, and may write only if the entry is not GTF_readonly. The entry is checked on
 * every map and every copy, even while it is already pinned (stricter than Xen, which skips the
 * check for a second read-only map), so a revoked entry never admits a new mapping; while pinned
 * the hypervisor keeps GTF_reading/GTF_writing set so the granter can see it must not reuse the
 * entry, and unmap always works. Mapped frames must be RAM the granter owns (not a foreign frame
 * it mapped itself). A domain that shuts down or crashes keeps its memory until it is
 * destroyed, as in Xen, so the mappings of its frames stay valid until then. When it is
 * destroyed its own mappings are dropped, and the mappings others hold of its frames stay:
 * those frames stay its own, and the domain listed, until the last of them is unmapped.
 *
 * <p>Methods return a {@code GNTST_*} status (map returns a handle, which is never negative).
 * Lock order (for a future SMP host): granter's table before mapper's.
 */
public final class GrantTables {
  /** Mapper handles per domain (Xen sizes maptrack by frames; 1024 frames of 8-byte entries). */
  public static final int MAX_MAPTRACK = 1 << 16;
  /** Highest guest frame a grant may be mapped at, exclusive (a 4 GiB guest-physical space). */
  public static final long MAX_GFN = 1L << 20;
  private static final int PAGE_SIZE = 4096;
  private static final int DOMID_SELF = org.hospes.abi.EventChannelOp.DOMID_SELF;

  /** What the table needs from the hypervisor. */
  public interface Directory {
    Domain domain(int domid);

    GrantTables grantTables(Domain d);

    /** A zeroed machine frame owned by {@code d}, or -1 when memory is full. */
    long allocateFrame(Domain d);

    /** Owner domid of machine frame {@code mfn}. */
    int owner(long mfn);

    /**
     * Points {@code d}'s guest frame {@code gfn} at {@code mfn} (P2m.INVALID: unmapped); false,
     * nothing changed, when the machine has no memory for the mapping's tables.
     */
    boolean setPhysmap(Domain d, long gfn, long mfn, boolean writable);

    /**
     * Domain {@code d}, destroyed, no longer has its frame {@code mfn} grant-mapped by anyone:
     * the frame can go back to the free pool (Xen: the mapper's put_page drops the last
     * reference of a page the dying domain relinquished, and free_domheap_pages frees it).
     */
    void heldFrameReleased(Domain d, long mfn);
  }

  /** One grant entry in use: the hypervisor's copy of what it pinned (Xen's active entry). */
  private static final class Active {
    int domid;
    long mfn;
    int readPins;
    int writePins;
  }

  /** One mapping this domain holds of another domain's grant (Xen's maptrack entry). */
  private static final class Mapping {
    int granter;
    int ref;
    /** The guest frame mapped (translated mapper), or 0 for a PV mapper; -1: handle free. */
    long gfn;
    long mfn;
    long originalMfn;
    boolean readonly;
    /** PV mapper: the map's GNTMAP_* flags and the machine address of the L1 entry written. */
    int flags;
    long pvEntry = -1;
    /** The mapping holds a reference (and, writable, the writable type) on a PV granter's frame. */
    boolean frameRefs;
  }

  private final Domain domain;
  private final Directory directory;
  private final MemoryBus machine;
  private final int maxFrames;
  private final long[] frameMfn;
  private final long[] frameGfn;
  private int nrFrames;
  private final Map<Integer, Active> active = new HashMap<>();
  private final List<Mapping> maptrack = new ArrayList<>();
  private final List<Integer> freeHandles = new ArrayList<>();
  private final Map<Long, Integer> mappedGfns = new HashMap<>();
  /**
   * The domain was destroyed while others still had its frames grant-mapped ({@link
   * #releaseForDestroy}): each unpin that leaves a frame unmapped hands it back.
   */
  private boolean destroyed;

  public GrantTables(Domain domain, Directory directory, MemoryBus machine, int maxFrames) {
    this.domain = domain;
    this.directory = directory;
    this.machine = machine;
    this.maxFrames = maxFrames;
    this.frameMfn = new long[maxFrames];
    this.frameGfn = new long[maxFrames];
    java.util.Arrays.fill(frameGfn, P2m.INVALID);
  }

  public Domain domain() {
    return domain;
  }

  public int nrFrames() {
    return nrFrames;
  }

  public int maxFrames() {
    return maxFrames;
  }

  /** Entries the table holds now (512 per frame). */
  public int nrEntries() {
    return nrFrames * ENTRIES_PER_FRAME;
  }

  /** Machine frame of table frame {@code i} (allocated), for tests and the toolstack. */
  public long frameMfn(int i) {
    return i < nrFrames ? frameMfn[i] : -1;
  }

  /** The GFN table frame {@code i} is mapped at in the domain's physmap, or P2m.INVALID. */
  public long frameGfn(int i) {
    return i < nrFrames ? frameGfn[i] : P2m.INVALID;
  }

  /** Mappings this domain holds (handles in use). */
  public int activeMappings() {
    return maptrack.size() - freeHandles.size();
  }

  /**
   * True while machine frame {@code mfn} of this domain is pinned by another domain's grant
   * mapping: ballooning (decrease_reservation) must not give such a frame back.
   */
  public boolean framePinned(long mfn) {
    for (Active a : active.values()) {
      if (a.mfn == mfn) {
        return true;
      }
    }
    return false;
  }

  /** True if a mapping this domain holds names machine frame {@code mfn}. */
  public boolean mapsFrame(long mfn) {
    for (Mapping m : maptrack) {
      if (m.gfn >= 0 && m.mfn == mfn) {
        return true;
      }
    }
    return false;
  }

  /** True if machine frame {@code mfn} is one of this table's own frames. */
  public boolean isTableFrame(long mfn) {
    for (int i = 0; i < nrFrames; i++) {
      if (frameMfn[i] == mfn) {
        return true;
      }
    }
    return false;
  }

  /** True if guest frame {@code gfn} of this domain holds a grant mapping of another domain. */
  public boolean isGrantMapped(long gfn) {
    return mappedGfns.containsKey(gfn);
  }

  /** Grows the table to at least {@code frames} frames; false if too many or out of memory. */
  public boolean grow(int frames) {
    if (frames < 0 || frames > maxFrames) {
      return false;
    }
    while (nrFrames < frames) {
      long mfn = directory.allocateFrame(domain);
      if (mfn < 0) {
        return false;
      }
      frameMfn[nrFrames++] = mfn;
    }
    return true;
  }

  /**
   * XENMEM_add_to_physmap, space grant_table: maps table frame {@code idx} at {@code gfn},
   * growing the table as needed; a frame mapped elsewhere before moves. Returns 0 or -errno.
   */
  public int addToPhysmap(int idx, long gfn) {
    if (idx < 0 || idx >= maxFrames || gfn < 0 || gfn >= MAX_GFN) {
      return XenErrno.EINVAL.negated();
    }
    if (mappedGfns.containsKey(gfn)) {
      // A grant mapping lives there; unmapping it later would clobber the table frame.
      return XenErrno.EBUSY.negated();
    }
    if (!grow(idx + 1)) {
      return XenErrno.ENOMEM.negated();
    }
    // The new place first: with no memory for its tables the old one stays (-ENOMEM, as
    // guest_physmap_add_page fails in Xen).
    if (!directory.setPhysmap(domain, gfn, frameMfn[idx], true)) {
      return XenErrno.ENOMEM.negated();
    }
    if (frameGfn[idx] != P2m.INVALID && frameGfn[idx] != gfn
        && domain.p2m().lookup(frameGfn[idx]) == frameMfn[idx]) {
      directory.setPhysmap(domain, frameGfn[idx], P2m.INVALID, true);
    }
    frameGfn[idx] = gfn;
    return 0;
  }

  private long entryAddress(int ref) {
    return (frameMfn[ref / ENTRIES_PER_FRAME] << 12) + (long) (ref % ENTRIES_PER_FRAME) * ENTRY_SIZE;
  }

  /** Flags of entry {@code ref} as the guest and hypervisor last wrote them (-1: no entry). */
  public int entryFlags(int ref) {
    return validRef(ref) ? machine.read16(entryAddress(ref) + ENTRY_FLAGS) : -1;
  }

  private boolean validRef(int ref) {
    return ref >= 0 && ref < nrEntries();
  }

  private void setFlagBits(int ref, int bits, boolean on) {
    long a = entryAddress(ref) + ENTRY_FLAGS;
    int f = machine.read16(a);
    machine.write16(a, on ? f | bits : f & ~bits);
  }

  /**
   * Checks entry {@code ref} lets {@code mapper} use it ({@code write}: for writing) and
   * resolves the machine frame it grants. Returns the MFN, or a GNTST status (negative).
   */
  private long resolve(int ref, int mapper, boolean write) {
    if (!validRef(ref)) {
      return GNTST_BAD_GNTREF;
    }
    long a = entryAddress(ref);
    int flags = machine.read16(a + ENTRY_FLAGS);
    int domid = machine.read16(a + ENTRY_DOMID);
    long frame = machine.read32(a + ENTRY_FRAME) & 0xFFFF_FFFFL;
    if ((flags & GTF_TYPE_MASK) != GTF_PERMIT_ACCESS || domid != mapper
        || (write && (flags & GTF_READONLY) != 0)) {
      // Xen answers general_error for bad flags or a foreign domid (_set_status).
      return GNTST_GENERAL_ERROR;
    }
    long mfn = frameToMfn(frame);
    if (mfn < 0) {
      return GNTST_BAD_PAGE;
    }
    Active act = active.get(ref);
    if (act != null && (act.domid != mapper || act.mfn != mfn)) {
      // The granter rewrote an entry still in use: refuse rather than mix two grants.
      return GNTST_GENERAL_ERROR;
    }
    return mfn;
  }

  /**
   * The machine frame this domain's frame number {@code frame} names, if the domain owns it as
   * RAM, or -1. A classic PV domain is not translated: its frame numbers (in grant entries and
   * in GNTTABOP_copy) are machine frames. A translated domain's go through its P2M.
   */
  private long frameToMfn(long frame) {
    long mfn = domain.pv() != null ? frame : domain.p2m().lookup(frame);
    if (mfn == P2m.INVALID || mfn < 0 || directory.owner(mfn) != domain.domid()) {
      return -1;
    }
    return mfn;
  }

  /**
   * The references a mapping of this (PV) domain's frame {@code mfn} holds, as Xen's
   * map_grant_ref takes them for a granter that is not translated: a general reference, and
   * for a writable mapping the writable type (gnttab_host_mapping_get_page_type), which a
   * page-table or descriptor page cannot take ("could not pin": GNTST_general_error). A
   * translated granter's frames have no types: nothing to take. Returns GNTST_okay or the error.
   */
  private int getFrameRefs(long mfn, boolean write) {
    if (domain.pv() == null) {
      return GNTST_OKAY;
    }
    org.hospes.hv.pv.PvPageTables t = domain.pv().mmu().tables();
    if (!t.getPage(mfn)) {
      return GNTST_GENERAL_ERROR;
    }
    if (write && t.getType(mfn, org.hospes.hv.pv.PageType.WRITABLE_PAGE, false) != 0) {
      t.putPage(mfn);
      return GNTST_GENERAL_ERROR;
    }
    return GNTST_OKAY;
  }

  private void putFrameRefs(long mfn, boolean write) {
    if (domain.pv() == null) {
      return;
    }
    org.hospes.hv.pv.PvPageTables t = domain.pv().mmu().tables();
    if (write) {
      t.putType(mfn);
    }
    t.putPage(mfn);
  }

  /**
   * A copy is about to write this domain's frame {@code mfn}: for a PV domain the frame must
   * take the writable type for the copy's duration (gnttab_copy_claim_buf), so no copy ever
   * writes a page table or descriptor page. Returns GNTST_okay or GNTST_general_error.
   */
  private int checkCopyWritable(long mfn) {
    int rc = getFrameRefs(mfn, true);
    if (rc == GNTST_OKAY) {
      putFrameRefs(mfn, true);
    }
    return rc;
  }

  /** Pins entry {@code ref} for {@code mapper}: sets GTF_reading (and GTF_writing). */
  private void pin(int ref, int mapper, long mfn, boolean write) {
    Active act = active.computeIfAbsent(ref, r -> new Active());
    act.domid = mapper;
    act.mfn = mfn;
    if (write) {
      act.writePins++;
    } else {
      act.readPins++;
    }
    setFlagBits(ref, write ? GTF_READING | GTF_WRITING : GTF_READING, true);
  }

  /** Drops one pin; busy bits clear when the last writer or the last user goes. */
  private void unpin(int ref, boolean write) {
    Active act = active.get(ref);
    if (act == null) {
      return;
    }
    if (write) {
      act.writePins--;
    } else {
      act.readPins--;
    }
    boolean alive = !domain.state().isFinal();
    if (act.writePins == 0 && alive) {
      setFlagBits(ref, GTF_WRITING, false);
    }
    if (act.writePins + act.readPins == 0) {
      active.remove(ref);
      if (alive) {
        setFlagBits(ref, GTF_READING, false);
      }
      if (destroyed && !framePinned(act.mfn)) {
        directory.heldFrameReleased(domain, act.mfn);
      }
    }
  }

  /** Machine frames of this domain other domains have grant-mapped now. */
  public java.util.Set<Long> pinnedFrames() {
    java.util.Set<Long> s = new java.util.TreeSet<>();
    for (Active a : active.values()) {
      s.add(a.mfn);
    }
    return s;
  }

  /** Looks up a live granter's table, or null (GNTST_bad_domain). */
  private GrantTables granter(int domid) {
    Domain g = directory.domain(domid);
    if (g == null || g.state().isFinal()) {
      return null;
    }
    return directory.grantTables(g);
  }

  /**
   * GNTTABOP_map_grant_ref for this (the mapping) domain: maps {@code ref} of domain {@code dom}
   * at guest-physical {@code hostAddr}. Returns a handle (>= 0) or a GNTST status (< 0).
   */
  public int map(long hostAddr, int flags, int ref, int dom) {
    if ((flags & (GrantTableOp.GNTMAP_DEVICE_MAP | GrantTableOp.GNTMAP_HOST_MAP)) == 0) {
      return GNTST_BAD_GNTREF;
    }
    boolean pv = domain.pv() != null;
    if ((flags & GrantTableOp.GNTMAP_HOST_MAP) == 0
        || (flags & GrantTableOp.GNTMAP_DEVICE_MAP) != 0
        || (!pv && (flags & (GrantTableOp.GNTMAP_CONTAINS_PTE
            | GrantTableOp.GNTMAP_APPLICATION_MAP)) != 0)) {
      // Xen refuses device, application and PTE maps to a translated mapper; there is no
      // IOMMU here, so no domain gets a device (bus address) mapping either.
      return GNTST_GENERAL_ERROR;
    }
    GrantTables g = granter(dom);
    if (g == null) {
      return GNTST_BAD_DOMAIN;
    }
    if (freeHandles.isEmpty() && maptrack.size() >= MAX_MAPTRACK) {
      return GNTST_NO_SPACE; // Xen takes the maptrack handle before it looks at the ref
    }
    long gfn = hostAddr >>> 12;
    if (!pv && (hostAddr < 0 || gfn >= MAX_GFN || mappedGfns.containsKey(gfn))) {
      return GNTST_GENERAL_ERROR;
    }
    boolean readonly = (flags & GrantTableOp.GNTMAP_READONLY) != 0;
    long mfn = g.resolve(ref, domain.domid(), !readonly);
    if (mfn < 0) {
      return (int) mfn;
    }
    int rc = g.getFrameRefs(mfn, !readonly);
    if (rc != GNTST_OKAY) {
      return rc;
    }
    long pvEntry = -1;
    long originalMfn = P2m.INVALID;
    if (pv) {
      pvEntry = org.hospes.hv.pv.PvGrantMappings.create(domain.pv().mmu(), machine, hostAddr,
          mfn, flags);
      if (pvEntry < 0) {
        g.putFrameRefs(mfn, !readonly);
        return (int) pvEntry;
      }
    } else {
      originalMfn = domain.p2m().lookup(gfn);
      if (!directory.setPhysmap(domain, gfn, mfn, !readonly)) {
        // create_grant_p2m_mapping: no memory for the P2M's tables, general_error.
        g.putFrameRefs(mfn, !readonly);
        return GNTST_GENERAL_ERROR;
      }
    }
    int handle = newHandle();
    g.pin(ref, domain.domid(), mfn, !readonly);
    Mapping m = maptrack.get(handle);
    m.granter = g.domain.domid();
    m.ref = ref;
    m.mfn = mfn;
    m.readonly = readonly;
    m.flags = flags;
    m.pvEntry = pvEntry;
    m.frameRefs = g.domain.pv() != null;
    if (pv) {
      m.gfn = 0;
      m.originalMfn = P2m.INVALID;
    } else {
      m.gfn = gfn;
      m.originalMfn = originalMfn;
      mappedGfns.put(gfn, handle);
    }
    return handle;
  }

  private int newHandle() {
    if (!freeHandles.isEmpty()) {
      return freeHandles.remove(freeHandles.size() - 1);
    }
    if (maptrack.size() >= MAX_MAPTRACK) {
      return -1;
    }
    maptrack.add(new Mapping());
    return maptrack.size() - 1;
  }

  private Mapping mapping(int handle) {
    if (handle < 0 || handle >= maptrack.size()) {
      return null;
    }
    Mapping m = maptrack.get(handle);
    return m.gfn < 0 ? null : m;
  }

  private void freeHandle(int handle) {
    Mapping m = maptrack.get(handle);
    m.gfn = -1;
    m.pvEntry = -1;
    m.frameRefs = false;
    freeHandles.add(handle);
  }

  /**
   * GNTTABOP_unmap_grant_ref: undoes mapping {@code handle}, which must be at {@code hostAddr};
   * the mapper's physmap gets back the frame it had there. Returns a GNTST status.
   */
  public int unmap(long hostAddr, int handle) {
    Mapping m = mapping(handle);
    if (m == null) {
      return GNTST_BAD_HANDLE;
    }
    if (m.pvEntry >= 0) {
      if (hostAddr == 0) {
        return GNTST_OKAY; // Xen: no host address, no host mapping undone (the handle stays)
      }
      // replace_grant_pv_mapping finds the entry again through host_addr and checks it.
      int rc = org.hospes.hv.pv.PvGrantMappings.destroy(domain.pv().mmu(), machine, hostAddr,
          m.mfn, m.flags);
      if (rc != GNTST_OKAY) {
        return rc;
      }
    } else if ((hostAddr >>> 12) != m.gfn) {
      return GNTST_GENERAL_ERROR;
    }
    release(handle, m);
    return GNTST_OKAY;
  }

  /** Tears down mapping {@code m}: restores the physmap, drops the granter's pin. */
  private void release(int handle, Mapping m) {
    unmapFromMapper(m);
    Domain gd = directory.domain(m.granter);
    GrantTables g = gd == null ? null : directory.grantTables(gd);
    if (g != null) {
      // The page references first: the last unpin of a destroyed granter's frame frees it.
      if (m.frameRefs) {
        g.putFrameRefs(m.mfn, !m.readonly);
      }
      g.unpin(m.ref, !m.readonly);
    }
    freeHandle(handle);
  }

  /**
   * Takes mapping {@code m} out of this (the mapper's) address space: a translated mapper's
   * physmap gets its frame back; a PV mapper's L1 entry is cleared if it is still there.
   */
  private void unmapFromMapper(Mapping m) {
    if (m.pvEntry >= 0) {
      org.hospes.hv.pv.PvGrantMappings.revoke(domain.pv().mmu(), machine, m.pvEntry, m.mfn);
      return;
    }
    if (!domain.state().isFinal() && domain.p2m().lookup(m.gfn) == m.mfn) {
      directory.setPhysmap(domain, m.gfn, m.originalMfn, true);
    }
    mappedGfns.remove(m.gfn);
  }

  /**
   * The domain one side of a GNTTABOP_copy names, as Xen's gnttab_copy_lock_domain finds it: a
   * frame side must say DOMID_SELF literally (Xen 4.17 refuses the caller's own numeric id there
   * with permission_denied); a grant side may name any live domain, DOMID_SELF meaning the caller.
   * Returns the domain's table, or null with the GNTST status in {@code status[0]}.
   */
  private GrantTables copyDomain(int domid, boolean gref, int[] status) {
    if (domid != DOMID_SELF && !gref) {
      status[0] = GNTST_PERMISSION_DENIED;
      return null;
    }
    GrantTables g = domid == DOMID_SELF ? this : granter(domid);
    if (g == null) {
      status[0] = GNTST_BAD_DOMAIN;
    }
    return g;
  }

  /**
   * One side of a GNTTABOP_copy for this (the calling) domain, claimed as Xen's
   * gnttab_copy_claim_buf does: the machine address of the frame named by {@code u} (a grant
   * ref of {@code g}'s table when {@code gref}, else a GFN of the caller itself), for reading
   * or {@code write}. Returns the frame's machine address or a GNTST status (negative).
   */
  private long claimCopyFrame(GrantTables g, int u, boolean gref, boolean write) {
    if (!gref) {
      long gfn = u & 0xFFFF_FFFFL;
      long mfn = frameToMfn(gfn);
      if (mfn < 0 || (write && domain.pv() == null && !domain.p2m().isWritable(gfn))) {
        return GNTST_BAD_PAGE;
      }
      if (write && checkCopyWritable(mfn) != GNTST_OKAY) {
        return GNTST_GENERAL_ERROR;
      }
      return mfn << 12;
    }
    long mfn = g.resolve(u, domain.domid(), write);
    if (mfn >= 0 && write && g.checkCopyWritable(mfn) != GNTST_OKAY) {
      return GNTST_GENERAL_ERROR;
    }
    return mfn < 0 ? mfn : mfn << 12;
  }

  /**
   * GNTTABOP_copy: copies {@code len} bytes between two sides, each a grant ref of some domain
   * (DOMID_SELF: the caller's own table) or a GFN of the caller (DOMID_SELF only). Checks in Xen
   * 4.17's order (gnttab_copy_one): both domains, then the source and destination frames, then
   * that offset + length stays within each page. Flag bits other than the two gref bits are
   * ignored, as Xen does. Returns a GNTST status.
   */
  public int copy(int srcU, int srcDom, int srcOff, int dstU, int dstDom, int dstOff, int len,
      int flags) {
    boolean srcGref = (flags & GrantTableOp.GNTCOPY_SOURCE_GREF) != 0;
    boolean dstGref = (flags & GrantTableOp.GNTCOPY_DEST_GREF) != 0;
    int[] status = new int[1];
    GrantTables sg = copyDomain(srcDom, srcGref, status);
    if (sg == null) {
      return status[0];
    }
    GrantTables dg = copyDomain(dstDom, dstGref, status);
    if (dg == null) {
      return status[0];
    }
    long src = claimCopyFrame(sg, srcU, srcGref, false);
    if (src < 0) {
      return (int) src;
    }
    long dst = claimCopyFrame(dg, dstU, dstGref, true);
    if (dst < 0) {
      return (int) dst;
    }
    if (len < 0 || srcOff < 0 || dstOff < 0 || srcOff + len > PAGE_SIZE
        || dstOff + len > PAGE_SIZE) {
      return GNTST_BAD_COPY_ARG;
    }
    if (len > 0) {
      byte[] buf = new byte[len];
      machine.read(src + srcOff, buf, 0, len);
      machine.write(dst + dstOff, buf, 0, len);
    }
    return GNTST_OKAY;
  }

  /**
   * GNTTABOP_copy issued by a service domain whose own side is Java memory (dom0's backends are
   * Java code, so their "local frame" is a buffer): copies {@code len} bytes between
   * {@code buf[bufOff..]} and offset {@code pageOff} of grant {@code ref} of domain
   * {@code granter}, into the grant when {@code toGrant}. The grant side is checked exactly as
   * {@link #copy} checks a grant side (live domain, entry naming this domain, GTF_readonly
   * against a write), then the page bounds (GNTST_bad_copy_arg). Returns a GNTST status.
   */
  public int copyWithBuffer(int ref, int granter, int pageOff, byte[] buf, int bufOff, int len,
      boolean toGrant) {
    GrantTables g = granter(granter);
    if (g == null) {
      return GNTST_BAD_DOMAIN;
    }
    long mfn = g.resolve(ref, domain.domid(), toGrant);
    if (mfn < 0) {
      return (int) mfn;
    }
    if (toGrant && g.checkCopyWritable(mfn) != GNTST_OKAY) {
      return GNTST_GENERAL_ERROR;
    }
    if (len < 0 || pageOff < 0 || pageOff + len > PAGE_SIZE || bufOff < 0
        || bufOff + len > buf.length) {
      return GNTST_BAD_COPY_ARG;
    }
    if (toGrant) {
      machine.write((mfn << 12) + pageOff, buf, bufOff, len);
    } else {
      machine.read((mfn << 12) + pageOff, buf, bufOff, len);
    }
    return GNTST_OKAY;
  }

  /**
   * The domain is destroyed (Xen's gnttab_release_mappings in domain_relinquish_resources):
   * its own mappings of others' grants go, but the mappings other domains hold of its frames
   * stay, as in Xen, where each holds a reference on the page: those frames stay the dying
   * domain's until the last mapping of each is unmapped ({@link
   * Directory#heldFrameReleased}). Returns the frames still held, empty when none.
   */
  public java.util.Set<Long> releaseForDestroy() {
    releaseOwnMappings();
    destroyed = true;
    return pinnedFrames();
  }

  private void releaseOwnMappings() {
    for (int h = 0; h < maptrack.size(); h++) {
      Mapping m = maptrack.get(h);
      if (m.gfn >= 0) {
        release(h, m);
      }
    }
  }
}
