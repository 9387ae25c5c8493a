package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.abi.Hypercall;
import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.XenErrno;
import org.hospes.hv.domain.Domain;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;

/**
 * A PV guest's long mmu_update as Xen 4.17's do_mmu_update continues it (a PV32 guest's table
 * calls do_mmu_update itself): preempted before a request other than a leg's first, the guest
 * re-executes its int 0x82 with EAX the call's number, EBX past the requests done, ECX the
 * requests left with MMU_UPDATE_PREEMPTED, EDX pdone and ESI foreigndom as they were; on a
 * PREEMPTED leg pdone's value is read first and this leg's work added to it, so it ends as the
 * total (or the failing request's index). Before, Hospes ran any count in one go, counted
 * pdone from zero on every leg, and took a PREEMPTED count with no requests for an empty batch.
 */
class PvMmuUpdateContinuationTest extends PvBatchCallHarness {
  private static final int REQS = 0xA000;
  /** The data page the requests write (pfn 20, mapped writable at 0x14000). */
  private static final int TARGET_PFN = 20;

  PvMmuUpdateContinuationTest() {
    super(Hypercall.MMU_UPDATE);
  }

  /** What request {@code i} wrote: slot i of the target page. */
  private long slot(int i) {
    return hv.machineMemory().read64((PvTestDomains.mfn(d, TARGET_PFN) << 12) + 8L * i);
  }

  /**
   * {@code n} MMU_NORMAL_PT_UPDATEs at REQS, request i writing i + 1 into slot i of a data page
   * (each succeeds); request {@code bad} an unknown command (-ENOSYS).
   */
  private void reqs(int n, int bad) {
    long target = PvTestDomains.mfn(d, TARGET_PFN) << 12;
    for (int i = 0; i < n; i++) {
      int at = REQS + i * PvMmuAbi.MMU_SIZE;
      write64(at + PvMmuAbi.MMU_PTR, (target + 8L * i) | (i == bad ? 5 : 0));
      write64(at + PvMmuAbi.MMU_VAL, i + 1);
    }
  }

  @Test
  void aLongBatchIsContinuedAndPdoneEndsAsTheTotal() {
    reqs(300, -1);
    write32(PDONE, 0xEEEE);
    call(REQS, 300, PDONE, PvMmuAbi.DOMID_SELF);
    int leg = Hypercalls.PV_PREEMPT_OPS;
    // The first leg: continued at the int 0x82, the rest of the requests marked PREEMPTED.
    assertThat(cpu.eip()).isEqualTo(AFTER_INT - 2);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(Hypercall.MMU_UPDATE.number());
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(REQS + leg * PvMmuAbi.MMU_SIZE);
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo((300 - leg) | PREEMPTED);
    assertThat(cpu.reg(Cpu.EDX)).isEqualTo(PDONE);
    assertThat(cpu.reg(Cpu.ESI)).isEqualTo(PvMmuAbi.DOMID_SELF);
    // The first leg counts from zero, not from what pdone held; its requests are done, the
    // next one not yet.
    assertThat(read32(PDONE)).isEqualTo(leg);
    assertThat(slot(leg - 1)).isEqualTo(leg);
    assertThat(slot(leg)).isZero();
    assertThat(legs()).isEqualTo(300 / leg + 1);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(read32(PDONE)).isEqualTo(300);
    for (int i = 0; i < 300; i++) {
      assertThat(slot(i)).as("slot %d", i).isEqualTo(i + 1);
    }
  }

  @Test
  void anErrorInALaterLegLeavesTheFailingRequestsIndexInPdone() {
    reqs(300, 200);
    call(REQS, 300, PDONE, PvMmuAbi.DOMID_SELF);
    assertThat(legs()).isEqualTo(2);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.ENOSYS.negated());
    assertThat(read32(PDONE)).isEqualTo(200);
    assertThat(slot(199)).isEqualTo(200);
    assertThat(slot(201)).isZero();
  }

  @Test
  void anEventWaitingForDeliveryPreemptsAfterTheCurrentRequest() {
    reqs(5, -1);
    pv.setUpcallMask(0);
    hv.machineMemory().write8((d.sharedInfoMfn() << 12)
        + org.hospes.abi.SharedInfo.VI_UPCALL_PENDING, 1);
    assertThat(pv.upcallPending()).isTrue();
    call(REQS, 5, PDONE, PvMmuAbi.DOMID_SELF);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT - 2);
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(REQS + PvMmuAbi.MMU_SIZE);
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(4 | PREEMPTED);
    assertThat(read32(PDONE)).isEqualTo(1);
    // The next leg also runs its first request before it may stop again.
    int82();
    assertThat(cpu.eip()).isEqualTo(AFTER_INT - 2);
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(3 | PREEMPTED);
    assertThat(read32(PDONE)).isEqualTo(2);
    finishMasked(5);
  }

  /**
   * The count's corners in do_mmu_update's order: PREEMPTED with no requests returns foreigndom
   * as it is, pdone untouched; a PREEMPTED count reads pdone before the range check, and the
   * leg adds to it; no requests still checks the owners and writes pdone (0 on a first leg),
   * where mmuext_op returns 0 before both.
   */
  @Test
  void theCountsCornersAnswerAsDoMmuUpdate() {
    write32(PDONE, 77);
    call(0, PREEMPTED, PDONE, -12);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(-12);
    assertThat(read32(PDONE)).isEqualTo(77);
    // PREEMPTED and no requests at a real list: a leg with nothing left, pdone as it was.
    call(REQS, PREEMPTED, PDONE, PvMmuAbi.DOMID_SELF);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(read32(PDONE)).isEqualTo(77);
    // Past the hole: -EFAULT, pdone not written.
    call(0xF57F_FFF8, 2 | PREEMPTED, PDONE, PvMmuAbi.DOMID_SELF);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.EFAULT.negated());
    assertThat(read32(PDONE)).isEqualTo(77);
    reqs(3, -1);
    call(REQS, 3 | PREEMPTED, PDONE, PvMmuAbi.DOMID_SELF);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(read32(PDONE)).isEqualTo(80);
    // A first leg with no requests: 0, pdone 0.
    call(REQS, 0, PDONE, PvMmuAbi.DOMID_SELF);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(read32(PDONE)).isZero();
  }

  /**
   * The owners as do_mmu_update checks them: an unknown page-table owner is -ESRCH with pdone
   * not written; an unknown page owner -ESRCH after pdone is written (its "goto out"); another
   * domain is refused by the first request that names a command (xsm_mmu_update), so no
   * requests is 0 and an unknown command -ENOSYS.
   */
  @Test
  void theOwnersAnswerInDoMmuUpdatesOrder() {
    Domain other = PvTestDomains.create(hv, "other");
    int otherPt = (other.domid() + 1) << 16 | PvMmuAbi.DOMID_SELF;
    write32(PDONE, 77);
    call(REQS, 0, PDONE, (99 + 1) << 16 | PvMmuAbi.DOMID_SELF);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(read32(PDONE)).isEqualTo(77);
    call(REQS, 0, PDONE, 99);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(read32(PDONE)).isZero();
    call(REQS, 0, PDONE, otherPt);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    call(REQS, 0, PDONE, other.domid());
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    reqs(2, 0);
    write32(PDONE, 77);
    call(REQS, 2, PDONE, otherPt);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.ENOSYS.negated());
    call(REQS, 2, PDONE, other.domid());
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.ENOSYS.negated());
    assertThat(read32(PDONE)).isZero();
    reqs(2, -1);
    call(REQS, 2, PDONE, otherPt);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.EPERM.negated());
    call(REQS, 2, PDONE, other.domid());
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.EPERM.negated());
    assertThat(read32(PDONE)).isZero();
    assertThat(slot(0)).isZero();
  }
}
