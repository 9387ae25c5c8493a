package org.hospes.dom0.study;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A small study run twice, in parallel: identical results, and a complete results directory. */
class StudyRunnerTest {
  @TempDir
  Path dir;

  @Test
  void theSameStudyGivesIdenticalCsvTwice() throws Exception {
    Path f = dir.resolve("s.yaml");
    Files.writeString(f, """
        name: twice
        workloads:
          - {name: nb, kernel: nanobench, cmdline: "iters=20"}
        modes: [native, hvm, hvm-shadow, pvh]
        repetitions: 2
        """);
    StudySpec s = StudySpec.read(f);
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    PrintStream p = new PrintStream(progress, true, StandardCharsets.UTF_8);
    List<RunRecord> a = new StudyRunner(dir, 2, p).run(s);
    List<RunRecord> b = new StudyRunner(dir, 2, p).run(s);
    StudyReport.write(s, a, dir.resolve("a"));
    StudyReport.write(s, b, dir.resolve("b"));

    String csv = Files.readString(dir.resolve("a/runs.csv"));
    assertThat(csv).isEqualTo(Files.readString(dir.resolve("b/runs.csv")));
    assertThat(Files.readString(dir.resolve("a/runs.json")))
        .isEqualTo(Files.readString(dir.resolve("b/runs.json")));
    assertThat(csv.lines()).hasSize(1 + 8);
    assertThat(a).extracting(r -> r.spec().index()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    // The repetitions agree with each other too: virtual time, not the host's.
    assertThat(a.get(0).counters()).isEqualTo(a.get(1).counters());
    assertThat(a.get(2).counters().get("vm_exits")).isPositive();
    assertThat(a.get(6).skipped()).as("a Multiboot kernel in pvh").isTrue();
    assertThat(a.get(0).nanobench()).containsKeys(Nanobench.OPS.toArray(String[]::new));
    assertThat(progress.toString(StandardCharsets.UTF_8)).contains("study: [8/8]");

    String md = Files.readString(dir.resolve("a/summary.md"));
    assertThat(md).contains("| op | native | hvm | hvm-shadow | A&A native | A&A VT |")
        .contains("Where Hospes agrees and where not").contains("pgfault far costlier");
  }

  @Test
  void aCrashedRunsProgressLineEndsWithWhatTheGuestWroteLast() {
    RunSpec spec = new RunSpec(2, new StudySpec.Workload("w", "k", null, null, null), "pvh", 64,
        "credit", "default", "jit", 1);
    String console = "mine: starting\r\n\007guest: exception 14 (error 0x2) at eip=0x0010aa55\r"
        + "\n\n  \n";
    assertThat(RunRecord.lastLine(console))
        .isEqualTo("guest: exception 14 (error 0x2) at eip=0x0010aa55");
    assertThat(RunRecord.lastLine("")).isEmpty();
    // The SDK runtime's closing line says how; the program's line before it says why.
    assertThat(RunRecord.lastLine("ev: starting\nev: no event channels\n\n"
        + "guest: main returned 1; shutting down as crashed\n"))
        .isEqualTo("ev: no event channels / guest: main returned 1; shutting down as crashed");
    assertThat(RunRecord.lastLine("guest: main returned 2; shutting down as crashed\n"))
        .isEqualTo("guest: main returned 2; shutting down as crashed");
    assertThat(RunRecord.lastLine("\n \n")).isEmpty();
    assertThat(RunRecord.lastLine("x".repeat(500))).hasSize(RunRecord.LAST_OUTPUT_CHARS)
        .endsWith("...");
    RunRecord crashed = new RunRecord(spec, 3, "shutdown: crash", java.util.Map.of(),
        java.util.Map.of(), 0, "net-bench: give role=send or role=recv");
    assertThat(StudyRunner.progressLine(2, 5, crashed)).isEqualTo("study: [2/5] w pvh ram=64"
        + " sched=credit cost=default engine=jit rep=1: shutdown: crash; its last output:"
        + " net-bench: give role=send or role=recv");
    // Only a crash: a run that ended well keeps its line as it was.
    RunRecord fine = new RunRecord(spec, 0, "shutdown: poweroff", java.util.Map.of(),
        java.util.Map.of(), 0, "bye");
    assertThat(StudyRunner.progressLine(2, 5, fine)).isEqualTo("study: [2/5] w pvh ram=64"
        + " sched=credit cost=default engine=jit rep=1: shutdown: poweroff");
  }

  @Test
  void theInterpreterAndTheTranslatorGiveTheSameCountersAndTime() throws Exception {
    Path f = dir.resolve("engines.yaml");
    Files.writeString(f, """
        workloads:
          - {name: nb, kernel: nanobench, cmdline: "iters=300"}
        modes: [native, hvm]
        engines: [interp, jit]
        """);
    StudySpec s = StudySpec.read(f);
    List<RunRecord> r = new StudyRunner(dir, 2, new PrintStream(
        java.io.OutputStream.nullOutputStream())).run(s);
    assertThat(r).extracting(x -> x.spec().engine())
        .containsExactly("interp", "jit", "interp", "jit");
    for (int i = 0; i < 4; i += 2) {
      assertThat(r.get(i + 1).counters()).as(r.get(i).spec().mode())
          .isEqualTo(r.get(i).counters());
      assertThat(r.get(i + 1).nanobench()).isEqualTo(r.get(i).nanobench());
    }
  }
}
