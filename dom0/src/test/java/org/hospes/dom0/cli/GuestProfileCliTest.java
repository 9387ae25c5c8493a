package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.testing.CapturedCli;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code hospes run --guest-profile}: the table after the run, and its one-line refusals. */
class GuestProfileCliTest {
  @TempDir
  Path dir;

  private final CapturedCli cli = new CapturedCli();

  /** A Multiboot kernel that spins on {@code jmp $} at 0x10000C (after the 12-byte header). */
  private Path spinKernel() throws IOException {
    return Files.write(dir.resolve("spin.elf"),
        ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xEB, (byte) 0xFE}));
  }

  private Path systemMap() throws IOException {
    return Files.writeString(dir.resolve("System.map"),
        "00100000 T multiboot_header\n0010000c T spin_forever\n0010000e T _etext\n");
  }

  @Test
  void theTableNamesTheFunctionTheProcessorSpunIn() throws IOException {
    Path kernel = spinKernel();
    Path map = systemMap();
    // Long enough for many 1 ms samples on any machine (the loop is translated and still
    // takes a few hundred ms); the run ends at its instruction limit.
    assertThat(cli.run("run", "--mode", "native", "--max-insns", "2g", "--guest-profile",
        "--symbols", map.toString(), kernel.toString())).isEqualTo(4);
    String e = cli.stderr();
    assertThat(e).contains("guest profile: ", " samples of the vCPU, one per ms of host time;"
        + " symbols: " + map + " (3 functions)");
    // The first row, with the most samples (a boot stub, if any, runs for microseconds).
    assertThat(e).containsPattern(
        "share +samples +function\\n +[0-9.]+% +[0-9,]+ +spin_forever\\n");
  }

  @Test
  void withoutSymbolsAKernelWithoutASymbolTableIsRefusedBeforeItRuns() throws IOException {
    Path kernel = spinKernel();
    assertThat(cli.run("run", "--mode", "native", "--guest-profile", kernel.toString()))
        .isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: --guest-profile: " + kernel
        + " has no symbol table (a stripped ELF); give its System.map with --symbols"
        + System.lineSeparator());
  }

  @Test
  void symbolsAloneAMissingFileAndAFileWithoutSymbolsAreOneLineErrors() throws IOException {
    Path kernel = spinKernel();
    Path map = systemMap();
    assertThat(cli.run("run", "--symbols", map.toString(), kernel.toString())).isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: --symbols names the symbols of --guest-profile;"
        + " give both" + System.lineSeparator());
    cli.reset();
    Path missing = dir.resolve("missing.map");
    assertThat(cli.run("run", "--guest-profile", "--symbols", missing.toString(),
        kernel.toString())).isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: --symbols " + missing + ": no such file"
        + System.lineSeparator());
    cli.reset();
    Path notes = Files.writeString(dir.resolve("notes.txt"), "not a map\n");
    assertThat(cli.run("run", "--guest-profile", "--symbols", notes.toString(),
        kernel.toString())).isEqualTo(2);
    assertThat(cli.stderr()).startsWith("hospes: --symbols " + notes + ": no code symbols");
    cli.reset();
    assertThat(cli.run("run", "--guest-profile", "--bios", kernel.toString())).isEqualTo(2);
    assertThat(cli.stderr()).contains("it needs a KERNEL, not --bios");
  }
}
