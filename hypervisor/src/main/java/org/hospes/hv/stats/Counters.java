package org.hospes.hv.stats;

import java.util.Map;
import java.util.TreeMap;
import org.hospes.x86.vmx.ExitReason;

/**
 * Counters of one vCPU or one domain: raw counts and modelled cycles, never only one of the two.
 * Plain long fields and arrays so the hypervisor's exit path allocates nothing.
 */
public final class Counters {
  public long instructions;
  /** All modelled cycles: guest instructions, exits, walks and idle time. */
  public long cycles;
  public long guestCycles;
  public long idleCycles;
  public final long[] exitCount = new long[64];
  public final long[] exitCycles = new long[64];
  public long tlbMisses;
  public long pageWalkReferences;
  /** #PF exits handled by the shadow pager: hidden ones plus those injected to the guest. */
  public long shadowFaults;
  /** Of {@link #shadowFaults}, the ones the guest had to see (injected #PF or #DF). */
  public long shadowFaultsInjected;
  /**
   * Of {@link #shadowFaults}, the MMIO accesses: faults on guest-physical pages with no RAM,
   * whose access went to a device (what EPT violations are with EPT).
   */
  public long shadowMmio;
  /** Instructions run through Xen's forced-emulation prefix (--hvm-fep). */
  public long forcedEmulations;
  /**
   * Real-mode instructions the hypervisor emulated under shadow paging (those VM86 mode cannot
   * run, and every instruction while the segments are not 8086 segments), with their cycles.
   */
  public long realModeEmulations;
  public long realModeEmulationCycles;
  /**
   * What the real-mode emulator handed to the exit handlers (I/O, CPUID, CR accesses, shadow
   * faults): handled as exits are, but not VM exits, as in Xen's vmx_realmode. Their cycles
   * are in {@link #realModeEmulationCycles}.
   */
  public long realModeHandBacks;
  public long eptViolations;
  public long ioreqs;
  public long injectedInterrupts;
  /** Event-channel upcalls raised for this vCPU. */
  public long eventUpcalls;
  public final long[] hypercallCount = new long[64];
  public long hypercallCycles;
  /** Hypercalls that returned an error (negative errno). */
  public long hypercallErrors;
  /** Grant operations that succeeded, bytes moved by grant copies, and their modelled cycles. */
  public long grantMaps;
  public long grantUnmaps;
  public long grantCopies;
  public long grantCopyBytes;
  public long grantCycles;
  /** Grant operations refused with a GNTST error status. */
  public long grantErrors;
  /** Singleshot-timer arms (VCPUOP_set_singleshot_timer, set_timer_op) and multicall entries. */
  public long timerArms;
  public long multicallEntries;
  /** Times the vCPU ran on a physical CPU other than the one it last ran on. */
  public long migrations;
  /**
   * Kicks this vCPU took while its run was under way (Xen's vcpu_kick of a running vCPU: the
   * event-check IPI), for an event made pending from outside between two steps.
   */
  public long kicks;

  public void addExit(ExitReason reason, long modelledCycles) {
    exitCount[reason.code()]++;
    exitCycles[reason.code()] += modelledCycles;
    cycles += modelledCycles;
  }

  public long totalHypercalls() {
    long n = 0;
    for (long c : hypercallCount) {
      n += c;
    }
    return n;
  }

  public long totalExits() {
    long n = 0;
    for (long c : exitCount) {
      n += c;
    }
    return n;
  }

  /** Exit counts by reason name, for reports. */
  public Map<String, long[]> exitsByReason() {
    Map<String, long[]> m = new TreeMap<>();
    for (int i = 0; i < exitCount.length; i++) {
      if (exitCount[i] != 0) {
        ExitReason r = ExitReason.of(i);
        m.put(r == null ? "REASON_" + i : r.name(), new long[] {exitCount[i], exitCycles[i]});
      }
    }
    return m;
  }

  public void addAll(Counters o) {
    instructions += o.instructions;
    cycles += o.cycles;
    guestCycles += o.guestCycles;
    idleCycles += o.idleCycles;
    for (int i = 0; i < exitCount.length; i++) {
      exitCount[i] += o.exitCount[i];
      exitCycles[i] += o.exitCycles[i];
    }
    tlbMisses += o.tlbMisses;
    pageWalkReferences += o.pageWalkReferences;
    shadowFaults += o.shadowFaults;
    shadowFaultsInjected += o.shadowFaultsInjected;
    shadowMmio += o.shadowMmio;
    forcedEmulations += o.forcedEmulations;
    realModeEmulations += o.realModeEmulations;
    realModeEmulationCycles += o.realModeEmulationCycles;
    realModeHandBacks += o.realModeHandBacks;
    eptViolations += o.eptViolations;
    ioreqs += o.ioreqs;
    injectedInterrupts += o.injectedInterrupts;
    eventUpcalls += o.eventUpcalls;
    for (int i = 0; i < hypercallCount.length; i++) {
      hypercallCount[i] += o.hypercallCount[i];
    }
    hypercallCycles += o.hypercallCycles;
    hypercallErrors += o.hypercallErrors;
    grantMaps += o.grantMaps;
    grantUnmaps += o.grantUnmaps;
    grantCopies += o.grantCopies;
    grantCopyBytes += o.grantCopyBytes;
    grantCycles += o.grantCycles;
    grantErrors += o.grantErrors;
    timerArms += o.timerArms;
    multicallEntries += o.multicallEntries;
    migrations += o.migrations;
    kicks += o.kicks;
  }
}
