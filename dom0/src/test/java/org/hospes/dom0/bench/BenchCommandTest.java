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
    assertThat(cli.stdout()).startsWith("--csv " + csv + ": no such directory");
    assertThat(cli.stderr()).isEmpty();
  }
}
