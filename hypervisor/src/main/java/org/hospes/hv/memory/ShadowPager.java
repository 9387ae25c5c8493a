package org.hospes.hv.memory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.hospes.x86.MemoryBus;

/**
 * Shadow paging for one HVM domain without EPT: the page tables the processor really walks
 * (its CR3) are kept here, in machine frames the hypervisor owns (DOMID_XEN), and map
 * guest-linear addresses straight to machine addresses of the domain's own frames.
 *
 * <h2>Format</h2>
 * A shadow has the guest's paging format, as Xen's shadows for a PAE guest are PAE tables: a guest
 * with PAE paging runs on PAE shadows (real CR4.PAE set: a PDPT of four always-present entries,
 * four page directories and 512-entry page tables, 64-bit entries that carry the guest's
 * execute-disable bit, so that with EFER.NXE the processor enforces it), every other guest (paging
 * off, 2-level 4 KiB, PSE 4 MiB) on 2-level tables (real CR4.PAE clear). Real CR4.PSE and PGE are
 * always 0: guest large pages are split into 4 KiB shadow entries. Machine memory is below 4 GiB,
 * so a 32-bit shadow can name every machine frame.
 * With guest paging off the shadow is the identity map (linear = guest-physical) through the P2M;
 * a vCPU whose real mode runs in VM86 mode has an identity root of its own that also maps the
 * hypervisor's VM86 TSS above 1 MiB ({@link #setVm86}). There is no EPT in a shadow-paged domain.
 * Shadows are built lazily, one 4 KiB entry per hidden page fault, like a software TLB.
 *
 * <h2>Fill</h2>
 * On a #PF exit {@link #pageFault} walks the guest's tables exactly as the processor would (SDM
 * vol. 3, 4.3/4.4: permissions with CR0.WP, U/S, R/W, reserved bits, and the accessed and dirty
 * bits set only on a permitted access, the PDE's A bit even when the PTE is not present). A fault
 * of that walk is the guest's: its error code is returned for injection. Otherwise the shadow
 * entry is written with U/S and R/W from the guest, except that it is read-only while the guest
 * entry's D bit is clear (so the first write faults and sets D), and read-only while the target
 * frame is one of the guest's page-table pages. With guest CR0.WP=0 a supervisor write to a
 * read-only guest page gets a writable supervisor-only shadow entry (the real WP is always 1), so
 * later user accesses fault and are re-derived. A guest frame with no RAM behind it (a device's
 * registers, or nothing) is never mapped: the fault returns {@link #MMIO} and the access is
 * emulated (so no frame of anyone else is ever reached). A frame the P2M holds read-only takes
 * writes into a hypervisor-owned page of all ones, single-stepped and dropped.
 *
 * <h2>Keeping in sync: write protection</h2>
 * Every guest frame the fill walk read as a page directory or page table becomes "tracked": its
 * shadow mappings are made read-only everywhere and a snapshot of its 4 KiB is kept, with the
 * list of uses (shadow root, role, linear base) that derive shadow entries from it. A guest write
 * to a tracked page faults; when the guest itself permits the write the shadow entry is made
 * writable for one instruction ({@link #pageFault} returns {@link #STEP}: the caller sets the
 * monitor trap flag), then {@link #stepDone} re-protects it and diffs the page against its
 * snapshot: for each changed entry the shadow entries derived from it are dropped (one 4 KiB
 * entry for a PTE, a 4 MiB or 2 MiB range for a PDE) and the processor's TLB is flushed. A REP
 * string write that covers the page is handled the same way since the whole page is diffed. So
 * shadows never go stale; guest INVLPG and CR3 loads only flush, never resynchronize. PAE PDPTEs
 * are read at CR3 load (as the processor caches them), so PDPT pages need no tracking.
 *
 * <h2>Letting go</h2>
 * A tracked page stops being tracked, as Xen's shadow code stops shadowing a guest frame, when:
 * <ul>
 *   <li>nothing derives from it any more: it is written and none of its uses still holds
 *       ({@link #stillShadowed}; Xen's shadows are reference-counted, so the shadow of a table
 *       the guest unlinked is freed and the frame is an ordinary page again). Without this a
 *       freed table reused as a kernel stack traps every push until its old root goes;
 *   <li>Xen's early unshadow: two zero entries written in a row with no other page fault of
 *       the vCPU in between ({@link #earlyUnshadowCheck});
 *   <li>a user-mode write to it (Xen does not emulate those and unshadows instead).
 * </ul>
 * The last two drop what can be dropped; a root a vCPU runs on keeps its page directory tracked.
 *
 * <h2>Roots</h2>
 * One shadow root per guest CR3 and paging mode (CR0.PG/WP, CR4.PSE/PAE, EFER.NXE), cached
 * (least recently used first out, at most {@link #MAX_ROOTS}) and shared by every vCPU of the
 * domain; each vCPU ({@link #select}) has its own control registers, current root, pending
 * single-step and TLB. Tracking is kept across CR3 switches, so a cached root stays in sync
 * while it is not loaded, and a resynchronization flushes every vCPU's TLB. Global pages are
 * treated as non-global (stricter than the guest asked for).
 */
public final class ShadowPager {
  /** The processor's TLB, flushed when shadow entries lose rights or disappear. */
  public interface Tlb {
    void invalidatePage(int lin);

    void invalidateAll();
  }

  /** {@link #pageFault}: a hidden fault, fixed; resume the guest. */
  public static final int FIXED = -1;
  /** {@link #pageFault}: a permitted write to a tracked page; single-step, then {@link #stepDone}. */
  public static final int STEP = -2;
  /**
   * {@link #pageFault}: a permitted access to a guest-physical page with no RAM behind it (a
   * device's registers, or nothing): the shadow entry stays not-present and the access goes to
   * MMIO emulation at {@link #mmioAddress()}, with the rights {@link #mmioWritable()} and
   * {@link #mmioUser()} the guest's entries give.
   */
  public static final int MMIO = -3;

  public static final int MAX_ROOTS = 16;

  private static final int P = 1, RW = 2, US = 4, A = 32, D = 64, PS = 128;
  private static final int PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8, PF_ID = 16;
  private static final int CR0_PE = 1, CR0_WP = 1 << 16, CR0_PG = 1 << 31;
  private static final int CR4_PSE = 16, CR4_PAE = 32;
  private static final long PAE_RESERVED_HIGH = 0xFFFF_FFF0_0000_0000L;
  private static final long PAE_XD = 1L << 63;
  private static final long PAE_ADDR = 0x0000_000F_FFFF_F000L;

  private static final int PD32 = 0, PT32 = 1, PDPAE = 2, PTPAE = 3;

  /**
   * A shadow root: a page directory (2-level) or a PDPT with its four page directories (PAE),
   * and its lazily allocated page tables.
   */
  static final class Root {
    final long key;
    /** PAE format: 64-bit entries, {@link #pdMfn} is the PDPT and {@link #pd} its directories. */
    final boolean pae;
    /** The frame the real CR3 names: the page directory, or (PAE) the PDPT. */
    final long pdMfn;
    /** PAE: the page directory of each 1 GiB quarter (PDPTE k); empty for a 2-level root. */
    final long[] pd;
    /** The shadow page table of each 4 MiB (2-level) or 2 MiB (PAE) of linear space, or -1. */
    final long[] l1;
    /** The guest PDPTEs the root was built from (PAE). */
    final long[] pdptes = new long[4];
    /** The identity shadow of a vCPU in VM86 mode: the VM86 TSS is mapped above 1 MiB. */
    boolean vm86;
    boolean dead;

    Root(long key, boolean pae, long pdMfn, long[] pd) {
      this.key = key;
      this.pae = pae;
      this.pdMfn = pdMfn;
      this.pd = pd;
      this.l1 = new long[pae ? 2048 : 1024];
      java.util.Arrays.fill(l1, -1);
    }

    /** Index in {@link #l1} of the page table that maps {@code lin}. */
    int l1Index(int lin) {
      return pae ? lin >>> 21 : lin >>> 22;
    }

    /** Machine address of {@code lin}'s entry in page table {@code l1}. */
    long pteAddress(long l1, int lin) {
      return pae ? (l1 << 12) + ((lin >>> 12) & 0x1FF) * 8L
          : (l1 << 12) + ((lin >>> 12) & 0x3FF) * 4L;
    }
  }

  private record Use(Root root, int role, int linBase) {}

  /**
   * A guest page the fill walk read as a table: its snapshot, and the uses that derived shadow
   * entries from it. A use outlives its derivation (the guest rewrites the PDE that pointed at a
   * page table, or the PDPT that named a page directory, and later frees and reuses the frame):
   * {@link #stillShadowed} prunes such uses when the page is written, and a page left without
   * one is no longer a page table (Xen frees a shadow when its last reference goes, and the
   * guest frame stops being one; see "Letting go" in the class comment).
   */
  private static final class Tracked {
    final byte[] snapshot = new byte[4096];
    final Set<Use> uses = new HashSet<>();
  }

  private record Pending(Root root, int lin, long gfn) {}

  private final MemoryBus machine;
  private final P2m p2m;
  private final GuestMemory guest;
  private final FrameTable frames;
  /**
   * What each vCPU has of its own: the guest's control registers and PDPTEs as it loaded them,
   * the shadow root it runs on, its single-stepped table write, and its processor's TLB. Roots,
   * tracking and snapshots are the domain's, shared by every vCPU (as Xen shares shadows): two
   * vCPUs on the same guest CR3 walk the same shadow, and a guest table write drops the derived
   * entries for all of them, with every vCPU's TLB flushed.
   */
  private static final class Ctx {
    Tlb tlb = NO_TLB;
    int gCr0 = CR0_PE;
    int gCr3;
    int gCr4;
    /** Guest EFER.NXE: bit 63 of PAE PDEs/PTEs is XD, not reserved. */
    boolean gNxe;
    final long[] gPdpte = new long[4];
    int modeBits = -1;
    /** Real mode run in virtual-8086 mode: the identity shadow with the VM86 TSS mapped. */
    boolean vm86;
    Root current;
    final List<Pending> pending = new ArrayList<>();
    /**
     * The page table this vCPU's last stepped write wrote a zero entry to, or -1: Xen's
     * last_emulated_mfn_for_unshadow ({@link #earlyUnshadowCheck}). Any other page fault of
     * the vCPU resets it.
     */
    long lastZeroWrite = -1;
  }

  private static final Tlb NO_TLB = new Tlb() {
    @Override
    public void invalidatePage(int lin) {}

    @Override
    public void invalidateAll() {}
  };

  private final List<Ctx> contexts = new ArrayList<>();
  /** The frames of the VM86 TSS (see {@link #setVm86}), allocated when first needed. */
  private long[] vm86TssFrames;
  /** The vCPU being served ({@link #select}). */
  private Ctx c;

  private final LinkedHashMap<Long, Root> roots = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<Long, Tracked> tracked = new HashMap<>();
  private final List<Long> ownFrames = new ArrayList<>();
  private final long scratchMfn;
  private final byte[] ones = new byte[4096];

  /** Hidden faults (fixed here), faults the guest must see, and tracked page-table writes. */
  public long hiddenFaults;
  public long guestFaults;
  public long tableWrites;
  /**
   * Page tables unshadowed by Xen's heuristics: two zero entries written in a row (process
   * teardown), or a user-mode write ({@link #earlyUnshadowCheck}, {@link #unshadow}).
   */
  public long unshadowed;
  /**
   * Written frames that were no longer page tables: every use that had derived shadow entries
   * from them was gone (the guest had unlinked them), so they stopped being tracked.
   */
  public long released;
  /** Faults on pages with no RAM behind them, handed to MMIO emulation. */
  public long mmioFaults;

  // The MMIO access found by the last pageFault returning MMIO.
  private long mmioGpa = -1;
  private boolean mmioWritable;
  private boolean mmioUser;

  // Results of the last guest walk.
  private long wGpa;
  private int wCombined;
  private boolean wDirty;
  /** The walk's leaf was execute-disabled (PAE with EFER.NXE, XD in the PDE or the PTE). */
  private boolean wXd;
  private final long[] wTables = new long[2];
  private final int[] wRoles = new int[2];
  private final int[] wBases = new int[2];
  private int wTableCount;

  public ShadowPager(MemoryBus machine, P2m p2m, FrameTable frames) {
    select(0);
    this.machine = machine;
    this.p2m = p2m;
    this.guest = new GuestMemory(machine, p2m);
    this.frames = frames;
    java.util.Arrays.fill(ones, (byte) 0xFF);
    this.scratchMfn = allocFrame();
    machine.write(scratchMfn << 12, ones, 0, 4096);
  }

  /** A guest access the shadow pager cannot give any meaning to (page tables outside memory). */
  public static final class GuestError extends RuntimeException {
    GuestError(String message) {
      super(message, null, false, false);
    }
  }

  /** The TLB of the selected vCPU's processor. */
  public void setTlb(Tlb tlb) {
    c.tlb = tlb;
  }

  /**
   * Serves vCPU {@code id} from now on (its control registers, root and TLB); the hypervisor
   * selects the vCPU it runs or handles an exit of. A vCPU seen for the first time starts with
   * paging off. Returns true when that vCPU's root had been dropped (every shadow was, after a
   * P2M change) and a fresh one was installed: the caller reloads its processor's CR3.
   */
  public boolean select(int id) {
    while (contexts.size() <= id) {
      contexts.add(new Ctx());
    }
    c = contexts.get(id);
    if (c.current == null || c.current.dead) {
      if (c.modeBits < 0) {
        return false;
      }
      installRoot(c.gPdpte.clone());
      return true;
    }
    return false;
  }

  /** Flushes every vCPU's TLB: shadow entries some of them may cache lost rights or vanished. */
  private void flushAll() {
    for (Ctx x : contexts) {
      x.tlb.invalidateAll();
    }
  }

  public int guestCr0() {
    return c.gCr0;
  }

  public int guestCr3() {
    return c.gCr3;
  }

  public int guestCr4() {
    return c.gCr4;
  }

  /** The CR3 the processor must use: the current shadow page directory (PAE: its PDPT). */
  public int realCr3() {
    return (int) (c.current.pdMfn << 12);
  }

  /** Whether the current shadow is in PAE format: the processor runs it with CR4.PAE set. */
  public boolean realPae() {
    return c.current.pae;
  }

  /** Machine frames the shadows use now (the scratch page included). */
  public int shadowFrames() {
    return ownFrames.size();
  }

  public boolean stepping() {
    return !c.pending.isEmpty();
  }

  /** Number of guest frames write-protected as page tables. */
  public int trackedPages() {
    return tracked.size();
  }

  public boolean isTracked(long gfn) {
    return tracked.containsKey(gfn);
  }

  /**
   * The guest loads CR0, CR3 and CR4 (any of them). Returns false, changing nothing, when PAE
   * paging would start with PDPTEs that have reserved bits set (the caller raises #GP(0)).
   */
  public boolean setControl(int cr0, int cr3, int cr4) {
    boolean paging = (cr0 & CR0_PG) != 0;
    boolean pae = paging && (cr4 & CR4_PAE) != 0;
    long[] pdptes = new long[4];
    if (pae) {
      long base = cr3 & 0xFFFF_FFE0L;
      for (int k = 0; k < 4; k++) {
        long e = guest.read64(base + 8L * k);
        if ((e & P) != 0 && ((e & 0x1E6L) != 0 || (e & PAE_RESERVED_HIGH) != 0)) {
          return false;
        }
        pdptes[k] = e;
      }
    }
    int mode = (paging ? 1 : 0) | (pae ? 2 : 0) | ((cr4 & CR4_PSE) != 0 ? 4 : 0)
        | ((cr0 & CR0_WP) != 0 ? 8 : 0);
    // Roots are per paging mode (the mode is in the key), so a vCPU changing mode leaves the
    // others' shadows alone.
    c.modeBits = mode;
    c.gCr0 = cr0;
    c.gCr3 = cr3;
    c.gCr4 = cr4;
    installRoot(pdptes);
    return true;
  }

  /** Makes the root for the guest's CR0/CR3/CR4 (and {@code pdptes}) the current one. */
  private void installRoot(long[] pdptes) {
    boolean paging = (c.gCr0 & CR0_PG) != 0;
    boolean pae = paging && (c.gCr4 & CR4_PAE) != 0;
    int cr3 = c.gCr3;
    System.arraycopy(pdptes, 0, c.gPdpte, 0, 4);
    long base = !paging ? 0 : pae ? cr3 & 0xFFFF_FFE0L : cr3 & 0xFFFF_F000L;
    boolean vm86 = c.vm86 && !paging;
    long key = (long) (c.modeBits | (c.gNxe ? 16 : 0) | (vm86 ? 32 : 0)) << 40 | base;
    Root r = roots.get(key);
    if (r != null && pae && !java.util.Arrays.equals(r.pdptes, pdptes)) {
      // Same PDPT, new PDPTE contents: nothing derived from the old ones is valid (for any
      // vCPU on this root).
      for (int i = 0; i < r.l1.length; i++) {
        clearL1(r, i);
      }
      flushAll();
    }
    if (r == null) {
      if (roots.size() >= MAX_ROOTS) {
        Iterator<Root> it = roots.values().iterator();
        Root old = it.next();
        it.remove();
        freeRoot(old);
      }
      r = newRoot(key, pae);
      r.vm86 = vm86;
      roots.put(key, r);
    }
    System.arraycopy(pdptes, 0, r.pdptes, 0, 4);
    c.current = r;
    c.tlb.invalidateAll();
  }

  /** Guest INVLPG: drops the shadow entry of {@code lin} in the current root. */
  public void invlpg(int lin) {
    setShadowPte(c.current, lin, 0);
    c.tlb.invalidatePage(lin);
  }

  /**
   * Guest-linear to guest-physical through the guest's own tables, for the hypervisor's copies
   * to and from guest memory (Xen's paging_gva_to_gfn): the processor's CR3 holds the shadow,
   * whose walk gives machine addresses, and only for entries already filled. Sets the accessed
   * and dirty bits a permitted access sets; -1 when the guest's walk faults.
   */
  public long guestPhysical(int lin, boolean write, boolean user) {
    try {
      return guestWalk(lin, write, user, false) < 0 ? wGpa | (lin & 0xFFF) : -1;
    } catch (GuestError e) {
      return -1;
    }
  }

  /** Guest-physical address of the access of the last {@link #MMIO} result. */
  public long mmioAddress() {
    return mmioGpa;
  }

  /** Whether the guest's entries for the last {@link #MMIO} page permit writes now. */
  public boolean mmioWritable() {
    return mmioWritable;
  }

  /** Whether the guest's entries for the last {@link #MMIO} page permit user accesses. */
  public boolean mmioUser() {
    return mmioUser;
  }

  /**
   * The low 32 bits of the shadow entry for {@code lin} in the current root (0 if none): its
   * rights and frame, whatever the format. For tests and tracing.
   */
  public int shadowPte(int lin) {
    return (int) readShadowPte(c.current, lin);
  }

  /** The whole shadow entry for {@code lin} (a PAE entry's XD bit included); for tests. */
  public long shadowEntry(int lin) {
    return readShadowPte(c.current, lin);
  }

  /**
   * Handles a #PF the processor raised walking the shadow at {@code lin} with error code
   * {@code err} (W and U bits describe the access). Returns {@link #FIXED}, {@link #STEP}, or
   * the error code of a #PF the guest must see.
   */
  public int pageFault(int lin, int err) {
    if (c.current.vm86 && Integer.compareUnsigned(lin - VM86_TSS_LINEAR, VM86_TSS_PAGES << 12)
        < 0) {
      // The processor reads the VM86 TSS (I/O bitmap): the hypervisor's own frames,
      // supervisor-only, out of reach of 8086 addressing.
      int k = (lin - VM86_TSS_LINEAR) >>> 12;
      setShadowPte(c.current, lin, (vm86TssFrames[k] << 12) | P | RW);
      c.tlb.invalidatePage(lin);
      hiddenFaults++;
      return FIXED;
    }
    boolean write = (err & PF_W) != 0;
    boolean user = (err & PF_U) != 0;
    // The processor reports a fetch (I/D) only on a PAE shadow with EFER.NXE, which is exactly
    // when the guest's own paging would: the shadow has its format and the real EFER is its.
    boolean fetch = (err & PF_ID) != 0;
    int code = guestWalk(lin, write, user, fetch);
    if (code >= 0) {
      // A fault of another kind between two zero writes: not a teardown (Xen resets too).
      c.lastZeroWrite = -1;
      guestFaults++;
      return code;
    }
    hiddenFaults++;
    for (int k = 0; k < wTableCount; k++) {
      Tracked t = track(wTables[k]);
      t.uses.add(new Use(c.current, wRoles[k], wBases[k]));
    }
    long gfn = wGpa >>> 12;
    long mfn = p2m.lookup(gfn);
    boolean backed = mfn != P2m.INVALID;
    boolean wp = (c.gCr0 & CR0_WP) != 0 || (c.gCr0 & CR0_PG) == 0;
    int us = wCombined & US;
    boolean rw = (wCombined & RW) != 0;
    if (!wp && write && !user && !rw) {
      // CR0.WP=0: the supervisor may write a read-only page; keep user accesses out.
      rw = true;
      us = 0;
    }
    boolean writable = rw && wDirty;
    if (!backed) {
      // No RAM: a device's registers, or nothing (all ones, as on an unbacked bus). As Xen's
      // shadow code hands such a fault to its emulator, the access goes to MMIO emulation; no
      // shadow entry ever maps the page, so each access comes back to the hypervisor.
      setShadowPte(c.current, lin, 0);
      c.tlb.invalidatePage(lin);
      c.lastZeroWrite = -1;
      mmioGpa = wGpa | (lin & 0xFFF);
      mmioWritable = writable;
      mmioUser = us != 0;
      mmioFaults++;
      return MMIO;
    }
    // A frame the P2M holds read-only (a read-only grant mapping) takes no writes.
    boolean readOnlyFrame = !p2m.isWritable(gfn);
    long pte = (mfn << 12) | P | us | (wXd ? PAE_XD : 0);
    if (write && !readOnlyFrame) {
      Tracked t = tracked.get(gfn);
      if (t != null && !stillShadowed(gfn, t)) {
        // Nothing derives from it any more: a freed table reused as data (a kernel stack,
        // say), written like any other page from now on.
        tracked.remove(gfn);
        released++;
      } else if (t != null && user) {
        // Xen does not emulate user-mode writes to page tables: it takes them as a hint that
        // the page no longer is one and unshadows it (sh_page_fault). What a current root
        // still derives from it stays (see unshadow).
        unshadow(gfn, t);
      }
    }
    if (write && (readOnlyFrame || tracked.containsKey(gfn))) {
      // A permitted write to a guest page table (or to a read-only frame): one instruction
      // with the entry writable, then re-protect and resynchronize (or drop the write into the
      // all-ones page and refill it).
      tableWrites++;
      boolean dropWrite = readOnlyFrame;
      long stepPte = dropWrite ? (scratchMfn << 12) | P | us : pte;
      c.pending.add(new Pending(c.current, lin, dropWrite ? -1 : gfn));
      setShadowPte(c.current, lin, stepPte | RW);
      c.tlb.invalidatePage(lin);
      return STEP;
    }
    if (writable && !readOnlyFrame && !tracked.containsKey(gfn)) {
      pte |= RW;
    }
    setShadowPte(c.current, lin, pte);
    c.tlb.invalidatePage(lin);
    c.lastZeroWrite = -1;
    return FIXED;
  }

  /** The single-stepped instruction completed: re-protect, resynchronize, flush. */
  public void stepDone() {
    Set<Long> written = new HashSet<>();
    for (Pending p : c.pending) {
      if (p.root.dead) {
        continue;
      }
      long e = readShadowPte(p.root, p.lin);
      if (p.gfn < 0) {
        setShadowPte(p.root, p.lin, 0);
      } else if ((e & P) != 0 && (e & PAE_ADDR) >>> 12 == p2m.lookup(p.gfn)) {
        setShadowPte(p.root, p.lin, e & ~RW);
      }
      if (p.gfn >= 0) {
        written.add(p.gfn);
      }
    }
    if (c.pending.stream().anyMatch(p -> p.gfn < 0)) {
      machine.write(scratchMfn << 12, ones, 0, 4096);
    }
    List<Pending> done = List.copyOf(c.pending);
    c.pending.clear();
    for (long gfn : written) {
      resync(gfn);
    }
    for (Pending p : done) {
      if (p.gfn >= 0) {
        earlyUnshadowCheck(p.gfn, p.lin);
      }
    }
    flushAll();
  }

  /**
   * Xen's early unshadow (shadow/multi.c, check_for_early_unshadow, SHOPT_EARLY_UNSHADOW): two
   * emulated writes in a row of a zero entry (at least 4 bytes, aligned to the guest's entry
   * size) to the same page table, with no other page fault of the vCPU in between, look like a
   * process's tables being torn down, so the page is unshadowed rather than trapping every
   * entry. A zero written at an unaligned address neither counts nor resets (a REP MOVSD of
   * zeros over PAE entries), anything else resets. A domain that never made the "pagetable
   * dying" hypercall (an HVM guest that is not Xen-aware) unshadows tables of every level this
   * way. The written value is read back after the step: the step's width is not known here, so
   * a 1- or 2-byte zero written into a zero word also counts.
   */
  private void earlyUnshadowCheck(long gfn, int lin) {
    int size = (c.gCr4 & CR4_PAE) != 0 ? 8 : 4;
    if (guest.read32((gfn << 12) | (lin & 0xFFF)) != 0) {
      c.lastZeroWrite = -1;
      return;
    }
    if ((lin & (size - 1)) != 0) {
      return;
    }
    Tracked t = tracked.get(gfn);
    if (c.lastZeroWrite == gfn && t != null) {
      unshadow(gfn, t);
    }
    c.lastZeroWrite = gfn;
  }

  /**
   * Linear address of the TSS a vCPU runs real mode under in VM86 mode: the first page above
   * the highest address 8086 addressing reaches (0xFFFF:0xFFFF = 0x10FFEF), so the guest can
   * neither see nor change it.
   */
  public static final int VM86_TSS_LINEAR = 0x0011_0000;
  /**
   * The VM86 TSS: the 104-byte 32-bit TSS, the 32-byte interrupt redirection bitmap below the
   * I/O permission bitmap (unused: CR4.VME is clear), an I/O bitmap of 8192 zero bytes (every
   * port allowed, so IN/OUT reach the processor's I/O exit) and its terminating 0xFF byte.
   */
  public static final int VM86_TSS_IOMAP = 0x68 + 32;
  public static final int VM86_TSS_LIMIT = VM86_TSS_IOMAP + 8192;
  private static final int VM86_TSS_PAGES = (VM86_TSS_LIMIT >>> 12) + 1;

  /**
   * Runs the selected vCPU's real mode in VM86 mode ({@code on}) or not: with guest paging off,
   * its shadow is the identity map either way, in VM86 mode one that also maps the TSS at
   * {@link #VM86_TSS_LINEAR} (a root of its own, so that an emulated real-mode or protected-mode
   * access to that address still reaches the guest's memory).
   */
  public void setVm86(boolean on) {
    if (on && vm86TssFrames == null) {
      vm86TssFrames = new long[VM86_TSS_PAGES];
      byte[] tss = new byte[VM86_TSS_PAGES << 12];
      // I/O map base (offset 0x66); the redirection bitmap and the I/O bitmap stay zero.
      tss[0x66] = (byte) VM86_TSS_IOMAP;
      tss[0x67] = (byte) (VM86_TSS_IOMAP >>> 8);
      tss[VM86_TSS_LIMIT] = (byte) 0xFF;
      for (int k = 0; k < VM86_TSS_PAGES; k++) {
        vm86TssFrames[k] = allocFrame();
        machine.write(vm86TssFrames[k] << 12, tss, k << 12, 4096);
      }
    }
    if (c.vm86 == on) {
      return;
    }
    c.vm86 = on;
    if (c.modeBits >= 0) {
      installRoot(c.gPdpte.clone());
    }
  }

  /** True when the selected vCPU's real mode runs in VM86 mode ({@link #setVm86}). */
  public boolean vm86() {
    return c.vm86;
  }

  /** Gives every shadow frame back to the frame table (the domain is gone). */
  public void destroy() {
    for (long mfn : ownFrames) {
      frames.free(mfn);
    }
    ownFrames.clear();
    roots.clear();
    tracked.clear();
  }

  /**
   * The guest's EFER.NXE, which decides whether bit 63 of its PAE entries is XD (carried into
   * the PAE shadows, which the processor then enforces under the same EFER) or reserved. A
   * change moves the vCPU to the root of the other rule (NXE is in a root's key). Returns true
   * when it changed: the caller reloads the processor's CR3.
   */
  public boolean setNxe(boolean nxe) {
    if (nxe == c.gNxe) {
      return false;
    }
    c.gNxe = nxe;
    // Shadows derived under the other reserved-bit rule are another root (NXE is in the key).
    if (c.current != null) {
      installRoot(c.gPdpte.clone());
    }
    return true;
  }

  /**
   * Drops every shadow and gives the current guest paging state a fresh root, with the PDPTEs
   * the processor loaded (a later write to the guest's PDPT does not change them, as on
   * hardware). The caller reloads the processor's CR3 ({@link #realCr3()}): the old root's
   * frame is free.
   */
  private void rebuild() {
    if (c.current == null) {
      return;
    }
    long[] pdptes = c.gPdpte.clone();
    resetAll();
    installRoot(pdptes);
  }

  // ------------------------------------------------------------------ the guest walk

  /** Walks the guest tables for {@code lin}; returns -1 (results in w*) or a #PF error code. */
  private int guestWalk(int lin, boolean write, boolean user, boolean fetch) {
    wTableCount = 0;
    wXd = false;
    int accessBits = (write ? PF_W : 0) | (user ? PF_U : 0);
    if ((c.gCr0 & CR0_PG) == 0) {
      wGpa = lin & 0xFFFF_F000L;
      wCombined = US | RW;
      wDirty = true;
      return -1;
    }
    if ((c.gCr4 & CR4_PAE) != 0) {
      // I/D, as the processor sets it: a fetch, with execute-disable in force.
      return walkPae(lin, write, user, fetch && c.gNxe, accessBits | (fetch && c.gNxe ? PF_ID : 0));
    }
    long pdBase = c.gCr3 & 0xFFFF_F000L;
    long pdeAddr = pdBase | ((lin >>> 22) << 2);
    int pde = readTable32(pdeAddr);
    addTable(pdBase >>> 12, PD32, 0);
    if ((pde & P) == 0) {
      return accessBits;
    }
    if ((pde & PS) != 0 && (c.gCr4 & CR4_PSE) != 0) {
      if (denied(write, user, pde)) {
        return accessBits | PF_P;
      }
      int upd = pde | A | (write ? D : 0);
      if (upd != pde) {
        writeGuest32(pdeAddr, upd);
      }
      wDirty = (upd & D) != 0;
      wCombined = pde;
      // PSE-36 is not modelled: bits 21:13 are not address bits here (as in the processor).
      wGpa = (pde & 0xFFC0_0000L) | (lin & 0x3F_F000);
      return -1;
    }
    if ((pde & A) == 0) {
      writeGuest32(pdeAddr, pde | A);
    }
    long ptBase = pde & 0xFFFF_F000L;
    long pteAddr = ptBase | (((lin >>> 12) & 0x3FF) << 2);
    int pte = readTable32(pteAddr);
    addTable(ptBase >>> 12, PT32, lin & 0xFFC0_0000);
    if ((pte & P) == 0) {
      return accessBits;
    }
    int combined = pde & pte;
    if (denied(write, user, combined)) {
      return accessBits | PF_P;
    }
    int upd = pte | A | (write ? D : 0);
    if (upd != pte) {
      writeGuest32(pteAddr, upd);
    }
    wDirty = (upd & D) != 0;
    wCombined = combined;
    wGpa = pte & 0xFFFF_F000L;
    return -1;
  }

  private int walkPae(int lin, boolean write, boolean user, boolean fetch, int accessBits) {
    long reserved = c.gNxe ? PAE_RESERVED_HIGH & ~PAE_XD : PAE_RESERVED_HIGH;
    long pdpte = c.gPdpte[lin >>> 30];
    if ((pdpte & P) == 0) {
      return accessBits;
    }
    long pdBase = pdpte & PAE_ADDR;
    long pdeAddr = pdBase | (((lin >>> 21) & 0x1FF) << 3);
    long pde = readTable64(pdeAddr);
    addTable(pdBase >>> 12, PDPAE, lin & 0xC000_0000);
    if ((pde & P) == 0) {
      return accessBits;
    }
    if ((pde & reserved) != 0) {
      return accessBits | PF_P | PF_RSVD;
    }
    if ((pde & PS) != 0) {
      if ((pde & 0x1F_E000L) != 0) {
        return accessBits | PF_P | PF_RSVD;
      }
      if (denied(write, user, (int) pde) || fetch && (pde & PAE_XD) != 0) {
        return accessBits | PF_P;
      }
      long upd = pde | A | (write ? D : 0);
      if (upd != pde) {
        writeGuest32(pdeAddr, (int) upd);
      }
      wDirty = (upd & D) != 0;
      wCombined = (int) pde;
      wXd = (pde & PAE_XD) != 0;
      wGpa = (pde & 0xF_FFE0_0000L) | (lin & 0x1F_F000);
      return -1;
    }
    if ((pde & A) == 0) {
      writeGuest32(pdeAddr, (int) (pde | A));
    }
    long ptBase = pde & PAE_ADDR;
    long pteAddr = ptBase | (((lin >>> 12) & 0x1FF) << 3);
    long pte = readTable64(pteAddr);
    addTable(ptBase >>> 12, PTPAE, lin & 0xFFE0_0000);
    if ((pte & P) == 0) {
      return accessBits;
    }
    if ((pte & reserved) != 0) {
      return accessBits | PF_P | PF_RSVD;
    }
    int combined = (int) (pde & pte);
    if (denied(write, user, combined) || fetch && ((pde | pte) & PAE_XD) != 0) {
      return accessBits | PF_P;
    }
    long upd = pte | A | (write ? D : 0);
    if (upd != pte) {
      writeGuest32(pteAddr, (int) upd);
    }
    wDirty = (upd & D) != 0;
    wCombined = combined;
    wXd = ((pde | pte) & PAE_XD) != 0;
    wGpa = pte & PAE_ADDR;
    return -1;
  }

  private boolean denied(boolean write, boolean user, int combined) {
    if (user && (combined & US) == 0) {
      return true;
    }
    return write && (combined & RW) == 0 && (user || (c.gCr0 & CR0_WP) != 0);
  }

  private void addTable(long gfn, int role, int base) {
    wTables[wTableCount] = gfn;
    wRoles[wTableCount] = role;
    wBases[wTableCount] = base;
    wTableCount++;
  }

  private int readTable32(long gpa) {
    if (guest.machineAddress(gpa) < 0) {
      throw new GuestError(String.format("guest page table at gpa 0x%x is outside its memory",
          gpa));
    }
    return guest.read32(gpa);
  }

  private long readTable64(long gpa) {
    if (guest.machineAddress(gpa) < 0) {
      throw new GuestError(String.format("guest page table at gpa 0x%x is outside its memory",
          gpa));
    }
    return guest.read64(gpa);
  }

  /** An A/D update by the walker: the snapshot follows, it is not a change to resync. */
  private void writeGuest32(long gpa, int value) {
    guest.write32(gpa, value);
    Tracked t = tracked.get(gpa >>> 12);
    if (t != null) {
      int off = (int) (gpa & 0xFFF);
      for (int k = 0; k < 4; k++) {
        t.snapshot[off + k] = (byte) (value >>> (8 * k));
      }
    }
  }

  // ------------------------------------------------------------------ tracking and resync

  private Tracked track(long gfn) {
    Tracked t = tracked.get(gfn);
    if (t != null) {
      return t;
    }
    t = new Tracked();
    guest.read(gfn << 12, t.snapshot, 0, 4096);
    tracked.put(gfn, t);
    long mfn = p2m.lookup(gfn);
    boolean changed = false;
    for (Root r : roots.values()) {
      int entry = r.pae ? 8 : 4;
      for (int i = 0; i < r.l1.length; i++) {
        if (r.l1[i] < 0) {
          continue;
        }
        long base = r.l1[i] << 12;
        for (int j = 0; j < 4096; j += entry) {
          // The low word of either format holds the rights and the frame (below 4 GiB).
          int e = machine.read32(base + j);
          if ((e & (P | RW)) == (P | RW) && (e >>> 12) == mfn) {
            machine.write32(base + j, e & ~RW);
            changed = true;
          }
        }
      }
    }
    if (changed) {
      flushAll();
    }
    return t;
  }

  /**
   * Unshadows a page table as Xen's fast sh_remove_shadows does: the shadow entries derived
   * from it as a leaf table are dropped, and a cached root using it as a page directory is
   * thrown away (Xen unpins the top-level shadow, which goes with its last reference). A root
   * some vCPU runs on cannot go, so the page stays tracked for it (the fast removal "can fail").
   */
  private void unshadow(long gfn, Tracked t) {
    for (Use u : List.copyOf(t.uses)) {
      if (u.root.dead) {
        continue;
      }
      if (u.role == PT32 || u.role == PTPAE) {
        clearRange(u.root, u.linBase, u.role == PT32 ? 1024 : 512);
      } else if (!running(u.root)) {
        evict(u.root);
      }
    }
    t.uses.removeIf(u -> u.root.dead || u.role == PT32 || u.role == PTPAE);
    if (t.uses.isEmpty()) {
      tracked.remove(gfn);
    }
    unshadowed++;
    flushAll();
  }

  /**
   * Whether any shadow entry still derives from tracked page {@code gfn}; uses whose
   * derivation is gone are dropped on the way. A use is gone when its root is, when the guest
   * entry it was reached through no longer names the page (for a leaf table: the PDE as last
   * resynchronized, i.e. the directory's snapshot; for a PAE page directory: the PDPTE the
   * root loaded), or when its root can never be loaded again: a PAE root no vCPU runs on
   * whose PDPT in guest memory no longer holds the PDPTEs it was built from (a CR3 load would
   * find them changed and rebuild it anyway), as when Linux frees an exited process's PDPT
   * and page directories. This is Xen's reference counting of shadows: a shadow table lives
   * while a higher-level shadow (or a vCPU) refers to it, and with the last one it goes and
   * the guest frame stops being a page table.
   */
  private boolean stillShadowed(long gfn, Tracked t) {
    t.uses.removeIf(u -> !derives(gfn, u));
    return !t.uses.isEmpty();
  }

  private boolean derives(long gfn, Use u) {
    Root r = u.root;
    if (!reachable(r)) {
      return false;
    }
    long base = r.key & 0xFF_FFFF_FFFFL;
    int mode = (int) (r.key >>> 40);
    switch (u.role) {
      case PD32:
        return true;
      case PDPAE: {
        long pdpte = r.pdptes[u.linBase >>> 30];
        return (pdpte & P) != 0 && (pdpte & PAE_ADDR) >>> 12 == gfn;
      }
      case PT32: {
        Tracked pd = tracked.get(base >>> 12);
        if (pd == null) {
          return false;
        }
        int pde = le32(pd.snapshot, (u.linBase >>> 22) << 2);
        boolean large = (pde & PS) != 0 && (mode & 4) != 0;
        return (pde & P) != 0 && !large && (pde >>> 12) == gfn;
      }
      case PTPAE: {
        long pdpte = r.pdptes[u.linBase >>> 30];
        Tracked pd = (pdpte & P) == 0 ? null : tracked.get((pdpte & PAE_ADDR) >>> 12);
        if (pd == null) {
          return false;
        }
        int off = ((u.linBase >>> 21) & 0x1FF) << 3;
        long pde = le32(pd.snapshot, off) & 0xFFFF_FFFFL
            | (long) le32(pd.snapshot, off + 4) << 32;
        return (pde & P) != 0 && (pde & PS) == 0 && (pde & PAE_ADDR) >>> 12 == gfn;
      }
      default:
        throw new AssertionError();
    }
  }

  private static int le32(byte[] b, int off) {
    return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8 | (b[off + 2] & 0xFF) << 16
        | (b[off + 3] & 0xFF) << 24;
  }

  /** True when some vCPU runs on {@code r}. */
  private boolean running(Root r) {
    for (Ctx x : contexts) {
      if (x.current == r) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether root {@code r} can still be used: it is alive and either a vCPU runs on it or, for
   * PAE, the guest's PDPT still holds the PDPTEs it was built from. A PAE root that fails the
   * second test is thrown away here.
   */
  private boolean reachable(Root r) {
    if (r.dead) {
      return false;
    }
    if (((r.key >>> 40) & 2) == 0 || running(r)) {
      return true;
    }
    long base = r.key & 0xFF_FFFF_FFFFL;
    for (int k = 0; k < 4; k++) {
      if (guest.read64(base + 8L * k) != r.pdptes[k]) {
        evict(r);
        return false;
      }
    }
    return true;
  }

  /** Drops a cached root no vCPU runs on. */
  private void evict(Root r) {
    roots.remove(r.key);
    freeRoot(r);
  }

  private void resync(long gfn) {
    Tracked t = tracked.get(gfn);
    if (t == null) {
      return;
    }
    byte[] now = new byte[4096];
    guest.read(gfn << 12, now, 0, 4096);
    for (Use u : t.uses) {
      if (u.root.dead) {
        continue;
      }
      int size = u.role == PD32 || u.role == PT32 ? 4 : 8;
      for (int off = 0; off < 4096; off += size) {
        if (java.util.Arrays.equals(now, off, off + size, t.snapshot, off, off + size)) {
          continue;
        }
        int j = off / size;
        switch (u.role) {
          case PD32 -> clearL1(u.root, j);
          case PDPAE -> clearRange(u.root, u.linBase + (j << 21), 512);
          case PT32, PTPAE -> setShadowPte(u.root, u.linBase + (j << 12), 0);
          default -> throw new AssertionError();
        }
      }
    }
    t.uses.removeIf(u -> u.root.dead);
    System.arraycopy(now, 0, t.snapshot, 0, 4096);
  }

  // ------------------------------------------------------------------ shadow tables

  private long readShadowPte(Root r, int lin) {
    long l1 = r.l1[r.l1Index(lin)];
    if (l1 < 0) {
      return 0;
    }
    long a = r.pteAddress(l1, lin);
    return r.pae ? read64(a) : machine.read32(a) & 0xFFFF_FFFFL;
  }

  private void setShadowPte(Root r, int lin, long pte) {
    int i = r.l1Index(lin);
    if (r.l1[i] < 0) {
      if (pte == 0) {
        return;
      }
      r.l1[i] = allocFrame();
      // The PDE grants everything (and is never execute-disabled): rights are decided by the
      // PTE alone.
      long pde = (r.l1[i] << 12) | P | RW | US;
      if (r.pae) {
        write64((r.pd[lin >>> 30] << 12) + ((lin >>> 21) & 0x1FF) * 8L, pde);
      } else {
        machine.write32((r.pdMfn << 12) + 4L * i, (int) pde);
      }
    }
    long a = r.pteAddress(r.l1[i], lin);
    if (r.pae) {
      write64(a, pte);
    } else {
      machine.write32(a, (int) pte);
    }
  }

  /** Empties page table {@code i} of {@code r} (a 4 MiB or, PAE, a 2 MiB range). */
  private void clearL1(Root r, int i) {
    if (r.l1[i] >= 0) {
      clearRange(r, r.pae ? i << 21 : i << 22, r.pae ? 512 : 1024);
    }
  }

  /** Drops {@code pages} entries from {@code lin} on, all within one shadow page table. */
  private void clearRange(Root r, int lin, int pages) {
    long l1 = r.l1[r.l1Index(lin)];
    if (l1 < 0) {
      return;
    }
    int bytes = pages * (r.pae ? 8 : 4);
    machine.write(r.pteAddress(l1, lin), new byte[bytes], 0, bytes);
  }

  /**
   * A fresh root for {@code key}: a page directory, or (PAE) a PDPT whose four entries name
   * four page directories. The PDPTEs stay present for the root's life, so the ones the
   * processor loads at CR3 never go stale; a PAE PDPTE has only P (R/W and U/S are reserved).
   */
  private Root newRoot(long key, boolean pae) {
    long top = allocFrame();
    long[] pd = new long[pae ? 4 : 0];
    for (int k = 0; k < pd.length; k++) {
      pd[k] = allocFrame();
      write64((top << 12) + 8L * k, (pd[k] << 12) | P);
    }
    return new Root(key, pae, top, pd);
  }

  private long read64(long ma) {
    return machine.read32(ma) & 0xFFFF_FFFFL | (long) machine.read32(ma + 4) << 32;
  }

  private void write64(long ma, long v) {
    machine.write32(ma, (int) v);
    machine.write32(ma + 4, (int) (v >>> 32));
  }

  /**
   * The domain's P2M changed (ballooning, grant or shared_info mappings): every shadow entry
   * may name a machine frame the guest no longer owns, so all are dropped and the current guest
   * paging state gets a fresh root.
   */
  public void p2mChanged() {
    rebuild();
  }

  private void resetAll() {
    for (Root r : roots.values()) {
      freeRoot(r);
    }
    roots.clear();
    tracked.clear();
    for (Ctx x : contexts) {
      x.pending.clear();
      x.current = null;
    }
    flushAll();
  }

  private void freeRoot(Root r) {
    r.dead = true;
    freeFrame(r.pdMfn);
    for (long pd : r.pd) {
      freeFrame(pd);
    }
    for (long l1 : r.l1) {
      if (l1 >= 0) {
        freeFrame(l1);
      }
    }
  }

  /**
   * A zeroed frame for the shadows. With none left on the machine, {@link OutOfMachineMemory}:
   * the domain is crashed (Xen's shadow code, failing to allocate or pre-allocate a shadow,
   * calls domain_crash). Nothing of the domain's runs on these shadows again, and a frame is
   * in {@link #ownFrames} from its allocation on, so {@link #destroy} gives back every one.
   */
  private long allocFrame() {
    long mfn = frames.allocate(FrameTable.DOMID_XEN);
    if (mfn < 0) {
      throw new OutOfMachineMemory("out of machine memory for shadow page tables (the"
          + " shadow pager could not allocate a frame; Xen's domain_crash)");
    }
    machine.write(mfn << 12, new byte[4096], 0, 4096);
    ownFrames.add(mfn);
    return mfn;
  }

  private void freeFrame(long mfn) {
    ownFrames.remove(mfn);
    frames.free(mfn);
  }
}
