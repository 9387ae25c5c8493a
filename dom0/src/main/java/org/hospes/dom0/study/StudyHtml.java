package org.hospes.dom0.study;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The study's offline HTML report ({@code report.html}): the plots {@link StudyPlots} drew,
 * the runs, the nanobenchmarks next to Adams and Agesen, and where Hospes agrees with the
 * published findings and where not. One file plus {@code plots/}, no network: it opens from
 * the results directory in any browser.
 *
 * <p>A few lines of script only report whether the page rendered: on load they count the
 * plots that decoded and the errors seen, into the {@code #render-status} element, which the
 * test reads back from a headless browser.
 */
final class StudyHtml {
  private StudyHtml() {}

  static String page(StudySpec study, List<RunRecord> records, StudyPlots plots) {
    StringBuilder h = new StringBuilder(16_384);
    h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
        .append(esc("Hospes study: " + study.name())).append("</title>\n<style>\n")
        .append("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}\n")
        .append("table{border-collapse:collapse;margin:1em 0;font-size:90%}\n")
        .append("td,th{border:1px solid #bbb;padding:3px 7px}td.n{text-align:right}\n")
        .append("th{background:#eee}figure{margin:2em 0}img{max-width:100%}\n")
        .append("figcaption{font-size:90%;color:#444}\n</style>\n")
        .append("<script>\nwindow.hospesErrors = [];\n")
        .append("window.addEventListener('error', function (e) {\n")
        .append("  window.hospesErrors.push(String(e.message || (e.target && e.target.src)));\n")
        .append("}, true);\n")
        .append("window.addEventListener('load', function () {\n")
        .append("  var imgs = Array.prototype.slice.call(document.images);\n")
        .append("  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0;"
            + " }).length;\n")
        .append("  document.getElementById('render-status').textContent = 'rendered ' + ok +"
            + " ' of ' + imgs.length + ' plots, ' + window.hospesErrors.length + ' errors';\n")
        .append("});\n</script>\n</head>\n<body>\n");
    h.append("<h1>").append(esc("Study: " + study.name())).append("</h1>\n");
    List<RunSpec> missing = StudyReport.missingRuns(study, records);
    if (!missing.isEmpty()) {
      h.append("<p id=\"incomplete\"><strong>")
          .append(esc(StudyReport.incompleteLine(study, records, missing)))
          .append("</strong> The missing runs are listed in <a href=\"")
          .append(StudyReport.INCOMPLETE_NOTE).append("\">").append(StudyReport.INCOMPLETE_NOTE)
          .append("</a>.</p>\n");
    }
    h.append("<p>").append(records.size()).append(" runs in virtual time at a nominal 1 GHz;"
        + " cost models: ").append(esc(String.join(", ", study.costModels())))
        .append(". Every counter of every run is in <a href=\"runs.csv\">runs.csv</a> and"
            + " <a href=\"runs.json\">runs.json</a>.</p>\n");
    h.append("<p id=\"render-status\">not rendered yet</p>\n");

    for (StudyPlots.Plot p : plots.plots()) {
      h.append("<figure>\n<img src=\"").append(esc(p.file())).append("\" alt=\"")
          .append(esc(p.title())).append("\" width=\"").append(StudyPlots.WIDTH)
          .append("\" height=\"").append(StudyPlots.HEIGHT).append("\">\n<figcaption>")
          .append(esc(p.caption())).append("</figcaption>\n</figure>\n");
    }
    for (StudyPlots.Missing m : plots.missing()) {
      h.append("<p><em>").append(esc(m.title())).append(": not drawn, ").append(esc(m.why()))
          .append(".</em></p>\n");
    }

    h.append("<h2>Runs</h2>\n<table>\n<tr><th>run</th><th>workload</th><th>mode</th>"
        + "<th>parameters</th><th>ended</th><th>instructions</th><th>virtual cycles</th>"
        + "<th>VM exits</th><th>hypercalls</th></tr>\n");
    for (RunRecord r : records) {
      RunSpec s = r.spec();
      h.append("<tr><td class=\"n\">").append(s.index()).append("</td><td>")
          .append(esc(s.workload().name())).append("</td><td>").append(esc(s.mode()))
          .append("</td><td>").append(esc(String.format(Locale.ROOT,
              "ram=%d sched=%s cost=%s engine=%s rep=%d", s.ramMiB(), s.scheduler(),
              s.costModel(), s.engine(), s.repetition())))
          .append("</td><td>").append(esc(r.endReason())).append("</td>");
      for (String k : List.of("instructions", "virtual_cycles", "vm_exits", "hypercalls")) {
        Long v = r.counters().get(k);
        h.append("<td class=\"n\">").append(v == null ? "" : String.format(Locale.ROOT, "%,d",
            v)).append("</td>");
      }
      h.append("</tr>\n");
    }
    h.append("</table>\n");
    nanobench(h, records);
    ioPaths(h, records);
    h.append("</body>\n</html>\n");
    return h.toString();
  }

  private static void nanobench(StringBuilder h, List<RunRecord> records) {
    Map<String, Map<String, Double>> byMode = StudyReport.nanobenchByMode(records);
    if (byMode.isEmpty()) {
      return;
    }
    h.append("<h2>Nanobenchmarks (cycles per op)</h2>\n<p>Adams &amp; Agesen, ASPLOS 2006,"
        + " figure 4 (Pentium 4, VT-x without EPT); their op in brackets where ours"
        + " differs.</p>\n<table>\n<tr><th>op</th>");
    byMode.keySet().forEach(m -> h.append("<th>").append(esc(m)).append("</th>"));
    h.append("<th>A&amp;A native</th><th>A&amp;A VT</th></tr>\n");
    for (String op : Nanobench.OPS) {
      Nanobench.Published p = Nanobench.ADAMS_AGESEN.stream().filter(x -> x.op().equals(op))
          .findFirst().orElse(null);
      h.append("<tr><td>").append(esc(op));
      if (p != null && !p.theirs().equals(op)) {
        h.append(" (").append(esc(p.theirs())).append(')');
      }
      h.append("</td>");
      for (Map<String, Double> m : byMode.values()) {
        Double v = m.get(op);
        h.append("<td class=\"n\">").append(v == null ? "" : String.format(Locale.ROOT,
            "%,.1f", v)).append("</td>");
      }
      h.append(p == null ? "<td></td><td></td>" : String.format(Locale.ROOT,
          "<td class=\"n\">%,d</td><td class=\"n\">%,d</td>", p.nativeCycles(), p.vtCycles()));
      h.append("</tr>\n");
    }
    h.append("</table>\n<h3>Where Hospes agrees and where not</h3>\n<ul>\n");
    for (String line : StudyReport.findings(byMode).split("\n")) {
      if (line.startsWith("- ")) {
        h.append("<li>").append(esc(line.substring(2)).replaceAll("\\*\\*(.+?)\\*\\*",
            "<strong>$1</strong>")).append("</li>\n");
      }
    }
    h.append("</ul>\n");
  }

  /** The I/O paths per MiB and their findings, as the summary has them. */
  private static void ioPaths(StringBuilder h, List<RunRecord> records) {
    List<IoPathsSummary.Row> rows = IoPathsSummary.rows(records);
    if (rows.isEmpty()) {
      return;
    }
    h.append("<h2>I/O paths (per MiB moved)</h2>\n<table>\n<tr><th>path</th><th>mode</th>"
        + "<th>phase</th><th>MiB</th><th>exits</th><th>ioreqs</th><th>events</th>"
        + "<th>grant ops</th><th>guest kcycles</th><th>hypervisor kcycles</th>"
        + "<th>dom0 kcycles</th><th>total kcycles</th></tr>\n");
    for (IoPathsSummary.Row r : rows) {
      h.append("<tr><td>").append(esc(r.path())).append("</td><td>").append(esc(r.mode()))
          .append("</td><td>").append(esc(r.phase())).append("</td>");
      for (double v : new double[] {r.mib(), r.exits(), r.ioreqs(),
          r.guestEvents() + r.dom0Events(), r.grantOps(), r.guestCycles() / 1e3,
          r.hvCycles() / 1e3, r.dom0Cycles() / 1e3, r.totalCycles() / 1e3}) {
        h.append("<td class=\"n\">").append(String.format(Locale.ROOT, v >= 100 ? "%,.0f"
            : "%.2f", v)).append("</td>");
      }
      h.append("</tr>\n");
    }
    h.append("</table>\n<h3>Where Hospes agrees and where not (I/O)</h3>\n<ul>\n");
    for (String line : IoPathsSummary.findings(rows).split("\n")) {
      if (line.startsWith("- ")) {
        h.append("<li>").append(esc(line.substring(2)).replaceAll("\\*\\*(.+?)\\*\\*",
            "<strong>$1</strong>")).append("</li>\n");
      }
    }
    h.append("</ul>\n");
  }

  static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
