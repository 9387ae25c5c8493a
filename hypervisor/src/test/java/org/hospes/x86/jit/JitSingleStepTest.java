package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.Flags;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/**
 * A hot, translated loop stops being run by its translation once EFLAGS.TF is set: every
 * instruction then ends in a single-step #DB, as under the interpreter (the translator has no
 * debug features, so the processor steps such code interpreted).
 */
class JitSingleStepTest {
  private static final int CODE = 0x1000;

  @Test
  void translatedLoopSingleStepsOnceTfIsSet() {
    for (Engine engine : new Engine[] {Engine.JIT, Engine.LOCKSTEP}) {
      MemoryBus mem = new MemoryBus(1 << 20);
      // inc ebx ; jmp back to inc
      mem.write(CODE, new byte[] {0x43, (byte) 0xEB, (byte) 0xFD}, 0, 3);
      Cpu c = TranslatorTest.cpu(engine, mem);
      c.resetFlat32();
      c.setEip(CODE);
      c.setReg(Cpu.ESP, 0x8000);
      assertThat(c.run(10_000)).isEqualTo(CpuExit.BUDGET);
      assertThat(c.jit().translations()).as(engine + ": the loop was translated").isPositive();
      c.setExceptionExitMask(-1);
      c.setEflags(c.eflags() | Flags.TF);
      int ebx = c.reg(Cpu.EBX);
      int eip = c.eip();
      assertThat(c.run(10_000)).isEqualTo(CpuExit.EXCEPTION);
      assertThat(c.exceptionVector()).isEqualTo(1);
      // Exactly one instruction ran: INC (EIP to the JMP, EBX + 1) or JMP (back, EBX kept).
      boolean atInc = eip == CODE;
      assertThat(c.eip()).as(engine + ": after one instruction").isEqualTo(atInc ? CODE + 1 : CODE);
      assertThat(c.reg(Cpu.EBX) - ebx).isEqualTo(atInc ? 1 : 0);
      assertThat(c.run(10_000)).isEqualTo(CpuExit.EXCEPTION);
      assertThat(c.eip()).isEqualTo(atInc ? CODE : CODE + 1);
    }
  }
}
