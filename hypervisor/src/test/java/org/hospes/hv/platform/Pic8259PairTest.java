package org.hospes.hv.platform;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.x86.IoBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Drives the PIC pair through its ports, as a kernel would. */
class Pic8259PairTest {

  private final Pic8259Pair pic = new Pic8259Pair();
  private final IoBus io = new IoBus();

  @BeforeEach
  void wire() {
    pic.register(io);
  }

  private void out(int port, int value) {
    io.out(port, 1, value);
  }

  private int in(int port) {
    return io.in(port, 1);
  }

  /** Linux's init_8259A: vectors 0x30/0x38, cascade on IR2, normal EOI, then mask all but 2. */
  private void linuxInit(boolean autoEoi) {
    out(0x21, 0xFF);
    out(0xA1, 0xFF);
    out(0x20, 0x11);                  // ICW1: edge, cascade, ICW4 needed
    out(0x21, 0x30);                  // ICW2: vector base
    out(0x21, 0x04);                  // ICW3: slave on IR2
    out(0x21, autoEoi ? 0x03 : 0x01); // ICW4: 8086 mode
    out(0xA0, 0x11);
    out(0xA1, 0x38);
    out(0xA1, 0x02);                  // ICW3: slave identity 2
    out(0xA1, 0x01);
    out(0x21, 0xFB);
    out(0xA1, 0xFF);
  }

  /** QEMU's/SeaBIOS's style: vectors 0x08 and 0x70, everything unmasked. */
  private void biosInit() {
    out(0x20, 0x11);
    out(0x21, 0x08);
    out(0x21, 0x04);
    out(0x21, 0x01);
    out(0xA0, 0x11);
    out(0xA1, 0x70);
    out(0xA1, 0x02);
    out(0xA1, 0x01);
    out(0x21, 0x00);
    out(0xA1, 0x00);
  }

  @Test
  void nothingIsDeliveredBeforeInitialization() {
    pic.raise(0);
    pic.raise(9);
    assertThat(pic.pending()).isFalse();
    assertThat(in(0x21)).isEqualTo(0xFF);
  }

  @Test
  void icw1ClearsTheMaskAndTheLatchedRequests() {
    pic.raise(0);
    biosInit();
    assertThat(pic.imr()).isZero();
    assertThat(pic.irr() & 1).as("a line already high needs a new edge").isZero();
    assertThat(pic.pending()).isFalse();
    pic.lower(0);
    pic.raise(0);
    assertThat(pic.pending()).isTrue();
  }

  @Test
  void anUnmaskedEdgeIsDeliveredWithTheProgrammedVectorAndGoesInService() {
    linuxInit(false);
    out(0x21, 0xFA);                  // unmask IRQ 0
    pic.raise(0);
    assertThat(pic.pending()).isTrue();
    out(0x20, Pic8259Pair.OCW3_READ_IRR);
    assertThat(in(0x20)).isEqualTo(0x01);
    assertThat(pic.acknowledge()).isEqualTo(0x30);
    assertThat(pic.pending()).isFalse();
    assertThat(in(0x20)).as("IRR after INTA").isZero();
    out(0x20, Pic8259Pair.OCW3_READ_ISR);
    assertThat(in(0x20)).as("ISR after INTA").isEqualTo(0x01);
    out(0x20, Pic8259Pair.OCW2_NONSPECIFIC_EOI);
    assertThat(in(0x20)).as("ISR after EOI").isZero();
  }

  @Test
  void maskedRequestsWaitInIrrUntilUnmasked() {
    linuxInit(false);
    pic.raise(1);
    assertThat(pic.pending()).isFalse();
    assertThat(pic.irr()).isEqualTo(0x02);
    out(0x21, 0xF9);
    assertThat(pic.pending()).isTrue();
    assertThat(pic.acknowledge()).isEqualTo(0x31);
  }

  @Test
  void anEdgeLatchedRequestSurvivesTheLineDropping() {
    linuxInit(false);
    out(0x21, 0xFA);
    pic.pulse(0);
    assertThat(pic.pending()).isTrue();
    assertThat(pic.acknowledge()).isEqualTo(0x30);
  }

  @Test
  void anInServiceLevelBlocksItselfAndLowerPrioritiesButNotHigherOnes() {
    biosInit();
    pic.pulse(3);
    assertThat(pic.acknowledge()).isEqualTo(0x0B);
    pic.pulse(5);
    assertThat(pic.pending()).as("lower priority than IR3 in service").isFalse();
    pic.pulse(3);
    assertThat(pic.pending()).as("same level in service").isFalse();
    pic.pulse(1);
    assertThat(pic.pending()).as("higher priority nests").isTrue();
    assertThat(pic.acknowledge()).isEqualTo(0x09);
    out(0x20, Pic8259Pair.OCW2_NONSPECIFIC_EOI);  // ends IR1, the highest in service
    assertThat(pic.isr()).isEqualTo(0x08);
    assertThat(pic.pending()).isFalse();
    out(0x20, Pic8259Pair.OCW2_NONSPECIFIC_EOI);  // ends IR3
    assertThat(pic.acknowledge()).isEqualTo(0x0B);
    out(0x20, Pic8259Pair.OCW2_SPECIFIC_EOI | 3);
    assertThat(pic.acknowledge()).isEqualTo(0x0D);
  }

  @Test
  void simultaneousRequestsAreServedInPriorityOrder() {
    biosInit();
    pic.pulse(6);
    pic.pulse(4);
    pic.pulse(0);
    assertThat(pic.acknowledge()).isEqualTo(0x08);
    out(0x20, 0x20);
    assertThat(pic.acknowledge()).isEqualTo(0x0C);
    out(0x20, 0x20);
    assertThat(pic.acknowledge()).isEqualTo(0x0E);
  }

  @Test
  void slaveRequestsArriveThroughTheCascadeAtIr2Priority() {
    linuxInit(false);
    out(0xA1, 0xFE);                  // unmask IRQ 8
    pic.pulse(8);
    assertThat(pic.pending()).isTrue();
    assertThat(pic.acknowledge()).isEqualTo(0x38);
    assertThat(pic.isr()).isEqualTo(0x0104);
    out(0xA0, 0x20);
    out(0x20, 0x20);
    assertThat(pic.isr()).isZero();
  }

  @Test
  void aSlaveRequestOutranksMasterIr3ButNotIr1() {
    biosInit();
    pic.pulse(3);
    pic.pulse(12);
    assertThat(pic.acknowledge()).isEqualTo(0x74);
    pic.pulse(1);
    assertThat(pic.acknowledge()).isEqualTo(0x09);
  }

  @Test
  void aSecondSlaveRequestWaitsForTheMastersEoiWithoutSpecialFullyNestedMode() {
    biosInit();
    pic.pulse(12);
    assertThat(pic.acknowledge()).isEqualTo(0x74);
    pic.pulse(8);                     // higher priority on the slave
    assertThat(pic.pending()).as("master IR2 still in service").isFalse();
    out(0x20, 0x20);
    assertThat(pic.acknowledge()).isEqualTo(0x70);
  }

  @Test
  void specialFullyNestedModeLetsAHigherSlaveRequestThrough() {
    out(0x20, 0x11);
    out(0x21, 0x08);
    out(0x21, 0x04);
    out(0x21, 0x11);                  // ICW4: 8086, SFNM
    out(0xA0, 0x11);
    out(0xA1, 0x70);
    out(0xA1, 0x02);
    out(0xA1, 0x01);
    pic.pulse(12);
    assertThat(pic.acknowledge()).isEqualTo(0x74);
    pic.pulse(8);
    assertThat(pic.acknowledge()).isEqualTo(0x70);
  }

  @Test
  void autoEoiLeavesNothingInService() {
    linuxInit(true);
    out(0x21, 0xFA);
    pic.pulse(0);
    assertThat(pic.acknowledge()).isEqualTo(0x30);
    assertThat(pic.isr()).isZero();
    pic.pulse(0);
    assertThat(pic.pending()).isTrue();
  }

  @Test
  void levelTriggeredRequestsFollowTheLineAndRepeatAfterEoi() {
    biosInit();
    out(0x4D1, 0x08);                 // IRQ 11 level-triggered
    assertThat(in(0x4D1)).isEqualTo(0x08);
    pic.raise(11);
    assertThat(pic.acknowledge()).isEqualTo(0x73);
    out(0xA0, 0x20);
    out(0x20, 0x20);
    assertThat(pic.pending()).as("line still high").isTrue();
    assertThat(pic.acknowledge()).isEqualTo(0x73);
    pic.lower(11);
    out(0xA0, 0x20);
    out(0x20, 0x20);
    assertThat(pic.pending()).isFalse();
    assertThat(pic.irr()).isZero();
  }

  @Test
  void elcrBitsOfTheTimerKeyboardCascadeAndFpuAreReadOnly() {
    out(0x4D0, 0xFF);
    out(0x4D1, 0xFF);
    assertThat(in(0x4D0)).isEqualTo(0xF8);
    assertThat(in(0x4D1)).isEqualTo(0xDE);
    assertThat(io.in(0x4D0, 2)).isEqualTo(0xDEF8);
  }

  @Test
  void ltimMakesEveryInputLevelTriggered() {
    out(0x20, 0x19);                  // ICW1 with LTIM
    out(0x21, 0x20);
    out(0x21, 0x04);
    out(0x21, 0x01);
    pic.raise(5);
    pic.lower(5);
    assertThat(pic.pending()).as("a dropped level is no request").isFalse();
  }

  @Test
  void aLevelRequestThatDropsBeforeAcknowledgeGivesSpuriousIrq7() {
    biosInit();
    out(0x4D0, 0x20);                 // IRQ 5 level
    pic.raise(5);
    assertThat(pic.pending()).isTrue();
    pic.lower(5);                     // gone before the INTA cycle
    assertThat(pic.acknowledge()).isEqualTo(0x0F);
    assertThat(pic.isr()).as("a spurious IR7 is not put in service").isZero();
    assertThat(pic.spuriousCount()).isEqualTo(1);
  }

  @Test
  void aSpuriousSlaveInterruptIsIrq15AndLeavesTheCascadeInService() {
    biosInit();
    out(0x4D1, 0x08);
    pic.raise(11);
    // The master latched the slave's INT edge; the slave's request then goes away.
    pic.lower(11);
    assertThat(pic.irr() & 0x04).isEqualTo(0x04);
    assertThat(pic.acknowledge()).isEqualTo(0x77);
    assertThat(pic.isr()).isEqualTo(0x0004);
  }

  @Test
  void rotateOnNonSpecificEoiMakesTheServedLevelLowestPriority() {
    biosInit();
    pic.pulse(0);
    assertThat(pic.acknowledge()).isEqualTo(0x08);
    out(0x20, Pic8259Pair.OCW2_ROTATE_NONSPECIFIC_EOI);
    pic.pulse(0);
    pic.pulse(5);
    assertThat(pic.acknowledge()).as("IR0 is now lowest").isEqualTo(0x0D);
  }

  @Test
  void setPriorityAndRotatingSpecificEoi() {
    biosInit();
    out(0x20, Pic8259Pair.OCW2_SET_PRIORITY | 4);  // IR5 highest
    pic.pulse(3);
    pic.pulse(6);
    assertThat(pic.acknowledge()).isEqualTo(0x0E);
    out(0x20, Pic8259Pair.OCW2_ROTATE_SPECIFIC_EOI | 6);  // IR7 now highest
    pic.pulse(7);
    assertThat(pic.acknowledge()).isEqualTo(0x0F);
  }

  @Test
  void rotateInAutoEoiMode() {
    linuxInit(true);
    out(0x21, 0x00);
    out(0x20, Pic8259Pair.OCW2_SET_ROTATE_AEOI);
    pic.pulse(1);
    assertThat(pic.acknowledge()).isEqualTo(0x31);
    pic.pulse(1);
    pic.pulse(6);
    assertThat(pic.acknowledge()).isEqualTo(0x36);
  }

  @Test
  void pollModeReadsAndAcknowledgesTheHighestRequest() {
    biosInit();
    out(0x21, 0xFF);                  // masked from the CPU's point of view
    out(0x21, 0x00);
    pic.pulse(6);
    out(0x20, Pic8259Pair.OCW3_POLL);
    assertThat(in(0x20)).isEqualTo(0x86);
    assertThat(pic.isr()).isEqualTo(0x40);
    out(0x20, Pic8259Pair.OCW3_POLL);
    assertThat(in(0x20)).as("nothing left").isZero();
    out(0x20, Pic8259Pair.OCW3_READ_ISR);
    assertThat(in(0x20)).as("the next read is ISR again").isEqualTo(0x40);
  }

  @Test
  void specialMaskModeLetsLowerLevelsInterruptAMaskedInServiceLevel() {
    biosInit();
    pic.pulse(2 + 1);
    assertThat(pic.acknowledge()).isEqualTo(0x0B);
    out(0x21, 0x08);                  // mask IR3 while in service
    out(0x20, Pic8259Pair.OCW3_SET_SMM);
    pic.pulse(5);
    assertThat(pic.acknowledge()).isEqualTo(0x0D);
    out(0x20, Pic8259Pair.OCW3_CLEAR_SMM);
    pic.pulse(6);
    assertThat(pic.pending()).isFalse();
  }

  @Test
  void singleModeWithoutIcw4SkipsIcw3AndIcw4() {
    out(0x20, 0x12);                  // ICW1: single, no ICW4
    out(0x21, 0x40);
    out(0x21, 0xFE);                  // this is already OCW1
    assertThat(pic.imr() & 0xFF).isEqualTo(0xFE);
    pic.pulse(0);
    assertThat(pic.acknowledge()).isEqualTo(0x40);
    pic.pulse(2);
    out(0x21, 0xFA);
    out(0x20, 0x20);
    assertThat(pic.acknowledge()).as("IR2 is an ordinary input").isEqualTo(0x42);
  }

  @Test
  void theMaskRegisterReadsBack() {
    linuxInit(false);
    assertThat(in(0x21)).isEqualTo(0xFB);
    assertThat(in(0xA1)).isEqualTo(0xFF);
    assertThat(pic.isMasked(0)).isTrue();
    assertThat(pic.isMasked(2)).isFalse();
  }

  @Test
  void linuxMaskAndAckOfASlaveIrqWithSpecificEois() {
    linuxInit(false);
    out(0xA1, 0xEF);                  // unmask IRQ 12
    pic.pulse(12);
    assertThat(pic.acknowledge()).isEqualTo(0x3C);
    // mask_and_ack_8259A: mask, read ISR to tell a real IRQ from a spurious one, specific EOIs.
    out(0xA1, 0xFF);
    out(0xA0, Pic8259Pair.OCW3_READ_ISR);
    assertThat(in(0xA0)).isEqualTo(0x10);
    out(0xA0, Pic8259Pair.OCW3_READ_IRR);
    out(0xA0, Pic8259Pair.OCW2_SPECIFIC_EOI | 4);
    out(0x20, Pic8259Pair.OCW2_SPECIFIC_EOI | Pic8259Pair.CASCADE_IRQ);
    assertThat(pic.isr()).isZero();
    out(0xA1, 0xEF);
    assertThat(pic.pending()).isFalse();
  }

  @Test
  void linuxProbeSeesTheMaskItWrote() {
    out(0xA1, 0xFF);
    out(0x21, 0xFB);
    assertThat(in(0x21)).isEqualTo(0xFB);
    out(0x21, 0xFF);
    assertThat(in(0x21)).isEqualTo(0xFF);
  }
}
