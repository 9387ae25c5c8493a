package org.hospes.dom0.study;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The results directory from made-up records: no run is needed to check what it says. */
class StudyReportTest {
  @TempDir
  Path dir;

  private static StudySpec study(int repetitions) {
    return new StudySpec("t", List.of(new StudySpec.Workload("h", "k", null, null, null)),
        List.of("hvm"), null, null, null, null, repetitions, null).withDefaults();
  }

  private static List<RunRecord> records(StudySpec s, List<Integer> indexes,
      Map<String, Long> counters) {
    return s.runs().stream().filter(r -> indexes.contains(r.index()))
        .map(r -> new RunRecord(r, 0, "exit", counters, Map.of())).toList();
  }

  /**
   * Quoted only where RFC 4180 needs it (a comma, a quote, a line break), header and rows alike.
   * The trial found some header names quoted and not others: Jackson quoted any text of more
   * than 24 characters without looking at it.
   */
  @Test
  void runsCsvQuotesOnlyWhatNeedsQuotes() throws Exception {
    StudySpec s = study(2);
    Map<String, Long> c = Map.of("disk.exits.IO_INSTRUCTION", 5L, "exits.HLT", 1L);
    List<RunRecord> runs = List.of(
        new RunRecord(s.runs().get(0), 0, "shutdown: ACPI S5 (soft off)", c, Map.of()),
        new RunRecord(s.runs().get(1), 3, "failed: a, \"b\"", c, Map.of()));
    List<String> lines = StudyReport.csv(runs).lines().toList();
    assertThat(lines.get(0)).isEqualTo("run,workload,mode,ram_mib,scheduler,cost_model,engine,"
        + "repetition,exit_status,end_reason,disk.exits.IO_INSTRUCTION,exits.HLT");
    assertThat(lines.get(1)).endsWith(",0,shutdown: ACPI S5 (soft off),5,1");
    assertThat(lines.get(2)).endsWith(",3,\"failed: a, \"\"b\"\"\",5,1");
  }

  @Test
  void aStoppedStudySaysSoInEveryFileAndACompleteOneDoesNot() throws Exception {
    StudySpec s = study(10);
    Map<String, Long> c = Map.of("exits.IO_INSTRUCTION", 5L);
    Path out = dir.resolve("out");
    StudyReport.write(s, records(s, List.of(1, 2, 3, 5), c), out);

    String line = "Incomplete: the study was stopped after 4 of 10 runs; 6 did not run: 4,"
        + " 6-10.";
    String md = Files.readString(out.resolve("summary.md"));
    assertThat(md.lines().limit(3)).contains("**" + line + "** The missing runs are listed in"
        + " `INCOMPLETE.txt`.");
    String html = Files.readString(out.resolve("report.html"));
    assertThat(html.substring(html.indexOf("<h1>"), html.indexOf("<h2>")))
        .contains("<p id=\"incomplete\"><strong>" + line + "</strong>");
    JsonNode json = new ObjectMapper().readTree(out.resolve("runs.json").toFile());
    assertThat(json.get("incomplete").get("runs_planned").asInt()).isEqualTo(10);
    assertThat(json.get("incomplete").get("runs_finished").asInt()).isEqualTo(4);
    assertThat(json.get("incomplete").get("missing_runs").toString())
        .isEqualTo("[4,6,7,8,9,10]");
    assertThat(Files.readString(out.resolve("INCOMPLETE.txt"))).startsWith(line + "\n")
        .contains("\n#4 h hvm ram=64 sched=credit cost=default engine=jit rep=4\n")
        .contains("\n#10 h hvm ");

    // The same directory, now complete: nothing says incomplete, and the note is gone.
    StudyReport.write(s, records(s, List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), c), out);
    assertThat(out.resolve("INCOMPLETE.txt")).doesNotExist();
    assertThat(Files.readString(out.resolve("summary.md"))).doesNotContain("ncomplete");
    assertThat(Files.readString(out.resolve("report.html"))).doesNotContain("ncomplete");
    assertThat(Files.readString(out.resolve("runs.json"))).doesNotContain("incomplete");
  }

  @Test
  void aReusedOutLosesTheEarlierStudysPlotsButKeepsTheUsersFiles() throws Exception {
    StudySpec s = study(1);
    Path out = dir.resolve("out");
    StudyReport.write(s, records(s, List.of(1), Map.of("exits.IO_INSTRUCTION", 5L,
        "hypercalls.console_io", 3L)), out);
    assertThat(out.resolve("plots/hypercalls.png")).exists();
    Files.writeString(out.resolve("plots/mine.png"), "the user's");
    Files.writeString(out.resolve("plots/notes.txt"), "the user's");

    StudyReport.write(s, records(s, List.of(1), Map.of("exits.IO_INSTRUCTION", 5L)), out);
    assertThat(out.resolve("plots/exits.png")).exists();
    assertThat(out.resolve("plots/hypercalls.png")).doesNotExist();
    assertThat(out.resolve("plots/mine.png")).hasContent("the user's");
    assertThat(out.resolve("plots/notes.txt")).hasContent("the user's");
  }
}
