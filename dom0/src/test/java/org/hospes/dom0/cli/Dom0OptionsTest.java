package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --dom0-weight, --dom0-cap and the config's dom0 line; dom0 in the statistics. */
class Dom0OptionsTest {

  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int hospes(String... args) {
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
  }

  private String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  /** Writes "OK\n" to COM1 (ioreqs dom0 serves), then exits 0x21 through isa-debug-exit. */
  private Path okKernel() throws IOException {
    Path p = dir.resolve("ok.elf");
    Files.write(p, ElfImageBuilder.multibootKernel(new byte[] {
        (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00, // mov edx, 0x3f8
        (byte) 0xB0, 'O', (byte) 0xEE,              // mov al, 'O' ; out dx, al
        (byte) 0xB0, 'K', (byte) 0xEE,              // mov al, 'K' ; out dx, al
        (byte) 0xB0, '\n', (byte) 0xEE,             // mov al, 10  ; out dx, al
        (byte) 0xB0, 0x10, (byte) 0xE6, (byte) 0xF4 // mov al, 0x10 ; out 0xf4, al
    }));
    return p;
  }

  @Test
  void runReportsDom0LikeAnyDomainWithTheGivenWeightAndCap() throws IOException {
    Path json = dir.resolve("s.json");
    assertThat(hospes("run", "--mode", "hvm", "--dom0-weight", "512", "--dom0-cap", "50",
        "--stats", "--stats-json", json.toString(), okKernel().toString())).isEqualTo(0x21);
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("OK\n");
    assertThat(stderr()).contains("domain 0 Domain-0 (service, the control domain): running")
        .containsPattern("weight, cap +512, 50%")
        // Three characters and the debug exit: four ioreqs, each served in dom0's time.
        .containsPattern("ioreqs served +4\\n")
        .doesNotContain("dom0 services:");
    String stats = Files.readString(json);
    assertThat(stats).contains("{\"domid\":0,\"name\":\"Domain-0\"")
        .contains("\"weight\":512,\"cap\":50,\"runstate\":{\"running\":8000,")
        .contains("\"service\":true,\"privilege\":\"the control domain\",\"ioreqsServed\":4")
        .contains("\"domid\":1,\"name\":\"guest\"");
  }

  @Test
  void badDom0OptionsAreUsageErrorsNamingTheOption() throws IOException {
    assertThat(hospes("run", "--mode", "hvm", "--dom0-cap", "150", okKernel().toString()))
        .isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --dom0-cap must be 0..100 (percent of a CPU), got"
        + " 150" + System.lineSeparator());
  }

  @Test
  void runManyTakesADom0LineInItsConfigAndTheOptionsOverIt() throws IOException {
    Path kernel = okKernel();
    Path cfg = dir.resolve("host.cfg");
    Files.writeString(cfg, "# dom0's share\ndom0 weight=1024,cap=20\na=" + kernel + "\n");
    Path json = dir.resolve("s.json");
    assertThat(hospes("run-many", "--config", cfg.toString(), "--dom0-cap", "30",
        "--stats-json", json.toString())).isZero();
    assertThat(Files.readString(json)).contains("\"name\":\"Domain-0\"")
        .contains("\"weight\":1024,\"cap\":30,");
    Files.writeString(cfg, "dom0 cap=200\na=" + kernel + "\n");
    err.reset();
    assertThat(hospes("run-many", "--config", cfg.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: " + cfg + ":1: dom0: cap must be 0..100 (percent of"
        + " a CPU), got 200" + System.lineSeparator());
  }
}
