package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * hospes's messages on stderr start on a line of their own. The trial saw "stopped: ..." glued
 * to the guest's last output when that did not end its line, stdout and stderr on one
 * terminal.
 */
class StderrOwnLineTest {
  /** Writes "R" on COM1, no line feed, and spins: mov edx,0x3f8; mov al,'R'; out; jmp $. */
  private static final byte[] PROMPT = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00,
      (byte) 0xB0, 'R', (byte) 0xEE,
      (byte) 0xEB, (byte) 0xFE});

  @TempDir
  Path dir;

  /** hospes run of PROMPT in its own JVM, stderr into stdout's pipe or a pipe of its own. */
  private Process start(boolean oneDestination) throws Exception {
    Path kernel = dir.resolve("prompt.elf");
    Files.write(kernel, PROMPT);
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), HospesCli.class.getName(),
        "run", kernel.toString()));
    return new ProcessBuilder(cmd).redirectErrorStream(oneDestination)
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
  }

  /** Waits for the guest's "R", then SIGTERM; the rest of stdout. */
  private static String stopAfterR(Process p) throws Exception {
    InputStream in = p.getInputStream();
    assertThat(in.read()).as("the guest's R").isEqualTo('R');
    assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).inheritIO().start()
        .waitFor()).isZero();
    String rest = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(143);
    return "R" + rest;
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void onTheSamePipeTheStopLineStartsALineOfItsOwn() throws Exception {
    Process p = start(true);
    assertThat(stopAfterR(p)).isEqualTo("R\nhospes: " + dir.resolve("prompt.elf")
        + ": stopped: interrupted (SIGTERM)\n");
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void apartStdoutKeepsTheGuestsBytesAndStderrItsLine() throws Exception {
    Process p = start(false);
    assertThat(stopAfterR(p)).isEqualTo("R");
    assertThat(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8))
        .isEqualTo("hospes: " + dir.resolve("prompt.elf") + ": stopped: interrupted (SIGTERM)\n");
  }
}
