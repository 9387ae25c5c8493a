package org.hospes.hv.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The shadow pager on small hand-built guest page tables. The test plays the processor: it walks
 * the shadow (the real CR3) and on a missing or insufficient entry calls {@link
 * ShadowPager#pageFault} with the error code the hardware would give, then retries; a STEP
 * answer is followed by the write through the now writable shadow entry and {@link
 * ShadowPager#stepDone}, as the monitor trap flag does.
 */
class ShadowPagerTest {
  private static final int P = 1, RW = 2, US = 4, A = 32, D = 64, PS = 128;
  private static final int PE = 1, WP = 1 << 16, PG = 1 << 31;
  private static final int PSE = 16, PAE = 32;
  private static final int DOM = 1, OTHER = 2;
  private static final long XD = 1L << 63;
  private static final int PF_ID = 16;

  private MemoryBus machine;
  private FrameTable frames;
  private P2m p2m;
  private GuestMemory guest;
  private ShadowPager sp;
  private final List<String> flushes = new ArrayList<>();
  private long otherMfn;
  /** The guest's (and so the real) EFER.NXE. */
  private boolean nxe;

  @BeforeEach
  void setUp() {
    machine = new MemoryBus(8 << 20);
    frames = new FrameTable(8 << 20, 1 << 20);
    p2m = new P2m(256);
    for (int gfn = 0; gfn < 256; gfn++) {
      p2m.set(gfn, frames.allocate(DOM));
    }
    guest = new GuestMemory(machine, p2m);
    // Another domain's frame, full of its marker bytes.
    otherMfn = frames.allocate(OTHER);
    for (int k = 0; k < 4096; k += 4) {
      machine.write32((otherMfn << 12) + k, 0x5EC2E7);
    }
    sp = new ShadowPager(machine, p2m, frames);
    sp.setTlb(new ShadowPager.Tlb() {
      @Override
      public void invalidatePage(int lin) {
        flushes.add(Integer.toHexString(lin));
      }

      @Override
      public void invalidateAll() {
        flushes.add("all");
      }
    });
  }

  // ------------------------------------------------------------------ the "processor"

  /**
   * Result of an access: the machine address, or the #PF error code the guest got, or (pfCode
   * MMIO) the guest-physical address of an access with no RAM behind it.
   */
  private record Access(long ma, int pfCode) {
    boolean faulted() {
      return pfCode >= 0;
    }

    boolean mmio() {
      return pfCode == ShadowPager.MMIO;
    }
  }

  /** MMIO accesses the "processor" made, as "R gpa" or "W gpa=value" (no device answers). */
  private final List<String> mmio = new ArrayList<>();

  private Access access(int lin, boolean write, boolean user) {
    return access(lin, write, user, false);
  }

  /**
   * One access, as the processor makes it on the shadow: 2-level, or PAE when the shadow is
   * (with the guest's EFER.NXE, as the real EFER is the guest's: XD enforced, I/D reported).
   */
  private Access access(int lin, boolean write, boolean user, boolean fetch) {
    for (int tries = 0; tries < 4; tries++) {
      long pde;
      long pte;
      if (sp.realPae()) {
        long pdpte = read64((sp.realCr3() & 0xFFFF_FFE0L) + 8L * (lin >>> 30));
        assertThat(pdpte & ~0xFFFF_F000L).as("a shadow PDPTE is P alone").isEqualTo(P);
        pde = read64((pdpte & 0xFFFF_F000L) + 8L * ((lin >>> 21) & 0x1FF));
        pte = (pde & P) == 0 ? 0 : read64((pde & 0xFFFF_F000L) + 8L * ((lin >>> 12) & 0x1FF));
      } else {
        pde = machine.read32((sp.realCr3() & 0xFFFF_F000L) + 4L * (lin >>> 22));
        pte = (pde & P) == 0 ? 0
            : machine.read32((pde & 0xFFFF_F000L) + 4L * ((lin >>> 12) & 0x3FF));
      }
      assertThat(pde & XD).as("a shadow PDE is never execute-disabled").isZero();
      long rights = pde & pte;
      boolean ok = (pte & P) != 0 && (!user || (rights & US) != 0)
          && (!write || (rights & RW) != 0) && (!fetch || !nxe || (pte & XD) == 0);
      if (ok) {
        return new Access((pte & 0xFFFF_F000L) | (lin & 0xFFF), -1);
      }
      int err = ((pte & P) != 0 ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0)
          | (fetch && nxe && sp.realPae() ? 16 : 0);
      int r = sp.pageFault(lin, err);
      if (r >= 0) {
        return new Access(-1, r);
      }
      if (r == ShadowPager.MMIO) {
        assertThat(sp.shadowPte(lin) & P).as("an MMIO page has no shadow entry").isZero();
        return new Access(sp.mmioAddress(), ShadowPager.MMIO);
      }
      if (r == ShadowPager.STEP) {
        assertThat(write).isTrue();
        int e = sp.shadowPte(lin);
        assertThat(e & (P | RW)).isEqualTo(P | RW);
        return new Access((e & 0xFFFF_F000L) | (lin & 0xFFF), -2);
      }
    }
    throw new AssertionError("no progress at " + Integer.toHexString(lin));
  }

  private int read(int lin) {
    Access a = access(lin, false, false);
    assertThat(a.faulted()).as("read fault at %x", lin).isFalse();
    if (a.mmio()) {
      // Nothing claims it: all ones, as the hypervisor answers an unclaimed MMIO read.
      mmio.add(String.format("R %x", a.ma()));
      return -1;
    }
    return machine.read32(a.ma());
  }

  private void write(int lin, int value) {
    Access a = access(lin, true, false);
    assertThat(a.faulted()).as("write fault at %x", lin).isFalse();
    if (a.mmio()) {
      mmio.add(String.format("W %x=%x", a.ma(), value));
      return;
    }
    machine.write32(a.ma(), value);
    if (a.pfCode() == -2) {
      sp.stepDone();
    }
  }

  private long read64(long ma) {
    return machine.read32(ma) & 0xFFFF_FFFFL | (long) machine.read32(ma + 4) << 32;
  }

  private long machineOf(long gpa) {
    return p2m.machineAddress(gpa);
  }

  // ------------------------------------------------------------------ 2-level tables

  /**
   * PD at 0x1000; PT0 at 0x3000 identity-maps 0..64 KiB (so the tables are reachable); PT1 at
   * 0x2000 maps 0x400000 to gpa 0x5000 and 0x401000 read-only to 0x6000.
   */
  private void twoLevel() {
    guest.write32(0x1000, 0x3000 | P | RW | US);
    guest.write32(0x1004, 0x2000 | P | RW | US);
    for (int k = 0; k < 16; k++) {
      guest.write32(0x3000 + 4 * k, (k << 12) | P | RW | US);
    }
    guest.write32(0x2000, 0x5000 | P | RW | US);
    guest.write32(0x2004, 0x6000 | P | US);
    guest.write32(0x5010, 0x1234_5678);
    assertThat(sp.setControl(PE | PG | WP, 0x1000, 0)).isTrue();
  }

  @Test
  void aTableWriteByOneVcpuDropsWhatAnotherVcpuDerivedAndFlushesItsTlb() {
    twoLevel();
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    int rootOf0 = sp.realCr3();
    // vCPU 1: its own TLB, the same guest CR3, so the same (shared) shadow root.
    List<String> flushes1 = new ArrayList<>();
    sp.select(1);
    sp.setTlb(new ShadowPager.Tlb() {
      @Override
      public void invalidatePage(int lin) {
        flushes1.add(Integer.toHexString(lin));
      }

      @Override
      public void invalidateAll() {
        flushes1.add("all");
      }
    });
    assertThat(sp.setControl(PE | PG | WP, 0x1000, 0)).isTrue();
    assertThat(sp.realCr3()).as("shared root").isEqualTo(rootOf0);
    assertThat(sp.shadowPte(0x400010) & 0xFFFF_F000L).isEqualTo(machineOf(0x5000));
    guest.write32(0x7010, 0x7777);
    flushes.clear();
    flushes1.clear();
    // vCPU 1 rewrites the PTE (PT1 at gpa 0x2000, identity-mapped at 0x2000).
    write(0x2000, 0x7000 | P | RW | US);
    sp.select(0);
    assertThat(sp.shadowPte(0x400010)).as("dropped for vCPU 0 too").isZero();
    assertThat(flushes).as("vCPU 0's TLB").contains("all");
    assertThat(flushes1).as("vCPU 1's TLB").contains("all");
    assertThat(read(0x400010)).isEqualTo(0x7777);
    // vCPU 1 switches to paging off: vCPU 0 keeps its paging state and root.
    sp.select(1);
    assertThat(sp.setControl(PE, 0, 0)).isTrue();
    sp.select(0);
    assertThat(sp.guestCr3()).isEqualTo(0x1000);
    assertThat(sp.realCr3()).isEqualTo(rootOf0);
    assertThat(read(0x400010)).isEqualTo(0x7777);
  }

  @Test
  void turningOnNxeWithPagingOnDropsTheShadowsButKeepsACurrentRoot() {
    // Linux sets EFER.NXE after it has enabled paging; the next #PF used to find no root.
    twoLevel();
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    assertThat(sp.setNxe(true)).isTrue();
    assertThat(sp.setNxe(true)).as("no change").isFalse();
    assertThat(sp.shadowPte(0x400010)).as("dropped").isZero();
    assertThat(frames.owner(sp.realCr3() >>> 12)).as("a live shadow root")
        .isEqualTo(FrameTable.DOMID_XEN);
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    assertThat(sp.shadowPte(0x400010) & 0xFFFF_F000L).isEqualTo(machineOf(0x5000));
  }

  @Test
  void aP2mChangeRebuildsFromTheLoadedPdptesNotFromMemory() {
    guest.write64(0x1000, 0x2000 | P);
    guest.write64(0x2000, 0x3000 | P | RW | US);
    guest.write64(0x3000, 0x5000 | P | RW | US);
    guest.write32(0x5010, 0x1234_5678);
    assertThat(sp.setControl(PE | PG, 0x1000, PAE)).isTrue();
    assertThat(read(0x10)).isEqualTo(0x1234_5678);
    // The guest scribbles reserved bits into its PDPT: the processor keeps what it loaded.
    guest.write64(0x1000, 0x2000 | P | 0x100);
    sp.p2mChanged();
    assertThat(read(0x10)).isEqualTo(0x1234_5678);
  }

  @Test
  void fillsLazilyAndSetsAccessedThenDirtyAsHardwareDoes() {
    twoLevel();
    assertThat(sp.shadowPte(0x400010)).isZero();
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    assertThat(guest.read32(0x2000) & (A | D)).as("PTE after a read").isEqualTo(A);
    assertThat(guest.read32(0x1004) & A).as("PDE").isEqualTo(A);
    int e = sp.shadowPte(0x400010);
    assertThat(e & 0xFFFF_F000L).isEqualTo(machineOf(0x5000));
    assertThat(e & RW).as("read-only until the guest's D is set").isZero();
    write(0x400020, 7);
    assertThat(guest.read32(0x2000) & (A | D)).as("PTE after a write").isEqualTo(A | D);
    assertThat(sp.shadowPte(0x400010) & RW).isEqualTo(RW);
    assertThat(guest.read32(0x5020)).isEqualTo(7);
    assertThat(sp.hiddenFaults).isEqualTo(2);
    assertThat(sp.guestFaults).isZero();
  }

  @Test
  void hypercallCopiesTranslateThroughTheGuestsTablesNotTheShadow() {
    twoLevel();
    // Nothing filled yet: the shadow knows nothing, the guest's tables do.
    assertThat(sp.guestPhysical(0x400010, false, false)).isEqualTo(0x5010);
    assertThat(sp.shadowPte(0x400010)).as("a translation fills no shadow entry").isZero();
    assertThat(guest.read32(0x2000) & (A | D)).isEqualTo(A);
    assertThat(sp.guestPhysical(0x400020, true, false)).isEqualTo(0x5020);
    assertThat(guest.read32(0x2000) & (A | D)).isEqualTo(A | D);
    assertThat(sp.guestPhysical(0x401000, true, false)).as("read-only page").isEqualTo(-1);
    assertThat(sp.guestPhysical(0x402000, false, false)).as("not present").isEqualTo(-1);
    assertThat(sp.setControl(PE, 0, 0)).isTrue();
    assertThat(sp.guestPhysical(0x12345, true, true)).as("paging off").isEqualTo(0x12345);
  }

  @Test
  void notPresentAndProtectionFaultsGoToTheGuestWithTheirErrorCodes() {
    twoLevel();
    assertThat(access(0x402000, false, false).pfCode()).isEqualTo(0);
    assertThat(access(0x402000, true, true).pfCode()).isEqualTo(6);
    assertThat(access(0x800000, false, false).pfCode()).as("PDE not present").isEqualTo(0);
    assertThat(access(0x401000, true, true).pfCode()).as("user write, read-only").isEqualTo(7);
    assertThat(access(0x401000, true, false).pfCode()).as("WP=1 supervisor write")
        .isEqualTo(3);
    assertThat(guest.read32(0x2004) & (A | D)).as("no A/D on a denied access").isZero();
    assertThat(sp.guestFaults).isEqualTo(5);
  }

  @Test
  void withWpClearASupervisorWriteToAReadOnlyPageSucceedsButUserWritesStillFault() {
    twoLevel();
    assertThat(sp.setControl(PE | PG, 0x1000, 0)).isTrue();
    write(0x401008, 0x99);
    assertThat(guest.read32(0x6008)).isEqualTo(0x99);
    assertThat(guest.read32(0x2004) & (A | D)).isEqualTo(A | D);
    assertThat(sp.shadowPte(0x401008) & (RW | US)).as("writable, supervisor only").isEqualTo(RW);
    Access userRead = access(0x401008, false, true);
    assertThat(userRead.faulted()).isFalse();
    assertThat(sp.shadowPte(0x401008) & (RW | US)).as("re-derived for the user").isEqualTo(US);
    assertThat(access(0x401008, true, true).pfCode()).isEqualTo(7);
  }

  @Test
  void aGuestPteWriteIsCaughtByWriteProtectionAndResynchronized() {
    twoLevel();
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    long ptGfn = 0x2000 >>> 12;
    assertThat(sp.isTracked(ptGfn)).isTrue();
    // The page table is reachable at linear 0x2000: its shadow entry is read-only.
    read(0x2000);
    assertThat(sp.shadowPte(0x2000) & RW).isZero();
    // Remap 0x400000 to gpa 0x7000 through that alias.
    guest.write32(0x7010, 0xCAFE);
    write(0x2000, 0x7000 | P | RW | US);
    assertThat(sp.tableWrites).isEqualTo(1);
    assertThat(sp.stepping()).isFalse();
    assertThat(sp.shadowPte(0x2000) & RW).as("re-protected").isZero();
    assertThat(sp.shadowPte(0x400010)).as("derived entry dropped").isZero();
    assertThat(flushes).contains("all");
    assertThat(read(0x400010)).isEqualTo(0xCAFE);
    // A PDE write drops the whole 4 MiB range.
    write(0x1004, 0);
    assertThat(access(0x400010, false, false).pfCode()).isEqualTo(0);
  }

  @Test
  void anUnlinkedPageTableReusedAsDataIsReleasedAtItsFirstWrite() {
    twoLevel();
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    long ptGfn = 0x2000 >>> 12;
    assertThat(sp.isTracked(ptGfn)).isTrue();
    // The guest unlinks PT1 (the PDE write is a tracked write: one step)...
    write(0x1004, 0);
    assertThat(sp.tableWrites).isEqualTo(1);
    // ...and reuses the frame as data, a kernel stack say: nothing derives from it any more,
    // so its writes cost no single step.
    for (int i = 0; i < 100; i++) {
      write(0x2000 + 4 * (8 + i % 8), i + 1);
    }
    assertThat(sp.released).isEqualTo(1);
    assertThat(sp.isTracked(ptGfn)).isFalse();
    assertThat(sp.tableWrites).as("only the PDE write was stepped").isEqualTo(1);
    assertThat(sp.shadowPte(0x2000) & RW).as("writable like any data page").isEqualTo(RW);
    // A page table again: linked back, the next walk tracks it and sees what it holds now.
    guest.write32(0x7010, 0xCAFE);
    write(0x2000, 0x7000 | P | RW | US);
    write(0x1004, 0x2000 | P | RW | US);
    assertThat(read(0x400010)).isEqualTo(0xCAFE);
    assertThat(sp.isTracked(ptGfn)).isTrue();
    assertThat(sp.shadowPte(0x2000) & RW).as("protected again").isZero();
  }

  /**
   * The hvm-shadow Linux stall (issue 13): a frame that was an exited process's PAE page
   * directory, and whose root stayed cached, became a kernel stack; every push trapped, was
   * single-stepped and resynchronized (4.8 M times in 200 M instructions of SHA-256 in module
   * signature checking, 64 G virtual cycles, soft lockups). Once the guest frees the process's
   * PDPT, that root can never be loaded again, and the directory is released at its first
   * write. While the PDPT still names it, it stays tracked.
   */
  @Test
  void aDeadProcesssPaeDirectoryReusedAsAStackIsReleasedOnceItsPdptIsGone() {
    pae();
    // Process A: PDPT at 0x1020, slot 0 -> its directory at 0x8000, which maps the low 2 MiB
    // through the shared identity PT at 0x3000 (as a kernel's page tables are shared).
    long victim = 0x8000 >>> 12;
    guest.write64(0x8000, 0x3000 | P | RW | US);
    guest.write64(0x1020, 0x8000 | P);
    assertThat(sp.setControl(PE | PG | WP, 0x1020, PAE)).isTrue();
    assertThat(read(0x10010)).isEqualTo(0x600D);
    assertThat(sp.isTracked(victim)).isTrue();
    // Back to process B (PDPT 0x1000); A's root stays cached and could be loaded again.
    assertThat(sp.setControl(PE | PG | WP, 0x1000, PAE)).isTrue();
    write(0x8000 + 0xF00, 0x1111);
    assertThat(sp.tableWrites).as("A's directory is still one").isEqualTo(1);
    assertThat(sp.isTracked(victim)).isTrue();
    // A exits: Linux clears its PDPT (pgd_free) and the directory's frame becomes a stack.
    write(0x1020, 0);
    write(0x1024, 0);
    for (int i = 0; i < 100; i++) {
      write(0x8000 + 0xF00 + 4 * (i % 32), 0xC0DE_0000 + i);
    }
    assertThat(sp.isTracked(victim)).isFalse();
    assertThat(sp.released).isEqualTo(1);
    assertThat(sp.tableWrites).as("no push single-stepped").isEqualTo(1);
    // B still translates through its own tables.
    assertThat(read(0x10010)).isEqualTo(0x600D);
    // Loading A's CR3 again finds its PDPT changed: a fresh root (PDPTE not present).
    assertThat(sp.setControl(PE | PG | WP, 0x1020, PAE)).isTrue();
    assertThat(access(0x10010, false, false).pfCode()).isZero();
  }

  /** Xen's early unshadow: two zero entries written in a row look like a teardown. */
  @Test
  void twoZeroEntriesWrittenInARowUnshadowALeafTable() {
    twoLevel();
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    long ptGfn = 0x2000 >>> 12;
    write(0x2000, 0);
    // Another kind of fault in between (a hidden fault filling a shadow entry) resets it.
    read(0x6000);
    write(0x2004, 0);
    assertThat(sp.unshadowed).isZero();
    // So does a non-zero write.
    write(0x2008, 0x5000 | P);
    write(0x200C, 0);
    assertThat(sp.unshadowed).isZero();
    assertThat(sp.isTracked(ptGfn)).isTrue();
    write(0x2010, 0);
    assertThat(sp.unshadowed).isEqualTo(1);
    assertThat(sp.isTracked(ptGfn)).isFalse();
    assertThat(sp.shadowPte(0x402000)).as("what it mapped is dropped").isZero();
    long steps = sp.tableWrites;
    write(0x2014, 0);
    assertThat(sp.tableWrites).as("zeroed without traps").isEqualTo(steps);
    // Still a page table after all: the next walk tracks it again.
    assertThat(access(0x400010, false, false).pfCode()).as("entry 0 was zeroed").isZero();
    write(0x2000, 0x5000 | P | RW | US);
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    assertThat(sp.isTracked(ptGfn)).isTrue();
  }

  /**
   * Nanobench's ptemod: one PTE rewritten with its own value, then INVLPG. Xen never
   * unshadows for that (the value is not zero), so every write is trapped and resynchronized.
   */
  @Test
  void aPteRewrittenWithItsOwnValueIsTrappedEveryTime() {
    twoLevel();
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    int pte = guest.read32(0x2000);
    for (int i = 0; i < 200; i++) {
      write(0x2000, pte);
      sp.invlpg(0x400000);
    }
    assertThat(sp.tableWrites).isEqualTo(200);
    assertThat(sp.unshadowed).isZero();
    assertThat(sp.released).isZero();
    assertThat(sp.isTracked(0x2000 >>> 12)).isTrue();
  }

  @Test
  void aPageDirectoryARootRunsOnStaysTrackedThroughZeroWrites() {
    twoLevel();
    read(0x1000);
    for (int i = 0; i < 200; i++) {
      write(0x1000 + 4 * (100 + i % 8), 0);
    }
    assertThat(sp.isTracked(0x1000 >>> 12)).isTrue();
    // Still in sync: unlinking PT1 drops what it mapped.
    read(0x400010);
    write(0x1004, 0);
    assertThat(access(0x400010, false, false).pfCode()).isZero();
  }

  /** Xen does not emulate user-mode writes to a page table; it unshadows the page. */
  @Test
  void aUserModeWriteToALeafTableUnshadowsIt() {
    twoLevel();
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    Access a = access(0x2040, true, true);
    assertThat(a.faulted()).isFalse();
    assertThat(a.pfCode()).as("not single-stepped").isEqualTo(-1);
    assertThat(sp.unshadowed).isEqualTo(1);
    assertThat(sp.tableWrites).isZero();
    assertThat(sp.isTracked(0x2000 >>> 12)).isFalse();
    assertThat(sp.shadowPte(0x400010)).isZero();
  }

  @Test
  void invlpgDropsTheEntry() {
    twoLevel();
    read(0x400010);
    flushes.clear();
    sp.invlpg(0x400010);
    assertThat(sp.shadowPte(0x400010)).isZero();
    assertThat(flushes).containsExactly("400010");
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
  }

  @Test
  void cr3SwitchesBetweenCachedShadowsThatStayInSync() {
    twoLevel();
    // A second address space at PD 0x8000: same identity PT0, 0x400000 -> gpa 0x9000.
    guest.write32(0x8000, 0x3000 | P | RW | US);
    guest.write32(0x8004, 0xA000 | P | RW | US);
    guest.write32(0xA000, 0x9000 | P | RW | US);
    guest.write32(0x9010, 0xB0B0);
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    int rootA = sp.realCr3();
    assertThat(sp.setControl(PE | PG | WP, 0x8000, 0)).isTrue();
    assertThat(sp.realCr3()).isNotEqualTo(rootA);
    assertThat(read(0x400010)).isEqualTo(0xB0B0);
    // While B is loaded, change A's page table (reachable through PT0 at 0x2000).
    guest.write32(0x7010, 0xCAFE);
    write(0x2000, 0x7000 | P | RW | US);
    assertThat(sp.setControl(PE | PG | WP, 0x1000, 0)).isTrue();
    assertThat(sp.realCr3()).as("A's shadow was cached").isEqualTo(rootA);
    assertThat(read(0x400010)).isEqualTo(0xCAFE);
  }

  @Test
  void pse4MiBPagesAreSplitAndTheirPdeGetsAccessedAndDirty() {
    twoLevel();
    guest.write32(0x1000 + 4 * 2, 0x0000_0000 | PS | P | RW | US);
    assertThat(sp.setControl(PE | PG | WP, 0x1000, PSE)).isTrue();
    assertThat(read(0x800000 + 0x5010)).isEqualTo(0x1234_5678);
    assertThat(guest.read32(0x1008) & (A | D)).isEqualTo(A);
    write(0x800000 + 0x5014, 3);
    assertThat(guest.read32(0x1008) & (A | D)).isEqualTo(A | D);
    assertThat(sp.shadowPte(0x805000) & 0xFFFF_F000L).isEqualTo(machineOf(0x5000));
  }

  // ------------------------------------------------------------------ PAE

  /** PDPT at 0x1000 (slot 0 -> PD 0x2000); PD[0] -> PT 0x3000; PD[1] is a 2 MiB page at 0. */
  private void pae() {
    guest.write64(0x1000, 0x2000 | P);
    guest.write64(0x2000, 0x3000 | P | RW | US);
    guest.write64(0x2008, 0x0000 | PS | P | RW | US);
    for (int k = 0; k < 16; k++) {
      guest.write64(0x3000 + 8 * k, (k << 12) | P | RW | US);
    }
    guest.write64(0x3000 + 8 * 0x10, 0x5000 | P | RW | US);
    guest.write64(0x3000 + 8 * 0x11, 0x5000 | P | RW | US | (1L << 62));
    guest.write32(0x5010, 0x600D);
    assertThat(sp.setControl(PE | PG | WP, 0x1000, PAE)).isTrue();
  }

  @Test
  void paeFourKiBAndTwoMiBPagesWithAccessedAndDirtyBits() {
    pae();
    assertThat(read(0x10010)).isEqualTo(0x600D);
    assertThat(guest.read64(0x3080) & (A | D)).isEqualTo(A);
    write(0x10010, 1);
    assertThat(guest.read64(0x3080) & (A | D)).isEqualTo(A | D);
    assertThat(read(0x200000 + 0x5010)).isEqualTo(1);
    assertThat(guest.read64(0x2008) & (A | D)).isEqualTo(A);
    write(0x200000 + 0x5010, 2);
    assertThat(guest.read64(0x2008) & (A | D)).isEqualTo(A | D);
    assertThat(guest.read32(0x5010)).isEqualTo(2);
  }

  @Test
  void paeReservedBitsAndBadPdptes() {
    pae();
    assertThat(access(0x11000, false, false).pfCode()).as("bit 62 set").isEqualTo(0x9);
    assertThat(access(0x11000, true, true).pfCode()).isEqualTo(0xF);
    assertThat(access(0x4000_0000, false, false).pfCode()).as("PDPTE not present").isZero();
    guest.write64(0x1008, 0x4000 | P | RW);
    assertThat(sp.setControl(PE | PG | WP, 0x1000, PAE)).as("PDPTE with R/W set").isFalse();
  }

  @Test
  void paePteWriteIsResynchronized() {
    pae();
    assertThat(read(0x10010)).isEqualTo(0x600D);
    guest.write32(0x7010, 0x7777);
    // The PT (gpa 0x3000) is identity-mapped at 0x3000; entry 0x10 is at 0x3080.
    write(0x3080, 0x7000 | P | RW | US);
    assertThat(sp.shadowPte(0x10010)).isZero();
    assertThat(read(0x10010)).isEqualTo(0x7777);
  }

  /**
   * PAE with EFER.NXE: the shadow is PAE-format and carries the guest's XD (a 4 KiB page whose
   * PTE has it, a 2 MiB page whose PDE has it, a page under an XD PDE), so a fetch from such a
   * page is the guest's #PF with I/D set, while data accesses work; without NXE bit 63 is
   * reserved, as before.
   */
  @Test
  void paeExecuteDisableIsEnforcedThroughTheShadow() {
    pae();
    guest.write64(0x3000 + 8 * 0x12, 0x5000 | P | RW | US | XD);
    guest.write64(0x2010, 0x0000 | PS | P | RW | US | XD);
    nxe = true;
    sp.setNxe(true);
    assertThat(sp.realPae()).as("a PAE guest runs on PAE shadows").isTrue();
    assertThat(read(0x12010)).as("data reads of an XD page").isEqualTo(0x600D);
    assertThat(sp.shadowEntry(0x12010) & XD).as("the shadow entry carries XD").isEqualTo(XD);
    assertThat(access(0x12010, false, false, true).pfCode()).as("fetch from an XD PTE")
        .isEqualTo(PF_ID | 1);
    assertThat(access(0x12010, false, true, true).pfCode()).as("user fetch from an XD page")
        .isEqualTo(PF_ID | 4 | 1);
    assertThat(access(0x10010, false, false, true).faulted()).as("fetch, no XD").isFalse();
    assertThat(sp.shadowEntry(0x10010) & XD).isZero();
    assertThat(access(0x400000 + 0x5010, false, false, true).pfCode()).as("XD 2 MiB page")
        .isEqualTo(PF_ID | 1);
    assertThat(read(0x400000 + 0x5010)).isEqualTo(0x600D);
    assertThat(access(0x4000_0000, false, false, true).pfCode()).as("not present, a fetch")
        .isEqualTo(PF_ID);
    // An XD PDE makes its whole table execute-disabled.
    // (The guest writes its PD's high word, at 0x2004: tracked, so resynchronized.)
    write(0x2004, (int) (XD >>> 32));
    assertThat(sp.shadowPte(0x10010)).as("derived entry dropped").isZero();
    assertThat(read(0x10010)).as("data, filled under the XD PDE").isEqualTo(0x600D);
    assertThat(sp.shadowEntry(0x10010) & XD).as("the PDE's XD in the entry").isEqualTo(XD);
    assertThat(access(0x10010, false, false, true).pfCode()).isEqualTo(PF_ID | 1);
    // Without NXE the XD bit is reserved again (and fetches are not reported as such).
    nxe = false;
    sp.setNxe(false);
    assertThat(access(0x10010, false, false, true).pfCode()).isEqualTo(0x9);
  }

  @Test
  void twoLevelGuestsKeepTwoLevelShadows() {
    twoLevel();
    assertThat(sp.realPae()).isFalse();
    assertThat(read(0x400010)).isEqualTo(0x1234_5678);
    pae();
    assertThat(sp.realPae()).isTrue();
    assertThat(sp.setControl(PE, 0, PAE)).isTrue();
    assertThat(sp.realPae()).as("PAE without paging: the identity shadow").isFalse();
  }

  // ------------------------------------------------------------------ isolation

  @Test
  void aGuestFrameOutsideTheDomainNeverMapsAnotherDomainsMemory() {
    twoLevel();
    long outside = otherMfn << 12;  // as a guest-physical address: beyond the domain's 1 MiB
    guest.write32(0x2008, (int) outside | P | RW | US);
    guest.write32(0x200C, 0x0FFF_F000 | P | RW | US);
    assertThat(read(0x402000)).as("reads see all ones").isEqualTo(-1);
    assertThat(read(0x403004)).isEqualTo(-1);
    write(0x402000, 0x1111);
    assertThat(read(0x402000)).as("the write was dropped").isEqualTo(-1);
    assertThat(machine.read32(otherMfn << 12)).isEqualTo(0x5EC2E7);
    // Every access went to MMIO emulation at the guest-physical address, none to memory.
    assertThat(mmio).containsExactly("R " + Long.toHexString(outside), "R ffff004",
        "W " + Long.toHexString(outside) + "=1111", "R " + Long.toHexString(outside));
    assertThat(sp.mmioFaults).isEqualTo(4);
    for (int lin : new int[] {0x402000, 0x403000, 0x400000, 0x2000}) {
      int e = sp.shadowPte(lin);
      if ((e & P) != 0) {
        int owner = frames.owner(e >>> 12);
        assertThat(owner).as("owner of the frame mapped at %x", lin)
            .isIn(DOM, FrameTable.DOMID_XEN);
      }
    }
  }

  @Test
  void pagingOffIsAnIdentityShadowThroughTheP2m() {
    assertThat(sp.setControl(PE, 0, 0)).isTrue();
    guest.write32(0x5010, 0xABCD);
    assertThat(read(0x5010)).isEqualTo(0xABCD);
    assertThat(sp.shadowPte(0x5010) & 0xFFFF_F000L).isEqualTo(machineOf(0x5000));
    assertThat(read(0x0200_0000)).as("beyond the domain's memory").isEqualTo(-1);
    // The local APIC's page with paging off: MMIO at its guest-physical address.
    write(0xFEE0_00B0, 0);
    assertThat(mmio).containsExactly("R 2000000", "W fee000b0=0");
  }

  @Test
  void destroyGivesTheFramesBack() {
    twoLevel();
    read(0x400010);
    int free = frames.freeFrames();
    int used = sp.shadowFrames();
    assertThat(used).isGreaterThan(2);
    sp.destroy();
    assertThat(frames.freeFrames()).isEqualTo(free + used);
  }
}
