package org.hospes.dom0.bench;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * {@code hospes bench --linux}: a Linux kernel booted at its PVH entry to an /init that prints a
 * marker and powers off, on Hospes (a PVH domain, {@code hospes run --mode pvh}) and under QEMU
 * TCG ({@code -kernel vmlinux}), with the same vmlinux, initramfs and command line, in the same
 * run. The figure is the wall time of each whole process, from its start to its exit, as a user
 * waits for it: JVM start-up and loading included for Hospes, QEMU's start-up and firmware for
 * QEMU. The repetitions alternate QEMU and the Hospes engines, so that a change in the host's
 * load falls on both; the best of each is reported.
 */
final class LinuxBootBench {

  /** The row's workload name. */
  static final String WORKLOAD = "linux-pvh";
  /** RAM of the domain and of QEMU's PC. */
  static final int RAM_MIB = 256;
  /**
   * Both consoles, so that the same command line works on both (see linux-bench-init.sh);
   * {@code cryptomgr.notests} skips the crypto self-tests, most of a default boot's instructions.
   */
  static final String DEFAULT_CMDLINE = "console=hvc0 console=ttyS0 cryptomgr.notests";
  /** A bound on a Hospes boot that never reaches its end (the Debian boot takes ~0.65 G). */
  static final long MAX_INSTRUCTIONS = 20_000_000_000L;
  /** A bound on a Hospes boot in wall time. */
  static final long HOSPES_TIMEOUT_SECONDS = 3600;

  /** One emulator's (or engine's) figures over the repetitions. */
  private static final class Figures {
    long bestWall = Long.MAX_VALUE;
    long bestRun = -1;
    /** The least processor time of a run, -1 where the system does not say. */
    long bestCpu = -1;
    long instructions = -1;
    JitFigures jit;
    final List<Long> walls = new ArrayList<>();
    String error;
    /** Runs whose console showed the marker, and whether one ended without it. */
    int markerSeen;
    boolean markerMissed;

    void cpu(long nanos) {
      if (nanos >= 0) {
        bestCpu = bestCpu < 0 ? nanos : Math.min(bestCpu, nanos);
      }
    }

    /** Whether the marker was reached in every run (null: not measured). */
    Boolean marker(boolean measured) {
      return measured ? markerSeen > 0 && !markerMissed : null;
    }

    boolean ok() {
      return error == null && bestWall != Long.MAX_VALUE;
    }
  }

  private final HospesCommand hospes;
  /**
   * {@link HospesCommand#cdsNote} before the first launch: the launches themselves may make the
   * archive (for this java) before the report, which would then say nothing of the launches
   * that went without it.
   */
  private final String cdsAtStart;
  private final LinuxBootImages images;
  private final String cmdline;
  private final String marker;
  private final int runs;
  private final long qemuTimeoutSeconds;
  private final BenchProgress progress;

  LinuxBootBench(HospesCommand hospes, LinuxBootImages images, String cmdline, String marker,
      int runs, long qemuTimeoutSeconds, BenchProgress progress) {
    this.hospes = hospes;
    this.cdsAtStart = hospes.cdsNote();
    this.images = images;
    this.cmdline = cmdline;
    this.marker = marker;
    this.runs = runs;
    this.qemuTimeoutSeconds = qemuTimeoutSeconds;
    this.progress = progress;
  }

  /** The number of measurements {@link #measure} makes, for the progress count. */
  static int measurements(int runs, int engines, boolean qemu) {
    return runs * (engines + (qemu ? 1 : 0));
  }

  /** Measures the Hospes {@code engines} (none: QEMU alone) and, if asked, QEMU. */
  WorkloadResult measure(List<String> engines, boolean useQemu) {
    Figures q = useQemu ? new Figures() : null;
    Map<String, Figures> h = new LinkedHashMap<>();
    engines.forEach(e -> h.put(e, new Figures()));
    for (int i = 0; i < runs; i++) {
      if (q != null && q.error == null) {
        progress.step(WORKLOAD + " under QEMU", i);
        runQemu(q);
      }
      for (Map.Entry<String, Figures> e : h.entrySet()) {
        if (e.getValue().error == null) {
          progress.step(WORKLOAD + " on Hospes (pvh, " + e.getKey() + ")", i);
          runHospes(e.getKey(), e.getValue());
        }
      }
    }

    List<String> table = new ArrayList<>();
    List<BenchRow> rows = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    boolean ok = true;
    table.add(String.format(Locale.ROOT, "%-10s %-6s %-6s %15s %12s %13s %11s %12s %12s %s",
        "workload", "mode", "engine", "guest insns", "Hospes run s", "Hospes wall s",
        "QEMU wall s", "QEMU/Hospes", "(CPU time)", "marker"));
    double qSec = q != null && q.ok() ? q.bestWall / 1e9 : Double.NaN;
    double qCpu = q != null && q.ok() && q.bestCpu >= 0 ? q.bestCpu / 1e9 : Double.NaN;
    if (q != null && !q.ok()) {
      ok = false;
      notes.add(WORKLOAD + " under QEMU: " + q.error);
    }
    if (q != null && q.ok()) {
      notes.add(WORKLOAD + " under QEMU: wall " + seconds(q.walls) + " s; CPU "
          + fmt(qCpu, "%.2f") + " s.");
    }
    Map<String, Figures> shown = h.isEmpty() ? Map.of("-", new Figures()) : h;
    long firstInsns = -1;
    for (Map.Entry<String, Figures> e : shown.entrySet()) {
      Figures f = e.getValue();
      boolean measured = !h.isEmpty();
      if (measured && !f.ok()) {
        ok = false;
        notes.add(WORKLOAD + " on Hospes (" + e.getKey() + "): " + f.error);
      }
      double hSec = measured && f.ok() ? f.bestWall / 1e9 : Double.NaN;
      double runSec = measured && f.ok() && f.bestRun >= 0 ? f.bestRun / 1e9 : Double.NaN;
      double ratio = hSec / qSec;
      double hCpu = measured && f.ok() && f.bestCpu >= 0 ? f.bestCpu / 1e9 : Double.NaN;
      Boolean hMarker = f.marker(measured);
      Boolean qMarker = q == null ? null : q.marker(true);
      table.add(String.format(Locale.ROOT, "%-10s %-6s %-6s %15s %12s %13s %11s %12s %12s %s",
          WORKLOAD, measured ? "pvh" : "-", e.getKey(),
          f.instructions < 0 ? "?" : String.format(Locale.ROOT, "%,d", f.instructions),
          fmt(runSec, "%.3f"), fmt(hSec, "%.3f"), fmt(qSec, "%.3f"), fmt(ratio, "%.2fx"),
          fmt(hCpu / qCpu, "(%.2fx)"), markers(hMarker, qMarker)));
      rows.add(new BenchRow(WORKLOAD, measured ? "pvh" : "-", e.getKey(), 0, runs,
          f.instructions < 0 ? null : f.instructions, num(hSec),
          num(f.instructions > 0 ? f.instructions / runSec / 1e6 : Double.NaN), num(qSec), null,
          num(ratio), null, null, BenchRow.PROCESS_BEST, num(runSec), hMarker, qMarker,
          num(hCpu), num(qCpu), null, null, null, null, null, null).withJit(f.jit));
      if (measured && f.ok()) {
        notes.add(String.format(Locale.ROOT, "%s on Hospes (%s): wall %s s; CPU %s s; the run"
            + " alone %.3f s, %.1f MIPS.", WORKLOAD, e.getKey(), seconds(f.walls),
            fmt(hCpu, "%.2f"), runSec, f.instructions / runSec / 1e6));
        if (f.jit != null) {
          notes.add(WORKLOAD + " (" + e.getKey() + "): translator: " + f.jit.summary(runSec));
        }
        if (firstInsns < 0) {
          firstInsns = f.instructions;
        } else if (firstInsns != f.instructions) {
          notes.add(WORKLOAD + ": INSTRUCTION COUNTS DIFFER between the engines ("
              + firstInsns + " and " + f.instructions + "); they should be identical.");
        }
      }
    }
    String cds = cdsAtStart != null ? cdsAtStart : hospes.cdsNote();
    if (cds != null && !h.isEmpty()) {
      notes.add(WORKLOAD + ": " + cds);
    }
    notes.add(WORKLOAD + ": kernel " + images.kernelSource() + "; initramfs "
        + images.initrdSource() + "; command line \"" + cmdline + "\"; " + RAM_MIB
        + " MiB; marker \"" + marker + "\".");
    notes.add(WORKLOAD + ": wall = the whole process from start to exit (Hospes: "
        + hospes.description() + ", JVM start-up and loading included; QEMU: "
        + QemuRunner.BINARY + " -accel tcg -kernel vmlinux, PVH entry); QEMU/Hospes = Hospes"
        + " wall / QEMU wall, best of " + runs + "; the goal is below 1. (CPU time): the same"
        + " ratio of the processes' processor time (user and system, all threads), which the"
        + " host's other work changes much less.");
    return new WorkloadResult(table, rows, notes, ok);
  }

  private void runQemu(Figures f) {
    TimedProcess.Outcome o;
    try {
      o = TimedProcess.run(QemuRunner.linuxPvhCommand(images.vmlinux(), images.initrd(),
          cmdline, RAM_MIB), Map.of(), qemuTimeoutSeconds);
    } catch (Exception e) {
      f.error = "failed: " + e;
      return;
    }
    String console = o.stdoutText();
    marker(f, console);
    if (o.timedOut()) {
      f.error = "no exit after " + qemuTimeoutSeconds + " s (--qemu-timeout)"
          + (console.contains(marker) ? " although the marker was printed" : "") + "; console: "
          + tail(console);
    } else if (!console.contains(marker)) {
      f.error = "exit status " + o.status() + " without the marker \"" + marker + "\"; console: "
          + tail(console) + " " + o.stderr().strip();
    } else if (o.status() != 0) {
      f.error = "exit status " + o.status() + " (0 expected from a power-off) "
          + o.stderr().strip();
    } else {
      f.walls.add(o.wallNanos());
      f.bestWall = Math.min(f.bestWall, o.wallNanos());
      f.cpu(o.cpuNanos());
    }
  }

  private void runHospes(String engine, Figures f) {
    List<String> args = List.of("run", "--mode", "pvh", "--ram", Integer.toString(RAM_MIB),
        "--engine", engine, "--stats", "--max-insns", Long.toString(MAX_INSTRUCTIONS),
        "--initrd", images.initrd().toString(), "--cmdline", cmdline,
        images.vmlinux().toString());
    TimedProcess.Outcome o;
    try {
      o = TimedProcess.run(hospes.with(args), hospes.env(), HOSPES_TIMEOUT_SECONDS);
    } catch (Exception e) {
      f.error = "failed: " + e;
      return;
    }
    String console = new String(o.stdout(), StandardCharsets.ISO_8859_1);
    marker(f, console);
    Matcher stats = HospesRunner.STATS_LINE.matcher(o.stderr());
    if (o.timedOut()) {
      f.error = "no exit after " + HOSPES_TIMEOUT_SECONDS + " s; console: " + tail(console);
      return;
    }
    if (!stats.find()) {
      f.error = "exit status " + o.status() + " and no statistics line: " + tail(o.stderr());
      return;
    }
    long insns = Long.parseLong(stats.group(3));
    // The run line names the kernel before the ending: "hospes: KERNEL: ENDING, status ...".
    String kernelPrefix = images.vmlinux() + ": ";
    String ending = stats.group(1).startsWith(kernelPrefix)
        ? stats.group(1).substring(kernelPrefix.length()) : stats.group(1);
    if (!console.contains(marker)) {
      f.error = "exit status " + o.status() + " (" + ending + ") after " + insns
          + " instructions without the marker \"" + marker + "\"; console: " + tail(console);
      return;
    }
    if (o.status() != 0) {
      f.error = "exit status " + o.status() + " (" + ending + "), 0 expected from a"
          + " power-off";
      return;
    }
    if (f.instructions >= 0 && f.instructions != insns) {
      f.error = "instruction count changed between runs: " + f.instructions + " then " + insns;
      return;
    }
    f.instructions = insns;
    f.walls.add(o.wallNanos());
    f.cpu(o.cpuNanos());
    if (o.wallNanos() < f.bestWall) {
      f.bestWall = o.wallNanos();
      Matcher jit = HospesRunner.JIT_LINE.matcher(o.stderr());
      f.jit = jit.find() ? JitFigures.parse(jit.group(1)).orElse(null) : null;
    }
    long run = Math.round(Double.parseDouble(stats.group(4)) * 1e9);
    f.bestRun = f.bestRun < 0 ? run : Math.min(f.bestRun, run);
  }

  private void marker(Figures f, String console) {
    if (console.contains(marker)) {
      f.markerSeen++;
    } else {
      f.markerMissed = true;
    }
  }

  private static String markers(Boolean hospes, Boolean qemu) {
    if (hospes == null && qemu == null) {
      return "-";
    }
    if (Boolean.TRUE.equals(hospes) && Boolean.TRUE.equals(qemu)) {
      return "both";
    }
    List<String> parts = new ArrayList<>();
    if (hospes != null) {
      parts.add("Hospes " + (hospes ? "yes" : "NO"));
    }
    if (qemu != null) {
      parts.add("QEMU " + (qemu ? "yes" : "NO"));
    }
    return String.join(", ", parts);
  }

  /** "1.234, 1.301" */
  static String seconds(List<Long> nanos) {
    return String.join(", ", nanos.stream()
        .map(n -> String.format(Locale.ROOT, "%.3f", n / 1e9)).toList());
  }

  static String tail(String s) {
    String t = s.strip().replace("\r", "").replace('\n', '|');
    return t.length() <= 300 ? "\"" + t + "\"" : "\"..." + t.substring(t.length() - 300) + "\"";
  }

  static Double num(double v) {
    return Double.isNaN(v) || Double.isInfinite(v) ? null : v;
  }

  static String fmt(double v, String format) {
    return Double.isNaN(v) || Double.isInfinite(v) ? "-" : String.format(Locale.ROOT, format, v);
  }
}
