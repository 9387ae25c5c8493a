package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.testing.CapturedCli;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code hospes study} in-process: what a user sees for a study it refuses or runs. */
class StudyCommandTest {
  /** jmp $: a run that ends at the study's instruction limit. */
  private static final byte[] SPIN = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xEB, (byte) 0xFE});

  @TempDir
  Path dir;

  private final CapturedCli cli = new CapturedCli();

  private Path study(String name, String text) throws Exception {
    Path f = dir.resolve(name);
    Files.writeString(f, text);
    return f;
  }

  @Test
  void aRepeatedWorkloadNameIsRefusedBeforeAnyRun() throws Exception {
    Files.write(dir.resolve("spin.elf"), SPIN);
    Path f = study("dup.yaml", "workloads: [{name: h, kernel: spin.elf},"
        + " {name: h, kernel: other.elf}]\nmodes: [native]\n");
    Path out = dir.resolve("out");
    assertThat(cli.run("study", f.toString(), "--out", out.toString())).isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: " + f + ":1:43: two workloads are named 'h'\n");
    assertThat(cli.stdout()).isEmpty();
  }

  /**
   * A kernel file the study names and that is not there is found only as the study builds its
   * images; the trial saw it named by workload alone. It names the file's line, as every error
   * in a study does, and nothing is written.
   */
  @Test
  void aMissingKernelFileNamesItsLineInTheStudy() throws Exception {
    Path f = study("k.yaml", "name: k\nworkloads:\n  - name: h\n    kernel: gone.elf\n"
        + "modes: [native]\n");
    Path out = dir.resolve("out");
    assertThat(cli.run("study", f.toString(), "--out", out.toString())).isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: " + f + ":4:13: workload h: kernel "
        + dir.resolve("gone.elf") + ": no such file\n");
    assertThat(out).doesNotExist();
  }

  @Test
  void anUnknownCostModelIsRefusedBeforeTheFirstRun() throws Exception {
    Files.write(dir.resolve("spin.elf"), SPIN);
    Path f = study("cm.yaml", "workloads: [{name: h, kernel: spin.elf}]\nmodes: [native]\n"
        + "costModels: [default, bogus]\nmaxInstructions: 1000\n");
    assertThat(cli.run("study", f.toString(), "--out", dir.resolve("out").toString()))
        .isEqualTo(2);
    assertThat(cli.stderr()).startsWith("hospes: " + f + ":3:23: costModels: unknown cost model"
        + " 'bogus'; known cost models: ").doesNotContain("study: [").hasLineCount(1);
  }

  /**
   * A run that reaches the instruction limit says which setting stopped it: the limit alone,
   * on a Linux study's run after half a minute, read as a hung guest.
   */
  @Test
  void aRunAtTheInstructionLimitNamesTheSettingToRaise() throws Exception {
    Files.write(dir.resolve("spin.elf"), SPIN);
    Path f = study("lim.yaml", "workloads: [{name: h, kernel: spin.elf}]\nmodes: [native]\n"
        + "maxInstructions: 1000\n");
    cli.run("study", f.toString(), "--out", dir.resolve("out").toString());
    assertThat(cli.stderr()).containsPattern("study: \\[1/1\\] h native [^\n]*: instruction limit"
        + " of 1000 reached at eip=0x[0-9a-f]{8}; raise the study's maxInstructions to let it"
        + " finish\n");
    assertThat(cli.stderr()).endsWith("study: 1 run; results in " + dir.resolve("out") + "\n");
    // The results files keep the run's own end reason.
    assertThat(Files.readString(dir.resolve("out/runs.csv"))).contains("instruction limit of"
        + " 1000 reached").doesNotContain("raise");
  }

  /**
   * A results file that cannot be written (here summary.md, a directory in the way; for the
   * trial, a full disk): one line and status 1, not "internal error: java.io.IOException", and
   * none of the files written before it is left half-done or beside older ones.
   */
  @Test
  void resultsThatCannotBeWrittenAreOneLineAndLeaveNoPartOfThem() throws Exception {
    Files.write(dir.resolve("spin.elf"), SPIN);
    Path f = study("w.yaml", "workloads: [{name: h, kernel: spin.elf}]\nmodes: [native]\n"
        + "maxInstructions: 1000\n");
    Path out = Files.createDirectories(dir.resolve("out"));
    Files.createDirectories(out.resolve("summary.md"));
    Files.writeString(out.resolve("notes.txt"), "mine");
    assertThat(cli.run("study", f.toString(), "--out", out.toString())).isEqualTo(1);
    assertThat(cli.stderr()).endsWith("hospes: cannot write the study's results in " + out
        + ": " + out.resolve("summary.md") + ": Is a directory; the 1 run's results are lost,"
        + " nothing of them is left there\n");
    try (var left = Files.list(out)) {
      assertThat(left.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(
          "summary.md", "notes.txt");
    }
  }

  /**
   * The help said the default study's disk runs were "PV disk I/O across the modes"; in
   * native, hvm and hvm-shadow they are the emulated IDE disk (README, "Studies").
   */
  @Test
  void theHelpSaysWhichDiskPathEachModeOfTheDefaultStudyTakes() {
    assertThat(cli.run("study", "--help")).isZero();
    assertThat(cli.stdout().replaceAll("\\s+", " ")).contains("emulated IDE in native, hvm"
        + " and hvm-shadow, blkfront and blkback in pvhvm, pvh and pv").doesNotContain(
        "PV disk I/O across the modes");
  }

  @Test
  void aRefusedStudyCreatesNoResultsDirectory() throws Exception {
    String[] studies = {
      "workloads: [{name: a, kernel: nosuch}]\nmodes: [native]\n",
      "workloads: [{name: p, sdk: [nosuch-sample]}]\nmodes: [native]\n",
      "workloads: [{name: a, kernel: nanobench}]\nmodes: [native]\nengines: [bogus]\n",
      "workloads: [{name: a, kernel: nanobench}]\nmodes: [native]\ncostModels: [bogus]\n",
    };
    for (String text : studies) {
      Path f = study("s.yaml", text);
      Path out = dir.resolve("deeper/out");
      cli.reset();
      assertThat(cli.run("study", f.toString(), "--out", out.toString())).as(text)
          .isEqualTo(2);
      assertThat(cli.stderr()).as(text).startsWith("hospes: ").hasLineCount(1);
      assertThat(dir.resolve("deeper")).as(text).doesNotExist();
    }
  }

  @Test
  void anOutThatCannotBeADirectoryIsRefusedBeforeAnyRun() throws Exception {
    Path plain = dir.resolve("plain");
    Files.write(plain, new byte[] {1});
    Path f = study("s.yaml", "workloads: [{name: a, kernel: nosuch}]\nmodes: [native]\n");
    assertThat(cli.run("study", f.toString(), "--out", plain.resolve("sub").toString()))
        .isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: --out " + plain.resolve("sub")
        + ": cannot be created\n");
  }

  @Test
  void theStoppingLineSaysASecondCtrlCMustComeASecondLater() {
    // trapSignals ignores a second signal within a second: timeout(1) may send one twice.
    assertThat(StudyCommand.stoppingLine("INT")).isEqualTo("study: stopping: the runs under"
        + " way finish, the rest are skipped (Ctrl-C again, a second or more later, ends it at"
        + " once)");
    assertThat(StudyCommand.stoppingLine("TERM")).endsWith("(SIGTERM again, a second or more"
        + " later, ends it at once)");
    assertThat(StudyCommand.stoppingBuildLine("INT")).isEqualTo("study: stopping: the"
        + " workloads' build stops and no run starts (Ctrl-C again, a second or more later,"
        + " ends it at once)");
  }
}
