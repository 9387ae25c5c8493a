package org.hospes.x86.diff;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.hospes.hv.testing.TestProperties;
import org.hospes.x86.Cpu;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;
import org.hospes.x86.jit.Engine;
import org.hospes.x86.jit.Jit;
import org.hospes.x86.jit.LockstepMismatch;
import org.junit.jupiter.api.Test;

/**
 * The translator and MMX/SSE/SSE2: streams that interleave generated integer cases (which the
 * translator compiles) with SIMD instructions (which it leaves to the interpreter) loop under
 * the lockstep engine; lockstep must find no mismatch, and registers, the instruction count and
 * the scratch window (the XMM, MMX and MXCSR state stored there by an epilogue) must equal a
 * plain interpreter's.
 */
class JitSimdLockstepTest {
  private static final long SEED = TestProperties.longValue("hospes.diff.jit.seed", 0x51_3D_B10CL);
  private static final int STREAMS = TestProperties.count("hospes.diff.jitsimd", 100);
  private static final int ITERATIONS = 8;
  private static final int SCRATCH = SimdForms.SCRATCH;

  @Test
  void simdStreamsRunTheSameUnderLockstepAndTheInterpreter() {
    MemoryBus lockMem = new MemoryBus(Layout.RAM_BYTES);
    MemoryBus refMem = new MemoryBus(Layout.RAM_BYTES);
    Cpu lock = create(Engine.LOCKSTEP, lockMem);
    Cpu ref = create(Engine.INTERP, refMem);
    SplittableRandom root = new SplittableRandom(SEED);
    for (int s = 0; s < STREAMS; s++) {
      long seed = root.nextLong();
      SplittableRandom rnd = new SplittableRandom(seed);
      DiffCase state = SimdForms.generate(rnd);
      ByteArrayOutputStream code = new ByteArrayOutputStream();
      StringBuilder text = new StringBuilder();
      int insns = 0;
      for (Insn i : SimdForms.prologue()) {
        code.writeBytes(i.emu());
        insns++;
      }
      // The loop starts after the prologue, with MOVs the translator compiles: a block is
      // translated up to its first instruction the translator leaves to the interpreter.
      int loop = code.size();
      for (int k = 0; k < 6; k++) {
        DiffCase c = HostForms.generate(rnd, 256, false);
        for (int r = 0; r < 8; r++) {
          code.write(0xB8 + r);
          for (int b = 0; b < 4; b++) {
            code.write(c.regs[r] >>> (8 * b));
          }
        }
        code.writeBytes(c.emuCode);
        Insn simd = SimdForms.randomInsn(rnd, state);
        code.writeBytes(simd.emu());
        insns += 9 + Math.max(1, c.maxSteps);
        text.append(c.text).append(" | ").append(simd.text()).append(" | ");
      }
      for (Insn i : SimdForms.epilogue()) {
        code.writeBytes(i.emu());
        insns++;
      }
      int back = loop - (code.size() + 5);
      code.write(0xE9);
      for (int b = 0; b < 4; b++) {
        code.write(back >>> (8 * b));
      }
      String where = String.format("stream %d, seed 0x%x: %s", s, seed, text);
      start(lock, lockMem, code.toByteArray(), state);
      start(ref, refMem, code.toByteArray(), state);
      int budget = ITERATIONS * insns;
      int lockExit;
      try {
        lockExit = lock.run(budget);
      } catch (LockstepMismatch m) {
        fail(where + "\n" + m.getMessage());
        return;
      }
      assertThat(lockExit).as(where).isEqualTo(ref.run(budget));
      for (int r = 0; r < 8; r++) {
        assertThat(lock.reg(r)).as("register %d, %s", r, where).isEqualTo(ref.reg(r));
      }
      assertThat(lock.eip()).as(where).isEqualTo(ref.eip());
      assertThat(lock.instructions()).as(where).isEqualTo(ref.instructions());
      assertThat(lock.exceptionVector()).as(where).isEqualTo(ref.exceptionVector());
      byte[] a = new byte[SCRATCH];
      byte[] b = new byte[SCRATCH];
      lockMem.read(Layout.SCRATCH_ADDR, a, 0, SCRATCH);
      refMem.read(Layout.SCRATCH_ADDR, b, 0, SCRATCH);
      assertThat(a).as(where).isEqualTo(b);
    }
    assertThat(lock.jit().lockstep().checked()).isGreaterThan(STREAMS);
  }

  private static Cpu create(Engine engine, MemoryBus mem) {
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

  private static void start(Cpu cpu, MemoryBus mem, byte[] code, DiffCase state) {
    byte[] filler = new byte[Layout.CODE_SIZE];
    Arrays.fill(filler, Layout.HLT);
    mem.write(Layout.CODE_ADDR, filler, 0, filler.length);
    mem.write(Layout.INSN_ADDR, code, 0, code.length);
    mem.write(Layout.SCRATCH_ADDR, state.mem, 0, state.mem.length);
    cpu.resetFlat32();
    cpu.loadControlRegisters(cpu.cr0(), 0, Cpu.CR4_OSFXSR | Cpu.CR4_OSXMMEXCPT);
    cpu.setExceptionExitMask(-1);
    for (int r = 0; r < 8; r++) {
      cpu.setReg(r, state.regs[r]);
    }
    cpu.setEflags(2);
    cpu.setEip(Layout.INSN_ADDR);
  }
}
