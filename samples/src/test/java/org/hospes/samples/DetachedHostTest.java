package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./hospes host start} as a user runs it: the launcher returns once the host answers,
 * the host lives on in its own process after that, serves a domain created from an xl.cfg file,
 * refuses a second start on the same state directory, and {@code host stop} ends it and removes
 * its socket and pid file. (ToolstackCliTest runs the host in the foreground, on a thread.)
 */
class DetachedHostTest {
  @TempDir
  Path dir;

  private Path state;

  /** One command's status and merged output. */
  record Result(int status, String out) {}

  private Result hospes(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(TestKernels.root().resolve("hospes").toString()));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("--state-dir", state.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().put("HOSPES_NO_BUILD", "1");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", cmd)).isTrue();
    return new Result(p.exitValue(), out);
  }

  @AfterEach
  void stopWhateverRuns() throws Exception {
    if (state != null && Files.exists(state.resolve("host.pid"))) {
      hospes("host", "stop");
    }
  }

  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void startReturnsTheHostLivesOnServesADomainAndStopEndsIt() throws Exception {
    state = dir.resolve("state");
    Result started = hospes("host", "start", "--memory", "64");
    assertThat(started.status()).as(started.out()).isZero();
    assertThat(started.out()).contains("hospes: host started (pid ");
    long pid = Long.parseLong(Files.readString(state.resolve("host.pid")).strip());
    Optional<ProcessHandle> host = ProcessHandle.of(pid);
    assertThat(host).as("the host process").isPresent();
    assertThat(host.get().isAlive()).isTrue();
    // Not a child left to the launcher's JVM: that process has ended, the host has not.
    assertThat(ProcessHandle.current().children().mapToLong(ProcessHandle::pid)).doesNotContain(pid);

    assertThat(hospes("host", "status").out()).startsWith("host running: pid " + pid);
    Path spin = TestKernels.anyElf("spin");
    Path cfg = dir.resolve("spin.cfg");
    Files.writeString(cfg, "name = \"spin\"\ntype = \"hvm\"\nmemory = 4\nkernel = \"" + spin
        + "\"\n");
    Result created = hospes("create", cfg.toString());
    assertThat(created.status()).as(created.out()).isZero();
    assertThat(created.out()).contains("created domain 1 (spin)");
    assertThat(hospes("list").out().lines())
        .anyMatch(l -> l.startsWith("Domain-0 "))
        .anyMatch(l -> l.matches("spin +1 +4 +1 .*"));

    Result again = hospes("host", "start");
    assertThat(again.status()).isEqualTo(2);
    assertThat(again.out()).contains("a host is already running (pid " + pid);

    Result stopped = hospes("host", "stop");
    assertThat(stopped.status()).as(stopped.out()).isZero();
    assertThat(host.get().onExit().get(30, TimeUnit.SECONDS).isAlive()).isFalse();
    assertThat(state.resolve("host.sock")).doesNotExist();
    assertThat(state.resolve("host.pid")).doesNotExist();
    assertThat(Files.readString(state.resolve("host.log"))).contains("spin");
    Result status = hospes("host", "status");
    assertThat(status.status()).isNotZero();
  }

  /**
   * Two {@code host start} at once on one state directory, as a user who runs it twice from
   * two terminals (or a script that does): exactly one starts a host, the other says a host is
   * already running and fails; both used to say "host started" with the same pid.
   */
  @Test
  @Timeout(value = 240, unit = TimeUnit.SECONDS)
  void twoStartsAtOnceStartOneHostAndTheOtherSaysOneIsRunning() throws Exception {
    state = dir.resolve("state");
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    List<Result> results = new ArrayList<>();
    try {
      var a = pool.submit(() -> hospes("host", "start", "--memory", "64"));
      var b = pool.submit(() -> hospes("host", "start", "--memory", "64"));
      results.add(a.get());
      results.add(b.get());
    } finally {
      pool.shutdownNow();
    }
    String both = results.toString();
    assertThat(results).as(both).filteredOn(r -> r.status() == 0).singleElement()
        .satisfies(r -> assertThat(r.out()).contains("hospes: host started (pid "));
    long pid = Long.parseLong(Files.readString(state.resolve("host.pid")).strip());
    assertThat(results).as(both).filteredOn(r -> r.status() != 0).singleElement()
        .satisfies(r -> {
          assertThat(r.status()).isEqualTo(2);
          assertThat(r.out()).contains("hospes: a host is already running (pid " + pid
              + ", state directory " + state + "); stop it with ./hospes host stop")
              .doesNotContain("host started").doesNotContain("did not start");
        });
    assertThat(hospes("host", "status").out()).startsWith("host running: pid " + pid);
    // One host process only: the loser's, if one was started, is gone.
    Thread.sleep(500);
    assertThat(ProcessHandle.allProcesses().filter(h -> h.info().arguments()
        .map(args -> String.join(" ", args).contains("--state-dir " + state)
            && List.of(args).contains("--foreground")).orElse(false)))
        .as("host processes on " + state).singleElement()
        .satisfies(h -> assertThat(h.pid()).isEqualTo(pid));
  }

  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void aForegroundHostStoppedBySigtermShutsDownCleanlyWithStatusZero() throws Exception {
    // As its help says: 0, it ran and was stopped (SIGTERM takes the path Ctrl-C takes; a
    // SIGINT may come inherited as ignored by a test runner started in the background).
    state = dir.resolve("state");
    List<String> cmd = List.of(TestKernels.root().resolve("hospes").toString(), "host", "start",
        "--foreground", "--memory", "64", "--state-dir", state.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(dir.resolve("fg.log").toFile());
    pb.environment().put("HOSPES_NO_BUILD", "1");
    Process p = pb.start();
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (hospes("host", "status").status() != 0) {
      assertThat(p.isAlive()).as(Files.readString(dir.resolve("fg.log"))).isTrue();
      assertThat(System.nanoTime()).as("the host answers").isLessThan(deadline);
      Thread.sleep(50);
    }
    Process kill = new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start();
    assertThat(kill.waitFor()).isZero();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(Files.readString(dir.resolve("fg.log"))).isZero();
    assertThat(state.resolve("host.sock")).doesNotExist();
    assertThat(state.resolve("host.pid")).doesNotExist();
  }
}
