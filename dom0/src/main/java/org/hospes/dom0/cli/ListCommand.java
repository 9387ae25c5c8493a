package org.hospes.dom0.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.toolstack.host.DomainInfo;
import org.hospes.dom0.toolstack.host.HostSnapshot;
import org.hospes.dom0.toolstack.host.Wire;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code hospes list}: xl list's table. */
@Command(name = "list", mixinStandardHelpOptions = true,
    description = {"Lists the host's domains in xl list's columns: Name, ID, Mem (MiB), VCPUs,"
        + " State, Time(s) (CPU time in virtual seconds).",
      "State letters: r runnable, b blocked, p paused, s shut down, c crashed (kept by"
          + " on_crash = \"preserve\"), d dying."})
final class ListCommand implements Callable<Integer> {
  private final CliStreams streams;

  @Mixin
  HostDirOption dir = new HostDirOption();

  @picocli.CommandLine.Option(names = {"-l", "--long"},
      description = "Every domain's counters as JSON (instructions, hypercalls, events, exits,"
          + " running cycles, weight, cap), with the host's virtual time.")
  boolean longFormat;

  @picocli.CommandLine.Parameters(paramLabel = "DOMAIN", arity = "0..*", description = "Only"
      + " these domains (name or ID), as xl list DOMAIN... does; default: all.")
  java.util.List<String> only;

  ListCommand(CliStreams streams) {
    this.streams = streams;
  }

  @Override
  public Integer call() {
    return dir.run(streams, host -> {
      HostSnapshot s = snapshot(host.call(Wire.request("list")));
      if (only != null) {
        java.util.List<DomainInfo> rows = new java.util.ArrayList<>();
        for (String target : only) {
          DomainInfo d = named(s, target);
          if (d == null) {
            throw new org.hospes.dom0.toolstack.host.HostException("no domain named or numbered"
                + " '" + target + "' (see ./hospes list)", true);
          }
          rows.add(d);
        }
        s = new HostSnapshot(s.virtualCycles(), s.wallNanos(), s.scheduler(), rows);
      }
      if (longFormat) {
        try {
          streams.out().println(Wire.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
          throw new org.hospes.dom0.toolstack.host.HostException(e.getMessage(), false);
        }
        streams.out().flush();
        return ExitStatus.HALTED;
      }
      print(s, streams.out());
      return ExitStatus.HALTED;
    });
  }

  /** The domain {@code target} names, an ID before a name as the host reads it; or null. */
  private static DomainInfo named(HostSnapshot s, String target) {
    for (DomainInfo d : s.domains()) {
      if (Integer.toString(d.domid()).equals(target)) {
        return d;
      }
    }
    for (DomainInfo d : s.domains()) {
      if (d.name().equals(target)) {
        return d;
      }
    }
    return null;
  }

  /** The host's reply as a snapshot; a reply that does not parse is a bug (status 1). */
  static HostSnapshot snapshot(com.fasterxml.jackson.databind.JsonNode reply)
      throws org.hospes.dom0.toolstack.host.HostException {
    try {
      return Wire.JSON.treeToValue(reply, HostSnapshot.class);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new org.hospes.dom0.toolstack.host.HostException("unreadable reply from the host: "
          + e.getOriginalMessage(), false);
    }
  }

  static void print(HostSnapshot s, PrintStream out) {
    out.printf(Locale.ROOT, "%-40s %5s %5s %5s %10s %9s%n", "Name", "ID", "Mem", "VCPUs",
        "State", "Time(s)");
    for (DomainInfo d : s.domains()) {
      out.printf(Locale.ROOT, "%-40s %5d %5d %5d %10s %9.1f%n", d.name(), d.domid(),
          d.memKiB() / 1024, d.vcpus(), d.state(), d.cpuSeconds());
    }
    out.flush();
  }
}
