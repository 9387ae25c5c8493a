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
  /** {@code hospes bench} with {@code args}, in a JVM of its own. */
  private static ProcessBuilder bench(List<String> args) {
    List<String> command = new java.util.ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), HospesCli.class.getName(), "bench"));
    command.addAll(args);
    return new ProcessBuilder(command);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aStoppedBenchSaysWhereItStopped() throws Exception {
    Process p = bench(List.of("--no-qemu", "--mode", "native", "--engine", "interp", "--runs",
        "20")).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
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

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aStoppedDomainsBenchSaysWhereItStoppedAndKeepsTheRowsItPrinted() throws Exception {
    Process p = bench(List.of("--domains", "2,3,200")).start();
    BufferedReader err = new BufferedReader(
        new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
    List<String> progress = new java.util.ArrayList<>();
    String line;
    while ((line = err.readLine()) != null && !line.startsWith("bench: [4/4]")) {
      if (line.startsWith("bench: [")) {
        progress.add(line);
      }
    }
    assertThat(line).as("the last measurement's progress line").isEqualTo(
        "bench: [4/4] 200 domains");
    assertThat(progress).containsExactly("bench: [1/4] 2 domains, warm-up (not measured)",
        "bench: [2/4] 2 domains", "bench: [3/4] 3 domains");
    assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor())
        .isZero();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String rest = err.lines().reduce("", (a, b) -> a + b + "\n");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).isEqualTo(143);
    assertThat(rest).contains("bench: stopped during measurement 4 of 4; the rows printed above"
        + " are complete\n");
    // The two rows measured before the stop, each whole.
    assertThat(out.lines().filter(l -> l.matches(" +[23] .* [23]/[23]"))).hasSize(2);
  }
}
