package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.abi.Hypercall;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.stats.Counters;
import org.hospes.sdk.GuestBuilder;
import org.hospes.sdk.GuestRun;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One SDK image prints the same console in {@code pvh} and {@code pv}: hello, events, grants
 * (ping-pong: a granted page and an interdomain channel between two guests) and xenstore.
 * The PV runs reach the services the PV way: trap table, callback_op, the PV MMU; the PVH runs
 * never do.
 */
class PvSdkParityTest {
  private static Path root;
  private static GuestBuilder builder;

  @BeforeAll
  static void setUp() {
    root = TestKernels.root();
    builder = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests"));
  }

  /** The one image, booted as a PVH guest and as a classic PV one. */
  private record Pair(Path pvh, Path pv) {}

  private static Pair build(String name, String source) throws Exception {
    Path elf = builder.build(name, List.of(root.resolve("samples/guests/" + source)));
    return new Pair(elf, elf);
  }

  private static GuestRun.Result one(Path elf, DomainMode mode, String cmdline)
      throws Exception {
    return GuestRun.runAll(List.of(new GuestRun.Guest("guest", elf, cmdline, 16, mode)),
        Long.MAX_VALUE / 4).results().get(0);
  }

  /** Runs a one-guest sample in both modes; returns the PV result after checking parity. */
  private static GuestRun.Result parity(Pair p, String cmdline) throws Exception {
    GuestRun.Result pvh = one(p.pvh(), DomainMode.PVH, cmdline);
    GuestRun.Result pv = one(p.pv(), DomainMode.PV, cmdline);
    assertThat(pvh.exitStatus()).as(pvh.console() + pvh.hvLog()).isZero();
    assertThat(pv.exitStatus()).as(pv.console() + pv.hvLog()).isZero();
    assertThat(pv.console()).isEqualTo(pvh.console());
    assertPvWay(pv.counters());
    // The PVH build never uses the PV-only hypercalls.
    assertThat(pvh.counters().hypercallCount[Hypercall.SET_TRAP_TABLE.number()]).isZero();
    assertThat(pvh.counters().hypercallCount[Hypercall.MMU_UPDATE.number()]).isZero();
    return pv;
  }

  /** One trap table, the event and failsafe callbacks, and RAM past 4 MiB through the PV MMU. */
  private static void assertPvWay(Counters c) {
    assertThat(c.hypercallCount[Hypercall.SET_TRAP_TABLE.number()]).isEqualTo(1);
    assertThat(c.hypercallCount[Hypercall.CALLBACK_OP.number()]).isEqualTo(2);
    // 16 MiB, the boot mapping ends at 4 MiB: six 2 MiB L1 tables hooked by mmu_update.
    assertThat(c.hypercallCount[Hypercall.MMU_UPDATE.number()]).isEqualTo(6);
    assertThat(c.hypercallCount[Hypercall.HVM_OP.number()]).isZero();
    assertThat(c.hypercallCount[Hypercall.CONSOLE_IO.number()]).isZero();
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void helloPrintsTheSameInPvAndPvh() throws Exception {
    GuestRun.Result pv = parity(build("hello", "hello/hello.c"), "hi there");
    assertThat(pv.console()).isEqualTo(
        "hello from domain 1 on Xen 4.17-hospes, command line 'hi there'\n"
            + "xenstore says my name is guest\n"
            + "1 MiB of heap, checksum cd00000\n");
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void eventsArriveThroughTheEventCallbackInPv() throws Exception {
    GuestRun.Result pv = parity(build("events", "events/events.c"), null);
    assertThat(pv.console()).isEqualTo("event 1 on port 3\nevent 2 on port 3\n"
        + "event 3 on port 3\nmasked: 3 events so far\nevent 4 on port 3\n"
        + "slept 15 ms: yes, 1 timer tick(s)\nevents: 4 handled\n");
    // Every event came through the callback: upcalls bounced by the hypervisor.
    assertThat(pv.counters().eventUpcalls).isGreaterThanOrEqualTo(5);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void xenstoreDemoPrintsTheSameInPvAndPvh() throws Exception {
    GuestRun.Result pv = parity(build("xenstore-demo", "xenstore-demo/xenstore-demo.c"), null);
    assertThat(pv.console()).startsWith("domain path: /local/domain/1\nname: guest\ndomid: 1\n")
        .endsWith("xenstore-demo: done, 26 requests\n");
  }

  /** vcpu_op's runstate and time areas, singleshot and periodic timers. */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void runstateAndTimersPrintTheSameInPvAndPvh() throws Exception {
    GuestRun.Result pv = parity(build("runstate", "runstate/runstate.c"), null);
    assertThat(pv.console()).contains("mostly blocked: yes, ran: yes, accounted >= 5 ms: yes")
        .contains("5 periodic ticks, then none for 3 ms: yes")
        .endsWith("get_runstate_info: 0, state 0\n");
  }

  /** Ping-pong between two guests of a mode: the pong side maps the ping side's grant. */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void grantsAndInterdomainEventsWorkBetweenTwoPvGuests() throws Exception {
    Pair p = build("ping-pong", "ping-pong/ping-pong.c");
    int n = 300;
    GuestRun.Outcome pvh = GuestRun.runAll(List.of(
        new GuestRun.Guest("ping", p.pvh(), "ping peer=${pong} count=" + n),
        new GuestRun.Guest("pong", p.pvh(), "pong peer=${ping}")), Long.MAX_VALUE / 4);
    GuestRun.Outcome pv = GuestRun.runAll(List.of(
        GuestRun.Guest.pv("ping", p.pv(), "ping peer=${pong} count=" + n),
        GuestRun.Guest.pv("pong", p.pv(), "pong peer=${ping}")), Long.MAX_VALUE / 4);
    for (String g : List.of("ping", "pong")) {
      assertThat(pv.guest(g).exitStatus()).as(g + ": " + pv.guest(g).console()).isZero();
      assertThat(pv.guest(g).console()).isEqualTo(pvh.guest(g).console());
      assertPvWay(pv.guest(g).counters());
    }
    assertThat(pv.guest("ping").console()).endsWith("ping: " + n + " round trips, pong received "
        + n + ", shared counter " + (2 * n) + ": ok\n");
    // The PV mapper's grant replaced an L1 entry of its own tables, and went again.
    assertThat(pv.guest("pong").counters().grantMaps).isEqualTo(1);
    assertThat(pv.guest("pong").counters().grantUnmaps).isEqualTo(1);
    // ping's grant table frame was mapped with update_va_mapping, not add_to_physmap.
    assertThat(pv.guest("ping").counters().hypercallCount[Hypercall.MEMORY_OP.number()])
        .isZero();
  }
}
