package org.hospes.samples;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.hospes.abi.Hypercall;
import org.hospes.hv.control.DomainControl;
import org.hospes.sdk.GuestBuilder;
import org.hospes.sdk.GuestRun;

/**
 * The ping-pong study: two PVH guests bounce a counter, kept in a page one grants the other,
 * over an interdomain event channel they set up through xenstore (a million times by default). Prints, per guest and for dom0, the
 * events, hypercalls by kind, grant operations and modelled cycles.
 *
 * <pre>java -cp ... org.hospes.samples.PingPongStudy [COUNT]</pre>
 */
public final class PingPongStudy {
  private PingPongStudy() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    Path root = GuestBuilder.defaultSdk().getParent().getParent();
    Path elf = new GuestBuilder(GuestBuilder.defaultSdk(), root.resolve("samples/target/guests"))
        .build("ping-pong", List.of(root.resolve("samples/guests/ping-pong/ping-pong.c")));
    long t0 = System.nanoTime();
    GuestRun.Outcome o = GuestRun.runAll(List.of(
        new GuestRun.Guest("ping", elf, "ping peer=${pong} count=" + n),
        new GuestRun.Guest("pong", elf, "pong peer=${ping}")), Long.MAX_VALUE / 4);
    long t1 = System.nanoTime();
    for (GuestRun.Result r : o.results()) {
      System.out.print(r.console());
    }
    print(o, n, System.out);
    System.out.printf(Locale.ROOT, "wall time %.2f s%n", (t1 - t0) / 1e9);
  }

  /** The study numbers of a finished run. */
  public static void print(GuestRun.Outcome o, int n, PrintStream out) {
    out.printf(Locale.ROOT, "ping-pong study: %d round trips, %d modelled cycles in all%n", n,
        o.cycles());
    out.printf(Locale.ROOT, "%-6s %12s %12s %12s %12s %12s %14s %10s%n", "domain", "upcalls",
        "hypercalls", "evtchn_op", "sched_op", "grant_ops", "cycles", "cyc/trip");
    // grant_ops: grant_table_op hypercalls; maps/unmaps are counted separately below.
    for (GuestRun.Result r : o.results()) {
      var c = r.counters();
      out.printf(Locale.ROOT, "%-6s %12d %12d %12d %12d %12d %14d %10d%n", r.name(),
          c.eventUpcalls, c.totalHypercalls(),
          c.hypercallCount[Hypercall.EVENT_CHANNEL_OP.number()],
          c.hypercallCount[Hypercall.SCHED_OP.number()],
          c.hypercallCount[Hypercall.GRANT_TABLE_OP.number()], c.cycles,
          n == 0 ? 0 : c.cycles / n);
    }
    for (GuestRun.Result r : o.results()) {
      var c = r.counters();
      out.printf(Locale.ROOT, "%-6s grant maps %d, unmaps %d, copies %d, grant cycles %d%n",
          r.name(), c.grantMaps, c.grantUnmaps, c.grantCopies, c.grantCycles);
    }
    DomainControl dom0 = o.hypervisor().control();
    out.printf(Locale.ROOT, "dom0   %12d events, %d xenstore requests, %d watch events,"
        + " %d foreign maps, %d cycles%n", dom0.counters().eventUpcalls,
        o.xenstore().store().requests(), o.xenstore().store().watchEvents(),
        dom0.foreignMaps(), dom0.counters().cycles);
  }
}
