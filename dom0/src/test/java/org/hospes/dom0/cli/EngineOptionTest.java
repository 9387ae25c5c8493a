package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.x86.jit.Engine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --engine}: choosing the translator, and the one-line error for an unknown engine. */
class EngineOptionTest {
  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final String saved = System.getProperty(Engine.PROPERTY);

  @AfterEach
  void restoreEngine() {
    // --engine sets the engine of the processors the process creates; keep other tests apart.
    if (saved == null) {
      System.clearProperty(Engine.PROPERTY);
    } else {
      System.setProperty(Engine.PROPERTY, saved);
    }
  }

  private int hospes(String... args) {
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
  }

  /** mov ecx, 100000; 1: dec ecx; jnz 1b; hlt: hot past the translation threshold (16,384). */
  private Path loopKernel() throws IOException {
    Path p = dir.resolve("loop.elf");
    Files.write(p, ElfImageBuilder.multibootKernel(new byte[] {
        (byte) 0xB9, (byte) 0xA0, (byte) 0x86, 0x01, 0, 0x49, 0x75, (byte) 0xFD, (byte) 0xF4}));
    return p;
  }

  @Test
  void anUnknownEngineIsOneLineNamingTheValidOnes() throws IOException {
    assertThat(hospes("run", "--engine", "warp", loopKernel().toString())).isEqualTo(2);
    String e = err.toString(StandardCharsets.UTF_8);
    assertThat(e).contains("--engine: unknown engine 'warp' (known: interp, jit, lockstep)");
    assertThat(e.strip().lines()).hasSize(1);
  }

  @Test
  void theJitEngineTranslatesTheHotLoopAndStatsSaySo() throws IOException {
    assertThat(hospes("run", "--engine", "jit", "--stats", loopKernel().toString())).isZero();
    String e = err.toString(StandardCharsets.UTF_8);
    assertThat(e).contains("200002 instructions");
    assertThat(e).contains("hospes: jit: 1 blocks translated (2 instructions)");
  }

  @Test
  void theInterpreterPrintsNoTranslatorLine() throws IOException {
    assertThat(hospes("run", "--engine", "interp", "--stats", loopKernel().toString())).isZero();
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("200002 instructions")
        .doesNotContain("jit:");
  }

  @Test
  void withoutEngineTheTranslatorRunsAndCountsAsTheInterpreter() throws IOException {
    System.clearProperty(Engine.PROPERTY);
    assertThat(Engine.current()).isEqualTo(Engine.JIT);
    assertThat(hospes("run", "--stats", loopKernel().toString())).isZero();
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("200002 instructions")
        .contains("hospes: jit: 1 blocks translated (2 instructions)");
    // An empty property (an unset Maven property passed through) is the default too.
    System.setProperty(Engine.PROPERTY, "");
    assertThat(Engine.current()).isEqualTo(Engine.JIT);
  }
}
