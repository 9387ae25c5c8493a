package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hospes demo}: on the real source tree (gcc -m32 builds the samples), and on a
 * stand-in tree whose Makefile fails, to check how a failed build is reported.
 */
class DemoCommandTest {

  @TempDir
  Path root;

  private String savedRoot;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeEach
  void pointAtTheStandInTree() {
    savedRoot = System.getProperty("hospes.root");
    System.setProperty("hospes.root", root.toString());
  }

  @AfterEach
  void restore() {
    if (savedRoot == null) {
      System.clearProperty("hospes.root");
    } else {
      System.setProperty("hospes.root", savedRoot);
    }
  }

  private int hospes(String... args) {
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
  }

  private Path kernelsDir(String makefile) throws IOException {
    Path dir = Files.createDirectories(root.resolve("samples/kernels"));
    Files.writeString(dir.resolve("Makefile"), makefile);
    return dir;
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void showsDom0TwoPvhGuestsTalkingADiskGuestAndAnHvmGuestThenTheCostTableAndTheStudy() {
    assumeMake();
    // The real source tree (the build sets hospes.root to it): make builds the samples there.
    System.setProperty("hospes.root", savedRoot);
    assertThat(hospes("demo", "--round-trips", "100")).as(stderr()).isZero();
    String out = stdout();
    assertThat(out).contains(
        "[ping] ping: pong is ready, bouncing 100 times\n",
        "[pong] pong: received 100 events\n",
        "[ping] ping: 100 round trips, pong received 100, shared counter 200: ok\n",
        "[hello]   Goodbye: writing 0x10 to port 0xf4 to power off.\n");
    assertThat(out.lines().filter(l -> l.matches("(ping|pong) +pvh +shutdown: poweroff .*")))
        .hasSize(2);
    assertThat(out.lines().filter(l -> l.matches("hello +hvm +exited, status 33 .*")))
        .hasSize(1);
    // The disk guest wrote, read back and checked every block through blkfront and blkback,
    // and its grant operations show in the table.
    assertThat(out).contains("[disk] disk-bench: xvda 2048 sectors of 512 bytes");
    assertThat(out.lines().filter(l -> l.startsWith("[disk] disk-bench: ok, "))).hasSize(1);
    assertThat(out.lines().filter(l -> l.matches("disk +pvh +shutdown: poweroff .*")))
        .hasSize(1);
    // dom0's blkback mapped and unmapped the disk guest's grants: hundreds of operations.
    String dom0 = out.lines().filter(l -> l.matches("dom0 +- +serving \\(\\d+ foreign maps\\) .*"))
        .findFirst().orElseThrow();
    assertThat(Long.parseLong(dom0.substring(dom0.lastIndexOf(' ') + 1).replace(",", "")))
        .isGreaterThan(100);
    // Then the quick study: every op timed in the three modes, shadow paging far costlier.
    assertThat(out).contains("Nanobenchmarks (Adams & Agesen's, cycles per op");
    java.util.Map<String, long[]> ops = new java.util.HashMap<>();
    out.lines().filter(l -> l.matches("(syscall|in|cr3|pgfault|ptemod) +[0-9,]+ +[0-9,]+ +[0-9,]+"))
        .forEach(l -> {
          String[] f = l.replace(",", "").split(" +");
          ops.put(f[0], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2]),
              Long.parseLong(f[3])});
        });
    assertThat(ops).containsOnlyKeys("syscall", "in", "cr3", "pgfault", "ptemod");
    assertThat(ops.get("ptemod")[2]).isGreaterThan(100 * ops.get("ptemod")[1]);
    // And the disk: the same disk-bench over emulated IDE (hvm) and blkfront (pvh), per MiB;
    // the emulated path takes far more exits and cycles outside the guest.
    assertThat(out).contains("Disk I/O, the same disk-bench per MiB moved");
    java.util.Map<String, double[]> disk = new java.util.HashMap<>();
    out.lines().filter(l -> l.matches("(ide|xen) \\(sdk\\) +(hvm|pvh)( +[0-9,]+){7}"))
        .forEach(l -> {
          String[] f = l.replace(",", "").split(" +");
          disk.put(f[0], new double[] {Double.parseDouble(f[3]), Double.parseDouble(f[7])
              + Double.parseDouble(f[8])});
        });
    assertThat(disk).containsOnlyKeys("ide", "xen");
    assertThat(disk.get("ide")[0]).isGreaterThan(5 * disk.get("xen")[0]);
    assertThat(disk.get("ide")[1]).isGreaterThan(5 * disk.get("xen")[1]);
    assertThat(stderr().lines()).allMatch(l -> l.startsWith("study: ["), "study progress only");
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aDemoStoppedFromOutsideSaysSoAndNamesEveryGuestItCutShort() {
    assumeMake();
    System.setProperty("hospes.root", savedRoot);
    // stdout's reader gone from the start: the run stops at its first console line, long
    // before ping and pong are through a million round trips; the one line names both.
    java.io.OutputStream gone = new java.io.OutputStream() {
      @Override
      public void write(int b) throws IOException {
        throw new IOException("Broken pipe");
      }
    };
    int status = HospesCli.newCommandLine(new PrintStream(gone, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute("demo", "--round-trips", "1000000");
    assertThat(status).as(stderr()).isEqualTo(130);
    assertThat(stderr().lines()).singleElement().asString()
        .matches("hospes: demo stopped \\(stdout was closed\\); still running: ping, pong"
            + "(, disk)?(, hello)?");
  }

  @Test
  void aFailingBuildShowsMakesOutputAndOneHospesLine() throws IOException {
    assumeMake();
    kernelsDir("all:\n\t@echo compiler exploded; exit 1\n");
    assertThat(hospes("demo")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("compiler exploded")
        .contains("hospes: building the samples failed");
    assertThat(out.size()).isZero();
  }

  private static void assumeMake() {
    if (!Files.isExecutable(Path.of("/usr/bin/make"))) {
      org.junit.jupiter.api.Assertions.fail("make not found: install the Debian package make");
    }
  }

  private String stdout() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }
}
