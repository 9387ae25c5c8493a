package org.hospes.dom0.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class QemuRunnerTest {

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.ISO_8859_1);
  }

  @Test
  void stripsSeaBiosBannerAndKeepsKernelOutputExactly() {
    String raw = "\u001bc\u001b[?7l\u001b[2J\u001b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n"
        + "Booting from ROM..\n  hello\nBooting from ROM.. again\n";
    assertThat(text(QemuRunner.stripFirmwareOutput(bytes(raw))))
        .isEqualTo("\n  hello\nBooting from ROM.. again\n");
    assertThat(QemuRunner.hasFirmwareMarker(bytes(raw))).isTrue();
  }

  @Test
  void stripsCrLfThatFirmwarePrintsAfterTheMarker() {
    assertThat(text(QemuRunner.stripFirmwareOutput(bytes("x Booting from ROM..\r\nout\n"))))
        .isEqualTo("out\n");
  }

  @Test
  void stripsALateThirdDotOfTheFirmwareBanner() {
    assertThat(text(QemuRunner.stripFirmwareOutput(bytes("Booting from ROM...paging: ok\n"))))
        .isEqualTo("paging: ok\n");
    assertThat(text(QemuRunner.stripFirmwareOutput(bytes("Booting from ROM...\r\nout.\n"))))
        .isEqualTo("out.\n");
  }

  @Test
  void stripsALoneCarriageReturnOfTheFirmware() {
    assertThat(text(QemuRunner.stripFirmwareOutput(bytes("Booting from ROM..\rbiosstate\n"))))
        .isEqualTo("biosstate\n");
  }

  @Test
  void emptyKernelOutputStaysEmpty() {
    assertThat(QemuRunner.stripFirmwareOutput(bytes("SeaBIOS\r\nBooting from ROM.."))).isEmpty();
  }

  @Test
  void outputWithoutMarkerIsUnchanged() {
    assertThat(text(QemuRunner.stripFirmwareOutput(bytes("plain\n")))).isEqualTo("plain\n");
    assertThat(QemuRunner.hasFirmwareMarker(bytes("plain\n"))).isFalse();
  }

  @Test
  void commandLineIsTheReferenceOne() {
    assertThat(String.join(" ", QemuRunner.command(Path.of("build/alu.elf"))))
        .isEqualTo("qemu-system-i386 -accel tcg -nographic -display none -serial stdio"
            + " -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 64 -no-reboot"
            + " -net none -kernel build/alu.elf");
  }

  @Test
  void checksumIsReadFromTheDoneLine() {
    assertThat(BenchCommand.checksum("bench-alu: 1 iterations\ndone 1588ed5c\n"))
        .isEqualTo("1588ed5c");
    assertThat(BenchCommand.checksum("no result\n")).isNull();
  }
}
