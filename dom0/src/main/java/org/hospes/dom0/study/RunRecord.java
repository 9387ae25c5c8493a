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
   * What the guest SDK's runtime writes last when {@code main} returns non-zero (runtime.c):
   * it says how the run ended, and the program's own line before it says why.
   */
  static final String SDK_MAIN_RETURNED = "guest: main returned ";

  /**
   * The last line of {@code console} with anything on it, without control characters and cut
   * to {@link #LAST_OUTPUT_CHARS}; "" if there is none. After the SDK runtime's closing line
   * ({@link #SDK_MAIN_RETURNED}) the line before it comes first, joined with " / ": that line
   * alone hid the program's reason.
   */
  public static String lastLine(String console) {
    int[] end = {console.length()};
    String last = lineBefore(console, end);
    if (last.startsWith(SDK_MAIN_RETURNED)) {
      String why = lineBefore(console, end);
      last = why.isEmpty() ? last : why + " / " + last;
    }
    return last.length() <= LAST_OUTPUT_CHARS ? last
        : last.substring(0, LAST_OUTPUT_CHARS - 3) + "...";
  }

  /**
   * The last line with anything on it that ends at or before {@code end[0]}, without control
   * characters; moves {@code end[0]} to before it. "" if there is none.
   */
  private static String lineBefore(String console, int[] end) {
    // From the end: a Linux run's console is megabytes.
    while (end[0] > 0) {
      int start = console.lastIndexOf('\n', end[0] - 1) + 1;
      String line = console.substring(start, end[0]).replaceAll("\\p{Cntrl}", "").strip();
      end[0] = start - 1;
      if (!line.isEmpty()) {
        return line;
      }
    }
    return "";
  }

  public boolean skipped() {
    return endReason.startsWith(SKIPPED);
  }

  /** End reason prefix of a run whose image cannot boot in its mode. */
  public static final String SKIPPED = "skipped: ";
}
