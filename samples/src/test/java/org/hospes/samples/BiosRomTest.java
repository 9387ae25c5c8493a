package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.boot.BiosRom;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.junit.jupiter.api.Test;

/**
 * The reset-vector start ({@code hospes run --bios}): {@code samples/bios/hello-rom.asm},
 * assembled with nasm, runs from F000:FFF0 through the alias below 4 GiB into its copy below
 * 1 MiB, enters unreal mode to put the local APIC in virtual-wire mode, takes PIT interrupts in
 * real mode through the IVT and ends on CLI; HLT. Its output is what QEMU 7.2 prints for
 * {@code -bios hello-rom.bin} (checked by hand: QEMU never exits on HLT, so no test runs it).
 */
class BiosRomTest {
  static final String EXPECTED = "hello-rom: running from the reset vector\r\n"
      + "hello-rom: CPU family in DX after reset: 6\r\n"
      + "hello-rom: local APIC in virtual-wire mode\r\n"
      + "hello-rom: three IRQ 0 ticks in real mode, halting\r\n";

  static Path assemble() throws Exception {
    Path root = TestKernels.root();
    Path out = root.resolve("samples/target/bios/hello-rom.bin");
    Files.createDirectories(out.getParent());
    Process p = new ProcessBuilder("nasm", "-f", "bin", "-o", out.toString(),
        root.resolve("samples/bios/hello-rom.asm").toString()).inheritIO().start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("nasm").isZero();
    return out;
  }

  @Test
  void theRomRunsFromTheResetVectorAndEndsOnHlt() throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    NativeMachine m = NativeMachine.builder().ramMiB(16).serialOut(serial).build();
    m.loadBios(BiosRom.read(assemble()), "hello-rom.bin");
    assertThat(m.cpu().segmentBase(org.hospes.x86.Cpu.CS)).as("CS base after reset").isEqualTo(0xFFFF_0000);
    assertThat(m.cpu().eip()).isEqualTo(0xFFF0);
    RunResult r = m.run(10_000_000L);
    assertThat(serial.toString(StandardCharsets.ISO_8859_1)).isEqualTo(EXPECTED);
    assertThat(r.reason()).isEqualTo(RunResult.HALTED);
    assertThat(r.exitStatus()).isZero();
  }

  @Test
  void onlySixtyFourAndOneHundredTwentyEightKibRomsAreTaken() throws Exception {
    assertThatThrownBy(() -> BiosRom.of(new byte[4096])).isInstanceOf(BootException.class)
        .hasMessageContaining("64 KiB or 128 KiB").hasMessageContaining("4096 bytes");
    BiosRom big = BiosRom.of(new byte[BiosRom.LARGE]);
    assertThat(big.lowBase()).isEqualTo(0xE0000L);
    assertThat(big.highBase()).isEqualTo(0xFFFE_0000L);
    BiosRom small = BiosRom.of(new byte[BiosRom.SMALL]);
    assertThat(small.lowBase()).isEqualTo(0xF0000L);
    assertThat(small.highBase()).isEqualTo(0xFFFF_0000L);
  }
}
