package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code host status} with no host: the answer to the question, on stdout, with a status of its
 * own (3, as an init script's status says "not running"), not the error every other verb gives
 * without a host (status 2, the status of bad options). The README and the help say the same.
 */
class HostStatusTest {
  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int hospes(String... args) {
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
  }

  @Test
  void noHostIsAnAnswerOnStdoutWithStatus3() {
    Path state = dir.resolve("state");
    assertThat(hospes("host", "status", "--state-dir", state.toString())).isEqualTo(3);
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("no host running (state"
        + " directory " + state + "); start one with ./hospes host start\n");
    assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
    assertThat(state).doesNotExist(); // asking creates nothing
  }

  @Test
  void aHostThatEndedWithoutStopIsNamed() throws Exception {
    // kill -9 leaves the pid file and the socket; pid 2^22 + 1 is above Linux's pid_max.
    Path state = Files.createDirectories(dir.resolve("state"));
    Files.writeString(state.resolve("host.pid"), "4194305\n");
    Files.writeString(state.resolve("host.sock"), "");
    assertThat(hospes("host", "status", "--state-dir", state.toString())).isEqualTo(3);
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("no host running (state"
        + " directory " + state + "); host pid 4194305 ended without host stop and left its"
        + " files, which the next host start replaces; start one with ./hospes host start\n");
  }

  /**
   * host stop is what a user runs to clear what a killed host left: the pid file and socket go
   * (they stayed, and stop said only that no host runs). The trial found stop with no host
   * failing with 2, where systemctl stop of a stopped unit and an init script's stop answer 0.
   */
  @Test
  void stopRemovesTheFilesOfAHostThatEndedWithoutStop() throws Exception {
    Path state = Files.createDirectories(dir.resolve("state"));
    Files.writeString(state.resolve("host.pid"), "4194305\n");
    Files.writeString(state.resolve("host.sock"), "");
    Files.writeString(state.resolve("host.log"), "the log\n");
    assertThat(hospes("host", "stop", "--state-dir", state.toString())).isZero();
    assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("hospes: no host is running:"
        + " host pid 4194305 ended without host stop; its pid file and socket are removed\n");
    assertThat(state.resolve("host.pid")).doesNotExist();
    assertThat(state.resolve("host.sock")).doesNotExist();
    assertThat(state.resolve("host.log")).hasContent("the log");
    err.reset();
    assertThat(hospes("host", "status", "--state-dir", state.toString())).isEqualTo(3);
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("no host running (state"
        + " directory " + state + "); start one with ./hospes host start\n");
    // Nothing left to clear: stopping what is stopped is done, as systemctl stop answers it.
    assertThat(hospes("host", "stop", "--state-dir", state.toString())).isZero();
    assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("hospes: no host is running;"
        + " nothing to stop (state directory " + state + ")\n");
  }

  /** host stop with no host was a usage error, status 2; it is done, as systemctl stop's 0. */
  @Test
  void stopWithNoHostIsDone() {
    Path state = dir.resolve("state");
    assertThat(hospes("host", "stop", "--state-dir", state.toString())).isZero();
    assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("hospes: no host is running;"
        + " nothing to stop (state directory " + state + ")\n");
    assertThat(state).doesNotExist(); // stopping nothing creates nothing
  }

  /** A host process that holds the directory's lock but does not answer keeps its files. */
  @Test
  void stopLeavesTheFilesOfAHostThatHoldsTheLock() throws Exception {
    Path state = Files.createDirectories(dir.resolve("state"));
    Files.writeString(state.resolve("host.pid"), "4194305\n");
    Files.writeString(state.resolve("host.sock"), "");
    try (var ch = java.nio.channels.FileChannel.open(state.resolve("host.lock"),
            java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
        var held = ch.lock()) {
      assertThat(hospes("host", "stop", "--state-dir", state.toString())).isEqualTo(1);
    }
    assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("hospes: a host process (pid"
        + " 4194305) holds " + state + " but does not answer; see " + state.resolve("host.log")
        + "\n");
    assertThat(state.resolve("host.pid")).exists();
    assertThat(state.resolve("host.sock")).exists();
  }

  @Test
  void aHostProcessThatDoesNotAnswerIsStatus1() throws Exception {
    // A live process that looks like a host (its arguments hold --foreground), named by the
    // pid file, with a socket path nobody listens on: a host that hangs.
    Process hung = new ProcessBuilder("bash", "-c", "sleep 120; true", "--foreground").start();
    try {
      Path state = Files.createDirectories(dir.resolve("state"));
      Files.writeString(state.resolve("host.pid"), hung.pid() + "\n");
      Files.writeString(state.resolve("host.sock"), "");
      assertThat(hospes("host", "status", "--state-dir", state.toString())).isEqualTo(1);
      assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("host not answering: pid "
          + hung.pid() + " (host.pid) is alive but does not answer on "
          + state.resolve("host.sock") + "; its log: " + state.resolve("host.log") + "\n");
    } finally {
      hung.destroyForcibly().waitFor();
    }
  }

  @Test
  void theHelpAndTheReadmeGiveTheStatuses() throws Exception {
    hospes("host", "status", "--help");
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("Exit status:")
        .containsPattern("0 +a host runs").containsPattern("3 +no host runs");
    Path readme = org.hospes.dom0.bench.KernelSources.findRoot().resolve("README.md");
    assertThat(Files.readString(readme).replaceAll("\\s+", " ")).contains("`./hospes host status` says on stdout"
        + " whether one runs: status 0 if it does").contains("3 if not, as an init script's"
        + " status says it (`no host running (state directory DIR); start one with ./hospes"
        + " host start`");
  }
}
