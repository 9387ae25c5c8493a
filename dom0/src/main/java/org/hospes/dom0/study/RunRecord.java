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
 * @param lastOutput the last line the guest wrote on its console ("" if none): what a crashed
 *     run's progress line shows, since the results files keep no console
 */
public record RunRecord(RunSpec spec, int exitStatus, String endReason,
    Map<String, Long> counters, Map<String, Double> nanobench, long hostMillis,
    String lastOutput) implements java.io.Serializable {

  /** A run whose host time is not reported. */
  public RunRecord(RunSpec spec, int exitStatus, String endReason, Map<String, Long> counters,
      Map<String, Double> nanobench) {
    this(spec, exitStatus, endReason, counters, nanobench, 0);
  }

  /** A run whose console is not kept. */
  public RunRecord(RunSpec spec, int exitStatus, String endReason, Map<String, Long> counters,
      Map<String, Double> nanobench, long hostMillis) {
    this(spec, exitStatus, endReason, counters, nanobench, hostMillis, "");
  }

  /** The longest last line kept: enough for a guest's error or exception report. */
  static final int LAST_OUTPUT_CHARS = 160;

  /**
   * The last line of {@code console} with anything on it, without control characters and cut
   * to {@link #LAST_OUTPUT_CHARS}; "" if there is none.
   */
  public static String lastLine(String console) {
    // From the end: a Linux run's console is megabytes.
    for (int end = console.length(); end > 0; ) {
      int start = console.lastIndexOf('\n', end - 1) + 1;
      String last = console.substring(start, end).replaceAll("\\p{Cntrl}", "").strip();
      if (!last.isEmpty()) {
        return last.length() <= LAST_OUTPUT_CHARS ? last
            : last.substring(0, LAST_OUTPUT_CHARS - 3) + "...";
      }
      end = start - 1;
    }
    return "";
  }

  public boolean skipped() {
    return endReason.startsWith(SKIPPED);
  }

  /** End reason prefix of a run whose image cannot boot in its mode. */
  public static final String SKIPPED = "skipped: ";
}
