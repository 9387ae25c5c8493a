package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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

  /**
   * Ctrl-C while the study builds an SDK workload: the terminal sends SIGINT to its whole
   * foreground process group, make included, so make dies of it too. That is a stop (status
   * 130, a line saying so), not a failed build (status 2 and make's command line). The trial
   * saw the latter. A compiler that sleeps holds the build up; the signal goes to the process
   * group of a study started in a session of its own, as a terminal sends it. Sent to the study
   * alone ({@code kill -INT PID}, a supervisor), the signal reaches only the JVM, which stops
   * make with SIGTERM: the line named that signal ("stopped (SIGTERM)", with status 130), not
   * the one the user sent.
   */
  @ParameterizedTest
  @CsvSource({"INT, group", "TERM, group", "INT, alone"})
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void aSignalDuringTheSdkBuildIsAStopNotAFailedBuild(String signal, String to)
      throws Exception {
    assumeTrue(new java.io.File("/usr/bin/setsid").canExecute(), "setsid(1) is needed");
    // A shell that started our JVM in the background may have left SIGINT ignored; make and
    // the study would inherit that.
    assumeFalse(signal.equals("INT") && RunStopTest.sigintIgnored(),
        "SIGINT is ignored in this tree");
    Path cc = dir.resolve("slow-cc");
    Path started = dir.resolve("cc-started");
    Files.writeString(cc, "#!/bin/sh\ntouch '" + started + "'\nsleep 100\nexec gcc \"$@\"\n");
    assertThat(cc.toFile().setExecutable(true)).isTrue();
    Files.writeString(dir.resolve("prog.c"), "#include <hospes/guest.h>\n"
        + "int main(void) { return 0; }\n");
    Path study = dir.resolve("s.yaml");
    String workload = "stop-build-" + signal.toLowerCase() + "-" + to;
    Files.writeString(study, "workloads:\n  - {name: " + workload
        + ", sdk: [prog.c]}\nmodes: [pvh]\n");
    Path out = dir.resolve("out");
    ProcessBuilder pb = new ProcessBuilder("/usr/bin/setsid",
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), HospesCli.class.getName(),
        "study", study.toString(), "--out", out.toString())
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(dir.resolve("stderr").toFile());
    pb.environment().put("CC", cc.toString()); // make's CC ?= gcc takes it
    Process p = pb.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (!Files.exists(started) && p.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(started).as("the compiler started; stderr: "
          + Files.readString(dir.resolve("stderr"))).exists();
      // setsid made the study its session's (and process group's) leader: -PID is the group.
      String target = to.equals("group") ? "-" + p.pid() : String.valueOf(p.pid());
      assertThat(new ProcessBuilder("kill", "-" + signal, "--", target).inheritIO()
          .start().waitFor()).isZero();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the study ended").isTrue();
    } finally {
      p.destroyForcibly();
      Path build = org.hospes.dom0.bench.KernelSources.findRoot()
          .resolve("samples/guests/build/study");
      for (String ext : List.of(".elf", ".vars", ".lock")) {
        Files.deleteIfExists(build.resolve(workload + ext));
      }
    }
    String err = Files.readString(dir.resolve("stderr"));
    String name = signal.equals("INT") ? "Ctrl-C" : "SIGTERM";
    assertThat(p.exitValue()).as(err).isEqualTo(signal.equals("INT") ? 130 : 143);
    assertThat(err).contains("study: stopped (" + name + ") while building the workloads;"
        + " no run ran, nothing written\n").doesNotContain("failed")
        .doesNotContain("runs under way");
    assertThat(out).doesNotExist();
  }

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
