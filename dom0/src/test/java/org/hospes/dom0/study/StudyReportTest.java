package org.hospes.dom0.study;

import static org.assertj.core.api.Assertions.assertThat;

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
