package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The interrupt shadow (SDM vol. 3, 6.8.3): after MOV SS, POP SS and STI the processor takes no
 * external interrupt before the next instruction has run, so a stack switch of MOV SS ; MOV ESP
 * cannot be split by one. The interrupt controller below raises its line once EIP reaches the
 * instruction after the shadowing one, and vector 0x20 leads to a HLT; the return EIP the
 * processor pushed says where the interrupt came in.
 */
class InterruptShadowTest {
  private static final int VECTOR = 0x20;

  private final SystemFixture m = new SystemFixture();

  /** INTR asserted while EIP is in [from, from + 0x100), until acknowledged. */
  private void interruptFrom(int from) {
    m.gate(VECTOR, SystemFixture.HANDLER, 0);
    m.code(SystemFixture.HANDLER, "f4");
    m.cpu.setInterruptController(new InterruptController() {
      private boolean taken;

      @Override
      public boolean pending() {
        int eip = m.cpu.eip();
        return !taken && eip >= from && eip < from + 0x100;
      }

      @Override
      public int acknowledge() {
        taken = true;
        return VECTOR;
      }
    });
  }

  private void expectInterruptReturningTo(int eip) {
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.eip()).isEqualTo(SystemFixture.HANDLER + 1);
    assertThat(m.mem.read32(m.cpu.reg(Cpu.ESP))).as("return EIP pushed").isEqualTo(eip);
    assertThat(m.cpu.reg(Cpu.EBX)).as("INC EBX ran in the shadow").isEqualTo(1);
  }

  @Test
  void movSsHoldsOffAnInterruptForOneInstruction() {
    // mov ax, 0x10 ; sti ; nop ; nop ; mov ss, ax ; inc ebx ; hlt
    m.code(SystemFixture.RING0, "66b81000 fb 90 90 8ed0 43 f4");
    interruptFrom(SystemFixture.RING0 + 9);
    expectInterruptReturningTo(SystemFixture.RING0 + 10);
  }

  @Test
  void popSsHoldsOffAnInterruptForOneInstruction() {
    // push 0x10 ; sti ; nop ; nop ; pop ss ; inc ebx ; hlt
    m.code(SystemFixture.RING0, "6a10 fb 90 90 17 43 f4");
    interruptFrom(SystemFixture.RING0 + 6);
    expectInterruptReturningTo(SystemFixture.RING0 + 7);
  }

  @Test
  void stiHoldsOffAnInterruptForOneInstruction() {
    // sti ; inc ebx ; hlt  (the line is up before STI, with IF clear)
    m.code(SystemFixture.RING0, "fb 43 f4");
    interruptFrom(SystemFixture.RING0);
    expectInterruptReturningTo(SystemFixture.RING0 + 2);
  }

  /**
   * A run whose budget ends right after STI leaves the shadow to the next run: the interrupt
   * still waits for INC. (It used to be cleared at that boundary, so STI ; HLT could take the
   * interrupt before the HLT and then sleep.)
   */
  @Test
  void theShadowOutlivesARunThatEndsRightAfterSti() {
    // sti ; inc ebx ; hlt  (the line is up before STI, with IF clear)
    m.code(SystemFixture.RING0, "fb 43 f4");
    interruptFrom(SystemFixture.RING0);
    runTo(SystemFixture.RING0);
    assertThat(m.cpu.run(1)).isEqualTo(CpuExit.BUDGET);
    assertThat(m.cpu.eip()).isEqualTo(SystemFixture.RING0 + 1);
    expectInterruptReturningTo(SystemFixture.RING0 + 2);
  }

  /** The same after MOV SS, whose shadow also holds a single-step back. */
  @Test
  void theShadowOutlivesARunThatEndsRightAfterMovSs() {
    // mov ax, 0x10 ; sti ; nop ; nop ; mov ss, ax ; inc ebx ; hlt
    m.code(SystemFixture.RING0, "66b81000 fb 90 90 8ed0 43 f4");
    interruptFrom(SystemFixture.RING0 + 9);
    runTo(SystemFixture.RING0 + 7);
    assertThat(m.cpu.run(1)).isEqualTo(CpuExit.BUDGET);
    assertThat(m.cpu.eip()).isEqualTo(SystemFixture.RING0 + 9);
    expectInterruptReturningTo(SystemFixture.RING0 + 10);
  }

  /** Runs the fixture's set-up one instruction at a time until EIP is {@code eip}. */
  private void runTo(int eip) {
    for (int n = 0; m.cpu.eip() != eip; n++) {
      assertThat(n).as("instructions before EIP %x", eip).isLessThan(100);
      assertThat(m.cpu.run(1)).isEqualTo(CpuExit.BUDGET);
    }
  }

  @Test
  void withoutAShadowTheInterruptComesAtOnce() {
    // mov ax, 0x10 ; sti ; nop ; nop ; mov ds, ax ; inc ebx ; hlt
    m.code(SystemFixture.RING0, "66b81000 fb 90 90 8ed8 43 f4");
    interruptFrom(SystemFixture.RING0 + 9);
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.mem.read32(m.cpu.reg(Cpu.ESP))).isEqualTo(SystemFixture.RING0 + 9);
    assertThat(m.cpu.reg(Cpu.EBX)).isZero();
  }
}
