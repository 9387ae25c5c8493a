package org.hospes.hv.pv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.PvMmuAbi.*;
import static org.hospes.hv.pv.PvFixture.*;

import org.hospes.abi.XenErrno;
import org.hospes.x86.Cpu;
import org.hospes.x86.IoBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The PV MMU hypercalls as a guest makes them: batches read from its own virtual addresses
 * through its current tables, the done count written back, Xen's errnos, and the TLB told what
 * the flags ask. The guest's address space is {@link PvFixture#space}: VA 0x1000 * (i + 1) is
 * page i, VA 0 is its own L1, read-only.
 */
class PvMmuTest {
  private static final int EINVAL = XenErrno.EINVAL.negated();

  private final PvFixture m = new PvFixture();
  private final PvMmu mmu = m.mmu(DOM);
  private PvFixture.Space s;

  @BeforeEach
  void setUp() {
    s = m.space(DOM, 6);
    assertThat(mmu.extOp(MMUEXT_PIN_L3_TABLE, (int) s.l3(), 0)).isZero();
    assertThat(mmu.extOp(MMUEXT_NEW_BASEPTR, (int) s.l3(), 0)).isZero();
    m.tlbLog.clear();
  }

  private long page(int i) {
    return s.pages()[i];
  }

  @Test
  void aBatchStopsAtTheFirstFailureAndReportsHowManyWereDone() {
    long buf = page(0) << 12;
    m.request(buf, (s.l1() << 12) + 8 * 20, pte(page(5), P | RW));
    m.request(buf + 16, (s.l1() << 12) + 8 * 21, pte(s.l2(), P | RW)); // a table, writable
    m.request(buf + 32, (s.l1() << 12) + 8 * 22, pte(page(5), P));
    int rc = mmu.mmuUpdate(0x1000, 3, 0x2000, DOMID_SELF);
    assertThat(rc).isEqualTo(XenErrno.EBUSY.negated());
    assertThat(m.machine.read32(page(1) << 12)).isEqualTo(1);
    assertThat(m.get(s.l1(), 20)).isEqualTo(pte(page(5), P | RW));
    assertThat(m.get(s.l1(), 21)).isZero();
    assertThat(m.get(s.l1(), 22)).isZero();
  }

  @Test
  void unknownCommandsAreEnosysAndUnreadableBatchesEfault() {
    m.request(page(0) << 12, (page(2) << 12) | 4, 0);
    assertThat(mmu.mmuUpdate(0x1000, 1, 0, DOMID_SELF)).isEqualTo(XenErrno.ENOSYS.negated());
    assertThat(mmu.mmuUpdate(0x40_0000, 1, 0x2000, DOMID_SELF))
        .isEqualTo(XenErrno.EFAULT.negated());
    assertThat(m.machine.read32(page(1) << 12)).isZero();
    assertThat(mmu.mmuUpdate(0xF57F_FFF8, 2, 0, DOMID_SELF)).isEqualTo(XenErrno.EFAULT.negated());
    assertThat(mmu.mmuextOp(0x40_0000, 1, 0, DOMID_SELF)).isEqualTo(XenErrno.EFAULT.negated());
  }

  @Test
  void foreignDomainsAreRefusedAsXenRefusesADomU() {
    m.request(page(0) << 12, page(2) << 12, 0);
    assertThat(mmu.mmuUpdate(0x1000, 1, 0, DOM)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(mmu.mmuUpdate(0x1000, 1, 0, OTHER)).isEqualTo(XenErrno.EPERM.negated());
    assertThat(mmu.mmuUpdate(0x1000, 1, 0, 99)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(mmu.mmuUpdate(0x1000, 1, 0, (OTHER + 1) << 16 | DOMID_SELF))
        .isEqualTo(XenErrno.EPERM.negated());
    assertThat(mmu.mmuextOp(0x1000, 1, 0, OTHER)).isEqualTo(XenErrno.EPERM.negated());
    assertThat(mmu.mmuUpdate(0x1000, 1, 0, DOMID_SELF)).isZero();
  }

  /**
   * DOMID_IO as mmu_update's page owner: get_pg_owner finds dom_io and xsm_mmu_update lets it
   * through, so each request meets its own checks. Updates that do not take a page reference
   * for the new entry (a data page's word, an entry not present) are done; a present L1 entry
   * naming RAM cannot be pinned for dom_io, which owns none (-EBUSY); I/O space is refused the
   * unprivileged caller it reverts to (-EPERM); an M2P entry's frame is not dom_io's (-EINVAL).
   * mmuext_op and update_va_mapping_otherdomain still refuse it (their XSM hooks check it).
   */
  @Test
  void domidIoAsThePageOwnerIsLetThroughToEachRequestsOwnChecks() {
    long buf = page(0) << 12;
    m.request(buf, page(2) << 12, 0x1234);
    m.request(buf + 16, (s.l1() << 12) + 8 * 20, 0x5000); // not present
    assertThat(mmu.mmuUpdate(0x1000, 2, 0x2000, DOMID_IO)).isZero();
    assertThat(m.machine.read32(page(1) << 12)).isEqualTo(2);
    assertThat(m.machine.read64(page(2) << 12)).isEqualTo(0x1234);
    assertThat(m.get(s.l1(), 20)).isEqualTo(0x5000);

    m.request(buf, (s.l1() << 12) + 8 * 21, pte(page(5), P));
    assertThat(mmu.mmuUpdate(0x1000, 1, 0x2000, DOMID_IO))
        .isEqualTo(XenErrno.EBUSY.negated());
    assertThat(m.get(s.l1(), 21)).isZero();
    assertThat(m.machine.read32(page(1) << 12)).isZero();
    m.request(buf, (s.l1() << 12) + 8 * 21, pte(0xF_FFF0, P));
    assertThat(mmu.mmuUpdate(0x1000, 1, 0x2000, DOMID_IO))
        .isEqualTo(XenErrno.EPERM.negated());
    m.request(buf, (page(3) << 12) | MMU_MACHPHYS_UPDATE, 42);
    assertThat(mmu.mmuUpdate(0x1000, 1, 0x2000, DOMID_IO)).isEqualTo(EINVAL);
    // The caller itself as the owner maps the same frame.
    m.request(buf, (s.l1() << 12) + 8 * 21, pte(page(5), P));
    assertThat(mmu.mmuUpdate(0x1000, 1, 0x2000, DOMID_SELF)).isZero();
    assertThat(m.get(s.l1(), 21)).isEqualTo(pte(page(5), P));

    assertThat(mmu.mmuextOp(0x1000, 1, 0, DOMID_IO)).isEqualTo(XenErrno.EPERM.negated());
    assertThat(mmu.updateVaMappingOtherdomain(0x8000, pte(page(5), P), UVMF_NONE, DOMID_IO))
        .isEqualTo(XenErrno.EPERM.negated());
  }

  @Test
  void machphysUpdateSetsTheM2pEntryOfOwnFramesOnly() {
    m.request(page(0) << 12, (page(3) << 12) | MMU_MACHPHYS_UPDATE, 42);
    m.request((page(0) << 12) + 16, (m.alloc(OTHER) << 12) | MMU_MACHPHYS_UPDATE, 43);
    assertThat(mmu.mmuUpdate(0x1000, 2, 0x2000, DOMID_SELF)).isEqualTo(EINVAL);
    assertThat(m.m2p.get(page(3))).isEqualTo(42);
    assertThat(m.machine.read32(page(1) << 12)).isEqualTo(1);
  }

  @Test
  void updateVaMappingChangesTheL1EntryAndFlushesAsTheFlagsSay() {
    long fresh = m.alloc(DOM);
    assertThat(mmu.updateVaMapping(0x8000, pte(fresh, P | RW), UVMF_INVLPG | UVMF_ALL)).isZero();
    assertThat(m.get(s.l1(), 8)).isEqualTo(pte(fresh, P | RW));
    assertThat(mmu.updateVaMapping(0x8000, 0, UVMF_TLB_FLUSH | UVMF_LOCAL)).isZero();
    assertThat(m.info.refCount(fresh)).isZero();
    // A vCPU bitmap at VA 0x3000 that does not name vCPU 0: no flush.
    assertThat(mmu.updateVaMapping(0x8000, pte(fresh, P), UVMF_TLB_FLUSH | 0x3000)).isZero();
    // No L1 maps 0x40000000: -EINVAL, and the flush still happens, as in Xen.
    assertThat(mmu.updateVaMapping(0x4000_0000, pte(fresh, P), UVMF_TLB_FLUSH)).isEqualTo(EINVAL);
    assertThat(mmu.updateVaMapping(0xF580_0000, pte(fresh, P), UVMF_NONE)).isEqualTo(EINVAL);
    assertThat(m.tlbLog).containsExactly("invlpg 8000", "flush", "flush");
  }

  /**
   * MMUEXT_CLEAR_PAGE and COPY_PAGE (XENFEAT_highmem_assist): on the domain's own frames, the
   * written one taking the writable type for the while, so a page table cannot be cleared or
   * overwritten; anything else is -EINVAL and touches nothing. They used to be -ENOSYS.
   */
  @Test
  void clearAndCopyPageWorkOnOwnWritableFramesOnly() {
    m.machine.write32(page(3) << 12, 0x1234_5678);
    m.machine.write32((page(4) << 12) + 4092, 0x55);
    assertThat(mmu.extOp(MMUEXT_COPY_PAGE, (int) page(4), (int) page(3))).isZero();
    assertThat(m.machine.read32(page(4) << 12)).isEqualTo(0x1234_5678);
    assertThat(m.machine.read32((page(4) << 12) + 4092)).isZero();
    assertThat(mmu.extOp(MMUEXT_CLEAR_PAGE, (int) page(3), 0)).isZero();
    assertThat(m.machine.read32(page(3) << 12)).isZero();
    assertThat(m.info.typeCount(page(3))).isEqualTo(m.info.typeCount(page(5)));
    assertThat(m.info.refCount(page(4))).isEqualTo(m.info.refCount(page(5)));

    // A page table may be read (copied from) but not written.
    long l1Word = m.machine.read64(s.l1() << 12);
    assertThat(mmu.extOp(MMUEXT_CLEAR_PAGE, (int) s.l1(), 0)).isEqualTo(EINVAL);
    assertThat(mmu.extOp(MMUEXT_COPY_PAGE, (int) s.l1(), (int) page(4))).isEqualTo(EINVAL);
    assertThat(m.machine.read64(s.l1() << 12)).isEqualTo(l1Word);
    assertThat(mmu.extOp(MMUEXT_COPY_PAGE, (int) page(3), (int) s.l1())).isZero();
    assertThat(m.machine.read64(page(3) << 12)).isEqualTo(l1Word);

    // Another domain's frame, on either side, and a frame past the end.
    long theirs = m.alloc(OTHER);
    m.machine.write32(theirs << 12, 0x77);
    assertThat(mmu.extOp(MMUEXT_CLEAR_PAGE, (int) theirs, 0)).isEqualTo(EINVAL);
    assertThat(mmu.extOp(MMUEXT_COPY_PAGE, (int) page(4), (int) theirs)).isEqualTo(EINVAL);
    assertThat(mmu.extOp(MMUEXT_COPY_PAGE, (int) theirs, (int) page(4))).isEqualTo(EINVAL);
    assertThat(mmu.extOp(MMUEXT_CLEAR_PAGE, -1, 0)).isEqualTo(EINVAL);
    assertThat(m.machine.read32(theirs << 12)).isEqualTo(0x77);
    assertThat(m.info.refCount(page(4))).isEqualTo(m.info.refCount(page(5)));
    assertThat(m.info.refCount(theirs)).isZero();
  }

  @Test
  void newBaseptrTakesTheNewL3BeforeReleasingTheOld() {
    PvFixture.Space other = m.space(DOM, 1);
    assertThat(mmu.extOp(MMUEXT_UNPIN_TABLE, (int) s.l3(), 0)).isZero();
    assertThat(m.info.typeCount(s.l3())).isEqualTo(1); // the base pointer's
    m.set(other.l3(), 3, 0);
    assertThat(mmu.extOp(MMUEXT_NEW_BASEPTR, (int) other.l3(), 0)).isEqualTo(EINVAL);
    assertThat(mmu.baseMfn()).isEqualTo(s.l3());
    m.set(other.l3(), 3, pte(other.xenL2(), P));
    assertThat(mmu.extOp(MMUEXT_NEW_BASEPTR, (int) other.l3(), 0)).isZero();
    assertThat(m.info.typeCount(s.l3())).isZero();
    assertThat(m.info.typeCount(page(0))).isZero();
    assertThat(m.tlbLog).containsExactly("base " + Long.toHexString(other.l3() << 12));
  }

  @Test
  void theProcessorWalksTheValidatedTablesAndCannotWriteThem() {
    PvFixture fresh = new PvFixture();
    Cpu cpu = new Cpu(fresh.machine, new IoBus());
    cpu.resetFlat32();
    PvMmu.Tlb tlb = PvFixture.cpuTlb(cpu);
    PvMmu g = fresh.mmu(DOM, tlb);
    PvFixture.Space sp = fresh.space(DOM, 2);
    assertThat(g.extOp(MMUEXT_NEW_BASEPTR, (int) sp.l3(), 0)).isZero();
    assertThat(cpu.linearToPhysical(0x1234, true)).isEqualTo(sp.pages()[0] << 12 | 0x234);
    assertThat(cpu.linearToPhysical(0x0008, false)).isEqualTo(sp.l1() << 12 | 8);
    assertThat(cpu.linearToPhysical(0x0008, true)).isEqualTo(-1);
    // The M2P table is readable at MACH2PHYS_VIRT_START, not writable.
    assertThat(g.machphysUpdate(sp.pages()[1], 77)).isZero();
    long m2pEntry = cpu.linearToPhysical(MACH2PHYS_VIRT_START + 4 * (int) sp.pages()[1], false);
    assertThat(fresh.machine.read32(m2pEntry)).isEqualTo(77);
    assertThat(cpu.linearToPhysical(MACH2PHYS_VIRT_START, true)).isEqualTo(-1);
    assertThat(g.updateVaMapping(0x1000, pte(sp.pages()[1], P), UVMF_INVLPG)).isZero();
    assertThat(cpu.linearToPhysical(0x1234, false)).isEqualTo(sp.pages()[1] << 12 | 0x234);
    assertThat(cpu.linearToPhysical(0x1234, true)).isEqualTo(-1);
  }

  @Test
  void theLdtIsMappedOnFirstUseAsADescriptorPageAndDroppedWithItsMapping() {
    assertThat(mmu.extOp(MMUEXT_SET_LDT, 0x1001, 1)).isEqualTo(EINVAL);
    assertThat(mmu.extOp(MMUEXT_SET_LDT, 0x1000, 8193)).isEqualTo(EINVAL);
    assertThat(mmu.extOp(MMUEXT_SET_LDT, 0xF580_0000, 1)).isEqualTo(EINVAL);
    // The LDT at VA 0x6000 (page 5): it must first be mapped read-only.
    assertThat(mmu.extOp(MMUEXT_SET_LDT, 0x6000, 32)).isZero();
    assertThat(mmu.ldtPage(0)).isEqualTo(-1); // mapped writable: cannot become a descriptor page
    assertThat(mmu.updateVaMapping(0x6000, pte(page(5), P), UVMF_INVLPG)).isZero();
    assertThat(mmu.ldtPage(0)).isEqualTo(page(5));
    assertThat(mmu.ldtPage(1)).isEqualTo(-1); // past 32 entries
    assertThat(m.info.type(page(5))).isEqualTo(PageType.SEG_DESC_PAGE);
    // While it is in use, a writable mapping of it is refused...
    assertThat(mmu.updateVaMapping(0x7000, pte(page(5), P | RW), UVMF_NONE))
        .isEqualTo(XenErrno.EBUSY.negated());
    // ...and dropping its mapping drops the LDT's hold on it.
    assertThat(mmu.updateVaMapping(0x6000, 0, UVMF_INVLPG)).isZero();
    assertThat(m.info.typeCount(page(5))).isZero();
    assertThat(mmu.updateVaMapping(0x7000, pte(page(5), P | RW), UVMF_NONE)).isZero();
  }

  @Test
  void relinquishingLeavesNoCountsAndEveryFrameGoesBackToThePool() {
    int freeBefore = m.frames.freeFrames();
    PvFixture.Space more = m.space(DOM, 3);
    assertThat(mmu.extOp(MMUEXT_PIN_L2_TABLE, (int) more.l2(), 0)).isZero();
    assertThat(mmu.extOp(MMUEXT_SET_LDT, 0x6000, 16)).isZero();
    assertThat(mmu.updateVaMapping(0x6000, pte(page(5), P), UVMF_NONE)).isZero();
    assertThat(mmu.ldtPage(0)).isEqualTo(page(5));
    mmu.relinquish(m.frames);
    for (long f = 0; f < m.frames.frames(); f++) {
      assertThat(m.info.typeCount(f)).as("type count of %s", f).isZero();
      assertThat(m.info.refCount(f)).as("references of %s", f).isZero();
    }
    m.frames.freeAll(DOM);
    assertThat(m.frames.freeFrames()).isEqualTo(freeBefore + 4 + 6);
  }
}
