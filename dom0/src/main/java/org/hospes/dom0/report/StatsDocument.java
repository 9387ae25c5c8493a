package org.hospes.dom0.report;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import java.util.List;
import java.util.Map;

/**
 * What {@code --stats-json} writes (with Jackson): how the run ended, the host's clock and
 * policies, and every domain's counters (raw counts beside modelled cycles), dom0 (Domain-0, a
 * service domain) among them. Native runs have no hypervisor: no scheduler, cost model or
 * domains.
 *
 * @param run how the whole run ended
 * @param virtualCycles virtual time at the end (1 GHz clock)
 * @param idleCycles virtual time the physical CPUs had no vCPU to run, added over them
 * @param pcpus each physical CPU's busy and idle cycles and migrations (null for native)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StatsDocument(RunInfo run, long virtualCycles, Long idleCycles, String costModel,
    String scheduler, List<DomainStats> domains, List<PcpuStats> pcpus) {

  /**
   * One physical CPU of the hypervisor.
   *
   * @param busyCycles virtual cycles it ran vCPUs (guests' and service domains')
   * @param idleCycles virtual cycles it had nothing to run
   * @param migrations times a vCPU that last ran on another pCPU ran on this one
   */
  public record PcpuStats(int pcpu, long busyCycles, long idleCycles, long migrations) {}

  /**
   * The run as a whole.
   *
   * @param mode native, hvm, hvm-shadow, pvh, or "host" for run-many
   * @param status the process exit status the run maps to
   * @param outcome one line: "halted", "instruction limit of ... reached ...", "stopped: ..."
   * @param instructions guest instructions of all domains
   */
  public record RunInfo(String mode, int status, String outcome, long instructions) {}

  /**
   * One domain.
   *
   * @param state the hypervisor's state of the domain when the run ended
   * @param endReason why it ended; for a domain still running, why the run ended around it
   *     (a limit, a stop request)
   * @param status the exit status its ending maps to, as for {@code hospes run}; -1 when the
   *     command has no ending for it (a service domain)
   * @param weight credit-scheduler weight
   * @param cap credit-scheduler cap in percent of one CPU, 0 for none
   * @param vcpus the domain's vCPUs
   * @param migrations times one of its vCPUs ran on a physical CPU other than its last
   * @param service true for a service domain (dom0, a driver domain)
   * @param hypercallsByOp hypercalls by Xen's name (console_io, event_channel_op, ...)
   * @param forcedEmulations instructions run behind Xen's forced-emulation prefix
   *     ({@code --hvm-fep}); null (left out) when there were none
   * @param realModeEmulations real-mode instructions the hypervisor emulated under shadow paging
   *     (VM86 mode cannot run them, or the segments are not 8086 segments); null when none
   * @param realModeHandBacks what that emulator handed to the exit handlers (I/O, CPUID, HLT,
   *     CR accesses, shadow faults), handled but not VM exits, as in Xen; null when none
   * @param exits VM exits by Intel's reason name
   * @param perVcpu each vCPU's own counts, for a domain of several vCPUs (null, left out, for
   *     one: its counts are the domain's)
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record DomainStats(int domid, String name, String mode, String state, String endReason,
      int status, int weight, int cap, Runstate runstate, boolean service,
      @JsonUnwrapped ServiceStats services, long instructions, long cycles, long guestCycles, long idleCycles,
      long tlbMisses, long pageWalkReferences, long eptViolations, long shadowFaults,
      long shadowFaultsInjected, long ioreqs, long injectedInterrupts, long undefinedOpcodes,
      Long forcedEmulations, Long realModeEmulations, Long realModeHandBacks, long hypercalls, long hypercallErrors, long hypercallCycles,
      Map<String, Long> hypercallsByOp, long eventUpcalls, long grantMaps, long grantUnmaps,
      long grantCopies, long grantCopyBytes, long grantCycles, long grantErrors,
      Map<String, ExitStats> exits, int vcpus, long migrations, List<VcpuStats> perVcpu) {}

  /**
   * One vCPU of an SMP domain: the instructions it retired, the modelled cycles it was charged
   * and the times it moved to another pCPU. Runs are deterministic per vCPU, and these show it.
   */
  public record VcpuStats(int vcpu, long instructions, long cycles, long migrations) {}

  /** Cycles the domain's vCPUs spent running, runnable and blocked, added up. */
  public record Runstate(long running, long runnable, long blocked) {}

  /**
   * What a service domain's services did (dom0, a driver domain); null for a guest.
   *
   * @param privilege what the domain may do, as {@code Privilege.describe} says it
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ServiceStats(String privilege, long ioreqsServed, long foreignMaps, long liveForeignMaps, long refusals, long handlerFailures) {}

  /** VM exits of one reason. */
  public record ExitStats(long count, long cycles) {}

  /** How a domain's run ended, as the command that ran it knows it. */
  public record Ending(String reason, int status) {}
}
