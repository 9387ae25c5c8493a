package org.hospes.dom0.report;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.stats.Counters;

/**
 * Prints the hypervisor's counters per domain: raw counts beside modelled cycles, as a table for
 * people or as JSON for scripts. Every domain, guest or service (dom0, driver domains), shows
 * its scheduling parameters and runstate times; a service domain shows what its services did
 * (events handled, ioreqs served, mappings, refusals) where a guest shows its exits.
 */
public final class StatsReport {
  private StatsReport() {}

  public static void printTable(Hypervisor hv, List<Domain> domains, PrintStream out) {
    out.printf(Locale.ROOT, "virtual time %,d cycles (%.6f s at 1 GHz), idle %,d cycles, cost"
        + " model %s, scheduler %s%n", hv.now(), hv.now() / 1e9, hv.idleCycles(),
        hv.costModel().name(), hv.scheduler().name());
    for (Domain d : domains) {
      Counters c = d.totals();
      DomainControl svc = hv.service(d.domid());
      out.printf(Locale.ROOT, "domain %d %s (%s): %s%s%n", d.domid(), d.name(),
          mode(d, svc), d.state().name().toLowerCase(Locale.ROOT),
          d.endReason().isEmpty() ? "" : " (" + d.endReason() + ")");
      out.printf(Locale.ROOT, "  %-26s %18s%n", "weight, cap", d.weight() + ", "
          + (d.cap() == 0 ? "none" : d.cap() + "%"));
      long[] rs = runstate(hv, d);
      out.printf(Locale.ROOT, "  %-26s %,18d running %,d runnable %,d blocked%n",
          "runstate cycles", rs[0], rs[1], rs[2]);
      if (d.isService()) {
        printService(d, svc, c, out);
        continue;
      }
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "instructions", c.instructions);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "modelled cycles", c.cycles);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "  guest execution cycles", c.guestCycles);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "tlb misses", c.tlbMisses);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "page-walk references", c.pageWalkReferences);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "ept violations", c.eptViolations);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "shadow faults", c.shadowFaults);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "  of which injected", c.shadowFaultsInjected);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "ioreqs to the device model", c.ioreqs);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "injected interrupts", c.injectedInterrupts);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "undefined opcodes (#UD)", undefinedOpcodes(d));
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "hypercalls", c.totalHypercalls());
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "  returning an error", c.hypercallErrors);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "event upcalls", c.eventUpcalls);
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "vm exits", c.totalExits());
      for (Map.Entry<String, long[]> e : c.exitsByReason().entrySet()) {
        out.printf(Locale.ROOT, "    %-24s %,18d exits %,18d cycles%n", e.getKey(),
            e.getValue()[0], e.getValue()[1]);
      }
    }
  }

  private static void printService(Domain d, DomainControl svc, Counters c, PrintStream out) {
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "modelled cycles (run time)", c.cycles);
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "events handled", c.eventUpcalls);
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "ioreqs served", c.ioreqs);
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "grant maps", c.grantMaps);
    out.printf(Locale.ROOT, "  %-26s %,18d%n", "grant unmaps", c.grantUnmaps);
    if (svc != null) {
      out.printf(Locale.ROOT, "  %-26s %,18d (%,d live)%n", "foreign maps", svc.foreignMaps(),
          svc.liveForeignMaps());
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "refused (no privilege)", svc.refusals());
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "handler failures", svc.handlerFailures());
      out.printf(Locale.ROOT, "  %-26s %,18d%n", "work items pending", svc.work().pending());
    }
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

  public static String json(Hypervisor hv, List<Domain> domains) {
    StringBuilder sb = new StringBuilder();
    sb.append("{\"virtualCycles\":").append(hv.now())
        .append(",\"idleCycles\":").append(hv.idleCycles())
        .append(",\"costModel\":").append(quote(hv.costModel().name()))
        .append(",\"scheduler\":").append(quote(hv.scheduler().name()))
        .append(",\"domains\":[");
    for (int i = 0; i < domains.size(); i++) {
      Domain d = domains.get(i);
      Counters c = d.totals();
      if (i > 0) {
        sb.append(',');
      }
      sb.append("{\"domid\":").append(d.domid())
          .append(",\"name\":").append(quote(d.name()))
          .append(",\"mode\":").append(quote(d.mode().cliName()))
          .append(",\"state\":").append(quote(d.state().name().toLowerCase(Locale.ROOT)))
          .append(",\"endReason\":").append(quote(d.endReason()))
          .append(",\"instructions\":").append(c.instructions)
          .append(",\"cycles\":").append(c.cycles)
          .append(",\"guestCycles\":").append(c.guestCycles)
          .append(",\"tlbMisses\":").append(c.tlbMisses)
          .append(",\"pageWalkReferences\":").append(c.pageWalkReferences)
          .append(",\"eptViolations\":").append(c.eptViolations)
          .append(",\"shadowFaults\":").append(c.shadowFaults)
          .append(",\"shadowFaultsInjected\":").append(c.shadowFaultsInjected)
          .append(",\"ioreqs\":").append(c.ioreqs)
          .append(",\"injectedInterrupts\":").append(c.injectedInterrupts)
          .append(",\"undefinedOpcodes\":").append(undefinedOpcodes(d))
          .append(",\"hypercalls\":").append(c.totalHypercalls())
          .append(",\"hypercallErrors\":").append(c.hypercallErrors)
          .append(",\"eventUpcalls\":").append(c.eventUpcalls)
          .append(",\"weight\":").append(d.weight())
          .append(",\"cap\":").append(d.cap());
      long[] rs = runstate(hv, d);
      sb.append(",\"runstate\":{\"running\":").append(rs[0])
          .append(",\"runnable\":").append(rs[1])
          .append(",\"blocked\":").append(rs[2]).append('}')
          .append(",\"service\":").append(d.isService());
      DomainControl svc = hv.service(d.domid());
      if (svc != null) {
        sb.append(",\"privilege\":").append(quote(svc.privilege().describe()))
            .append(",\"ioreqsServed\":").append(c.ioreqs)
            .append(",\"grantMaps\":").append(c.grantMaps)
            .append(",\"foreignMaps\":").append(svc.foreignMaps())
            .append(",\"liveForeignMaps\":").append(svc.liveForeignMaps())
            .append(",\"refusals\":").append(svc.refusals())
            .append(",\"handlerFailures\":").append(svc.handlerFailures());
      }
      sb.append(",\"exits\":{");
      boolean first = true;
      for (Map.Entry<String, long[]> e : c.exitsByReason().entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        sb.append(quote(e.getKey())).append(":{\"count\":").append(e.getValue()[0])
            .append(",\"cycles\":").append(e.getValue()[1]).append('}');
      }
      sb.append("}}");
    }
    return sb.append("]}").toString();
  }

  private static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      if (ch == '"' || ch == '\\') {
        sb.append('\\').append(ch);
      } else if (ch < 0x20) {
        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
      } else {
        sb.append(ch);
      }
    }
    return sb.append('"').toString();
  }
}
