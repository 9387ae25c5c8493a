package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.testing.CapturedCli;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hospes run} forwards piped stdin to COM1 as QEMU's {@code -serial stdio} does: an echo
 * kernel that polls the UART gets every byte, in order, and ends on 'q'. (The PV console side is
 * samples' EchoGuestCliTest.)
 */
class RunInputTest {

  /**
   * Echoes COM1 until it reads 'q', then isa-debug-exit 0x10 (status 33):
   * <pre>
   *   mov edx,0x3fd / poll: in al,dx / test al,1 / jz poll / mov edx,0x3f8 / in al,dx
   *   cmp al,'q' / je done / out dx,al / mov edx,0x3fd / jmp poll / done: mov al,0x10 / out 0xf4
   * </pre>
   */
  private static final byte[] ECHO = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xBA, (byte) 0xFD, 0x03, 0x00, 0x00,
      (byte) 0xEC,
      (byte) 0xA8, 0x01,
      0x74, (byte) 0xFB,
      (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00,
      (byte) 0xEC,
      0x3C, 'q',
      0x74, 0x08,
      (byte) 0xEE,
      (byte) 0xBA, (byte) 0xFD, 0x03, 0x00, 0x00,
      (byte) 0xEB, (byte) 0xE9,
      (byte) 0xB0, 0x10,
      (byte) 0xE6, (byte) 0xF4});

  @TempDir
  Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"native", "hvm"})
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void pipedInputReachesComOneInOrder(String mode) throws IOException {
    Path kernel = dir.resolve("echo.elf");
    Files.write(kernel, ECHO);
    StringBuilder input = new StringBuilder();
    for (int i = 0; i < 300; i++) {
      input.append("line ").append(i).append('\n'); // more than a 16-byte FIFO, many times over
    }
    CapturedCli cli = new CapturedCli();
    int status = cli.runWithInput(input + "q", "run", "--mode", mode, "--max-insns", "2G",
        kernel.toString());

    assertThat(status).as(cli.stderr()).isEqualTo(33);
    assertThat(cli.stdout()).isEqualTo(input.toString());
  }
}
