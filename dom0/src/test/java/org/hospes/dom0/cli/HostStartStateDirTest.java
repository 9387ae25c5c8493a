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
 * {@code host start} on a state directory it cannot use says why in words, on stderr, with
 * status 2, and starts nothing: not a Java exception's class name ("FileAlreadyExistsException",
 * "SocketException: Unix domain path too long"), and not from a daemon's log after the fork.
 */
class HostStartStateDirTest {
  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int hospes(String... args) {
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
  }

  private String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void anUnknownSchedulerIsRefusedBeforeTheDaemonIsSpawned() throws Exception {
    // The last trial: host start said "started" and the daemon failed, in its log only.
    Path state = dir.resolve("state");
    assertThat(hospes("host", "start", "--sched", "nope", "--state-dir", state.toString()))
        .isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: unknown scheduler 'nope'; known schedulers: ")
        .contains("credit").endsWith("\n");
    assertThat(state).doesNotExist(); // nothing made, nothing spawned
    // The same words as run's.
    ByteArrayOutputStream runErr = new ByteArrayOutputStream();
    Path kernel = Files.write(dir.resolve("k.elf"),
        org.hospes.dom0.testing.ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(runErr, true, StandardCharsets.UTF_8))
        .execute("run", "--mode", "hvm", "--sched", "nope", kernel.toString());
    assertThat(runErr.toString(StandardCharsets.UTF_8)).isEqualTo(stderr());
    // So is a scheduler that cannot place vCPUs on several physical CPUs.
    err.reset();
    assertThat(hospes("host", "start", "--sched", "rr", "--pcpus", "2", "--state-dir",
        state.toString())).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: --pcpus 2: the rr scheduler runs every vCPU on one"
        + " physical CPU");
    assertThat(state).doesNotExist();
  }

  @Test
  void aFileIsNotAStateDirectory() throws Exception {
    Path file = Files.writeString(dir.resolve("notes.txt"), "mine\n");
    assertThat(hospes("host", "start", "--state-dir", file.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: cannot start a host in " + file
        + ": it is not a directory\n");
    err.reset();
    assertThat(hospes("host", "start", "--foreground", "--state-dir", file.toString()))
        .isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: cannot start a host in " + file
        + ": it is not a directory\n");
    assertThat(Files.readString(file)).isEqualTo("mine\n");
  }

  @Test
  void aDirectoryThatCannotBeMadeSaysWhyInWords() throws Exception {
    Path under = Files.writeString(dir.resolve("notes.txt"), "mine\n").resolve("state");
    assertThat(hospes("host", "start", "--state-dir", under.toString())).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: cannot create the state directory " + under + ": ")
        .endsWith("not a directory\n").doesNotContain("Exception");
  }

  /**
   * A state directory that exists but takes no new file (a read-only mount; root ignores mode
   * bits, so the test stands a directory where the start lock goes, which fails the same open):
   * was "cannot lock F: F: Read-only file system", the path twice, and status 1.
   */
  @Test
  void aStateDirectoryThatTakesNoFileSaysSoWithStatusTwo() throws Exception {
    Path state = Files.createDirectory(dir.resolve("state"));
    Path lock = Files.createDirectory(state.resolve("host-start.lock"));
    assertThat(hospes("host", "start", "--state-dir", state.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: cannot start a host in " + state + ": " + lock
        + ": is a directory\n");
    try (var left = Files.list(state)) {
      assertThat(left).containsExactly(lock); // nothing made, nothing spawned
    }
  }

  @Test
  void aSocketPathTooLongToBindIsRefusedBeforeAnythingIsMade() {
    Path deep = dir.resolve("d".repeat(120));
    assertThat(hospes("host", "start", "--foreground", "--state-dir", deep.toString()))
        .isEqualTo(2);
    int bytes = deep.resolve("host.sock").toString().length();
    assertThat(stderr()).isEqualTo("hospes: cannot start a host in " + deep + ": its socket's"
        + " path would be " + bytes + " bytes long, and a Unix socket's may be at most 107;"
        + " give a shorter --state-dir\n");
    assertThat(deep).doesNotExist();
  }
}
