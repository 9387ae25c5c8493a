package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.abi.Hypercall;
import org.hospes.abi.Multicall;
import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.XenErrno;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;

/**
 * A PV guest's multicall as Xen 4.17's do_multicall continues it: between entries (never
 * before a leg's first) a preemption check may stop the batch, which the guest then re-executes
 * with EBX the first entry not done and ECX the entries left; an entry that is itself continued
 * (a long mmu_update or mmuext_op) gets its result (the sub-call's number) and then its
 * continued arguments written into the list, and the batch continues from that entry. Every
 * completed entry's result is written, nothing runs twice, nothing is skipped. Before, Hospes
 * ran every entry to its end in one go and refused more than 256 entries.
 */
class PvMulticallContinuationTest extends PvBatchCallHarness {
  private static final int LIST = 0xC000;
  private static final int REQS = 0xA000;
  private static final int OPS = 0x8000;
  /** The data page the mmu_update requests write (pfn 20, mapped writable at 0x14000). */
  private static final int TARGET_PFN = 20;
  private static final int UNTOUCHED = 0x5555;

  PvMulticallContinuationTest() {
    super(Hypercall.MULTICALL);
  }

  private long slot(int i) {
    return hv.machineMemory().read64((PvTestDomains.mfn(d, TARGET_PFN) << 12) + 8L * i);
  }

  private static int entry(int i) {
    return LIST + i * Multicall.ENTRY_SIZE;
  }

  /** Entry {@code i}: hypercall {@code op} with {@code args}, its result field UNTOUCHED. */
  private void entry(int i, Hypercall op, int... args) {
    write32(entry(i) + Multicall.ENTRY_OP, op.number());
    write32(entry(i) + Multicall.ENTRY_RESULT, UNTOUCHED);
    for (int k = 0; k < Multicall.NR_ARGS; k++) {
      write32(entry(i) + Multicall.ENTRY_ARGS + 4 * k, k < args.length ? args[k] : 0);
    }
  }

  private int result(int i) {
    return read32(entry(i) + Multicall.ENTRY_RESULT);
  }

  /** {@code n} mmu_update requests at {@code at}, request k writing first + k + 1 in slot first + k. */
  private void reqs(int at, int first, int n) {
    long target = PvTestDomains.mfn(d, TARGET_PFN) << 12;
    for (int k = 0; k < n; k++) {
      write64(at + k * PvMmuAbi.MMU_SIZE + PvMmuAbi.MMU_PTR, target + 8L * (first + k));
      write64(at + k * PvMmuAbi.MMU_SIZE + PvMmuAbi.MMU_VAL, first + k + 1);
    }
  }

  private void multicall(int list, int count) {
    cpu.setReg(Cpu.EAX, Hypercall.MULTICALL.number());
    cpu.setReg(Cpu.EBX, list);
    cpu.setReg(Cpu.ECX, count);
    int82();
  }

  @Test
  void aLongMulticallIsContinuedBetweenEntriesAndRunsEachOnce() {
    // 300 entries, entry i an mmu_update of one request writing i + 1 into slot i.
    for (int i = 0; i < 300; i++) {
      reqs(REQS + i * PvMmuAbi.MMU_SIZE, i, 1);
      entry(i, Hypercall.MMU_UPDATE, REQS + i * PvMmuAbi.MMU_SIZE, 1, 0, PvMmuAbi.DOMID_SELF);
    }
    multicall(LIST, 300);
    int leg = Hypercalls.PV_PREEMPT_OPS;
    assertThat(cpu.eip()).isEqualTo(AFTER_INT - 2);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(Hypercall.MULTICALL.number());
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(entry(leg));
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(300 - leg);
    // The first leg's entries are done and their results written; the next one not run.
    assertThat(result(leg - 1)).isZero();
    assertThat(slot(leg - 1)).isEqualTo(leg);
    assertThat(result(leg)).isEqualTo(UNTOUCHED);
    assertThat(slot(leg)).isZero();
    assertThat(legs()).isEqualTo(300 / leg + 1);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    for (int i = 0; i < 300; i++) {
      assertThat(result(i)).as("result %d", i).isZero();
      assertThat(slot(i)).as("slot %d", i).isEqualTo(i + 1);
    }
    assertThat(d.vcpus().get(0).counters().multicallEntries).as("entries run").isEqualTo(300);
  }

  @Test
  void aPreemptedEntryIsContinuedByTheMulticallBeforeTheEntriesAfterIt() {
    reqs(REQS, 0, 300);
    reqs(REQS + 300 * PvMmuAbi.MMU_SIZE, 400, 1);
    reqs(REQS + 301 * PvMmuAbi.MMU_SIZE, 401, 1);
    entry(0, Hypercall.MMU_UPDATE, REQS + 300 * PvMmuAbi.MMU_SIZE, 1, 0, PvMmuAbi.DOMID_SELF);
    entry(1, Hypercall.MMU_UPDATE, REQS, 300, PDONE, PvMmuAbi.DOMID_SELF);
    entry(2, Hypercall.MMU_UPDATE, REQS + 301 * PvMmuAbi.MMU_SIZE, 1, 0, PvMmuAbi.DOMID_SELF);
    write32(PDONE, 0xEEEE);
    multicall(LIST, 3);
    int leg = Hypercalls.PV_PREEMPT_OPS;
    // Entry 1 was preempted: the multicall goes on from it, its arguments now its
    // continuation's, its result the sub-call's number; entry 2 has not run.
    assertThat(cpu.eip()).isEqualTo(AFTER_INT - 2);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(Hypercall.MULTICALL.number());
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(entry(1));
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(2);
    assertThat(result(0)).isZero();
    assertThat(result(1)).isEqualTo(Hypercall.MMU_UPDATE.number());
    assertThat(read32(entry(1) + Multicall.ENTRY_OP)).isEqualTo(Hypercall.MMU_UPDATE.number());
    assertThat(read32(entry(1) + Multicall.ENTRY_ARGS)).isEqualTo(REQS + leg * PvMmuAbi.MMU_SIZE);
    assertThat(read32(entry(1) + Multicall.ENTRY_ARGS + 4)).isEqualTo((300 - leg) | PREEMPTED);
    assertThat(read32(entry(1) + Multicall.ENTRY_ARGS + 8)).isEqualTo(PDONE);
    assertThat(read32(PDONE)).isEqualTo(leg);
    assertThat(slot(leg - 1)).isEqualTo(leg);
    assertThat(slot(leg)).isZero();
    assertThat(result(2)).isEqualTo(UNTOUCHED);
    assertThat(slot(401)).isZero();
    // Entry 1 takes two more legs (each runs its share of requests), entry 2 runs in the last.
    assertThat(legs()).isEqualTo(300 / leg + 1);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(result(1)).isZero();
    assertThat(result(2)).isZero();
    assertThat(read32(PDONE)).isEqualTo(300);
    for (int i = 0; i < 300; i++) {
      assertThat(slot(i)).as("slot %d", i).isEqualTo(i + 1);
    }
    assertThat(slot(400)).isEqualTo(401);
    assertThat(slot(401)).isEqualTo(402);
  }

  @Test
  void aPreemptedMmuextOpEntryEndsWithItsTotalInPdone() {
    for (int i = 0; i < 300; i++) {
      int at = OPS + i * PvMmuAbi.EXT_SIZE;
      write32(at + PvMmuAbi.EXT_CMD, PvMmuAbi.MMUEXT_TLB_FLUSH_LOCAL);
      write32(at + PvMmuAbi.EXT_ARG1, 0);
      write32(at + PvMmuAbi.EXT_ARG2, 0);
    }
    entry(0, Hypercall.MMUEXT_OP, OPS, 300, PDONE, PvMmuAbi.DOMID_SELF);
    multicall(LIST, 1);
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(entry(0));
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(1);
    assertThat(result(0)).isEqualTo(Hypercall.MMUEXT_OP.number());
    assertThat(legs()).isEqualTo(300 / Hypercalls.PV_PREEMPT_OPS + 1);
    assertThat(result(0)).isZero();
    assertThat(read32(PDONE)).isEqualTo(300);
  }

  @Test
  void anEventWaitingForDeliveryPreemptsAfterTheCurrentEntry() {
    for (int i = 0; i < 3; i++) {
      reqs(REQS + i * PvMmuAbi.MMU_SIZE, i, 1);
      entry(i, Hypercall.MMU_UPDATE, REQS + i * PvMmuAbi.MMU_SIZE, 1, 0, PvMmuAbi.DOMID_SELF);
    }
    pv.setUpcallMask(0);
    hv.machineMemory().write8((d.sharedInfoMfn() << 12)
        + org.hospes.abi.SharedInfo.VI_UPCALL_PENDING, 1);
    multicall(LIST, 3);
    // A leg's first entry always runs; the event stops the batch before the next one.
    assertThat(cpu.eip()).isEqualTo(AFTER_INT - 2);
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(entry(1));
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(2);
    assertThat(result(0)).isZero();
    assertThat(result(1)).isEqualTo(UNTOUCHED);
    pv.setUpcallMask(1);
    int82();
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(result(1)).isZero();
    assertThat(result(2)).isZero();
    assertThat(slot(2)).isEqualTo(3);
  }

  @Test
  void theCountIsUnsignedAndTheListMustLieBelowTheHole() {
    entry(0, Hypercall.XEN_VERSION, 0);
    // Past 256 entries is no error for a PV caller; a count whose list would reach into the
    // hypervisor hole is -EFAULT before any entry runs (guest_handle_okay).
    multicall(LIST, -1);
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.EFAULT.negated());
    assertThat(result(0)).isEqualTo(UNTOUCHED);
    multicall(PvMmuAbi.HYPERVISOR_VIRT_START - Multicall.ENTRY_SIZE, 2);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(XenErrno.EFAULT.negated());
    multicall(LIST, 0);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
  }
}
