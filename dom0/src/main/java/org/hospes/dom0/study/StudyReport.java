package org.hospes.dom0.study;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.csv.CsvGenerator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Writes a study's results directory: {@code runs.csv} and {@code runs.json} (every counter of
 * every run), {@code summary.md} (the runs, and the nanobenchmarks per mode next to Adams
 * and Agesen's figures, saying where Hospes agrees and where not), and {@code report.html}
 * with its {@code plots/} ({@link StudyHtml}, {@link StudyPlots}). Contents depend only on the
 * records, so the same study writes the same files.
 */
public final class StudyReport {
  private static final List<String> SPEC_COLUMNS = List.of("run", "workload", "mode", "ram_mib",
      "scheduler", "cost_model", "engine", "repetition", "exit_status", "end_reason");

  private StudyReport() {}

  /**
   * The note file of a study with runs missing (stopped by Ctrl-C): for readers of runs.csv,
   * which has no place to say so. Removed when a complete study writes the same directory.
   */
  public static final String INCOMPLETE_NOTE = "INCOMPLETE.txt";

  /**
   * Writes the results of {@code records}; when runs of the study are missing from them (a
   * stopped study), every file says so: summary.md and report.html at the top, runs.json in
   * an {@code incomplete} field, and {@link #INCOMPLETE_NOTE} lists the missing runs.
   */
  public static void write(StudySpec study, List<RunRecord> records, Path dir)
      throws IOException {
    Files.createDirectories(dir);
    List<RunSpec> missing = missingRuns(study, records);
    if (missing.isEmpty()) {
      Files.deleteIfExists(dir.resolve(INCOMPLETE_NOTE));
    } else {
      StringBuilder note = new StringBuilder(incompleteLine(study, records, missing))
          .append("\n\nRuns not run:\n");
      missing.forEach(r -> note.append('#').append(r.index()).append(' ').append(r.label())
          .append('\n'));
      Files.writeString(dir.resolve(INCOMPLETE_NOTE), note);
    }
    Files.writeString(dir.resolve("runs.csv"), csv(records));
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("study", study.name());
    if (!missing.isEmpty()) {
      Map<String, Object> incomplete = new LinkedHashMap<>();
      incomplete.put("runs_planned", study.runs().size());
      incomplete.put("runs_finished", records.size());
      incomplete.put("missing_runs", missing.stream().map(RunSpec::index).toList());
      doc.put("incomplete", incomplete);
    }
    List<Map<String, Object>> runs = new ArrayList<>();
    for (RunRecord r : records) {
      Map<String, Object> m = specColumns(r);
      m.put("counters", r.counters());
      if (!r.nanobench().isEmpty()) {
        m.put("nanobench_cycles_per_op", r.nanobench());
      }
      runs.add(m);
    }
    doc.put("runs", runs);
    Files.writeString(dir.resolve("runs.json"), json.writeValueAsString(doc) + "\n");
    Files.writeString(dir.resolve("summary.md"), summary(study, records));
    StudyPlots plots = StudyPlots.draw(records, dir);
    Files.writeString(dir.resolve("report.html"), StudyHtml.page(study, records, plots));
  }

  /**
   * Removes from {@code dir} the files {@link #write} writes (regular files only; {@code plots/}
   * too once that leaves it empty), after a write that failed part way (a full disk): none of
   * them is left half-written, or from a study other than the rest.
   */
  public static void removeResults(Path dir) throws IOException {
    Path plots = dir.resolve("plots");
    for (String f : StudyPlots.FILES) {
      deleteFile(plots.resolve(f));
    }
    if (Files.isDirectory(plots)) {
      try (var left = Files.list(plots)) {
        if (left.findAny().isEmpty()) {
          Files.delete(plots);
        }
      }
    }
    for (String f : List.of(INCOMPLETE_NOTE, "runs.csv", "runs.json", "summary.md",
        "report.html")) {
      deleteFile(dir.resolve(f));
    }
  }

  private static void deleteFile(Path f) throws IOException {
    if (Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      Files.delete(f);
    }
  }

  /** The study's runs that have no record, in the study's order. */
  static List<RunSpec> missingRuns(StudySpec study, List<RunRecord> records) {
    java.util.Set<Integer> done = new java.util.HashSet<>();
    records.forEach(r -> done.add(r.spec().index()));
    return study.runs().stream().filter(r -> !done.contains(r.index())).toList();
  }

  /** "Incomplete: the study was stopped after 24 of 30 runs; 6 did not run: 25-30." */
  static String incompleteLine(StudySpec study, List<RunRecord> records,
      List<RunSpec> missing) {
    StringBuilder ranges = new StringBuilder();
    for (int i = 0; i < missing.size(); i++) {
      int from = missing.get(i).index();
      int to = from;
      while (i + 1 < missing.size() && missing.get(i + 1).index() == to + 1) {
        to = missing.get(++i).index();
      }
      ranges.append(ranges.length() == 0 ? "" : ", ").append(from)
          .append(to > from ? "-" + to : "");
    }
    return "Incomplete: the study was stopped after " + records.size() + " of "
        + study.runs().size() + " runs; " + missing.size() + " did not run: " + ranges + ".";
  }

  private static Map<String, Object> specColumns(RunRecord r) {
    RunSpec s = r.spec();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("run", s.index());
    m.put("workload", s.workload().name());
    m.put("mode", s.mode());
    m.put("ram_mib", s.ramMiB());
    m.put("scheduler", s.scheduler());
    m.put("cost_model", s.costModel());
    m.put("engine", s.engine());
    m.put("repetition", s.repetition());
    m.put("exit_status", r.exitStatus());
    m.put("end_reason", r.endReason());
    return m;
  }

  /** One row per run: its parameters, then every counter any run has (sorted), then nb.*. */
  public static String csv(List<RunRecord> records) throws IOException {
    TreeSet<String> counters = new TreeSet<>();
    TreeSet<String> ops = new TreeSet<>();
    for (RunRecord r : records) {
      counters.addAll(r.counters().keySet());
      ops.addAll(r.nanobench().keySet());
    }
    CsvSchema.Builder b = CsvSchema.builder();
    SPEC_COLUMNS.forEach(b::addColumn);
    counters.forEach(b::addColumn);
    ops.forEach(o -> b.addColumn("nanobench." + o));
    CsvSchema schema = b.build().withHeader();
    List<Map<String, Object>> rows = new ArrayList<>();
    for (RunRecord r : records) {
      Map<String, Object> row = specColumns(r);
      for (String c : counters) {
        row.put(c, r.counters().getOrDefault(c, null));
      }
      for (String o : ops) {
        Double v = r.nanobench().get(o);
        row.put("nanobench." + o, v == null ? null : String.format(Locale.ROOT, "%.1f", v));
      }
      rows.add(row);
    }
    // RFC 4180's "only when needed": a field is quoted when it holds a comma, a quote or a
    // line break, header and rows alike. Jackson's default quoted any text longer than 24
    // characters unchecked, so runs.csv quoted some header names and end reasons and not
    // others ("disk.exits.IO_INSTRUCTION" but not "disk.exits.HLT").
    return new CsvMapper().enable(CsvGenerator.Feature.STRICT_CHECK_FOR_QUOTING)
        .writer(schema).writeValueAsString(rows);
  }

  static String summary(StudySpec study, List<RunRecord> records) {
    StringBuilder md = new StringBuilder();
    md.append("# Study: ").append(study.name()).append("\n\n");
    List<RunSpec> missing = missingRuns(study, records);
    if (!missing.isEmpty()) {
      md.append("**").append(incompleteLine(study, records, missing)).append("** The missing"
          + " runs are listed in `" + INCOMPLETE_NOTE + "`.\n\n");
    }
    md.append("Virtual time at a nominal 1 GHz; cycles are the cost model's (`")
        .append(String.join("`, `", study.costModels())).append("`). Every counter of every run"
            + " is in `runs.csv` and `runs.json`.\n\n");
    md.append("| run | workload | mode | parameters | ended | instructions | virtual cycles |"
        + " vm exits |\n|---|---|---|---|---|---|---|---|\n");
    for (RunRecord r : records) {
      RunSpec s = r.spec();
      md.append(String.format(Locale.ROOT, "| %d | %s | %s | ram=%d sched=%s cost=%s engine=%s"
              + " rep=%d | %s | %s | %s | %s |%n", s.index(), s.workload().name(), s.mode(),
          s.ramMiB(), s.scheduler(), s.costModel(), s.engine(), s.repetition(),
          r.endReason().replace("|", "/"), num(r.counters().get("instructions")),
          num(r.counters().get("virtual_cycles")), num(r.counters().get("vm_exits"))));
    }
    nanobenchTable(md, records);
    md.append(IoPathsSummary.section(records));
    return md.toString();
  }

  /**
   * The summary's I/O paths section ({@link LinuxIo} runs: per path and phase, the costs per MiB
   * and where they agree with the published findings), or "" when the study has none.
   */
  public static String ioPaths(List<RunRecord> records) {
    return IoPathsSummary.section(records);
  }

  private static String num(Long v) {
    return v == null ? "" : String.format(Locale.ROOT, "%,d", v);
  }

  /**
   * Cycles per op by column: the mode (first repetition), with the cost model in brackets when
   * it is not the default one, so that two cost models stand side by side.
   */
  static Map<String, Map<String, Double>> nanobenchByMode(List<RunRecord> records) {
    Map<String, Map<String, Double>> byMode = new LinkedHashMap<>();
    for (RunRecord r : records) {
      if (!r.nanobench().isEmpty()) {
        String cost = r.spec().costModel();
        byMode.putIfAbsent(r.spec().mode() + (cost.equals("default") ? "" : " (" + cost + ")"),
            r.nanobench());
      }
    }
    return byMode;
  }

  /** Cycles per op by mode (first repetition of each mode), next to Adams and Agesen. */
  private static void nanobenchTable(StringBuilder md, List<RunRecord> records) {
    Map<String, Map<String, Double>> byMode = nanobenchByMode(records);
    if (byMode.isEmpty()) {
      return;
    }
    md.append("\n## Nanobenchmarks (cycles per op)\n\n");
    md.append("Adams & Agesen, ASPLOS 2006, figure 4 (Pentium 4, VT-x without EPT): their op in"
        + " brackets where ours differs. Hospes measures itself with RDTSC: the TSC is the"
        + " virtual clock the cost model advances.\n\n| op |");
    byMode.keySet().forEach(m -> md.append(' ').append(m).append(" |"));
    md.append(" A&A native | A&A VT |\n|---|");
    byMode.keySet().forEach(m -> md.append("---|"));
    md.append("---|---|\n");
    for (String op : Nanobench.OPS) {
      Nanobench.Published p = Nanobench.ADAMS_AGESEN.stream().filter(x -> x.op().equals(op))
          .findFirst().orElse(null);
      md.append("| ").append(op);
      if (p != null && !p.theirs().equals(op)) {
        md.append(" (").append(p.theirs()).append(')');
      }
      md.append(" |");
      for (Map<String, Double> m : byMode.values()) {
        Double v = m.get(op);
        md.append(' ').append(v == null ? "" : String.format(Locale.ROOT, "%,.1f", v))
            .append(" |");
      }
      md.append(p == null ? " | |" : String.format(Locale.ROOT, " %,d | %,d |", p.nativeCycles(),
          p.vtCycles()));
      md.append('\n');
    }
    md.append('\n').append(findings(byMode));
  }

  /** The qualitative findings, each checked against this study's numbers. */
  static String findings(Map<String, Map<String, Double>> byMode) {
    StringBuilder f = new StringBuilder("### Where Hospes agrees and where not\n\n");
    Map<String, Double> nat = byMode.get("native");
    Map<String, Double> hvm = byMode.get("hvm");
    Map<String, Double> shadow = byMode.get("hvm-shadow");
    if (nat != null && hvm != null && nat.containsKey("syscall")) {
      double ratio = hvm.get("syscall") / nat.get("syscall");
      f.append(String.format(Locale.ROOT, "- **syscall under hardware virtualization** (A&A: 246"
              + " vs 242 native, near native): hvm/native = %.2f: %s.%n", ratio,
          ratio < 1.5 ? "agrees" : "does not agree: the INT gate's IDT, GDT and TSS reads miss"
              + " the TLB and pay two-dimensional walks"));
    }
    if (hvm != null && shadow != null) {
      for (String op : List.of("ptemod", "pgfault")) {
        if (hvm.containsKey(op) && shadow.containsKey(op)) {
          double ratio = shadow.get(op) / Math.max(hvm.get(op), 1.0);
          f.append(String.format(Locale.ROOT, "- **%s far costlier under shadow paging than"
                  + " with EPT** (Bhargava et al. ASPLOS'08; VMware 2009: EPT up to 600%% faster"
                  + " on MMU microbenchmarks; A&A VT without EPT: %s): hvm-shadow/hvm = %.1f:"
                  + " %s.%n", op, op.equals("ptemod") ? "12,733 vs 1 native" : "11,242 vs 1,093"
                  + " native", ratio, ratio >= 5 ? "agrees" : "does not agree"));
        }
      }
    }
    if (nat != null && hvm != null && nat.containsKey("in")) {
      double ratio = hvm.get("in") / nat.get("in");
      Map<String, Double> prescott = byMode.get("hvm (prescott)");
      Map<String, Double> natPrescott = byMode.get("native (prescott)");
      String older = prescott != null && prescott.containsKey("in")
          ? String.format(Locale.ROOT, " (%.2f with the prescott model's exit)",
              prescott.get("in") / (natPrescott != null && natPrescott.containsKey("in")
                  ? natPrescott.get("in") : nat.get("in")))
          : "";
      // Why the size differs: what each side's cycles are made of (the cost model's comments).
      f.append(String.format(Locale.ROOT, "- **in** (A&A: 15,826 under VT vs 3,209 native,"
              + " 4.9x): hvm/native = %.2f%s: %s. Native pays one port access (A&A's own native"
              + " figure); hvm pays the exit round trip, its handling and the round trip to"
              + " dom0's device model (two world switches and dom0's completion hypercall)."
              + " A&A's VT figure is a Pentium 4's: a 4,340-cycle exit round trip (their table"
              + " 1: VM entry 2,409, exit 1,931) and VMCS reads at 178 cycles where the model"
              + " has a Core 2's 52, plus VMware's emulation of the instruction, which the"
              + " paper does not break down; the model charges none of that P4 cost.%n", ratio,
          older, ratio >= 4 ? "agrees" : ratio > 1.5 ? "agrees in direction, not in size"
              : "does not agree"));
    }
    return f.toString();
  }
}
