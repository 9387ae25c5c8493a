package org.hospes.hv.platform;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.hospes.x86.ApicBaseMsr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** IA32_APIC_BASE semantics and the global enable bit, driven with a hand-moved clock. */
class LocalApicTest {
  private long cycles;
  private final TimerQueue timers = new TimerQueue();
  private final LocalApic apic = new LocalApic(0, new VirtualClock(() -> cycles), timers);

  private void advance(long n) {
    cycles += n;
    timers.runExpired(cycles);
  }

  @Test
  void resetValueIsTheDefaultBaseEnabledBsp() {
    assertThat(apic.readApicBase()).isEqualTo(0xFEE0_0900L);
    assertThat(apic.globallyEnabled()).isTrue();
  }

  @Test
  void reservedBitsX2apicAndMaxPhysAddrAreRefusedInXensOrder() {
    long reset = apic.readApicBase();
    for (int bit : new int[] {0, 1, 7, 9, 10, 36, 40, 63}) {
      assertThat(apic.writeApicBase(reset | 1L << bit)).as("bit %d", bit).isFalse();
    }
    // Moving the enabled window is refused (Xen 4.17); moving a disabled one is accepted.
    assertThat(apic.writeApicBase(0xFED0_0000L | ApicBaseMsr.ENABLE)).isFalse();
    assertThat(apic.readApicBase()).isEqualTo(reset);
    assertThat(apic.writeApicBase(0xFED0_0000L)).isTrue();
    assertThat(apic.readApicBase()).isEqualTo(0xFED0_0000L);
    assertThat(apic.writeApicBase(0xFED0_0000L | ApicBaseMsr.ENABLE)).isFalse();
  }

  /**
   * LINT0 and LINT1 keep the polarity (bit 13) and trigger mode (bit 15) written, as firmware
   * leaves them (SeaBIOS: 0x8700, ExtINT level-triggered; 0x8400, NMI); delivery status (12)
   * and remote IRR (14) are the APIC's, not the writer's. The error LVT has neither.
   */
  @Test
  void lint0AndLint1KeepTheirPolarityAndTriggerMode() {
    apic.write(LocalApic.SVR, 4, 0x1FF);
    apic.write(LocalApic.LVT_LINT0, 4, 0x8700);
    apic.write(LocalApic.LVT_LINT1, 4, 0x8400);
    assertThat(apic.read(LocalApic.LVT_LINT0, 4)).isEqualTo(0x8700);
    assertThat(apic.read(LocalApic.LVT_LINT1, 4)).isEqualTo(0x8400);
    apic.write(LocalApic.LVT_LINT1, 4, -1);
    assertThat(apic.read(LocalApic.LVT_LINT1, 4)).isEqualTo(0x1_A7FF);
    apic.write(LocalApic.LVT_ERROR, 4, 0xA0FE);
    assertThat(apic.read(LocalApic.LVT_ERROR, 4)).isEqualTo(0xFE);
  }

  /**
   * What each LVT keeps of an all-ones write (SDM 11.5.1, figure 11-8): the vector and mask
   * everywhere; the timer its mode (bit 17), thermal and performance their delivery mode (bits
   * 10-8); the error entry nothing else. Delivery status (bit 12) is read-only in every one.
   */
  @Test
  void everyLvtKeepsOnlyItsOwnFields() {
    apic.write(LocalApic.SVR, 4, 0x1FF);
    int[][] expected = {
        {LocalApic.LVT_TIMER, 0x3_00FF}, {LocalApic.LVT_THERMAL, 0x1_07FF},
        {LocalApic.LVT_PERF, 0x1_07FF}, {LocalApic.LVT_LINT0, 0x1_A7FF},
        {LocalApic.LVT_LINT1, 0x1_A7FF}, {LocalApic.LVT_ERROR, 0x1_00FF}};
    for (int[] e : expected) {
      apic.write(e[0], 4, -1);
      assertThat(apic.read(e[0], 4)).as("LVT 0x%x", e[0]).isEqualTo(e[1]);
    }
  }

  @Test
  void theBspFlagIsStoredAsWritten() {
    assertThat(apic.writeApicBase(LocalApic.BASE | ApicBaseMsr.ENABLE)).isTrue();
    assertThat(apic.readApicBase() & ApicBaseMsr.BSP).isZero();
    assertThat(apic.writeApicBase(LocalApic.MSR_VALUE)).isTrue();
    assertThat(apic.readApicBase() & ApicBaseMsr.BSP).isNotZero();
  }

  @Test
  void globallyDisabledTheWindowReadsAllOnesAndNothingIsDelivered() {
    apic.write(LocalApic.SVR, 4, 0x1FF);
    apic.write(LocalApic.LVT_TIMER, 4, 0x40 | LocalApic.LVT_TIMER_PERIODIC);
    apic.write(LocalApic.TIMER_INITIAL, 4, 100);
    assertThat(apic.writeApicBase(LocalApic.BASE | ApicBaseMsr.BSP)).isTrue();
    assertThat(apic.read(LocalApic.VER, 4)).isEqualTo(-1);
    assertThat(apic.read(LocalApic.SVR, 1)).isEqualTo(0xFF);
    apic.write(LocalApic.ICR_LOW, 4, 0x41 | 1 << 18);
    apic.accept(0x42);
    advance(1_000_000);
    assertThat(apic.pendingVector()).isEqualTo(-1);
    assertThat(apic.timerCanInterrupt()).isFalse();
  }

  @Test
  void reEnabledItIsInItsPowerUpState() {
    apic.write(LocalApic.SVR, 4, 0x1FF);
    apic.write(LocalApic.TPR, 4, 0x30);
    apic.write(LocalApic.LVT_TIMER, 4, 0x40);
    apic.write(LocalApic.TIMER_INITIAL, 4, 1000);
    apic.accept(0x80);
    assertThat(apic.writeApicBase(LocalApic.BASE | ApicBaseMsr.BSP)).isTrue();
    assertThat(apic.writeApicBase(LocalApic.MSR_VALUE)).isTrue();
    assertThat(apic.read(LocalApic.SVR, 4)).isEqualTo(0xFF);
    assertThat(apic.read(LocalApic.TPR, 4)).isZero();
    assertThat(apic.read(LocalApic.LVT_TIMER, 4)).isEqualTo(LocalApic.LVT_MASKED);
    assertThat(apic.read(LocalApic.TIMER_INITIAL, 4)).isZero();
    assertThat(apic.read(LocalApic.IRR + 0x40, 4)).isZero();
    assertThat(apic.read(LocalApic.ID, 4)).isZero();
    assertThat(timers.nextDeadline()).isEqualTo(TimerQueue.NEVER);
  }

  @Test
  void aSelfIpiIsDeliveredOnceAndGoneAfterEoi() {
    apic.write(LocalApic.SVR, 4, 0x1FF);
    apic.write(LocalApic.ICR_LOW, 4, 0x41 | 1 << 18);
    assertThat(apic.acknowledge()).isEqualTo(0x41);
    assertThat(apic.pendingVector()).isEqualTo(-1);
    apic.write(LocalApic.EOI, 4, 0);
    assertThat(apic.pendingVector()).isEqualTo(-1);
    assertThat(apic.read(LocalApic.ISR + 0x20, 4)).isZero();
  }

  @Test
  @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aPeriodicTimerFarBehindSkipsTheMissedPeriodsInOneStep() {
    // One bus cycle per period: a queue run an hour late must not fire 3.6e12 times. The
    // missed periods are skipped in one step (Xen's pt_process_missed_ticks) and the phase is
    // kept; the IRR holds one interrupt for them.
    apic.write(LocalApic.SVR, 4, 0x1FF);
    apic.write(LocalApic.TIMER_DIVIDE, 4, 0xB);
    apic.write(LocalApic.LVT_TIMER, 4, 0x40 | LocalApic.LVT_TIMER_PERIODIC);
    apic.write(LocalApic.TIMER_INITIAL, 4, 3);
    long before = timers.fired();
    advance(3_600_000_000_000L + 1);
    assertThat(timers.fired() - before).isLessThanOrEqualTo(2);
    assertThat(apic.acknowledge()).isEqualTo(0x40);
    assertThat(timers.nextDeadline()).isEqualTo(3_600_000_000_003L);
    assertThat(apic.read(LocalApic.TIMER_CURRENT, 4)).isEqualTo(2);
  }

  /**
   * SDM 11.5.3 and Xen's vlapic_error: errors collect as pending bits; a write of the ESR
   * (whatever its value) latches them and clears them; each newly pending bit raises the LVT
   * error interrupt, unless that entry is masked; an error entry with an illegal vector is not
   * delivered but adds a receive-illegal-vector error.
   */
  @Test
  void theEsrLatchesErrorsOnItsWriteAndEachNewErrorRaisesTheErrorInterrupt() {
    apic.write(LocalApic.SVR, 4, 0x1FF);
    apic.write(LocalApic.LVT_ERROR, 4, 0xE0);
    assertThat(apic.accept(0x07, false)).isFalse(); // an illegal vector
    assertThat(apic.read(LocalApic.ESR, 4)).as("not latched yet").isZero();
    assertThat(apic.acknowledge()).isEqualTo(0xE0);
    apic.write(LocalApic.EOI, 4, 0);
    assertThat(apic.accept(0x08, false)).isFalse();
    assertThat(apic.pendingVector()).as("the bit was already pending").isEqualTo(-1);
    apic.write(LocalApic.ESR, 4, 0x1234);
    assertThat(apic.read(LocalApic.ESR, 4)).isEqualTo(LocalApic.ESR_RECEIVE_ILLEGAL_VECTOR);
    apic.write(LocalApic.ESR, 4, 0);
    assertThat(apic.read(LocalApic.ESR, 4)).isZero();

    apic.write(LocalApic.LVT_ERROR, 4, 0x05); // an illegal vector in the error entry
    apic.error(LocalApic.ESR_SEND_ILLEGAL_VECTOR);
    assertThat(apic.pendingVector()).isEqualTo(-1);
    apic.write(LocalApic.ESR, 4, 0);
    assertThat(apic.read(LocalApic.ESR, 4)).isEqualTo(
        LocalApic.ESR_SEND_ILLEGAL_VECTOR | LocalApic.ESR_RECEIVE_ILLEGAL_VECTOR);

    apic.write(LocalApic.LVT_ERROR, 4, LocalApic.LVT_MASKED | 0xE0);
    apic.error(LocalApic.ESR_SEND_ILLEGAL_VECTOR);
    assertThat(apic.pendingVector()).as("masked").isEqualTo(-1);
  }

  /**
   * Xen's vlapic_accept_irq drops a fixed message to a software-disabled APIC without looking
   * at its vector: no error is recorded.
   */
  @Test
  void aDisabledApicDropsAFixedMessageWithoutAnError() {
    apic.acceptFixed(0x03);
    apic.acceptFixed(0x40);
    apic.write(LocalApic.SVR, 4, 0x1FF);
    apic.write(LocalApic.ESR, 4, 0);
    assertThat(apic.read(LocalApic.ESR, 4)).isZero();
    assertThat(apic.pendingVector()).isEqualTo(-1);
  }

  /**
   * Xen's vlapic_match_logical_addr: the flat model ANDs, the cluster model matches the cluster
   * and ANDs the members, with no broadcast (0xFF is cluster 15); another DFR model matches
   * nothing.
   */
  @Test
  void logicalDestinationsAsXenMatchesThem() {
    LocalApic b = new LocalApic(1, new VirtualClock(() -> cycles), timers);
    b.write(LocalApic.LDR, 4, 0x21 << 24); // cluster 2, member bit 0
    b.write(LocalApic.DFR, 4, 0x0FFF_FFFF);
    assertThat(b.matchesDestination(0x23, true)).isTrue();
    assertThat(b.matchesDestination(0x13, true)).isFalse();
    assertThat(b.matchesDestination(0xFF, true)).as("no broadcast in the cluster model")
        .isFalse();
    b.write(LocalApic.DFR, 4, -1);
    assertThat(b.matchesDestination(0xFF, true)).isTrue();
    assertThat(b.matchesDestination(0x10, true)).isFalse();
    b.write(LocalApic.DFR, 4, 0x5FFF_FFFF);
    assertThat(b.matchesDestination(0x21, true)).as("an undefined model").isFalse();
  }

  /**
   * The access rules the SDM leaves to the model: QEMU's (the native machine's) and Xen's (an
   * HVM domain's), on the same accesses.
   */
  @Test
  void narrowAndUnalignedAccessesFollowTheChosenRules() {
    apic.write(LocalApic.SVR, 4, 0x1FF);
    apic.write(LocalApic.TPR, 4, 0x54);
    assertThat(apic.read(LocalApic.TPR, 1)).as("QEMU: narrow read").isZero();
    assertThat(apic.read(LocalApic.VER + 4, 4)).as("QEMU: 32 bits inside the register")
        .isEqualTo(LocalApic.VERSION);
    apic.write(LocalApic.TPR, 1, 0x21);
    assertThat(apic.read(LocalApic.TPR, 4)).as("QEMU: narrow write dropped").isEqualTo(0x54);
    apic.write(LocalApic.TPR + 4, 4, 0x33);
    assertThat(apic.read(LocalApic.TPR, 4)).isEqualTo(0x33);

    apic.setAccessRules(LocalApic.AccessRules.XEN);
    apic.write(LocalApic.TPR, 4, 0x54);
    assertThat(apic.read(LocalApic.TPR, 1)).as("Xen: narrow read").isEqualTo(0x54);
    assertThat(apic.read(LocalApic.VER + 2, 2)).isEqualTo(LocalApic.VERSION >>> 16);
    assertThat(apic.read(LocalApic.VER + 3, 2)).as("past the register's 4 bytes").isZero();
    assertThat(apic.read(LocalApic.VER + 4, 4)).isZero();
    apic.write(LocalApic.TPR, 1, 0x21);
    assertThat(apic.read(LocalApic.TPR, 4)).as("Xen: narrow write merged").isEqualTo(0x21);
    apic.write(LocalApic.TPR + 4, 4, 0x33);
    assertThat(apic.read(LocalApic.TPR, 4)).isEqualTo(0x21);
    apic.write(LocalApic.ESR, 4, 0);
    assertThat(apic.read(LocalApic.ESR, 4)).as("no error for any of them").isZero();
  }

  /** Without an APIC bus (the native machine) a self-IPI's illegal vector is the sender's. */
  @Test
  void anIllegalSelfIpiIsTheSendersError() {
    apic.write(LocalApic.SVR, 4, 0x1FF);
    apic.write(LocalApic.ICR_LOW, 4, 1 << 18 | 0x05);
    apic.write(LocalApic.ESR, 4, 0);
    assertThat(apic.read(LocalApic.ESR, 4)).isEqualTo(LocalApic.ESR_SEND_ILLEGAL_VECTOR);
    assertThat(apic.pendingVector()).isEqualTo(-1);
  }
}
