package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
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
 * A study stopped from outside, in a real {@code hospes} process: the runs under way finish,
 * the rest are skipped, and the results directory holds the finished runs, so a user who stops
 * a long study keeps what it measured. The signal is sent after the first run's progress line,
 * so the test waits on the study, not on the clock.
 */
class StudyStopTest {
  /** jmp $: a run that ends at the study's instruction limit. */
  private static final byte[] SPIN = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xEB, (byte) 0xFE});
  private static final int RUNS = 40;

  @TempDir
  Path dir;

  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void sigtermWritesTheFinishedRunsAndSkipsTheRest() throws Exception {
    Files.write(dir.resolve("spin.elf"), SPIN);
    Path study = dir.resolve("s.yaml");
    Files.writeString(study, "name: stop\nworkloads:\n  - {name: spin, kernel: spin.elf}\n"
        + "modes: [native]\nrepetitions: " + RUNS + "\nmaxInstructions: 30000000\n");
    Path out = dir.resolve("out");
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), HospesCli.class.getName(),
        "study", study.toString(), "--out", out.toString(), "--jobs", "1"));
    Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    BufferedReader err = new BufferedReader(
        new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
    String first = err.readLine();
    assertThat(first).as("the first progress line").startsWith("study: [1/" + RUNS + "] ");
    // Twice back to back, as timeout(1) delivers it: still one request.
    String kill = "kill -TERM " + p.pid();
    assertThat(new ProcessBuilder("sh", "-c", kill + "; " + kill).inheritIO().start().waitFor())
        .isZero();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    String rest = err.lines().reduce("", (a, b) -> a + b + "\n");

    assertThat(p.exitValue()).as(rest).isEqualTo(143);
    // The second SIGTERM came at once and was ignored: the line says a later one is needed.
    assertThat(rest).contains("study: stopping: the runs under way finish, the rest are skipped"
        + " (SIGTERM again, a second or more later, ends it at once)\n").containsPattern(
        "study: stopped after \\d+ of " + RUNS + " runs; their results in ");
    List<String> csv = Files.readAllLines(out.resolve("runs.csv"));
    int finished = csv.size() - 1;
    assertThat(finished).isBetween(1, RUNS - 1);
    assertThat(rest).contains("study: stopped after " + finished + " of " + RUNS + " runs");
    String incomplete = "Incomplete: the study was stopped after " + finished + " of " + RUNS
        + " runs; " + (RUNS - finished) + " did not run: ";
    assertThat(Files.readString(out.resolve("summary.md"))).contains(incomplete);
    assertThat(Files.readString(out.resolve("report.html"))).contains(incomplete);
    assertThat(out.resolve("INCOMPLETE.txt")).exists();
  }
}
