package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.abi.Hypercall;
import org.hospes.sdk.GuestBuilder;
import org.hospes.sdk.GuestRun;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The samples that use dom0's services: xenstore-demo and ping-pong. */
class PvServicesTest {
  private static Path demo;
  private static Path pingPong;

  @BeforeAll
  static void build() throws Exception {
    Path root = TestKernels.root();
    GuestBuilder b = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests"));
    demo = b.build("xenstore-demo",
        List.of(root.resolve("samples/guests/xenstore-demo/xenstore-demo.c")));
    pingPong = b.build("ping-pong",
        List.of(root.resolve("samples/guests/ping-pong/ping-pong.c")));
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void xenstoreDemoWritesWatchesAndCommits() throws Exception {
    GuestRun.Result r = GuestRun.run(demo, null);
    assertThat(r.console()).isEqualTo(
        "domain path: /local/domain/1\n"
            + "name: guest\n"
            + "domid: 1\n"
            + "read back: hello, xenstore\n"
            + "watch fired at once: data/counter (token ctr)\n"
            + "watch fired on write: data/counter (token ctr)\n"
            + "after transaction: counter = 2\n"
            + "conflicting transaction: EAGAIN\n"
            + "counter kept the outside write: 100\n"
            + "data/ has 2 entries: counter greeting\n"
            + "perms of name: n0 r1\n"
            + "write to name: EACCES\n"
            + "write to /tool: EACCES\n"
            + "read after rm: ENOENT\n"
            + "xenstore-demo: done, 26 requests\n");
    assertThat(r.exitStatus()).isZero();
    assertThat(r.counters().hypercallCount[Hypercall.CONSOLE_IO.number()]).isZero();
  }

  /** {@code hospes run-many}: ping and pong as two PVH domains, credit-scheduled. */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void runManyPlaysPingPong() {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    int rc = org.hospes.dom0.cli.HospesCli.newCommandLine(
        new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
        new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8))
        .execute("run-many", "--stats",
            "--domain=ping=" + pingPong + ",mode=pvh,cmdline=ping peer=2 count=500",
            "--domain=pong=" + pingPong + ",mode=pvh,cmdline=pong peer=1");
    assertThat(rc).as(err.toString()).isZero();
    assertThat(out.toString(java.nio.charset.StandardCharsets.UTF_8))
        .contains("[ping] ping: 500 round trips, pong received 500, shared counter 1000: ok\n")
        .contains("[pong] pong: received 500 events\n");
    // dom0 is reported like any domain: it served both consoles and xenstore in its own time,
    // and unmapped their pages when the guests ended.
    assertThat(err.toString()).contains("domain 0 Domain-0 (service, the control domain)")
        .containsPattern("foreign maps +4 \\(0 live\\)")
        .containsPattern("events handled +[1-9]");
  }

  /** time.h: the pvclock advances and msleep blocks on the singleshot timer (VIRQ_TIMER). */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void sleepWaitsOnTheSingleshotTimer(@org.junit.jupiter.api.io.TempDir Path dir)
      throws Exception {
    Path src = dir.resolve("sleeper.c");
    java.nio.file.Files.writeString(src, """
        #include <hospes/guest.h>
        int main(const struct hvm_start_info *si)
        {
            (void)si;
            uint64_t t0 = monotonic_ns();
            for (int i = 0; i < 3; i++) {
                msleep(5);
            }
            uint64_t slept = monotonic_ns() - t0;
            printf("slept %s, %u timer events\\n",
                   slept >= 15000000ull && slept < 16000000ull ? "15 ms" : "WRONG", timer_ticks);
            return 0;
        }
        """);
    Path elf = new GuestBuilder(TestKernels.root().resolve("guest-sdk/c"), dir)
        .build("sleeper", List.of(src));
    GuestRun.Result r = GuestRun.run(elf, null);
    assertThat(r.console()).isEqualTo("slept 15 ms, 3 timer events\n");
    assertThat(r.counters().timerArms).isEqualTo(3);
  }

  /** {@code hospes run --mode pvh}: the guest gets xenstore and a PV console on stdout. */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void theCliRunsAPvhGuestWithDom0Services(@org.junit.jupiter.api.io.TempDir Path dir)
      throws Exception {
    Path log = dir.resolve("console.log");
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    int rc = org.hospes.dom0.cli.HospesCli.newCommandLine(
        new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
        new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8))
        .execute("run", "--mode", "pvh", "--console-log", log.toString(), demo.toString());
    assertThat(rc).as(err.toString()).isZero();
    assertThat(out.toString(java.nio.charset.StandardCharsets.UTF_8))
        .startsWith("domain path: /local/domain/1\nname: guest\n")
        .endsWith("xenstore-demo: done, 26 requests\n");
    assertThat(java.nio.file.Files.readString(log))
        .isEqualTo(out.toString(java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  @Timeout(value = 3600, unit = TimeUnit.SECONDS)
  void pingPongBouncesACounterOverAnInterdomainChannel() throws Exception {
    int n = Integer.getInteger("pingpong.count", 2000);
    GuestRun.Outcome o = GuestRun.runAll(List.of(
        new GuestRun.Guest("ping", pingPong, "ping peer=${pong} count=" + n),
        new GuestRun.Guest("pong", pingPong, "pong peer=${ping}")), Long.MAX_VALUE / 4);
    GuestRun.Result ping = o.guest("ping");
    GuestRun.Result pong = o.guest("pong");
    assertThat(ping.console()).contains("ping: " + n + " round trips, pong received " + n
        + ", shared counter " + (2 * n) + ": ok");
    assertThat(pong.console()).contains("pong: received " + n + " events");
    assertThat(ping.exitStatus()).isZero();
    assertThat(pong.exitStatus()).isZero();
    long sends = ping.counters().hypercallCount[Hypercall.EVENT_CHANNEL_OP.number()];
    assertThat(sends).isGreaterThanOrEqualTo(n);
    assertThat(ping.counters().eventUpcalls).isGreaterThanOrEqualTo(n);
    assertThat(pong.counters().eventUpcalls).isGreaterThanOrEqualTo(n);
    assertThat(pong.counters().grantMaps).isEqualTo(1);
    assertThat(pong.counters().grantUnmaps).isEqualTo(1);
    PingPongStudy.print(o, n, System.out);
  }
}
