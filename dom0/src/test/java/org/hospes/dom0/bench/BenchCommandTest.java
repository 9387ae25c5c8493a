package org.hospes.dom0.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.testing.CapturedCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hospes bench} without QEMU on short loops: pvh mode runs the loops built as an SDK
 * guest, progress goes to stderr, and the table is written as CSV and JSON.
 */
class BenchCommandTest {

  @TempDir
  Path dir;

  private final CapturedCli cli = new CapturedCli();

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void pvhModeWithProgressCsvAndJson() throws Exception {
    Path csv = dir.resolve("b.csv");
    Path json = dir.resolve("b.json");
    int status = cli.run("bench", "--no-qemu", "--mode", "pvh", "--engine", "interp",
        "--iterations", "1000", "--runs", "1", "--csv", csv.toString(), "--json", json.toString());

    String stderr = cli.stderr();
    assertThat(status).as(cli.stdout() + stderr).isZero();
    assertThat(stderr.lines()).containsExactly(
        "bench: [1/2] bench-alu on Hospes (pvh, interp), run 1 of 1",
        "bench: [2/2] bench-mem on Hospes (pvh, interp), run 1 of 1");
    List<String> lines = Files.readAllLines(csv);
    assertThat(lines.get(0)).startsWith("kernel,mode,engine,iterations,runs,instructions,");
    // The same checksums as the Multiboot kernels print with 1000 iterations.
    assertThat(lines.subList(1, lines.size())).hasSize(2)
        .anySatisfy(l -> assertThat(l).startsWith("bench-alu,pvh,interp,1000,1,").contains(",36d51337,"))
        .anySatisfy(l -> assertThat(l).startsWith("bench-mem,pvh,interp,1000,1,").contains(",06c664ed,"));
    JsonNode rows = new ObjectMapper().readTree(json.toFile());
    assertThat(rows).hasSize(2);
    assertThat(rows.get(0).get("mode").asText()).isEqualTo("pvh");
    assertThat(rows.get(0).get("instructions").asLong()).isGreaterThan(6000);
    assertThat(rows.get(0).get("qemuMips").isNull()).isTrue();
  }

  @Test
  void anUnwritableCsvIsRefusedBeforeAnythingRuns() {
    String csv = dir.resolve("missing/b.csv").toString();
    assertThat(cli.run("bench", "--no-qemu", "--csv", csv)).isEqualTo(2);
    assertThat(cli.stderr()).startsWith("hospes: --csv " + csv + ": no such directory")
        .hasLineCount(1);
    assertThat(cli.stdout()).isEmpty();
  }

  @Test
  void aSourceRootWithoutTheKernelSourcesIsRefusedBeforeAnyWork() {
    for (String[] args : new String[][] {{}, {"--startup"}, {"--domains", "1"}}) {
      cli.reset();
      List<String> line = new java.util.ArrayList<>(List.of("bench", "--no-qemu",
          "--source-root", dir.toString()));
      line.addAll(List.of(args));
      assertThat(cli.run(line.toArray(String[]::new))).as(line.toString()).isEqualTo(2);
      assertThat(cli.stderr()).as(line.toString()).isEqualTo("hospes: --source-root " + dir
          + ": no samples/kernels there (the Hospes source tree)\n");
      assertThat(cli.stdout()).isEmpty();
    }
  }

  @Test
  void numericOptionsOutOfRangeAreRefusedAsUsageErrors() {
    String[][] cases = {
        {"--qemu-timeout", "-1", "hospes: --qemu-timeout must be at least 1 (seconds), got -1"},
        {"--qemu-timeout", "0", "hospes: --qemu-timeout must be at least 1 (seconds), got 0"},
        {"--runs", "0", "hospes: --runs must be at least 1, got 0"},
        {"--iterations", "0", "hospes: --iterations must be between 1 and 4294967295, got 0"},
        {"--disk-mib", "0", "hospes: --disk-mib must be between 1 and 1024, got 0"},
        {"--domains", "0", "hospes: --domains takes counts between 1 and 100000, e.g."
            + " --domains 10,100,1000"}};
    for (String[] c : cases) {
      cli.reset();
      assertThat(cli.run("bench", "--no-qemu", c[0], c[1])).as(c[0] + " " + c[1]).isEqualTo(2);
      assertThat(cli.stderr()).as(c[0] + " " + c[1]).isEqualTo(c[2] + "\n");
      assertThat(cli.stdout()).isEmpty();
    }
    // Checked whichever workload runs: --disk does not use --runs, but a bad one is a mistake.
    cli.reset();
    assertThat(cli.run("bench", "--disk", "--qemu-timeout", "-5")).isEqualTo(2);
    assertThat(cli.stderr()).startsWith("hospes: --qemu-timeout must be at least 1");
  }

  @Test
  void aFailingBuildIsSaidPlainlyWithMakesLastLines() throws Exception {
    // A source tree whose kernels' Makefile fails, as one does on a host without gcc-multilib.
    Path kernels = Files.createDirectories(dir.resolve("samples/kernels"));
    Files.writeString(kernels.resolve("Makefile"),
        "%:\n\t@echo 'cc1: fatal error: sys/cdefs.h: No such file or directory'; exit 2\n");
    assertThat(cli.run("bench", "--no-qemu", "--source-root", dir.toString())).isEqualTo(1);
    assertThat(cli.stderr()).startsWith("hospes: building the kernels failed: make -C "
            + kernels + " BUILD=")
        .contains(" exited with status 2 (is gcc with 32-bit support installed?",
            "\n  | cc1: fatal error: sys/cdefs.h: No such file or directory\n")
        .doesNotContain("internal error", "Exception");
  }

  @Test
  void anUnknownModeIsAPrefixedOneLineError() {
    assertThat(cli.run("bench", "--no-qemu", "--mode", "bogus")).isEqualTo(2);
    assertThat(cli.stderr()).startsWith("hospes: unknown --mode 'bogus'; valid: ")
        .hasLineCount(1);
    assertThat(cli.stdout()).isEmpty();
  }
}
