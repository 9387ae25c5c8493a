package org.hospes.dom0.study;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The study's HTML report, opened in a real browser: Debian's chromium, headless, loads
 * report.html from the results directory, and the page's own check says every plot decoded and
 * no error happened; chromium logs no console message either. The plots are real PNGs with the
 * data of the runs: two cost models side by side differ exactly where VM exits are.
 */
class StudyHtmlReportTest {
  @TempDir
  Path dir;

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void theReportRendersInAHeadlessBrowserWithItsPlots() throws Exception {
    Path f = dir.resolve("s.yaml");
    Files.writeString(f, """
        name: html
        workloads:
          - {name: nb, kernel: nanobench, cmdline: "iters=20"}
        modes: [native, hvm, hvm-shadow, pvh]
        costModels: [default, prescott]
        """);
    StudySpec s = StudySpec.read(f);
    List<RunRecord> runs = new StudyRunner(dir, 2,
        new PrintStream(OutputStream.nullOutputStream())).run(s);
    Path out = dir.resolve("out");
    StudyReport.write(s, runs, out);

    // Exit latency is the only difference between the two models: native takes no exits.
    RunRecord nativeDefault = find(runs, "native", "default");
    RunRecord nativePrescott = find(runs, "native", "prescott");
    assertThat(nativePrescott.counters()).isEqualTo(nativeDefault.counters());
    RunRecord hvmDefault = find(runs, "hvm", "default");
    RunRecord hvmPrescott = find(runs, "hvm", "prescott");
    long exits = hvmDefault.counters().get("vm_exits");
    assertThat(exits).isPositive();
    assertThat(hvmPrescott.counters().get("guest_cycles")
        - hvmDefault.counters().get("guest_cycles")).isEqualTo(exits * (1_926 - 500));

    String html = Files.readString(out.resolve("report.html"));
    for (String plot : List.of("cycles", "exits", "io-paths", "nanobench")) {
      Path png = out.resolve("plots/" + plot + ".png");
      assertThat(ImageIO.read(png.toFile())).as(plot).isNotNull()
          .extracting(i -> i.getWidth()).isEqualTo(StudyPlots.WIDTH);
      assertThat(html).contains("<img src=\"plots/" + plot + ".png\"");
    }
    // No run made a hypercall (the nanobench kernel is Multiboot: pvh skips it): said, not drawn.
    assertThat(out.resolve("plots/hypercalls.png")).doesNotExist();
    assertThat(html).contains("Hypercalls by op: not drawn, no run of this study has data");
    assertThat(html).contains("<th>hvm (prescott)</th>", "Where Hospes agrees and where not",
        "<strong>syscall under hardware virtualization</strong>");

    Browser b = Browser.open(out.resolve("report.html"), dir);
    assertThat(b.dom).as(b.log).contains("rendered 4 of 4 plots, 0 errors");
    assertThat(b.consoleLines()).as(b.log).isEmpty();
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void theBrowserCheckSeesABrokenPlot() throws Exception {
    // The same page check on a report whose plot file is gone: the check must notice.
    Path f = dir.resolve("s.yaml");
    Files.writeString(f, """
        workloads:
          - {name: nb, kernel: nanobench, cmdline: "iters=5"}
        modes: [hvm]
        """);
    StudySpec s = StudySpec.read(f);
    List<RunRecord> runs = new StudyRunner(dir, 1,
        new PrintStream(OutputStream.nullOutputStream())).run(s);
    Path out = dir.resolve("out");
    StudyReport.write(s, runs, out);
    Files.delete(out.resolve("plots/exits.png"));

    Browser b = Browser.open(out.resolve("report.html"), dir);
    assertThat(b.dom).as(b.log).contains("rendered 3 of 4 plots, 1 errors");
  }

  private static RunRecord find(List<RunRecord> runs, String mode, String cost) {
    return runs.stream().filter(r -> r.spec().mode().equals(mode)
        && r.spec().costModel().equals(cost)).findFirst().orElseThrow();
  }

  /**
   * Debian's chromium, headless: the DOM after load, and its log. Its profile and log go in
   * {@code scratch}, the test's own directory, deleted with it: in the system's temporary
   * directory they stayed, 2.3 MB of profile and a log for every run of each test.
   */
  private record Browser(String dom, String log) {
    static Browser open(Path page, Path scratch) throws Exception {
      String exe = Files.isExecutable(Path.of("/usr/bin/chromium")) ? "/usr/bin/chromium"
          : null;
      if (exe == null) {
        fail("chromium not found: install Debian's chromium (./test does)");
      }
      Path err = Files.createTempFile(scratch, "chromium", ".log");
      Process p = new ProcessBuilder(exe, "--headless", "--no-sandbox", "--disable-gpu",
          "--user-data-dir=" + Files.createTempDirectory(scratch, "chromium-profile"),
          "--virtual-time-budget=10000", "--enable-logging=stderr", "--v=0", "--dump-dom",
          page.toUri().toString())
          .redirectError(err.toFile()).start();
      String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        fail("chromium did not finish");
      }
      return new Browser(dom, Files.readString(err));
    }

    /** What the page logged to the browser's console (errors included). */
    List<String> consoleLines() {
      return log.lines().filter(l -> l.contains(":CONSOLE")).toList();
    }
  }
}
