package org.hospes.study.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.study.RunRecord;
import org.hospes.dom0.study.StudyRunner;
import org.hospes.dom0.study.StudySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C or SIGTERM while a study starts Spark stops it as it stops a local study. The last
 * trial saw the JVM's shutdown hooks run under Spark's start-up: "Error initializing
 * SparkContext" with a stack trace, or "internal error: ... SparkContext was shut down", and
 * no stop line. The signal is sent once the study says Spark is starting, so the test waits
 * on the study, not on the clock.
 */
class SparkStudyStopTest {
  @TempDir
  Path dir;

  private Path study() throws Exception {
    Path f = dir.resolve("s.yaml");
    Files.writeString(f, """
        name: stop
        workloads:
          - {name: nb, kernel: nanobench, cmdline: "iters=20"}
        modes: [native, hvm]
        repetitions: 3
        """);
    return f;
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void sigtermWhileSparkStartsIsAStopWithItsLineAndStatus() throws Exception {
    Path out = dir.resolve("out");
    Process p = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "org.hospes.dom0.cli.HospesCli",
        "study", study().toString(), "--out", out.toString(), "--spark=local[1]")
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    BufferedReader err = new BufferedReader(
        new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
    StringBuilder seen = new StringBuilder();
    for (String line = err.readLine(); line != null; line = err.readLine()) {
      seen.append(line).append('\n');
      if (line.startsWith("study: starting Spark (local[1])")) {
        break;
      }
    }
    assertThat(seen.toString()).contains("study: starting Spark (local[1])");
    assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).inheritIO().start()
        .waitFor()).isZero();
    assertThat(p.waitFor(240, TimeUnit.SECONDS)).as("the study ended").isTrue();
    String rest = err.lines().reduce("", (a, b) -> a + b + "\n");
    String all = seen + rest;

    assertThat(p.exitValue()).as(all).isEqualTo(143);
    assertThat(all).doesNotContain("\tat ").doesNotContain("Exception")
        .doesNotContain("internal error").contains("study: stopping: the runs under way"
            + " finish, the rest are skipped (SIGTERM again, a second or more later, ends it"
            + " at once)\n");
    List<String> lines = all.lines().toList();
    assertThat(lines.get(lines.size() - 1)).matches("study: stopped after \\d+ of 6 runs;.*");
    if (lines.get(lines.size() - 1).contains("nothing written")) {
      // Not even the empty results directory made for the runs is left behind.
      assertThat(out).doesNotExist();
    }
  }

  /**
   * In this JVM, deterministically: a stop asked for as Spark starts (here from the line that
   * says so) starts no run and returns none; one asked for before the study returns at once.
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aStopAskedForWhileSparkStartsRunsNothing() throws Exception {
    StudySpec s = StudySpec.read(study());
    Map<String, byte[]> images = new StudyRunner(dir, 1,
        new PrintStream(OutputStream.nullOutputStream())).images(s);
    SparkStudyExecutor spark = new SparkStudyExecutor();
    ByteArrayOutputStream said = new ByteArrayOutputStream();
    PrintStream progress = new PrintStream(new OutputStream() {
      @Override
      public void write(int b) {
        said.write(b);
        if (b == '\n' && said.toString(StandardCharsets.UTF_8).endsWith("(local[1])\n")) {
          spark.requestStop();
        }
      }
    }, true, StandardCharsets.UTF_8);
    List<RunRecord> got = spark.run(s, images, "local[1]", progress);
    assertThat(got).isEmpty();
    assertThat(said.toString(StandardCharsets.UTF_8))
        .isEqualTo("study: starting Spark (local[1])\n");

    SparkStudyExecutor early = new SparkStudyExecutor();
    early.requestStop();
    ByteArrayOutputStream none = new ByteArrayOutputStream();
    assertThat(early.run(s, images, "local[1]", new PrintStream(none))).isEmpty();
    assertThat(none.size()).isZero();
  }
}
