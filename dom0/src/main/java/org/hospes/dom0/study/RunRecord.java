package org.hospes.dom0.study;

import java.util.Map;

/**
 * What one run gave: how it ended, every counter (by a stable name) and the nanobenchmark's
 * self-measured cycles per operation when the workload printed them. Nothing here but
 * {@code hostMillis} depends on the host, and that one stays out of the CSV and JSON, so the
 * same study gives the same results files.
 *
 * @param hostMillis the run's wall time on this host (0 where not measured), for the I/O
 *     table's host-time column
 */
public record RunRecord(RunSpec spec, int exitStatus, String endReason,
    Map<String, Long> counters, Map<String, Double> nanobench, long hostMillis)
    implements java.io.Serializable {

  /** A run whose host time is not reported. */
  public RunRecord(RunSpec spec, int exitStatus, String endReason, Map<String, Long> counters,
      Map<String, Double> nanobench) {
    this(spec, exitStatus, endReason, counters, nanobench, 0);
  }

  public boolean skipped() {
    return endReason.startsWith(SKIPPED);
  }

  /** End reason prefix of a run whose image cannot boot in its mode. */
  public static final String SKIPPED = "skipped: ";
}
