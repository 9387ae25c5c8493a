package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The study's bar in a terminal: lines scroll above it, it is redrawn under each, cleared last. */
class StudyProgressBarTest {
  @Test
  void eachProgressLineScrollsAboveARedrawnBar() {
    ByteArrayOutputStream screen = new ByteArrayOutputStream();
    PrintStream term = new PrintStream(screen, true, StandardCharsets.UTF_8);
    PrintStream p = new PrintStream(new StudyProgressBar(term, 40), true,
        StandardCharsets.UTF_8);
    p.println("study: [1/4] nb native: debug-exit");
    p.println("study: [2/4] nb hvm: debug-exit");
    p.println("a line with no count");
    p.close();

    String bar1 = StudyProgressBar.bar(1, 4, 40);
    String bar2 = StudyProgressBar.bar(2, 4, 40);
    assertThat(bar1).isEqualTo("[" + "#".repeat(7) + "-".repeat(21) + "] 1/4 runs")
        .hasSize(39); // one column spare: a full-width line would wrap
    assertThat(bar2).isEqualTo("[" + "#".repeat(14) + "-".repeat(14) + "] 2/4 runs");
    assertThat(screen.toString(StandardCharsets.UTF_8)).isEqualTo(
        "study: [1/4] nb native: debug-exit\n" + bar1
            + "\r\033[Kstudy: [2/4] nb hvm: debug-exit\n" + bar2
            + "\r\033[Ka line with no count\n");
    assertThat(StudyProgressBar.bar(4, 4, 40)).doesNotContain("-");
  }
}
