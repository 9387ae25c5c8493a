package org.hospes.dom0.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.testing.CapturedCli;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hospes bench --startup} and {@code --linux}, on small kernels: the start-up row
 * against QEMU, and the Linux workload's plumbing (kernel, initramfs, command line, marker,
 * engines, translator figures) on the SDK's hello guest, which prints its command line and
 * powers off, so that the marker can be a word of the command line. The real Linux boot is
 * {@code DebianLinuxBenchTest}'s (linux-long).
 */
class BenchWallClockTest {

  @TempDir
  Path dir;

  private final CapturedCli cli = new CapturedCli();

  /** The columns every row has, in the CSV's order. */
  static final String CSV_HEADER = "kernel,mode,engine,iterations,runs,instructions,"
      + "hospesSeconds,hospesMips,qemuSeconds,qemuMips,qemuOverHospes,checksum,checksumsAgree,"
      + "timing,hospesRunSeconds,hospesMarker,qemuMarker,hospesCpuSeconds,qemuCpuSeconds,"
      + "jitBlocks,jitInstructions,"
      + "jitTranslateMillis,jitCacheTranslations,jitCacheBytes,jitEvictions";

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void startupRowAgainstQemuWithMediansInCsvAndJson() throws Exception {
    assumeThat(QemuRunner.isAvailable()).as("qemu-system-i386 is installed").isTrue();
    Path csv = dir.resolve("s.csv");
    Path json = dir.resolve("s.json");
    int status = cli.run("bench", "--startup", "--engine", "interp", "--runs", "2",
        "--csv", csv.toString(), "--json", json.toString());

    assertThat(status).as(cli.stdout() + cli.stderr()).isZero();
    assertThat(cli.stderr().lines()).containsExactly(
        "bench: [1/6] startup under QEMU, warm-up (not measured)",
        "bench: [2/6] startup on Hospes (native, interp), warm-up (not measured)",
        "bench: [3/6] startup under QEMU, run 1 of 2",
        "bench: [4/6] startup on Hospes (native, interp), run 1 of 2",
        "bench: [5/6] startup under QEMU, run 2 of 2",
        "bench: [6/6] startup on Hospes (native, interp), run 2 of 2");
    assertThat(cli.stdout()).contains("host load average ")
        .containsPattern("(?m)^startup +native interp +2 +\\d+\\.\\d{3} +\\d+\\.\\d{3} +"
            + "\\d+\\.\\d\\dx +\\d+\\.\\d\\d +\\d+\\.\\d\\d +\\(\\d+\\.\\d\\dx\\)$");
    List<String> lines = Files.readAllLines(csv);
    assertThat(lines.get(0)).isEqualTo(CSV_HEADER);
    assertThat(lines).hasSize(2);
    assertThat(lines.get(1)).startsWith("startup,native,interp,0,2,,").contains(",process-median,");

    JsonNode row = new ObjectMapper().readTree(json.toFile()).get(0);
    double h = row.get("hospesSeconds").asDouble();
    double q = row.get("qemuSeconds").asDouble();
    // A JVM and a QEMU process each take more than a few milliseconds to start and exit.
    assertThat(h).isGreaterThan(0.05);
    assertThat(q).isGreaterThan(0.01);
    assertThat(row.get("qemuOverHospes").asDouble()).isCloseTo(h / q, org.assertj.core.data
        .Offset.offset(1e-9));
    assertThat(row.get("instructions").isNull()).isTrue();
    assertThat(row.get("jitBlocks").isNull()).isTrue();
    // A JVM's start-up costs it more than 50 ms of processor time; QEMU's some.
    assertThat(row.get("hospesCpuSeconds").asDouble()).isGreaterThan(0.05);
    assertThat(row.get("qemuCpuSeconds").asDouble()).isPositive();
  }

  private Path helloGuest() throws Exception {
    Path root = KernelSources.findRoot();
    Process make = new ProcessBuilder("make", "-s", "-C", root.resolve("guest-sdk/c").toString(),
        "GUEST=hello", "SRCS=" + root.resolve("samples/guests/hello/hello.c"),
        "BUILD=" + dir.toAbsolutePath()).redirectErrorStream(true).start();
    String out = new String(make.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(make.waitFor()).as(out).isZero();
    return dir.resolve("hello.elf");
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void linuxWorkloadRunsTheKernelWithInitrdAndCommandLineUnderEachEngine() throws Exception {
    Path kernel = helloGuest();
    Path initrd = Files.write(dir.resolve("initrd.cpio"), new byte[] {1, 2, 3});
    Path json = dir.resolve("l.json");
    Path csv = dir.resolve("l.csv");
    int status = cli.run("bench", "--linux", "--no-qemu", "--kernel", kernel.toString(),
        "--initrd", initrd.toString(), "--cmdline", "bench-word-42",
        "--marker", "command line 'bench-word-42'", "--engine", "interp,jit",
        "--json", json.toString(), "--csv", csv.toString());

    assertThat(status).as(cli.stdout() + cli.stderr()).isZero();
    assertThat(cli.stderr().lines()).containsExactly(
        "bench: [1/2] linux-pvh on Hospes (pvh, interp), run 1 of 1",
        "bench: [2/2] linux-pvh on Hospes (pvh, jit), run 1 of 1");
    assertThat(Files.readAllLines(csv).get(0)).isEqualTo(CSV_HEADER);
    JsonNode rows = new ObjectMapper().readTree(json.toFile());
    assertThat(rows).hasSize(2);
    JsonNode interp = rows.get(0);
    JsonNode jit = rows.get(1);
    assertThat(interp.get("kernel").asText()).isEqualTo("linux-pvh");
    assertThat(interp.get("engine").asText()).isEqualTo("interp");
    assertThat(jit.get("engine").asText()).isEqualTo("jit");
    for (JsonNode r : rows) {
      assertThat(r.get("mode").asText()).isEqualTo("pvh");
      assertThat(r.get("timing").asText()).isEqualTo("process-best");
      assertThat(r.get("hospesMarker").asBoolean()).isTrue();
      assertThat(r.get("qemuMarker").isNull()).isTrue();
      assertThat(r.get("qemuSeconds").isNull()).isTrue();
      // The whole process (a JVM, loading) takes longer than the run alone.
      assertThat(r.get("hospesSeconds").asDouble())
          .isGreaterThan(r.get("hospesRunSeconds").asDouble());
      assertThat(r.get("hospesCpuSeconds").asDouble()).isGreaterThan(0.05);
      assertThat(r.get("qemuCpuSeconds").isNull()).isTrue();
    }
    // The same guest instructions under both engines; hello's megabyte loops are hot enough
    // to be translated.
    assertThat(interp.get("instructions").asLong()).isGreaterThan(1_000_000)
        .isEqualTo(jit.get("instructions").asLong());
    assertThat(interp.get("jitBlocks").isNull()).isTrue();
    assertThat(jit.get("jitBlocks").asLong()).isPositive();
    assertThat(jit.get("jitCacheBytes").asLong()).isPositive();
    assertThat(jit.get("jitTranslateMillis").asDouble()).isPositive();
    assertThat(cli.stdout()).contains("linux-pvh (jit): translator: ")
        .contains("command line \"bench-word-42\"");
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aBootThatNeverShowsTheMarkerFailsTheRow() throws Exception {
    Path kernel = helloGuest();
    Path initrd = Files.write(dir.resolve("initrd.cpio"), new byte[] {1});
    Path json = dir.resolve("l.json");
    int status = cli.run("bench", "--linux", "--no-qemu", "--kernel", kernel.toString(),
        "--initrd", initrd.toString(), "--marker", "never printed", "--engine", "interp",
        "--json", json.toString());

    assertThat(status).isEqualTo(1);
    assertThat(cli.stdout()).contains("linux-pvh on Hospes (interp): exit status 0 (shutdown: poweroff) after ")
        .contains("without the marker \"never printed\"")
        .containsPattern("(?m)^linux-pvh +pvh +interp .* Hospes NO$");
    JsonNode row = new ObjectMapper().readTree(json.toFile()).get(0);
    assertThat(row.get("hospesMarker").asBoolean()).isFalse();
    assertThat(row.get("hospesSeconds").isNull()).isTrue();
  }

  @Test
  void linuxOptionsWithoutLinuxAreRefused() {
    assertThat(cli.run("bench", "--kernel", "vmlinuz")).isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: --kernel goes with --linux\n");
    cli.reset();
    assertThat(cli.run("bench", "--startup", "--mode", "pvh")).isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: --mode goes with the loops: --linux boots in pvh mode,"
        + " --startup runs native\n");
    cli.reset();
    assertThat(cli.run("bench", "--linux", "--marker", " ")).isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: --marker must not be empty\n");
  }

  @Test
  void aMissingKernelIsOneLine() {
    Path missing = dir.resolve("vmlinuz");
    assertThat(cli.run("bench", "--linux", "--kernel", missing.toString())).isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: --kernel " + missing + ": no such file\n");
    assertThat(cli.stdout()).isEmpty();
  }

  @Test
  void anElfWithoutAPvhEntryIsRefused() throws Exception {
    Path elf = Files.write(dir.resolve("plain.elf"),
        ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    assertThat(cli.run("bench", "--linux", "--kernel", elf.toString())).isEqualTo(2);
    assertThat(cli.stderr()).startsWith("hospes: --kernel " + elf + ": the ELF has no PVH entry"
        + " (XEN_ELFNOTE_PHYS32_ENTRY");
  }

  @Test
  void withoutTheFetchedKernelTheMessageSaysHowToFetchIt() {
    String saved = System.getProperty("hospes.linux.vmlinuz");
    Path missing = dir.resolve("cache/vmlinuz");
    System.setProperty("hospes.linux.vmlinuz", missing.toString());
    try {
      assertThat(cli.run("bench", "--linux")).isEqualTo(2);
    } finally {
      if (saved == null) {
        System.clearProperty("hospes.linux.vmlinuz");
      } else {
        System.setProperty("hospes.linux.vmlinuz", saved);
      }
    }
    assertThat(cli.stderr()).startsWith("hospes: Debian's 686-pae kernel is not at " + missing
        + ": fetch it with samples/linux/fetch-debian-kernel.sh").contains("--kernel FILE");
  }
}
