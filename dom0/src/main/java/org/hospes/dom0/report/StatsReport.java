package org.hospes.dom0.report;

import static org.hospes.dom0.report.TextFormat.fixed;
import static org.hospes.dom0.report.TextFormat.grouped;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.hospes.abi.Hypercall;
import org.hospes.dom0.report.StatsDocument.DomainStats;
import org.hospes.dom0.report.StatsDocument.Ending;
import org.hospes.dom0.report.StatsDocument.ExitStats;
import org.hospes.dom0.report.StatsDocument.RunInfo;
import org.hospes.dom0.report.StatsDocument.Runstate;
import org.hospes.dom0.report.StatsDocument.ServiceStats;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.stats.Counters;

/**
 * Prints the hypervisor's counters per domain: raw counts beside modelled cycles, as a table for
 * people or as JSON for scripts ({@link StatsDocument}, written with Jackson). Every domain, guest or service (dom0, driver domains), shows
 * its scheduling parameters and runstate times; a service domain shows what its services did
 * (events handled, ioreqs served, mappings, refusals) where a guest shows its exits.
 */
public final class StatsReport {
  private StatsReport() {}

  /**
   * The domains a run's report covers, by domid: every domain the hypervisor still lists, and
   * those of the run's {@code guests} it no longer does (destroyed during the run, they are
   * gone from its lists, but what they did was part of the run).
   */
  public static List<Domain> reported(Hypervisor hv, java.util.Collection<Domain> guests) {
    java.util.TreeMap<Integer, Domain> all = new java.util.TreeMap<>();
    for (Domain d : guests) {
      all.put(d.domid(), d);
    }
    for (Domain d : hv.domains()) {
      all.put(d.domid(), d);
    }
    return new ArrayList<>(all.values());
  }

  public static void printTable(Hypervisor hv, List<Domain> domains, PrintStream out) {
    out.println("virtual time " + grouped(hv.now()) + " cycles (" + fixed(hv.now() / 1e9, 6)
        + " s at 1 GHz), idle " + grouped(hv.idleCycles()) + " cycles, cost model "
        + hv.costModel().name() + ", scheduler " + hv.scheduler().name());
    for (StatsDocument.PcpuStats p : pcpus(hv)) {
      out.println("pcpu " + p.pcpu() + ": busy " + grouped(p.busyCycles()) + " cycles ("
          + fixed(hv.now() == 0 ? 0.0 : 100.0 * p.busyCycles() / hv.now(), 1) + "%), idle "
          + grouped(p.idleCycles()) + " cycles, " + grouped(p.migrations())
          + " vCPU migrations in");
    }
    for (Domain d : domains) {
      Counters c = d.totals();
      DomainControl svc = hv.service(d.domid());
      out.println("domain " + d.domid() + " " + d.name() + " (" + mode(d, svc) + "): "
          + d.state().name().toLowerCase(Locale.ROOT)
          + (d.endReason().isEmpty() ? "" : " (" + d.endReason() + ")"));
      out.println(table("weight, cap") + TextFormat.right(d.weight() + ", "
          + (d.cap() == 0 ? "none" : d.cap() + "%"), 18));
      long[] rs = runstate(hv, d);
      out.println(table("runstate cycles", rs[0]) + " running " + grouped(rs[1])
          + " runnable " + grouped(rs[2]) + " blocked");
      // Every domain's, dom0's too: its service vCPU is placed and moved as a guest's is, and
      // the pCPU lines above count its migrations.
      out.println(table("vcpus", d.vcpus().size()) + " (" + grouped(c.migrations)
          + " migrations)");
      List<StatsDocument.VcpuStats> each = perVcpu(d);
      if (each != null) {
        for (StatsDocument.VcpuStats v : each) {
          out.println("    " + TextFormat.left("vcpu " + v.vcpu(), 24) + " "
              + TextFormat.right(grouped(v.instructions()), 18) + " insns "
              + TextFormat.right(grouped(v.cycles()), 18) + " cycles, "
              + grouped(v.migrations()) + " migrations");
        }
      }
      if (d.isService()) {
        printService(d, svc, c, out);
        continue;
      }
      out.println(table("instructions", c.instructions));
      out.println(table("modelled cycles", c.cycles));
      out.println(table("  guest execution cycles", c.guestCycles));
      out.println(table("tlb misses", c.tlbMisses));
      out.println(table("page-walk references", c.pageWalkReferences));
      out.println(table("ept violations", c.eptViolations));
      out.println(table("shadow faults", c.shadowFaults));
      out.println(table("  of which injected", c.shadowFaultsInjected));
      out.println(table("  of which MMIO", c.shadowMmio));
      out.println(table("ioreqs to the device model", c.ioreqs));
      out.println(table("injected interrupts", c.injectedInterrupts));
      out.println(table("undefined opcodes (#UD)", undefinedOpcodes(d)));
      if (c.forcedEmulations != 0) {
        out.println(table("forced emulations (fep)", c.forcedEmulations));
      }
      if (c.realModeEmulations != 0) {
        out.println(table("real-mode emulated insns", c.realModeEmulations));
        out.println(table("  handed to exit handlers", c.realModeHandBacks));
        out.println(table("  their modelled cycles", c.realModeEmulationCycles));
      }
      out.println(table("hypercalls", c.totalHypercalls()));
      for (Map.Entry<String, Long> e : hypercallsByOp(c).entrySet()) {
        out.println("    " + TextFormat.left(e.getKey(), 24) + " "
            + TextFormat.right(grouped(e.getValue()), 18));
      }
      out.println(table("  returning an error", c.hypercallErrors));
      out.println(table("event upcalls", c.eventUpcalls));
      out.println(table("vm exits", c.totalExits()));
      for (Map.Entry<String, long[]> e : c.exitsByReason().entrySet()) {
        out.println("    " + TextFormat.left(e.getKey(), 24) + " "
            + TextFormat.right(grouped(e.getValue()[0]), 18) + " exits "
            + TextFormat.right(grouped(e.getValue()[1]), 18) + " cycles");
      }
    }
  }

  private static void printService(Domain d, DomainControl svc, Counters c, PrintStream out) {
    out.println(table("modelled cycles (run time)", c.cycles));
    out.println(table("events handled", c.eventUpcalls));
    out.println(table("ioreqs served", c.ioreqs));
    out.println(table("grant maps", c.grantMaps));
    out.println(table("grant unmaps", c.grantUnmaps));
    if (svc != null) {
      out.println(table("foreign maps", svc.foreignMaps()) + " ("
          + grouped(svc.liveForeignMaps()) + " live)");
      out.println(table("refused (no privilege)", svc.refusals()));
      out.println(table("handler failures", svc.handlerFailures()));
      out.println(table("work items pending", svc.work().pending()));
    }
  }

  /**
   * A row of the table, {@code "  %-26s %,18d"}: the label and the count grouped by thousands,
   * right-aligned (without the line's end, which some rows extend).
   */
  public static String table(String label, long value) {
    return table(label) + TextFormat.right(grouped(value), 18);
  }

  /** The start of a row, {@code "  %-26s "}: the label padded to its column. */
  static String table(String label) {
    return "  " + TextFormat.left(label, 26) + " ";
  }

  /** "service, the control domain" for service domains, else the guest's mode. */
  private static String mode(Domain d, DomainControl svc) {
    if (!d.isService()) {
      return d.mode().cliName();
    }
    return svc == null ? "service" : "service, " + svc.privilege().describe();
  }

  /** Cycles each vCPU spent running, runnable and blocked, added up. */
  private static long[] runstate(Hypervisor hv, Domain d) {
    long[] t = new long[3];
    for (Vcpu v : d.vcpus()) {
      for (int s = 0; s < 3; s++) {
        t[s] += v.runstate().timeIn(s, hv.now());
      }
    }
    return t;
  }

  private static long undefinedOpcodes(Domain d) {
    long n = 0;
    for (var v : d.vcpus()) {
      n += v.cpu() == null ? 0 : v.cpu().undefinedOpcodes();
    }
    return n;
  }

  /**
   * One line, as scripts grep and stream it. In a holder, so that only a run that writes JSON
   * pays for Jackson's start-up (about 0.1 s of CPU: every run builds the document).
   */
  private static final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();
  }

  /**
   * The counters as a document for {@code --stats-json}.
   *
   * @param endings how each domain's run ended (the command knows: a limit, a stop request);
   *     null for a domain the command has nothing to say about
   */
  public static StatsDocument document(Hypervisor hv, List<Domain> domains, RunInfo run,
      Function<Domain, Ending> endings) {
    List<DomainStats> list = new ArrayList<>();
    for (Domain d : domains) {
      list.add(domainStats(hv, d, endings.apply(d)));
    }
    return new StatsDocument(run, hv.now(), hv.idleCycles(), hv.costModel().name(),
        hv.scheduler().name(), list, pcpus(hv));
  }

  /** Each physical CPU's busy and idle cycles and the vCPUs that migrated to it. */
  public static List<StatsDocument.PcpuStats> pcpus(Hypervisor hv) {
    List<StatsDocument.PcpuStats> l = new ArrayList<>();
    for (int i = 0; i < hv.pcpuCount(); i++) {
      var p = hv.pcpu(i);
      l.add(new StatsDocument.PcpuStats(i, p.busyCycles(), p.idleCycles(hv.now()),
          p.migrations()));
    }
    return l;
  }

  /** A native run's document: no hypervisor, so the run and the processor's clock only. */
  public static StatsDocument nativeDocument(RunInfo run, long cycles) {
    return new StatsDocument(run, cycles, null, null, null, null, null);
  }

  private static DomainStats domainStats(Hypervisor hv, Domain d, Ending ending) {
    Counters c = d.totals();
    String endReason = d.endReason();
    int status = ending == null ? -1 : ending.status();
    if (ending != null && (endReason.isEmpty() || !d.state().isFinal())) {
      endReason = ending.reason();
    }
    Map<String, ExitStats> exits = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : c.exitsByReason().entrySet()) {
      exits.put(e.getKey(), new ExitStats(e.getValue()[0], e.getValue()[1]));
    }
    long[] rs = runstate(hv, d);
    DomainControl svc = hv.service(d.domid());
    ServiceStats service = svc == null ? null : new ServiceStats(svc.privilege().describe(),
        c.ioreqs, svc.foreignMaps(), svc.liveForeignMaps(), svc.refusals(),
        svc.handlerFailures());
    // A service domain's services are Java code, not a guest in a mode: no "pvh" for dom0.
    return new DomainStats(d.domid(), d.name(), d.isService() ? "service" : d.mode().cliName(),
        d.state().name().toLowerCase(Locale.ROOT), endReason, status, d.weight(), d.cap(),
        new Runstate(rs[0], rs[1], rs[2]), d.isService(), service, c.instructions, c.cycles,
        c.guestCycles, c.idleCycles, c.tlbMisses, c.pageWalkReferences, c.eptViolations,
        c.shadowFaults, c.shadowFaultsInjected, c.ioreqs, c.injectedInterrupts,
        undefinedOpcodes(d), c.forcedEmulations == 0 ? null : c.forcedEmulations,
        c.realModeEmulations == 0 ? null : c.realModeEmulations,
        c.realModeHandBacks == 0 ? null : c.realModeHandBacks,
        c.totalHypercalls(), c.hypercallErrors, c.hypercallCycles,
        hypercallsByOp(c), c.eventUpcalls, c.grantMaps, c.grantUnmaps, c.grantCopies,
        c.grantCopyBytes, c.grantCycles, c.grantErrors, exits, d.vcpus().size(), c.migrations,
        perVcpu(d));
  }

  /** Each vCPU's counts when the domain has several, else null (the domain's are its). */
  static List<StatsDocument.VcpuStats> perVcpu(Domain d) {
    if (d.vcpus().size() < 2) {
      return null;
    }
    List<StatsDocument.VcpuStats> list = new ArrayList<>(d.vcpus().size());
    for (int i = 0; i < d.vcpus().size(); i++) {
      Counters c = d.vcpus().get(i).counters();
      list.add(new StatsDocument.VcpuStats(i, c.instructions, c.cycles, c.migrations));
    }
    return list;
  }

  /** Hypercalls made, by Xen's name (public/xen.h without __HYPERVISOR_), in number order. */
  public static Map<String, Long> hypercallsByOp(Counters c) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (int i = 0; i < c.hypercallCount.length; i++) {
      if (c.hypercallCount[i] != 0) {
        Hypercall h = Hypercall.of(i);
        m.put(h == null ? "hypercall_" + i : h.name().toLowerCase(Locale.ROOT),
            c.hypercallCount[i]);
      }
    }
    return m;
  }

  /** Writes {@code doc} to {@code file} as one line of JSON. */
  public static void writeJson(StatsDocument doc, Path file) throws IOException {
    try {
      Files.writeString(file, json(doc) + "\n");
    } catch (IOException e) {
      // A disk that filled during the run: the file was made (an empty file fits) and cut
      // short, and a reader would take it for the run's stats. A regular file only, never
      // through a symlink (/dev/stdout, redirected to a file, is the user's).
      if (Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        Files.deleteIfExists(file);
      }
      throw e;
    }
  }

  /** {@code doc} as JSON text. */
  public static String json(StatsDocument doc) {
    try {
      return Json.MAPPER.writeValueAsString(doc);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stats cannot be written as JSON", e);
    }
  }
}
