package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

class TranslatorTest {
  private static final int CODE = 0x1000;

  /** Creates a processor under {@code engine} with a translation threshold of 2. */
  static Cpu cpu(Engine engine, MemoryBus mem) {
    String saved = System.getProperty(Engine.PROPERTY);
    String savedThreshold = System.getProperty(Jit.THRESHOLD_PROPERTY);
    System.setProperty(Engine.PROPERTY, engine.cliName());
    System.setProperty(Jit.THRESHOLD_PROPERTY, "2");
    try {
      return new Cpu(mem, new IoBus());
    } finally {
      restore(Engine.PROPERTY, saved);
      restore(Jit.THRESHOLD_PROPERTY, savedThreshold);
    }
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }

  private static Cpu load(Engine engine, byte[] code) {
    MemoryBus mem = new MemoryBus(1 << 20);
    mem.write(CODE, code, 0, code.length);
    Cpu c = cpu(engine, mem);
    c.resetFlat32();
    c.setEip(CODE);
    c.setReg(Cpu.ESP, 0x8000);
    return c;
  }

  private static byte[] bytes(int... b) {
    byte[] out = new byte[b.length];
    for (int i = 0; i < b.length; i++) {
      out[i] = (byte) b[i];
    }
    return out;
  }

  /** bench-alu's loop: add, xor, rol, inc, dec, jnz; 1000 iterations, then HLT. */
  private static final byte[] ALU_LOOP = bytes(
      0xB8, 1, 0, 0, 0,             // mov eax, 1
      0xBB, 0xB9, 0x79, 0x37, 0x9E, // mov ebx, 0x9E3779B9
      0xB9, 0xE8, 0x03, 0, 0,       // mov ecx, 1000
      0x31, 0xD2,                   // xor edx, edx
      0x01, 0xD0,                   // 1: add eax, edx
      0x31, 0xC3,                   //    xor ebx, eax
      0xC1, 0xC3, 0x03,             //    rol ebx, 3
      0x42,                         //    inc edx
      0x49,                         //    dec ecx
      0x75, 0xF5,                   //    jnz 1b
      0xF4);                        // hlt

  @Test
  void theAluLoopEndsInTheSameStateAsInterpreted() {
    Cpu interp = load(Engine.INTERP, ALU_LOOP);
    Cpu jit = load(Engine.JIT, ALU_LOOP);
    assertThat(interp.run(1_000_000)).isEqualTo(CpuExit.HLT);
    assertThat(jit.run(1_000_000)).isEqualTo(CpuExit.HLT);
    for (int r = 0; r < 8; r++) {
      assertThat(jit.reg(r)).as("register %d", r).isEqualTo(interp.reg(r));
    }
    assertThat(jit.eflags()).isEqualTo(interp.eflags());
    assertThat(jit.eip()).isEqualTo(interp.eip());
    assertThat(jit.instructions()).isEqualTo(interp.instructions()).isEqualTo(4 + 6000 + 1);
    assertThat(jit.jit().translations()).isGreaterThan(0);
  }

  /**
   * A self-loop whose 8-bit MOV and IMUL the translator runs through the interpreter's dispatch
   * (the helper); EBX, which they read, is written later in the loop, so each iteration's
   * helper must see the previous iteration's value.
   */
  private static final byte[] HELPER_LOOP = bytes(
      0xBB, 1, 0, 0, 0,             // mov ebx, 1
      0xBA, 1, 0, 0, 0,             // mov edx, 1
      0xB9, 0xE8, 0x03, 0, 0,       // mov ecx, 1000
      0x88, 0xD8,                   // 1: mov al, bl
      0x0F, 0xAF, 0xD3,             //    imul edx, ebx
      0x83, 0xC3, 0x03,             //    add ebx, 3
      0x49,                         //    dec ecx
      0x75, 0xF5,                   //    jnz 1b
      0xF4);                        // hlt

  @Test
  void instructionsRunByTheHelperInATranslatedLoopSeeTheLoopsLatestRegisters() {
    Cpu interp = load(Engine.INTERP, HELPER_LOOP);
    Cpu jit = load(Engine.JIT, HELPER_LOOP);
    assertThat(interp.run(1_000_000)).isEqualTo(CpuExit.HLT);
    assertThat(jit.run(1_000_000)).isEqualTo(CpuExit.HLT);
    for (int r = 0; r < 8; r++) {
      assertThat(jit.reg(r)).as("register %d", r).isEqualTo(interp.reg(r));
    }
    assertThat(jit.eflags()).isEqualTo(interp.eflags());
    assertThat(jit.instructions()).isEqualTo(interp.instructions());
    assertThat(jit.jit().translations()).isGreaterThan(0);
  }

  @Test
  void lockstepChecksEveryTranslatedRunOfTheAluLoop() {
    Cpu c = load(Engine.LOCKSTEP, ALU_LOOP);
    assertThat(c.run(1_000_000)).isEqualTo(CpuExit.HLT);
    assertThat(c.jit().lockstep().checked()).isGreaterThan(990);
    assertThat(c.jit().lockstep().unchecked()).isZero();
  }

  @Test
  void aBudgetSmallerThanTheTranslationRunsTheInterpreterAndCountsStayExact() {
    Cpu interp = load(Engine.INTERP, ALU_LOOP);
    Cpu jit = load(Engine.JIT, ALU_LOOP);
    for (int step = 0; step < 700; step++) {
      int budget = 1 + step % 7;
      assertThat(jit.run(budget)).isEqualTo(interp.run(budget));
      assertThat(jit.instructions()).isEqualTo(interp.instructions());
      assertThat(jit.eip()).isEqualTo(interp.eip());
      assertThat(jit.eflags()).isEqualTo(interp.eflags());
    }
    assertThat(jit.jit().translations()).isGreaterThan(0);
  }
}
