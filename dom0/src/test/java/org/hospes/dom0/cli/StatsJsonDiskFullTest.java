package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * --stats-json on a disk that fills during the run: the file passes the check before the run
 * (an empty file fits), then its write fails part way. The trial found an empty stats file left
 * behind, which a script would read as the run's. A file-size limit (ulimit -f: the JVM ignores
 * SIGXFSZ, so the write fails with EFBIG) stands in for the full disk, in a JVM of its own.
 */
class StatsJsonDiskFullTest {

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aStatsFileCutShortIsNotLeftBehind(@TempDir Path dir) throws Exception {
    assumeTrue(new java.io.File("/bin/bash").canExecute(), "bash is needed for ulimit");
    Path kernel = dir.resolve("k.elf");
    Files.write(kernel, ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4})); // hlt
    Path stats = dir.resolve("stats.json");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // No block at all: an empty file can be made, no byte written to it.
    Process p = new ProcessBuilder("/bin/bash", "-c", "ulimit -f 0 && exec \"$@\"", "bash",
        java, "-XX:-UsePerfData", "-cp", System.getProperty("java.class.path"),
        HospesCli.class.getName(), "run", "--stats-json", stats.toString(), kernel.toString())
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(err).isEqualTo("hospes: --stats-json " + stats + ": cannot write: File too"
        + " large\n");
    assertThat(p.exitValue()).as("the guest's status stands").isZero();
    assertThat(stats).doesNotExist();
  }
}
