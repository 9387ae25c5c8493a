package org.hospes.dom0.study;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.StandardChartTheme;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.LogarithmicAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StackedBarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * The study's plots, drawn with JFreeChart into PNG files: what the cycles went to (guest,
 * hypervisor, dom0), VM exits by reason, hypercalls by op, what one I/O request costs emulated
 * and paravirtualized, and the nanobenchmarks per mode. Each plot is built only from the run
 * records, so the same study draws the same plots; a plot with no data is left out and
 * {@link #draw} says why.
 */
final class StudyPlots {
  static final int WIDTH = 960;
  static final int HEIGHT = 520;

  /**
   * Every file {@link #draw} may write into {@code plots/}. Those it does not draw this time
   * are removed: an earlier study's plot in a reused --out must not pass for this one's. Files
   * of other names there are the user's and are left alone.
   */
  static final List<String> FILES = List.of("cycles.png", "exits.png", "hypercalls.png",
      "io-paths.png", "io-per-mib.png", "nanobench.png");

  /** One drawn plot: its file (relative to the results directory), title and caption. */
  record Plot(String file, String title, String caption) {}

  /** A plot the study had no data for, and why. */
  record Missing(String title, String why) {}

  private final List<Plot> plots = new ArrayList<>();
  private final List<Missing> missing = new ArrayList<>();
  private Path plotsDir;

  private StudyPlots() {}

  /**
   * Draws every plot the records have data for into {@code dir/plots/}.
   *
   * @throws IOException when a file cannot be written
   */
  static StudyPlots draw(List<RunRecord> records, Path dir) throws IOException {
    StudyPlots p = new StudyPlots();
    List<RunRecord> ran = records.stream().filter(r -> !r.skipped()).toList();
    p.plotsDir = java.nio.file.Files.createDirectories(dir.resolve("plots"));
    p.cycleSplit(ran);
    p.exitsByReason(ran);
    p.hypercallsByOp(ran);
    p.ioPaths(ran);
    p.ioPerMib(records);
    p.nanobench(ran);
    for (String f : FILES) {
      if (p.plots.stream().noneMatch(drawn -> drawn.file().equals("plots/" + f))) {
        java.nio.file.Files.deleteIfExists(p.plotsDir.resolve(f));
      }
    }
    return p;
  }

  List<Plot> plots() {
    return plots;
  }

  List<Missing> missing() {
    return missing;
  }

  /** The category label of a run on the plots' axes. */
  static String label(RunRecord r) {
    RunSpec s = r.spec();
    return "#" + s.index() + " " + s.workload().name() + " " + s.mode()
        + (s.costModel().equals("default") ? "" : " (" + s.costModel() + ")");
  }

  private void cycleSplit(List<RunRecord> ran) throws IOException {
    DefaultCategoryDataset d = new DefaultCategoryDataset();
    for (RunRecord r : ran) {
      Map<String, Long> c = r.counters();
      long guest;
      long hv = 0;
      long dom0 = 0;
      if (c.containsKey("guest_execution_cycles")) {
        guest = c.get("guest_execution_cycles");
        hv = Math.max(0, c.getOrDefault("guest_cycles", 0L) - guest);
        dom0 = c.getOrDefault("dom0_cycles", 0L);
      } else {
        guest = c.getOrDefault("guest_cycles", 0L); // native: no hypervisor, no dom0
      }
      d.addValue(guest / 1e6, "guest", label(r));
      d.addValue(hv / 1e6, "hypervisor", label(r));
      d.addValue(dom0 / 1e6, "dom0", label(r));
    }
    add(d, "cycles.png", "Modelled cycles by where they went",
        "Millions of modelled cycles per run: the guest's own execution (instructions, walks,"
            + " exceptions it takes itself), the hypervisor's (VM exits, hypercalls, shadow"
            + " faults, I/O emulation) and dom0's (device model and backends).",
        "million cycles", true, false);
  }

  private void exitsByReason(List<RunRecord> ran) throws IOException {
    keyed(ran, "exits.", "exits.png", "VM exits by reason",
        "VM exits per run by Intel's exit reason (HVM runs; native and PVH runs take none"
            + " beyond their hypercalls).", "exits");
  }

  private void hypercallsByOp(List<RunRecord> ran) throws IOException {
    keyed(ran, "hypercalls.", "hypercalls.png", "Hypercalls by op",
        "Hypercalls per run by Xen's op name.", "hypercalls");
  }

  /** A stacked bar per run of the counters named {@code prefix + key}. */
  private void keyed(List<RunRecord> ran, String prefix, String file, String title,
      String caption, String axis) throws IOException {
    TreeSet<String> keys = new TreeSet<>();
    for (RunRecord r : ran) {
      r.counters().forEach((k, v) -> {
        if (k.startsWith(prefix) && v > 0) {
          keys.add(k.substring(prefix.length()));
        }
      });
    }
    DefaultCategoryDataset d = new DefaultCategoryDataset();
    for (RunRecord r : ran) {
      long total = 0;
      for (String k : keys) {
        total += r.counters().getOrDefault(prefix + k, 0L);
      }
      if (total == 0) {
        continue;
      }
      for (String k : keys) {
        d.addValue(r.counters().getOrDefault(prefix + k, 0L), k, label(r));
      }
    }
    add(d, file, title, caption, axis, true, false);
  }

  /**
   * What one I/O request costs each way, stacked by who pays: an emulated port access costs a
   * VM exit and its handling in the hypervisor, then dom0's device model serving the ioreq (dom0's
   * cycles per ioreq it served); a paravirtual request costs a hypercall, plus grant operations
   * for the data where the run made any.
   */
  private void ioPaths(List<RunRecord> ran) throws IOException {
    DefaultCategoryDataset d = new DefaultCategoryDataset();
    for (RunRecord r : ran) {
      Map<String, Long> c = r.counters();
      long ioExits = c.getOrDefault("exits.IO_INSTRUCTION", 0L);
      if (ioExits > 0) {
        String cat = label(r) + ": emulated";
        d.addValue((double) c.getOrDefault("exit_cycles.IO_INSTRUCTION", 0L) / ioExits,
            "VM exit and its handling", cat);
        long served = c.getOrDefault("dom0_ioreqs_served", 0L);
        d.addValue(served == 0 ? 0.0 : (double) c.getOrDefault("dom0_cycles", 0L) / served,
            "dom0's device model", cat);
      }
      long calls = c.getOrDefault("hypercalls", 0L);
      if (calls > 0) {
        String cat = label(r) + ": paravirtual";
        d.addValue((double) c.getOrDefault("hypercall_cycles", 0L) / calls, "hypercall", cat);
        long grants = c.getOrDefault("grant_maps", 0L) + c.getOrDefault("grant_unmaps", 0L)
            + c.getOrDefault("grant_copies", 0L);
        d.addValue(grants == 0 ? 0.0 : (double) c.getOrDefault("grant_cycles", 0L) / grants,
            "grant operation", cat);
      }
    }
    add(d, "io-paths.png", "PV against emulated I/O: cycles per request",
        "Cycles per I/O request, by run and path, stacked by who pays: an emulated port access"
            + " costs a VM exit and its handling in the hypervisor, then dom0's device model"
            + " (dom0's cycles per ioreq it served); a paravirtual request costs a hypercall,"
            + " and grant operations for the data.",
        "cycles per request", true, false);
  }

  /**
   * The I/O table's rows (IoPathsSummary): modelled cycles per MiB moved, stacked into the
   * guest's own, the hypervisor's and dom0's, by path and mode, so PV and emulated I/O of the
   * same workload stand side by side.
   */
  private void ioPerMib(List<RunRecord> records) throws IOException {
    DefaultCategoryDataset d = new DefaultCategoryDataset();
    for (IoPathsSummary.Row r : IoPathsSummary.rows(records)) {
      String cat = r.path() + " " + r.mode() + " " + r.phase();
      d.addValue(r.guestCycles() / 1e3, "guest", cat);
      d.addValue(r.hvCycles() / 1e3, "hypervisor", cat);
      d.addValue(r.dom0Cycles() / 1e3, "dom0", cat);
    }
    add(d, "io-per-mib.png", "PV against emulated I/O: cycles per MiB",
        "Modelled kcycles per MiB moved, by I/O path and mode, stacked by who pays: the"
            + " guest's own work, the hypervisor (exits and hypercalls) and dom0 (device model or"
            + " backend). Log scale: native PIO pays two ATA PIO cycles per 32-bit word.",
        "kcycles per MiB", true, true);
  }

  private void nanobench(List<RunRecord> ran) throws IOException {
    Map<String, Map<String, Double>> byColumn = new LinkedHashMap<>();
    for (RunRecord r : ran) {
      if (!r.nanobench().isEmpty()) {
        String col = r.spec().mode() + (r.spec().costModel().equals("default") ? ""
            : " (" + r.spec().costModel() + ")");
        byColumn.putIfAbsent(col, r.nanobench());
      }
    }
    DefaultCategoryDataset d = new DefaultCategoryDataset();
    for (String op : Nanobench.OPS) {
      byColumn.forEach((col, m) -> {
        Double v = m.get(op);
        if (v != null && v > 0) {
          d.addValue(v, col, op);
        }
      });
      Nanobench.ADAMS_AGESEN.stream().filter(p -> p.op().equals(op)).findFirst().ifPresent(p -> {
        d.addValue(p.nativeCycles(), "Adams & Agesen native", op);
        d.addValue(p.vtCycles(), "Adams & Agesen VT", op);
      });
    }
    if (byColumn.isEmpty()) {
      missing.add(new Missing("Nanobenchmarks", "no run of the nanobench kernel"));
      return;
    }
    add(d, "nanobench.png", "Nanobenchmarks: cycles per op (log scale)",
        "Cycles per operation as the kernel timed itself with RDTSC, per mode, next to Adams"
            + " and Agesen's Pentium 4 figures (ASPLOS 2006, figure 4).",
        "cycles per op", false, true);
  }

  private void add(DefaultCategoryDataset d, String file, String title, String caption,
      String axis, boolean stacked, boolean log) throws IOException {
    if (!FILES.contains(file)) {
      throw new IllegalStateException(file + " is missing from StudyPlots.FILES");
    }
    if (d.getColumnCount() == 0) {
      missing.add(new Missing(title, "no run of this study has data for it"));
      return;
    }
    CategoryAxis x = new CategoryAxis();
    x.setCategoryLabelPositions(CategoryLabelPositions.UP_45);
    x.setMaximumCategoryLabelWidthRatio(2.5f);
    NumberAxis y = log ? new LogarithmicAxis(axis) : new NumberAxis(axis);
    if (log) {
      ((LogarithmicAxis) y).setAllowNegativesFlag(false);
      ((LogarithmicAxis) y).setStrictValuesFlag(false);
    }
    BarRenderer bars = stacked ? new StackedBarRenderer() : new BarRenderer();
    bars.setBarPainter(new StandardBarPainter());
    bars.setShadowVisible(false);
    CategoryPlot plot = new CategoryPlot(d, x, y, bars);
    plot.setOrientation(PlotOrientation.VERTICAL);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 16), plot,
        true);
    StandardChartTheme.createJFreeTheme().apply(chart);
    plot.setBackgroundPaint(Color.WHITE);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(plotsDir.resolve(file).toFile(), chart, WIDTH, HEIGHT);
    plots.add(new Plot("plots/" + file, title, caption));
  }

}
