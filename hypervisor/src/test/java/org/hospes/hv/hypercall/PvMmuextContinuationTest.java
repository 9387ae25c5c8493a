package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.abi.Hypercall;
import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.XenErrno;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;

/**
 * A PV guest's long mmuext_op as Xen continues it (compat_mmuext_op, do_mmuext_op,
 * hypercall_create_continuation): preempted between ops, the guest re-executes its int 0x82
 * with EAX the call's number, EBX past the ops done and ECX the ops left with
 * MMU_UPDATE_PREEMPTED; pdone gets each leg's work added to what the earlier legs left there,
 * so it ends as the total (or the failing op's index). Before, Hospes ran any count in one go
 * and every leg it was handed counted pdone from zero.
 */
class PvMmuextContinuationTest extends PvBatchCallHarness {
  private static final int OPS = 0x8000;

  PvMmuextContinuationTest() {
    super(Hypercall.MMUEXT_OP);
  }

  /** {@code n} TLB flushes at OPS (each always succeeds), op {@code bad} an unpin of nothing. */
  private void ops(int n, int bad) {
    for (int i = 0; i < n; i++) {
      int at = OPS + i * PvMmuAbi.EXT_SIZE;
      write32(at + PvMmuAbi.EXT_CMD, i == bad ? PvMmuAbi.MMUEXT_UNPIN_TABLE
          : PvMmuAbi.MMUEXT_TLB_FLUSH_LOCAL);
      write32(at + PvMmuAbi.EXT_ARG1, i == bad ? (int) PvTestDomains.mfn(d, 9) : 0);
      write32(at + PvMmuAbi.EXT_ARG2, 0);
    }
  }

  @Test
  void aLongBatchIsContinuedAndPdoneEndsAsTheTotal() {
    ops(300, -1);
    write32(PDONE, 0xEEEE);
    call(OPS, 300, PDONE, PvMmuAbi.DOMID_SELF);
    int leg = Hypercalls.PV_PREEMPT_OPS;
    // The first leg: continued at the int 0x82, the rest of the ops marked PREEMPTED.
    assertThat(cpu.eip()).isEqualTo(AFTER_INT - 2);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(Hypercall.MMUEXT_OP.number());
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(OPS + leg * PvMmuAbi.EXT_SIZE);
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo((300 - leg) | PREEMPTED);
    assertThat(cpu.reg(Cpu.EDX)).isEqualTo(PDONE);
    assertThat(cpu.reg(Cpu.ESI)).isEqualTo(PvMmuAbi.DOMID_SELF);
    // The first leg counts from zero, not from what pdone held.
    assertThat(read32(PDONE)).isEqualTo(leg);
    assertThat(legs()).isEqualTo(300 / leg + 1);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(read32(PDONE)).isEqualTo(300);
  }

  @Test
  void anErrorInALaterLegLeavesTheFailingOpsIndexInPdone() {
    ops(300, 200);
    call(OPS, 300, PDONE, PvMmuAbi.DOMID_SELF);
    legs();
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(read32(PDONE)).isEqualTo(200);
  }

  @Test
  void anEventWaitingForDeliveryPreemptsAfterTheCurrentOp() {
    ops(5, -1);
    pv.setUpcallMask(0);
    hv.machineMemory().write8((d.sharedInfoMfn() << 12)
        + org.hospes.abi.SharedInfo.VI_UPCALL_PENDING, 1);
    assertThat(pv.upcallPending()).isTrue();
    call(OPS, 5, PDONE, PvMmuAbi.DOMID_SELF);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT - 2);
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(4 | PREEMPTED);
    assertThat(read32(PDONE)).isEqualTo(1);
    finishMasked(5);
  }

  /**
   * The corners of the count: PREEMPTED with no ops is a continuation's last leg, which returns
   * foreigndom as it is; no ops at all is 0 before the owner is checked, pdone untouched; a
   * count that carries PREEMPTED adds to what pdone holds.
   */
  @Test
  void theCountsCornersAnswerAsCompatMmuextOp() {
    write32(PDONE, 77);
    call(0, PREEMPTED, PDONE, -12);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(-12);
    call(OPS, 0, PDONE, 0x1234);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    call(OPS, PREEMPTED, PDONE, 0x1234);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(read32(PDONE)).isEqualTo(77);
    // Past the hole: -EFAULT before anything else.
    call(0xF57F_FFF8, 2, PDONE, 0x1234);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.EFAULT.negated());
    ops(3, -1);
    call(OPS, 3 | PREEMPTED, PDONE, PvMmuAbi.DOMID_SELF);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(read32(PDONE)).isEqualTo(80);
  }
}
