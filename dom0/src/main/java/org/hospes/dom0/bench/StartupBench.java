package org.hospes.dom0.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code hospes bench --startup}: how long a user waits for {@code hospes run} of a kernel that
 * does nothing (the {@code empty} Multiboot kernel, which writes 0x10 to isa-debug-exit at once)
 * against {@code qemu-system-i386 -kernel} of the same file, each as a whole process from its
 * start to its exit. One unmeasured launch of each comes first (it fills the page cache, and
 * the launcher's first run writes its class-data-sharing archive); then the repetitions
 * alternate QEMU and the Hospes engines, and the median of each is reported: start-up times
 * are noisy on a shared host, and one lucky or unlucky launch should not set the figure.
 */
final class StartupBench {

  /** The row's workload name. */
  static final String WORKLOAD = "startup";
  /** Both emulators' status for the empty kernel: (0x10 << 1) | 1. */
  static final int STATUS = QemuRunner.SUCCESS_STATUS;
  private static final long HOSPES_TIMEOUT_SECONDS = 600;

  private final HospesCommand hospes;
  /**
   * {@link HospesCommand#cdsNote} before the first launch: the launches themselves may make the
   * archive (for this java) before the report, which would then say nothing of the launches
   * that went without it.
   */
  private final String cdsAtStart;
  private final Path kernel;
  private final int runs;
  private final long qemuTimeoutSeconds;
  private final BenchProgress progress;

  StartupBench(HospesCommand hospes, Path kernel, int runs, long qemuTimeoutSeconds,
      BenchProgress progress) {
    this.hospes = hospes;
    this.cdsAtStart = hospes.cdsNote();
    this.kernel = kernel;
    this.runs = runs;
    this.qemuTimeoutSeconds = qemuTimeoutSeconds;
    this.progress = progress;
  }

  /** The number of measurements {@link #measure} makes (warm-up launches included). */
  static int measurements(int runs, int engines, boolean qemu) {
    int emulators = engines + (qemu ? 1 : 0);
    return (runs + 1) * emulators;
  }

  /** One emulator's launches. */
  private static final class Launches {
    final List<Long> walls = new ArrayList<>();
    /** Processor times, where the system gives them. */
    final List<Long> cpus = new ArrayList<>();
    String error;
  }

  /** Measures the Hospes {@code engines} (none: QEMU alone) and, if asked, QEMU. */
  WorkloadResult measure(List<String> engines, boolean useQemu) {
    Launches q = useQemu ? new Launches() : null;
    Map<String, Launches> h = new LinkedHashMap<>();
    engines.forEach(e -> h.put(e, new Launches()));
    // Run -1 is the unmeasured warm-up.
    for (int i = -1; i < runs; i++) {
      if (q != null && q.error == null) {
        progress.step(WORKLOAD + " under QEMU", i);
        launch(QemuRunner.command(kernel), Map.of(), qemuTimeoutSeconds, q, i >= 0);
      }
      for (Map.Entry<String, Launches> e : h.entrySet()) {
        if (e.getValue().error == null) {
          progress.step(WORKLOAD + " on Hospes (native, " + e.getKey() + ")", i);
          launch(hospes.with(List.of("run", "--mode", "native", "--engine", e.getKey(),
              kernel.toString())), hospes.env(), HOSPES_TIMEOUT_SECONDS, e.getValue(), i >= 0);
        }
      }
    }

    List<String> table = new ArrayList<>();
    List<BenchRow> rows = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    boolean ok = true;
    table.add(String.format(Locale.ROOT, "%-10s %-6s %-6s %5s %16s %14s %12s %14s %12s %12s",
        "workload", "mode", "engine", "runs", "Hospes median s", "QEMU median s",
        "QEMU/Hospes", "Hospes CPU s", "QEMU CPU s", "(CPU time)"));
    double qMed = q != null && q.error == null ? median(q.walls) / 1e9 : Double.NaN;
    double qCpu = q != null && q.error == null ? median(q.cpus) / 1e9 : Double.NaN;
    if (q != null) {
      if (q.error != null) {
        ok = false;
        notes.add(WORKLOAD + " under QEMU: " + q.error);
      } else {
        notes.add(WORKLOAD + " under QEMU: " + LinuxBootBench.seconds(q.walls) + " s; CPU "
            + LinuxBootBench.seconds(q.cpus) + " s.");
      }
    }
    Map<String, Launches> shown = h.isEmpty() ? Map.of("-", new Launches()) : h;
    for (Map.Entry<String, Launches> e : shown.entrySet()) {
      Launches l = e.getValue();
      boolean measured = !h.isEmpty();
      double hMed = measured && l.error == null ? median(l.walls) / 1e9 : Double.NaN;
      double hCpu = measured && l.error == null ? median(l.cpus) / 1e9 : Double.NaN;
      if (measured && l.error != null) {
        ok = false;
        notes.add(WORKLOAD + " on Hospes (" + e.getKey() + "): " + l.error);
      } else if (measured) {
        notes.add(WORKLOAD + " on Hospes (" + e.getKey() + "): " + LinuxBootBench.seconds(l.walls)
            + " s; CPU " + LinuxBootBench.seconds(l.cpus) + " s.");
      }
      double ratio = hMed / qMed;
      table.add(String.format(Locale.ROOT, "%-10s %-6s %-6s %5d %16s %14s %12s %14s %12s %12s",
          WORKLOAD, measured ? "native" : "-", e.getKey(), runs, LinuxBootBench.fmt(hMed, "%.3f"),
          LinuxBootBench.fmt(qMed, "%.3f"), LinuxBootBench.fmt(ratio, "%.2fx"),
          LinuxBootBench.fmt(hCpu, "%.2f"), LinuxBootBench.fmt(qCpu, "%.2f"),
          LinuxBootBench.fmt(hCpu / qCpu, "(%.2fx)")));
      rows.add(new BenchRow(WORKLOAD, measured ? "native" : "-", e.getKey(), 0, runs, null,
          LinuxBootBench.num(hMed), null, LinuxBootBench.num(qMed), null,
          LinuxBootBench.num(ratio), null, null, BenchRow.PROCESS_MEDIAN, null, null, null,
          LinuxBootBench.num(hCpu), LinuxBootBench.num(qCpu), null, null, null, null, null,
          null));
    }
    String cds = cdsAtStart != null ? cdsAtStart : hospes.cdsNote();
    if (cds != null && !h.isEmpty()) {
      notes.add(WORKLOAD + ": " + cds);
    }
    notes.add(WORKLOAD + ": " + kernel + " to its isa-debug-exit, each launch a whole process"
        + " (Hospes: " + hospes.description() + " run --mode native; QEMU: "
        + QemuRunner.BINARY + " -accel tcg -kernel, through SeaBIOS); median of " + runs
        + " after one unmeasured launch each; QEMU/Hospes = Hospes median / QEMU median, the"
        + " goal at most 2; CPU s: the median processor time (user and system, all threads) of"
        + " a launch, which the host's other work changes much less.");
    return new WorkloadResult(table, rows, notes, ok);
  }

  private static void launch(List<String> command, Map<String, String> env, long timeout,
      Launches into, boolean measured) {
    TimedProcess.Outcome o;
    try {
      o = TimedProcess.run(command, env, timeout);
    } catch (Exception e) {
      into.error = "failed: " + e;
      return;
    }
    if (o.status() != STATUS) {
      into.error = (o.timedOut() ? "no exit after " + timeout + " s" : "exit status "
          + o.status()) + ", " + STATUS + " expected; " + LinuxBootBench.tail(o.stderr());
      return;
    }
    if (measured) {
      into.walls.add(o.wallNanos());
      if (o.cpuNanos() >= 0) {
        into.cpus.add(o.cpuNanos());
      }
    }
  }

  /** The median (the mean of the middle two for an even count); NaN for none. */
  static double median(List<Long> values) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    long[] v = values.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(v);
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  }
}
