package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/**
 * A block that jumps back to its own start is translated after {@link Jit#loopThreshold()}
 * runs; any other block after {@link Jit#threshold()}.
 */
class LoopThresholdTest {
  private static final int CODE = 0x1000;

  private static Cpu cpu(byte[] code) {
    return JitProperties.with(JitProperties.jit(100, 10), () -> {
      MemoryBus mem = new MemoryBus(1 << 20);
      mem.write(CODE, code, 0, code.length);
      Cpu c = new Cpu(mem, new IoBus());
      c.resetFlat32();
      c.setEip(CODE);
      c.setReg(Cpu.ESP, 0x8000);
      return c;
    });
  }

  /**
   * mov ecx, n; 1: dec ecx; jnz 1b; hlt. The first block runs the first iteration; the block at
   * 1 (dec, jnz back to itself) the other n - 1.
   */
  private static byte[] selfLoop(int n) {
    return new byte[] {(byte) 0xB9, (byte) n, (byte) (n >> 8), 0, 0, 0x49, 0x75, (byte) 0xFD,
        (byte) 0xF4};
  }

  /**
   * mov ecx, n; 1: dec ecx; jmp 2f; 2: jnz 1b; hlt. The same loop in two blocks, neither of
   * which jumps to its own start: the block at 2 runs n times, the one at 1 n - 1 times.
   */
  private static byte[] twoBlockLoop(int n) {
    return new byte[] {(byte) 0xB9, (byte) n, (byte) (n >> 8), 0, 0, 0x49, (byte) 0xEB, 0,
        0x75, (byte) 0xFB, (byte) 0xF4};
  }

  private static long translations(byte[] code) {
    Cpu c = cpu(code);
    assertThat(c.jit().loopThreshold()).isEqualTo(10);
    assertThat(c.jit().threshold()).isEqualTo(100);
    assertThat(c.run(1_000_000)).isEqualTo(CpuExit.HLT);
    assertThat(c.reg(Cpu.ECX)).isZero();
    return c.jit().translations();
  }

  @Test
  void aBlockThatJumpsToItsOwnStartIsTranslatedAtTheLoopThreshold() {
    assertThat(translations(selfLoop(10))).isZero();
    assertThat(translations(selfLoop(11))).isEqualTo(1);
  }

  @Test
  void otherBlocksWaitForTheThreshold() {
    assertThat(translations(twoBlockLoop(99))).isZero();
    // The block at 2 reaches 100 runs; the block at 1 only 99.
    assertThat(translations(twoBlockLoop(100))).isEqualTo(1);
  }

  @Test
  void theLoopThresholdIsNeverAboveTheThreshold() {
    String saved = System.getProperty(Jit.LOOP_THRESHOLD_PROPERTY);
    System.setProperty(Jit.LOOP_THRESHOLD_PROPERTY, "1000000");
    try {
      Jit jit = new Jit(java.lang.invoke.MethodHandles.lookup(), b -> { }, false, 50, 8);
      assertThat(jit.loopThreshold()).isEqualTo(50);
    } finally {
      if (saved == null) {
        System.clearProperty(Jit.LOOP_THRESHOLD_PROPERTY);
      } else {
        System.setProperty(Jit.LOOP_THRESHOLD_PROPERTY, saved);
      }
    }
  }
}
