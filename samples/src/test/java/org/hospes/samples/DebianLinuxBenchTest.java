package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.bench.QemuRunner;
import org.hospes.dom0.cli.HospesCli;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hospes bench --linux} once: Debian's 686-pae kernel (its vmlinux, unpacked from the
 * package's bzImage) boots at its PVH entry to the generated busybox /init on Hospes, under
 * each engine, and under QEMU TCG ({@code -kernel vmlinux}) with the same initramfs and command
 * line; every row reached the marker on both, and the two engines retired the same guest
 * instructions.
 */
@Tag("linux-long")
class DebianLinuxBenchTest {
  @TempDir
  Path tmp;

  @Test
  @Timeout(value = 1800, unit = TimeUnit.SECONDS)
  void linuxBootRowsReachTheMarkerOnHospesAndQemu() throws Exception {
    assumeThat(QemuRunner.isAvailable()).as("qemu-system-i386 is installed").isTrue();
    Path json = tmp.resolve("linux.json");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute("bench", "--linux",
        "--kernel", DebianKernel.vmlinuz().toString(), "--runs", "1", "--engine", "interp,jit",
        "--json", json.toString());
    String report = out.toString(StandardCharsets.UTF_8);

    assertThat(status).as(report + err).isZero();
    assertThat(report)
        .containsPattern("(?m)^linux-pvh +pvh +interp .* both$")
        .containsPattern("(?m)^linux-pvh +pvh +jit .* both$")
        .contains("kernel the vmlinux unpacked from " + DebianKernel.vmlinuz());
    JsonNode rows = new ObjectMapper().readTree(json.toFile());
    assertThat(rows).hasSize(2);
    for (JsonNode r : rows) {
      assertThat(r.get("kernel").asText()).isEqualTo("linux-pvh");
      assertThat(r.get("hospesMarker").asBoolean()).as("%s", r).isTrue();
      assertThat(r.get("qemuMarker").asBoolean()).as("%s", r).isTrue();
      assertThat(r.get("hospesSeconds").asDouble()).isPositive();
      assertThat(r.get("qemuSeconds").asDouble()).isPositive();
      assertThat(r.get("qemuOverHospes").asDouble()).isCloseTo(
          r.get("hospesSeconds").asDouble() / r.get("qemuSeconds").asDouble(),
          org.assertj.core.data.Offset.offset(1e-9));
    }
    // About 0.64 billion instructions to /init with cryptomgr.notests, the same under both.
    long insns = rows.get(0).get("instructions").asLong();
    assertThat(insns).isBetween(100_000_000L, 5_000_000_000L)
        .isEqualTo(rows.get(1).get("instructions").asLong());
    assertThat(rows.get(0).get("engine").asText()).isEqualTo("interp");
    assertThat(rows.get(0).get("jitBlocks").isNull()).isTrue();
    assertThat(rows.get(1).get("jitBlocks").asLong()).isPositive();
  }
}
