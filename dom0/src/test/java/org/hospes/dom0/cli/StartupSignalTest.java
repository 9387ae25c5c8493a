package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.FileOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Ctrl-C or SIGTERM while a command starts, before it traps the signals itself: the JVM's own
 * handler ended the process with 130 or 143 and not a word. The command is held at a known
 * point of its start by a FIFO in place of its input file (the kernel, the study file): the
 * test's open of the FIFO for writing returns only once the command has opened it for reading,
 * and the command then waits in its read; the signal is sent then, so no timing is involved.
 */
class StartupSignalTest {

  @TempDir
  Path dir;

  @ParameterizedTest
  @CsvSource({
      "INT, 130, run, 'hospes: run: stopped: interrupted (SIGINT) while starting; no guest ran'",
      "TERM, 143, run, 'hospes: run: stopped: interrupted (SIGTERM) while starting; no guest ran'",
      "TERM, 143, study, 'study: stopped (SIGTERM) while starting; no run started'"})
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aSignalWhileTheCommandReadsItsInputSaysItWasStopped(String signal, int status,
      String command, String line) throws Exception {
    assumeFalse(signal.equals("INT") && RunStopTest.sigintIgnored(),
        "SIGINT is ignored in this tree");
    assumeTrue(new java.io.File("/usr/bin/mkfifo").canExecute(), "mkfifo(1) is needed");
    Path fifo = dir.resolve(command.equals("study") ? "study.yaml" : "kernel.elf");
    assertThat(new ProcessBuilder("/usr/bin/mkfifo", fifo.toString()).start().waitFor())
        .isZero();
    Process p = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), HospesCli.class.getName(),
        command, fifo.toString())
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(dir.resolve("stderr").toFile())
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
    try (FileOutputStream writer = new FileOutputStream(fifo.toFile())) {
      // Open: the command is reading its input, and waits for the rest of it.
      assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO()
          .start().waitFor()).isZero();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the command ended").isTrue();
    } finally {
      p.destroyForcibly();
    }
    String err = java.nio.file.Files.readString(dir.resolve("stderr"), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(err).isEqualTo(status);
    assertThat(err).isEqualTo(line + "\n");
  }

  @Test
  void eachCommandSaysItInItsOwnWords() {
    assertThat(StartupSignals.line("demo", "INT", true))
        .isEqualTo("hospes: demo interrupted (SIGINT) while starting; nothing was run");
    assertThat(StartupSignals.line("run-many", "TERM", true))
        .isEqualTo("hospes: run-many: stopped: interrupted (SIGTERM) while starting;"
            + " no guest ran");
    // Commands that run no guest, and no command at all: only that it was stopped.
    assertThat(StartupSignals.line("list", "TERM", true))
        .isEqualTo("hospes: list: stopped: interrupted (SIGTERM)");
    assertThat(StartupSignals.line("bogus", "INT", true))
        .isEqualTo("hospes: stopped: interrupted (SIGINT)");
    assertThat(StartupSignals.line(null, "INT", true))
        .isEqualTo("hospes: stopped: interrupted (SIGINT)");
    // After a command's own handlers were put back its guests have run: no "while starting".
    for (String command : List.of("run", "study", "demo")) {
      assertThat(StartupSignals.line(command, "TERM", false)).as(command)
          .contains("(SIGTERM)").doesNotContain("starting", "no guest", "nothing");
    }
  }
}
