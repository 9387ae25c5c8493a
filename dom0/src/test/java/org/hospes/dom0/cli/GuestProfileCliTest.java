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

  /** The spin kernel with Linux's banner right after its loop, at 0x10000E. */
  private Path kernelWithBanner() throws IOException {
    byte[] banner = "Linux version 6.1.0-57-686-pae (debian-kernel@lists.debian.org) #1 SMP\0"
        .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    return Files.write(dir.resolve("vmlinux"), ElfImageBuilder.multibootKernel(
        ElfImageBuilder.concat(new byte[] {(byte) 0xEB, (byte) 0xFE}, banner)));
  }

  private Path linuxMap(String name, String bannerAddress) throws IOException {
    return Files.writeString(dir.resolve(name), "0010000c T spin_forever\n" + bannerAddress
        + " D linux_banner\n0010000e T _etext\n");
  }

  @Test
  void aSystemMapOfTheKernelsOwnBuildIsTaken() throws IOException {
    Path kernel = kernelWithBanner();
    for (String name : new String[] {"System.map-6.1.0-57-686-pae", "System.map"}) {
      cli.reset();
      assertThat(cli.run("run", "--mode", "native", "--max-insns", "1000", "--guest-profile",
          "--symbols", linuxMap(name, "0010000e").toString(), kernel.toString()))
          .as(name).isEqualTo(4);
      assertThat(cli.stderr()).as(name).doesNotContain("--symbols")
          .contains("(2 functions)");
    }
  }

  @Test
  void aSystemMapOfAnotherBuildIsRefusedBeforeTheRun() throws IOException {
    Path kernel = kernelWithBanner();
    // Its banner lies elsewhere: this kernel's bytes there are no banner.
    Path moved = linuxMap("System.map", "0010000c");
    // A bounded run, so that a check that lets it through ends too.
    assertThat(cli.run("run", "--mode", "native", "--max-insns", "1000", "--guest-profile",
        "--symbols", moved.toString(), kernel.toString())).isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: --symbols " + moved + ": not the symbols of"
        + " this kernel (its linux_banner at 0x10000c does not hold \"Linux version\"; a"
        + " System.map of another build names wrong functions)" + System.lineSeparator());
    cli.reset();
    // The banner where the map says, of another version than the map's name.
    Path other = linuxMap("System.map-6.1.0-50-686-pae", "0010000e");
    assertThat(cli.run("run", "--mode", "native", "--max-insns", "1000", "--guest-profile",
        "--symbols", other.toString(), kernel.toString())).isEqualTo(2);
    assertThat(cli.stderr()).isEqualTo("hospes: --symbols " + other + ": a System.map of Linux"
        + " 6.1.0-50-686-pae, but the kernel is Linux 6.1.0-57-686-pae (its linux_banner at"
        + " 0x10000e)" + System.lineSeparator());
  }
}
