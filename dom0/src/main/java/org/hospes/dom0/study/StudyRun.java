package org.hospes.dom0.study;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.plugin.HostPlugins;
import org.hospes.dom0.report.NativeStats;
import org.hospes.dom0.report.StatsReport;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.stats.Counters;

/**
 * Runs one {@link RunSpec} in virtual time and collects its counters under stable names. The
 * machines are built here, per run, so runs share nothing and may go in parallel.
 */
public final class StudyRun {
  private StudyRun() {}

  /** As below, with an instruction limit of two billion. */
  public static RunRecord run(RunSpec spec, byte[] image) {
    return run(spec, image, 2_000_000_000L);
  }

  /**
   * Runs {@code spec} on {@code image} until it ends or retires {@code max} instructions; the
   * guest's console output is kept for parsing.
   */
  public static RunRecord run(RunSpec spec, byte[] image, long max) {
    BootMode mode = BootMode.byName(spec.mode()).orElseThrow();
    StudySpec.Workload w = spec.workload();
    if (w.io() != null) {
      return LinuxIo.run(spec, image, max);
    }
    if (w.isSdk() && w.disk() != null) {
      return SdkWorkloads.runWithDisk(spec, image, max);
    }
    KernelLoader loader;
    try {
      loader = HostPlugins.classPath().kernelLoaders().choose(w.loader(), mode, image);
    } catch (BootException e) {
      return new RunRecord(spec, 2, RunRecord.SKIPPED + e.getMessage(), Map.of(), Map.of());
    }
    BootRequest request = new BootRequest(w.cmdline(), java.util.List.of());
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    PrintStream diag = new PrintStream(OutputStream.nullOutputStream(), true,
        StandardCharsets.UTF_8);
    try {
      if (mode == BootMode.NATIVE) {
        NativeMachine m = NativeMachine.builder().ramMiB(spec.ramMiB())
            .costModel(HvmMachine.factory().costModel(spec.costModel()))
            .serialOut(console).diagnostics(diag).build();
        m.load(loader, image, w.name(), request);
        RunResult r = m.run(max);
        return record(spec, r, nativeCounters(m), console);
      }
      HvmMachine m = HvmMachine.create(mode.domainMode(), spec.ramMiB(), console, diag,
          HvmMachine.factory(), spec.scheduler(), spec.costModel());
      m.load(loader, image, w.name(), request, null);
      RunResult r = m.run(max);
      return record(spec, r, hvCounters(m.hypervisor(), m.domain()), console);
    } catch (BootException e) {
      return new RunRecord(spec, 2, RunRecord.SKIPPED + e.getMessage(), Map.of(), Map.of());
    }
  }

  private static RunRecord record(RunSpec spec, RunResult r, Map<String, Long> counters,
      ByteArrayOutputStream console) {
    String out = console.toString(StandardCharsets.ISO_8859_1);
    return new RunRecord(spec, r.exitStatus(), r.reason(), counters, Nanobench.parse(out), 0,
        RunRecord.lastLine(out));
  }

  static Map<String, Long> nativeCounters(NativeMachine m) {
    NativeStats s = NativeStats.of(m.cpu(), m.costModel().name());
    Map<String, Long> c = new LinkedHashMap<>();
    c.put("virtual_cycles", s.virtualCycles());
    c.put("instructions", s.instructions());
    c.put("guest_cycles", s.modelledCycles());
    c.put("charged_cycles", s.chargedCycles());
    c.put("idle_cycles", s.idleCycles());
    c.put("tlb_misses", s.tlbMisses());
    c.put("page_walk_references", s.pageWalkReferences());
    c.put("events_delivered", s.eventsDelivered());
    c.put("port_accesses", s.portAccesses());
    c.put("mmio_accesses", s.mmioAccesses());
    c.put("undefined_opcodes", s.undefinedOpcodes());
    return c;
  }

  static Map<String, Long> hvCounters(Hypervisor hv, Domain guest) {
    Counters g = guest.totals();
    Counters d0 = hv.domain(0).totals();
    Map<String, Long> c = new LinkedHashMap<>();
    c.put("virtual_cycles", hv.now());
    c.put("instructions", g.instructions);
    c.put("guest_cycles", g.cycles);
    c.put("guest_execution_cycles", g.guestCycles);
    c.put("idle_cycles", g.idleCycles);
    c.put("tlb_misses", g.tlbMisses);
    c.put("page_walk_references", g.pageWalkReferences);
    c.put("events_delivered", guest.vcpus().get(0).cpu().deliveries());
    c.put("ept_violations", g.eptViolations);
    c.put("shadow_faults", g.shadowFaults);
    c.put("shadow_faults_injected", g.shadowFaultsInjected);
    // Real mode under shadow paging: what the hypervisor emulated, and what that cost.
    c.put("real_mode_emulations", g.realModeEmulations);
    c.put("real_mode_emulation_cycles", g.realModeEmulationCycles);
    // What it handed to the exit handlers: not VM exits (Xen's vmx_realmode), so not in exits.*.
    c.put("real_mode_hand_backs", g.realModeHandBacks);
    c.put("ioreqs", g.ioreqs);
    c.put("injected_interrupts", g.injectedInterrupts);
    c.put("event_upcalls", g.eventUpcalls);
    c.put("vm_exits", g.totalExits());
    for (Map.Entry<String, long[]> e : g.exitsByReason().entrySet()) {
      c.put("exits." + e.getKey(), e.getValue()[0]);
      c.put("exit_cycles." + e.getKey(), e.getValue()[1]);
    }
    c.put("hypercalls", g.totalHypercalls());
    c.put("hypercall_errors", g.hypercallErrors);
    c.put("hypercall_cycles", g.hypercallCycles);
    for (Map.Entry<String, Long> e : StatsReport.hypercallsByOp(g).entrySet()) {
      c.put("hypercalls." + e.getKey(), e.getValue());
    }
    c.put("grant_maps", g.grantMaps);
    c.put("grant_unmaps", g.grantUnmaps);
    c.put("grant_copies", g.grantCopies);
    c.put("grant_copy_bytes", g.grantCopyBytes);
    c.put("grant_cycles", g.grantCycles);
    c.put("dom0_cycles", d0.cycles);
    c.put("dom0_ioreqs_served", d0.ioreqs);
    c.put("dom0_events_handled", d0.eventUpcalls);
    c.put("dom0_grant_maps", d0.grantMaps);
    c.put("dom0_grant_unmaps", d0.grantUnmaps);
    c.put("dom0_grant_copies", d0.grantCopies);
    c.put("dom0_grant_copy_bytes", d0.grantCopyBytes);
    return c;
  }
}
