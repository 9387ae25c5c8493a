package org.hospes.sdk;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.hospes.abi.SchedOp;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.toolstack.PvDomainBuilder;
import org.hospes.dom0.toolstack.PvhDomainBuilder;
import org.hospes.hv.console.GuestConsoleLog;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.hv.stats.Counters;

/**
 * Boots built PVH guests (and classic PV guests built with {@link GuestBuilder#buildSdkPv}) in a
 * fresh hypervisor with dom0's services (xenstored, a PV console
 * per guest) and runs them until they all stop: for tests and studies that write guests inline.
 * A guest's command line may name another guest's domid as {@code ${name}}.
 *
 * <p>Exit status per guest, as {@code hospes run --mode pvh}: 0 for SCHEDOP_shutdown poweroff,
 * reboot or suspend; 3 for crash or watchdog shutdown and for a crashed domain; 4 when the run
 * hit its cycle limit first.
 */
public final class GuestRun {
  /** One guest to boot. */
  public record Guest(String name, Path elf, String cmdline, int ramMiB, DomainMode mode) {
    public Guest {
      if (mode != DomainMode.PVH && mode != DomainMode.PV) {
        throw new IllegalArgumentException("GuestRun boots pvh and pv guests, not " + mode);
      }
    }

    public Guest(String name, Path elf, String cmdline, int ramMiB) {
      this(name, elf, cmdline, ramMiB, DomainMode.PVH);
    }

    public Guest(String name, Path elf, String cmdline) {
      this(name, elf, cmdline, 16);
    }

    /** A classic PV guest ({@link GuestBuilder#buildSdkPv}), 16 MiB. */
    public static Guest pv(String name, Path elf, String cmdline) {
      return new Guest(name, elf, cmdline, 16, DomainMode.PV);
    }
  }

  /** How one guest ended. */
  /**
   * How one guest ended: {@code console} is its PV console, {@code hvLog} its console_io
   * output as the hypervisor's console shows it ("(dN) " per line, as on a debug Xen).
   */
  public record Result(String name, int domid, String console, int exitStatus, String reason,
      DomainState state, Counters counters, String hvLog) {}

  /** The whole run: each guest's result, and the machine for further counters. */
  public record Outcome(List<Result> results, Hypervisor hypervisor, XenstoreService xenstore,
      long cycles) {
    public Result guest(String name) {
      return results.stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
    }
  }

  private GuestRun() {}

  /** Boots one guest (16 MiB) and runs it to the end. */
  public static Result run(Path elf, String cmdline) throws IOException, BootException {
    return runAll(List.of(new Guest("guest", elf, cmdline)), Long.MAX_VALUE / 4).results().get(0);
  }

  /** Boots {@code guests} side by side; runs for at most {@code maxCycles} of virtual time. */
  public static Outcome runAll(List<Guest> guests, long maxCycles)
      throws IOException, BootException {
    int mib = 32;
    for (Guest g : guests) {
      mib += g.ramMiB() + 2;
    }
    Hypervisor hv = new Hypervisor(mib, new RoundRobinScheduler(),
        new DefaultCostModel());
    XenstoreService xs = new XenstoreService(hv.control(), hv.costModel());
    PvhDomainBuilder builder = new PvhDomainBuilder(hv, xs);
    Map<String, Domain> domains = new LinkedHashMap<>();
    Map<String, ByteArrayOutputStream> consoles = new LinkedHashMap<>();
    Map<String, ByteArrayOutputStream> hvLogs = new LinkedHashMap<>();
    for (Guest g : guests) {
      domains.put(g.name(), g.mode() == DomainMode.PV ? hv.createPvDomain(g.name(), g.ramMiB())
          : hv.createHvmDomain(g.name(), DomainMode.PVH, g.ramMiB()));
    }
    PvDomainBuilder pvBuilder = new PvDomainBuilder(hv, xs);
    for (Guest g : guests) {
      Domain d = domains.get(g.name());
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      consoles.put(g.name(), out);
      ByteArrayOutputStream hvLog = new ByteArrayOutputStream();
      hvLogs.put(g.name(), hvLog);
      d.setConsole(new GuestConsoleLog(d.domid(), hvLog));
      String cmdline = g.cmdline();
      if (cmdline != null) {
        for (Map.Entry<String, Domain> e : domains.entrySet()) {
          cmdline = cmdline.replace("${" + e.getKey() + "}",
              Integer.toString(e.getValue().domid()));
        }
      }
      if (g.mode() == DomainMode.PV) {
        pvBuilder.load(d, Files.readAllBytes(g.elf()), BootRequest.of(cmdline), out);
      } else {
        builder.load(d, Files.readAllBytes(g.elf()), cmdline, out);
      }
    }
    for (Domain d : domains.values()) {
      hv.unpause(d);
    }
    long cycles = hv.run(maxCycles);
    List<Result> results = new ArrayList<>();
    for (Guest g : guests) {
      Domain d = domains.get(g.name());
      d.console().close();
      results.add(new Result(g.name(), d.domid(),
          consoles.get(g.name()).toString(StandardCharsets.ISO_8859_1), status(d),
          d.endReason(), d.state(), d.totals(),
          hvLogs.get(g.name()).toString(StandardCharsets.ISO_8859_1)));
    }
    return new Outcome(results, hv, xs, cycles);
  }

  static int status(Domain d) {
    if (d.state() == DomainState.SHUTDOWN) {
      int reason = d.exitStatus();
      return reason == SchedOp.SHUTDOWN_CRASH || reason == SchedOp.SHUTDOWN_WATCHDOG ? 3 : 0;
    }
    return d.state() == DomainState.CRASHED ? 3 : 4;
  }
}
