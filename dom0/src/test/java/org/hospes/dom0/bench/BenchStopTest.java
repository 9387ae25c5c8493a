package org.hospes.dom0.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.cli.HospesCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code hospes bench} stopped by a signal in a real process says where it stopped and that
 * it prints nothing partial, rather than ending silently. The signal is sent after the first
 * measurement's progress line, so nothing depends on how fast the host is.
 */
class BenchStopTest {
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aStoppedBenchSaysWhereItStopped() throws Exception {
    Process p = new ProcessBuilder(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), HospesCli.class.getName(),
        "bench", "--no-qemu", "--mode", "native", "--engine", "interp", "--runs", "20"))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    BufferedReader err = new BufferedReader(
        new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = err.readLine()) != null && !line.startsWith("bench: [1/40]")) {
      // make's output while the bench kernels build
    }
    assertThat(line).as("the first measurement's progress line").isNotNull();
    assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor())
        .isZero();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String rest = err.lines().reduce("", (a, b) -> a + b + "\n");
    assertThat(p.exitValue()).isEqualTo(143);
    assertThat(rest).containsPattern("bench: stopped during measurement \\d+ of 40; an"
        + " incomplete bench prints no table and writes no --csv/--json\n");
  }
}
