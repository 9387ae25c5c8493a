package org.hospes.hv.pv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.PvMmuAbi.*;
import static org.hospes.hv.pv.PvFixture.*;

import org.hospes.abi.XenErrno;
import org.junit.jupiter.api.Test;

/** The validation and entry-update rules of the PV MMU, one rule per test, with Xen's errnos. */
class PvPageTablesTest {
  private static final int EINVAL = XenErrno.EINVAL.negated();
  private static final int EBUSY = XenErrno.EBUSY.negated();
  private static final int EPERM = XenErrno.EPERM.negated();

  private final PvFixture m = new PvFixture();
  private final PvMmu mmu = m.mmu(DOM);
  private final PvPageTables t = mmu.tables();

  @Test
  void anL1MappingAnotherDomainsFrameIsRefusedWithEbusyAndLeavesNoCounts() {
    long l1 = m.alloc(DOM);
    long foreign = m.alloc(OTHER);
    m.set(l1, 5, pte(foreign, P));
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isEqualTo(EBUSY);
    assertThat(m.info.typeCount(l1)).isZero();
    assertThat(m.info.refCount(l1)).isZero();
    assertThat(m.info.refCount(foreign)).isZero();
    assertThat(m.info.isPinned(l1)).isFalse();
  }

  @Test
  void freeAndHypervisorFramesAreEbusyAndFramesBeyondMemoryAreEperm() {
    long l1 = m.alloc(DOM);
    m.set(l1, 0, pte(m.frames.frames() - 1, P)); // free
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isEqualTo(EBUSY);
    m.set(l1, 0, pte(3, P)); // the hypervisor's first MiB
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isEqualTo(EBUSY);
    m.set(l1, 0, pte(0xF_0000, P)); // I/O space above RAM
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isEqualTo(EPERM);
  }

  /**
   * NX is a good L1 and L2 flag, as Xen's base_disallow_mask has it where the processor has NX
   * (PV vCPUs run with EFER.NXE); an L3 entry (a PDPTE) may not have it (Xen's PV32
   * l3_disallow_mask refuses every high flag).
   */
  @Test
  void nxIsAGoodL1AndL2FlagButNotAnL3One() {
    long page = m.alloc(DOM);
    long l1 = m.alloc(DOM);
    m.set(l1, 0, pte(page, P | RW | 1L << 63));
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isZero();
    long l2 = m.alloc(DOM);
    m.set(l2, 0, pte(l1, P | RW | 1L << 63));
    assertThat(mmu.extOp(MMUEXT_PIN_L2_TABLE, (int) l2, 0)).isZero();
    PvFixture.Space s = m.space(DOM, 1);
    m.set(s.l3(), 3, pte(s.xenL2(), P));
    assertThat(mmu.extOp(MMUEXT_PIN_L3_TABLE, (int) s.l3(), 0)).isZero();
    long slot0 = m.get(s.l3(), 0);
    assertThat(mmu.normalUpdate(s.l3() << 12, slot0 | 1L << 63, false)).isEqualTo(EINVAL);
    assertThat(mmu.normalUpdate(s.l3() << 12, slot0, false)).isZero();
  }

  @Test
  void cacheAttributesAndHighBitsAreBadL1Flags() {
    long l1 = m.alloc(DOM);
    long page = m.alloc(DOM);
    // Bits 52-62 (Xen's AVAIL_HIGH) are a deviation: PAE paging reserves them.
    for (long bad : new long[] {PCD, 8, PS, 1L << 52, 1L << 62}) {
      m.set(l1, 0, pte(page, P | bad));
      assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).as("flag %x", bad)
          .isEqualTo(EINVAL);
    }
    m.set(l1, 0, pte(page, P | RW | US | A | D | 0x100 | 0xE00));
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isZero();
    assertThat(m.info.type(page)).isEqualTo(PageType.WRITABLE_PAGE);
    assertThat(m.info.typeCount(page)).isEqualTo(1);
    assertThat(m.info.refCount(page)).isEqualTo(1);
  }

  @Test
  void aPageTableCannotBeMappedWritableButMayBeMappedReadOnly() {
    long table = m.alloc(DOM);
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) table, 0)).isZero();
    long l1 = m.alloc(DOM);
    m.set(l1, 0, pte(table, P | RW));
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isEqualTo(EBUSY);
    m.set(l1, 0, pte(table, P));
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isZero();
    assertThat(m.info.refCount(table)).isEqualTo(2); // the pin and the read-only mapping
    // Turning the read-only mapping writable through mmu_update is refused the same way.
    assertThat(mmu.normalUpdate(l1 << 12, pte(table, P | RW), false)).isEqualTo(EBUSY);
    assertThat(m.get(l1, 0)).isEqualTo(pte(table, P));
  }

  @Test
  void anL1MappingItselfWritableIsRefused() {
    long l1 = m.alloc(DOM);
    m.set(l1, 7, pte(l1, P | RW));
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isEqualTo(EBUSY);
    m.set(l1, 7, pte(l1, P));
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isZero();
  }

  @Test
  void aFrameMappedWritableCannotBecomeATableUntilTheMappingGoes() {
    long page = m.alloc(DOM);
    long l1 = m.alloc(DOM);
    m.set(l1, 0, pte(page, P | RW));
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isZero();
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) page, 0)).isEqualTo(EINVAL);
    assertThat(mmu.normalUpdate(l1 << 12, pte(page, P), false)).isZero();
    assertThat(m.info.typeCount(page)).isZero();
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) page, 0)).isZero();
    assertThat(m.info.type(page)).isEqualTo(PageType.L1_PAGE_TABLE);
  }

  @Test
  void aFrameThatWasWritableIsFlushedFromTheTlbsBeforeItBecomesATable() {
    long page = m.alloc(DOM);
    long l1 = m.alloc(DOM);
    m.set(l1, 0, pte(page, P | RW));
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isZero();
    assertThat(mmu.normalUpdate(l1 << 12, 0, false)).isZero(); // no flush asked for
    m.tlbLog.clear();
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) page, 0)).isZero();
    assertThat(m.tlbLog).containsExactly("flush");
    // A frame never writable needs none.
    m.tlbLog.clear();
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) m.alloc(DOM), 0)).isZero();
    assertThat(m.tlbLog).isEmpty();
  }

  @Test
  void l2EntriesMustNameAnL1AndCarryNoSuperpageOrCacheFlags() {
    long l2 = m.alloc(DOM);
    long other = m.alloc(DOM);
    m.set(l2, 0, pte(l2, P | RW)); // itself: no linear page tables
    assertThat(mmu.extOp(MMUEXT_PIN_L2_TABLE, (int) l2, 0)).isEqualTo(EINVAL);
    m.set(l2, 0, pte(other, P | RW | PS));
    assertThat(mmu.extOp(MMUEXT_PIN_L2_TABLE, (int) l2, 0)).isEqualTo(EINVAL);
    m.set(l2, 0, pte(m.alloc(OTHER), P | RW));
    assertThat(mmu.extOp(MMUEXT_PIN_L2_TABLE, (int) l2, 0)).isEqualTo(EINVAL);
    m.set(l2, 0, pte(other, P | RW));
    assertThat(mmu.extOp(MMUEXT_PIN_L2_TABLE, (int) l2, 0)).isZero();
    assertThat(m.info.type(other)).isEqualTo(PageType.L1_PAGE_TABLE);
    assertThat(m.info.typeCount(other)).isEqualTo(1);
  }

  @Test
  void anInvalidL1UnderAnL2FailsTheL2WithTheL1sError() {
    long l2 = m.alloc(DOM);
    long l1 = m.alloc(DOM);
    m.set(l1, 0, pte(m.alloc(OTHER), P));
    m.set(l2, 0, pte(l1, P | RW));
    assertThat(mmu.extOp(MMUEXT_PIN_L2_TABLE, (int) l2, 0)).isEqualTo(EBUSY);
    assertThat(m.info.typeCount(l1)).isZero();
    assertThat(m.info.refCount(l1)).isZero();
  }

  @Test
  void paeL3RulesSlot3PresentAndNotSharedNoOtherFlags() {
    PvFixture.Space s = m.space(DOM, 2);
    m.set(s.l3(), 3, 0);
    assertThat(mmu.extOp(MMUEXT_PIN_L3_TABLE, (int) s.l3(), 0)).isEqualTo(EINVAL);
    m.set(s.l3(), 3, pte(s.xenL2(), P | RW));
    assertThat(mmu.extOp(MMUEXT_PIN_L3_TABLE, (int) s.l3(), 0)).isEqualTo(EINVAL);
    m.set(s.l3(), 3, pte(s.xenL2(), P));
    assertThat(mmu.extOp(MMUEXT_PIN_L3_TABLE, (int) s.l3(), 0)).isZero();
    assertThat(m.info.isPaeXenL2(s.xenL2())).isTrue();
    // A second L3 may not share the L2 of slot 3, nor use it in another slot.
    long l3b = m.alloc(DOM);
    m.set(l3b, 3, pte(s.xenL2(), P));
    assertThat(mmu.extOp(MMUEXT_PIN_L3_TABLE, (int) l3b, 0)).isEqualTo(EINVAL);
    m.set(l3b, 3, pte(m.alloc(DOM), P));
    m.set(l3b, 1, pte(s.xenL2(), P));
    assertThat(mmu.extOp(MMUEXT_PIN_L3_TABLE, (int) l3b, 0)).isEqualTo(EINVAL);
    // Slot 3 of a live L3 cannot be updated.
    assertThat(mmu.normalUpdate((s.l3() << 12) + 24, pte(m.alloc(DOM), P), false))
        .isEqualTo(EINVAL);
  }

  @Test
  void xenSlotsOfThePaeL2AreTheHypervisorsAndGuestUpdatesThereAreEperm() {
    PvFixture.Space s = m.space(DOM, 1);
    long l1 = m.alloc(DOM);
    m.set(s.xenL2(), 500, pte(l1, P | RW)); // the guest's value there is not validated...
    t.setXenL2Slot(428, 0x1234_5000L | P);
    assertThat(mmu.extOp(MMUEXT_PIN_L3_TABLE, (int) s.l3(), 0)).isZero();
    assertThat(m.get(s.xenL2(), 500)).isZero(); // ...it is replaced
    assertThat(m.get(s.xenL2(), 428)).isEqualTo(0x1234_5000L | P);
    assertThat(mmu.normalUpdate((s.xenL2() << 12) + 8 * 430, pte(l1, P | RW), false))
        .isEqualTo(EPERM);
    assertThat(mmu.normalUpdate((s.xenL2() << 12) + 8 * 427, pte(l1, P | RW), false)).isZero();
  }

  @Test
  void changingAnEntryMovesTheReferencesFromTheOldFrameToTheNew() {
    long l1 = m.alloc(DOM);
    long a = m.alloc(DOM);
    long b = m.alloc(DOM);
    m.set(l1, 0, pte(a, P | RW));
    assertThat(mmu.extOp(MMUEXT_PIN_L1_TABLE, (int) l1, 0)).isZero();
    assertThat(mmu.normalUpdate(l1 << 12, pte(b, P | RW), false)).isZero();
    assertThat(m.info.refCount(a)).isZero();
    assertThat(m.info.typeCount(a)).isZero();
    assertThat(m.info.refCount(b)).isEqualTo(1);
    assertThat(m.info.typeCount(b)).isEqualTo(1);
    // Fast path: only A/D change, no counts move; PRESERVE_AD keeps the old A/D bits.
    m.set(l1, 0, pte(b, P | RW | A | D));
    assertThat(mmu.normalUpdate(l1 << 12, pte(b, P | RW), true)).isZero();
    assertThat(m.get(l1, 0)).isEqualTo(pte(b, P | RW | A | D));
    assertThat(m.info.typeCount(b)).isEqualTo(1);
    assertThat(mmu.normalUpdate(l1 << 12, 0, false)).isZero();
    assertThat(m.info.refCount(b)).isZero();
  }

  @Test
  void unpinningReleasesEveryLevelAndPinningTwiceOrUnpinningTwiceIsEinval() {
    PvFixture.Space s = m.space(DOM, 3);
    assertThat(mmu.extOp(MMUEXT_PIN_L3_TABLE, (int) s.l3(), 0)).isZero();
    assertThat(mmu.extOp(MMUEXT_PIN_L3_TABLE, (int) s.l3(), 0)).isEqualTo(EINVAL);
    assertThat(m.info.typeCount(s.pages()[0])).isEqualTo(1);
    assertThat(mmu.extOp(MMUEXT_UNPIN_TABLE, (int) s.l3(), 0)).isZero();
    assertThat(mmu.extOp(MMUEXT_UNPIN_TABLE, (int) s.l3(), 0)).isEqualTo(EINVAL);
    for (long f = 0; f < m.frames.frames(); f++) {
      assertThat(m.info.typeCount(f)).as("type count of %s", f).isZero();
      assertThat(m.info.refCount(f)).as("references of %s", f).isZero();
    }
  }

  @Test
  void anUpdateOfAnOrdinaryPageIsAPlainWriteAndADescriptorPageIsEinval() {
    long page = m.alloc(DOM);
    assertThat(mmu.normalUpdate((page << 12) + 16, 0x1122_3344_5566_7788L, false)).isZero();
    assertThat(m.machine.read64((page << 12) + 16)).isEqualTo(0x1122_3344_5566_7788L);
    assertThat(t.getPageAndType(page, PageType.SEG_DESC_PAGE, false)).isZero();
    assertThat(mmu.normalUpdate(page << 12, 0, false)).isEqualTo(EINVAL);
    assertThat(mmu.normalUpdate(m.alloc(OTHER) << 12, 0, false)).isEqualTo(EINVAL);
  }

  @Test
  void descriptorChecksKeepRingZeroOutOfReach() {
    long page = m.alloc(DOM);
    long ma = page << 12;
    // Flat 4 GiB ring-0 code: DPL becomes 1.
    m.machine.write32(ma, 0x0000_FFFF);
    m.machine.write32(ma + 4, 0x00CF_9A00);
    assertThat(Descriptors.check(m.machine, ma)).isTrue();
    assertThat((m.machine.read32(ma + 4) >>> 13) & 3).isEqualTo(1);
    // A call gate to FLAT_RING1_CS with DPL 3 keeps DPL 3 in the selector's RPL, gets DPL 0.
    m.machine.write32(ma + 8, 0xE019_1000);
    m.machine.write32(ma + 12, 0x0000_EC00);
    assertThat(Descriptors.check(m.machine, ma + 8)).isTrue();
    assertThat((m.machine.read32(ma + 12) >>> 13) & 3).isZero();
    assertThat(m.machine.read32(ma + 8) >>> 16).isEqualTo(0xE01B);
    // A TSS descriptor and a 64-bit code segment are refused.
    m.machine.write32(ma + 20, 0x0000_8900);
    assertThat(Descriptors.check(m.machine, ma + 16)).isFalse();
    m.machine.write32(ma + 28, 0x00AF_9A00);
    assertThat(Descriptors.check(m.machine, ma + 24)).isFalse();
    assertThat(t.getPageAndType(page, PageType.SEG_DESC_PAGE, false)).isEqualTo(EINVAL);
  }
}
