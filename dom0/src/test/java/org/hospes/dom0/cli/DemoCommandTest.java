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
  void showsDom0TwoPvhGuestsTalkingAndAnHvmGuestThenTheCostTableAndExitsZero() {
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
    assertThat(out.lines().filter(l -> l.matches("dom0 +- +serving \\(\\d+ foreign maps\\).*")))
        .hasSize(1);
    assertThat(stderr()).isEmpty();
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
