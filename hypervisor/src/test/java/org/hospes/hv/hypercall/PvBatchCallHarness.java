package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.hospes.abi.Hypercall;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.pv.PvVcpu;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.BeforeEach;

/**
 * A PV domain whose one vCPU makes a batch hypercall (mmu_update, mmuext_op) through its
 * int 0x82 and, while Xen continues the call, re-executes it as the guest's kernel would: the
 * continuation tests' shared set-up.
 */
abstract class PvBatchCallHarness {
  /** Where the guest's pdone counter lives. */
  static final int PDONE = 0x9000;
  /** Where the guest's int 0x82 ends (EIP after it). */
  static final int AFTER_INT = 0x5102;
  static final int PREEMPTED = 0x8000_0000;

  private final Hypercall batch;
  Hypervisor hv;
  Hypercalls hc;
  Domain d;
  PvVcpu pv;
  Cpu cpu;

  PvBatchCallHarness(Hypercall batch) {
    this.batch = batch;
  }

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    d = PvTestDomains.create(hv, "pv");
    pv = d.pv();
    cpu = pv.cpu();
  }

  void write32(int va, int value) {
    byte[] b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
    assertThat(pv.mmu().copyToGuest(va, b)).isTrue();
  }

  void write64(int va, long value) {
    byte[] b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
    assertThat(pv.mmu().copyToGuest(va, b)).isTrue();
  }

  int read32(int va) {
    byte[] b = new byte[4];
    assertThat(pv.mmu().copyFromGuest(va, b)).isTrue();
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
  }

  /** The guest's int 0x82 with the registers as they are, EIP just past it. */
  void int82() {
    cpu.setEip(AFTER_INT);
    hc.handlePv(d.vcpus().get(0));
  }

  /** The batch call with its list, count, pdone and foreigndom (EBX, ECX, EDX, ESI). */
  void call(int list, int count, int pdone, int foreigndom) {
    cpu.setReg(Cpu.EAX, batch.number());
    cpu.setReg(Cpu.EBX, list);
    cpu.setReg(Cpu.ECX, count);
    cpu.setReg(Cpu.EDX, pdone);
    cpu.setReg(Cpu.ESI, foreigndom);
    int82();
  }

  /**
   * With events masked a pending event does not preempt: the rest of the call runs in one leg,
   * returns 0 past the INT, and pdone ends at {@code pdone}.
   */
  void finishMasked(int pdone) {
    pv.setUpcallMask(1);
    int82();
    assertThat(cpu.eip()).isEqualTo(AFTER_INT);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(read32(PDONE)).isEqualTo(pdone);
  }

  /**
   * Runs the call to its end as the guest would, re-executing while it is continued; a call
   * that never ends (a continuation that makes no progress) fails after 10,000 legs.
   */
  int legs() {
    int legs = 1;
    while (cpu.eip() == AFTER_INT - 2) {
      assertThat(legs).as("legs of a call that should end").isLessThan(10_000);
      assertThat(cpu.reg(Cpu.EAX)).isEqualTo(batch.number());
      int82();
      legs++;
    }
    return legs;
  }
}
