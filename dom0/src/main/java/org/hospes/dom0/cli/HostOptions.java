package org.hospes.dom0.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.hospes.dom0.report.OutputFiles;
import org.hospes.dom0.report.StatsDocument;
import org.hospes.dom0.report.StatsReport;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.HypervisorFactory;
import picocli.CommandLine.Option;

/**
 * The options {@code run} and {@code run-many} share (a picocli mixin): the hypervisor's
 * scheduler and cost model, the instruction limit and the stats. The scheduler and cost model
 * are null unless given, so {@code run --mode native} can refuse them.
 */
final class HostOptions {

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String MAX_INSTRUCTIONS_HELP =
      "Stop a guest after it has executed N instructions, with status 4 (accepts"
          + " 10k, 5M, 2G).";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String SCHEDULER_HELP =
      "Hypervisor modes: the scheduler (default: "
          + HypervisorFactory.DEFAULT_SCHEDULER + "). Built in: credit (Xen's credit scheduler:"
          + " weights and caps), rr (round robin); plugins on the class path add more.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String PCPUS_HELP =
      "Hypervisor modes: physical CPUs the scheduler places vCPUs on, 1 to "
          + Hypervisor.MAX_PCPUS + " (default 1). Each has its own run queue and virtual clock;"
          + " they advance in lockstep, so runs stay deterministic. Needs a scheduler that"
          + " places vCPUs on several (credit).";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String COST_MODEL_HELP =
      "Every mode: the cost model turning events into cycles (default: "
          + HypervisorFactory.DEFAULT_COST_MODEL + "); plugins on the class path add more.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String STATS_HELP =
      "When the run ends (also when stopped by Ctrl-C or SIGTERM), print on"
          + " stderr a line with the outcome, instructions, time and MIPS, and for hypervisor"
          + " modes each domain's counters (exits by reason with modelled cycles, hypercalls by"
          + " op, TLB misses, walks, ioreqs) and dom0's.";

  /** An option's help: its annotation here and {@link RunCommandModel} both use it. */
  static final String STATS_JSON_HELP =
      "Write the outcome and the counters as JSON to FILE when the run ends (also"
          + " when stopped by Ctrl-C or SIGTERM). FILE must be writable before the run starts.";

  @Option(names = "--max-insns", paramLabel = "N", converter = InstructionCountConverter.class,
      description = MAX_INSTRUCTIONS_HELP)
  Long maxInstructions;

  @Option(names = "--sched", paramLabel = "NAME",
      description = SCHEDULER_HELP)
  String scheduler;

  @Option(names = "--pcpus", paramLabel = "N",
      description = PCPUS_HELP)
  Long pcpus;

  @Option(names = "--cost-model", paramLabel = "NAME",
      description = COST_MODEL_HELP)
  String costModel;

  @Option(names = "--stats",
      description = STATS_HELP)
  boolean stats;

  @Option(names = "--stats-json", paramLabel = "FILE",
      description = STATS_JSON_HELP)
  Path statsJson;

  String schedulerName() {
    return scheduler == null ? HypervisorFactory.DEFAULT_SCHEDULER : scheduler;
  }

  String costModelName() {
    return costModel == null ? HypervisorFactory.DEFAULT_COST_MODEL : costModel;
  }

  /** Null if {@code --pcpus} is in range (or not given), else why not (one line). */
  String pcpusProblem() {
    return pcpusProblem(pcpus);
  }

  static String pcpusProblem(Long pcpus) {
    if (pcpus != null && (pcpus < 1 || pcpus > Hypervisor.MAX_PCPUS)) {
      return "--pcpus must be between 1 and " + Hypervisor.MAX_PCPUS + ", got " + pcpus;
    }
    return null;
  }

  /**
   * Gives {@code hv} {@code pcpus} physical CPUs; null if done, else the reason it cannot (the
   * scheduler places vCPUs on one only), naming the option.
   */
  static String applyPcpus(Hypervisor hv, int pcpus) {
    if (pcpus == hv.pcpuCount()) {
      return null;
    }
    try {
      hv.setPcpus(pcpus);
      return null;
    } catch (IllegalArgumentException | IllegalStateException e) {
      return "--pcpus " + pcpus + ": " + e.getMessage();
    }
  }

  /** Null if {@code --stats-json} can be written after the run, else why not (one line). */
  String statsJsonProblem() {
    return statsJson == null ? null : writableProblem(statsJson, "--stats-json");
  }

  /**
   * Writes the stats file. It was checked before the run, so only a disk that filled or
   * vanished fails here: that is said on stderr, and the guest's status still stands.
   */
  void writeStatsJson(StatsDocument doc, CliStreams streams) {
    try {
      StatsReport.writeJson(doc, statsJson);
    } catch (IOException e) {
      streams.error("--stats-json " + statsJson + ": cannot write: "
          + OutputFiles.reason(statsJson, e));
    }
  }

  static String writableProblem(Path file, String option) {
    return OutputFiles.problem(file, option);
  }
}
