package org.hospes.x86.diff;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * End to end: {@code src/test/native/sseprog.c}, compiled by the host gcc with
 * {@code -m32 -msse2 -O2} into a flat binary at the case address, runs under {@code qemu-i386}
 * and on the emulator from the same random inputs; the whole scratch window (results, MXCSR
 * after each rounding mode, the stack) and the registers are compared. It exercises what real
 * compiled code uses: scalar double arithmetic and conversions in all four rounding modes,
 * LDMXCSR/STMXCSR, and glibc-style pcmpeqb/pmovmskb/pminub string code.
 */
class SimdProgramQemuTest {
  static final int SCRATCH = 1024;
  static final int CODE_MAX = 1024;
  // struct io in sseprog.c
  static final int IN = 16, IIN = 80, STR = 112, BYTES = 432;

  @Test
  void gccSse2ProgramMatchesQemu() {
    byte[] prog = build();
    DiffSuite.run("SimdProgramQemuTest", NativeHarness.Kind.QEMU32, SCRATCH, CODE_MAX,
        "hospes.diff.simdprog", 300, (rnd, index) -> programCase(rnd, prog));
  }

  static DiffCase programCase(SplittableRandom rnd, byte[] prog) {
    DiffCase c = new DiffCase(SCRATCH);
    for (int i = 0; i < SCRATCH; i++) {
      c.mem[i] = (byte) rnd.nextInt(256);
    }
    // At most one NaN input: with two NaN operands qemu-i386 (7.2) picks the result by the x87
    // rule (larger significand, then sign) instead of SSE's first-source rule, which
    // SimdHostDiffTest checks against the host CPU.
    boolean nan = false;
    for (int i = 0; i < 8; i++) {
      double v = switch (rnd.nextInt(4)) {
        case 0 -> rnd.nextInt(2001) - 1000;
        case 1 -> (rnd.nextDouble() - 0.5) * Math.pow(10, rnd.nextInt(20) - 6);
        case 2 -> Double.longBitsToDouble(SimdForms.doubleValue(rnd));
        default -> rnd.nextDouble() * 3e9 - 1.5e9;
      };
      if (Double.isNaN(v) && nan) {
        v = 1.5;
      }
      nan |= Double.isNaN(v);
      long bits = Double.doubleToRawLongBits(v);
      SimdForms.putInt(c.mem, IN + 8 * i, (int) bits);
      SimdForms.putInt(c.mem, IN + 8 * i + 4, (int) (bits >>> 32));
      SimdForms.putInt(c.mem, IIN + 4 * i, rnd.nextInt(4) == 0 ? rnd.nextInt() : rnd.nextInt(1000));
    }
    int len = rnd.nextInt(47);
    for (int i = 0; i < 48; i++) {
      c.mem[STR + i] = i == len ? 0 : (byte) (1 + rnd.nextInt(255));
    }
    int esp = Layout.SCRATCH_ADDR + SCRATCH - 64;
    for (int r = 0; r < 8; r++) {
      c.regs[r] = rnd.nextInt();
    }
    c.regs[Regs.ESP] = esp;
    // The return address: a HLT of the code region's filler, which ends the case.
    SimdForms.putInt(c.mem, esp - Layout.SCRATCH_ADDR, Layout.CODE_ADDR);
    c.eflags = 2;
    // qemu-i386 (7.2) never sets MXCSR.DE, the denormal-operand flag; the host CPU does, and
    // SimdHostDiffTest checks the emulator's DE against it. Not compared here.
    for (int rc = 0; rc < 4; rc++) {
      c.maskMem(4 * rc, 1, ~0x02);
    }
    c.refCode = prog;
    c.emuCode = prog;
    c.text = "sseprog.c entry()";
    c.form = "gcc -m32 -msse2 -O2 program";
    c.asBlock = true;
    c.maxSteps = 20_000;
    return c;
  }

  /** Compiles sseprog.c into a flat binary linked at {@link Layout#INSN_ADDR}. */
  static byte[] build() {
    NativeHarness.requireTool("gcc", "gcc");
    Path module = Path.of("").toAbsolutePath();
    if (!Files.exists(module.resolve("src/test/native/sseprog.c"))) {
      module = module.resolve("hypervisor");
    }
    Path src = module.resolve("src/test/native/sseprog.c");
    Path script = module.resolve("src/test/native/sseprog.ld");
    Path out = module.resolve("target/diff-native/sseprog.bin");
    try {
      Files.createDirectories(out.getParent());
      List<String> cmd = List.of("gcc", "-m32", "-O2", "-msse2", "-mfpmath=sse", "-frounding-math",
          "-fno-math-errno", "-ffreestanding", "-fno-pic", "-fno-pie", "-no-pie",
          "-fno-asynchronous-unwind-tables", "-fno-stack-protector", "-nostdlib",
          "-Wl,-T," + script, "-Wl,--oformat=binary", "-Wl,--build-id=none", "-o", out.toString(),
          src.toString());
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new IllegalStateException("cannot build sseprog.c with gcc -m32 (install the Debian"
            + " package gcc-multilib):\n" + log);
      }
      byte[] bin = Files.readAllBytes(out);
      if (bin.length > CODE_MAX) {
        throw new IllegalStateException("sseprog.bin is " + bin.length + " bytes, over " + CODE_MAX);
      }
      return bin;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
