package org.hospes.dom0.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.cli.HospesCli;
import org.hospes.dom0.testing.ProcessEnds;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hospes bench} stopped by a signal in a real process says where it stopped and that
 * it prints nothing partial, rather than ending silently. The signal is sent after the first
 * measurement's progress line, so nothing depends on how fast the host is.
 */
class BenchStopTest {
  @TempDir
  Path dir;

  /** {@code hospes bench} with {@code args}, in a JVM of its own. */
  private static ProcessBuilder bench(List<String> args) {
    return bench(List.of(), args);
  }

  /** {@code hospes bench} with {@code args}, in a JVM of its own given {@code jvmOptions}. */
  private static ProcessBuilder bench(List<String> jvmOptions, List<String> args) {
    List<String> command = new java.util.ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(jvmOptions);
    command.addAll(List.of(
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

  /**
   * A bench stopped while it times a child leaves neither the child nor its files: the finally
   * blocks that end and delete them do not run when a signal ends the JVM. Before, the child
   * (here a QEMU that waits to be killed, first on the PATH) ran on after the bench had gone,
   * and the children's output files and the work directory stayed in the temporary directory.
   * The signal is sent once the child has started (it writes its pid), so nothing depends on
   * how fast the host is.
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aStoppedBenchEndsItsChildAndLeavesNoTemporaryFiles() throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path tmp = Files.createDirectories(dir.resolve("tmp"));
    Path pidFile = dir.resolve("qemu.pid");
    Path qemu = bin.resolve("qemu-system-i386");
    Files.writeString(qemu, "#!/bin/sh\n"
        + "if [ \"$1\" = --version ]; then echo 'QEMU emulator version 0.0'; exit 0; fi\n"
        + "echo $$ > '" + pidFile + ".new' && mv '" + pidFile + ".new' '" + pidFile + "'\n"
        + "exec sleep 600\n");
    Files.setPosixFilePermissions(qemu, PosixFilePermissions.fromString("rwxr-xr-x"));
    ProcessBuilder pb = bench(List.of("-Djava.io.tmpdir=" + tmp),
        List.of("--startup", "--no-hospes", "--runs", "1", "--qemu-timeout", "600"))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(dir.resolve("err.txt").toFile());
    pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
    Process p = pb.start();
    while (!Files.exists(pidFile) && p.isAlive()) {
      Thread.sleep(20); // the kernels build, then the bench starts the child
    }
    assertThat(pidFile).as(Files.readString(dir.resolve("err.txt"))).exists();
    ProcessHandle child = ProcessEnds.running(Long.parseLong(Files.readString(pidFile).trim()));
    try {

      assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor())
          .isZero();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isEqualTo(143);
      assertThat(Files.readString(dir.resolve("err.txt"))).contains("bench: stopped during"
          + " measurement 1 of ");
      try (var left = Files.list(tmp)) {
        assertThat(left.map(f -> f.getFileName().toString())).as("left in java.io.tmpdir")
            .isEmpty();
      }
      // Ended with the bench, not after its 600 s; it may be seen a moment after the bench
      // has exited (see ProcessEnds), hence the wait.
      assertThat(ProcessEnds.within(child, Duration.ofSeconds(30))).as("the child QEMU ended")
          .isTrue();
    } finally {
      child.destroyForcibly(); // if the test failed
      p.destroyForcibly();
    }
  }
}
