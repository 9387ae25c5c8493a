package org.hospes.dom0.study;

import java.util.Map;

/**
 * What one run gave: how it ended, every counter (by a stable name) and the nanobenchmark's
 * self-measured cycles per operation when the workload printed them. Nothing here depends on
 * the host (no wall time), so the same study gives the same records.
 */
public record RunRecord(RunSpec spec, int exitStatus, String endReason,
    Map<String, Long> counters, Map<String, Double> nanobench) implements java.io.Serializable {

  public boolean skipped() {
    return endReason.startsWith(SKIPPED);
  }

  /** End reason prefix of a run whose image cannot boot in its mode. */
  public static final String SKIPPED = "skipped: ";
}
