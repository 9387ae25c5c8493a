package org.hospes.dom0.machine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.LoadedKernel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kernels built by the host toolchain at test time, booted on the native machine and, where
 * qemu-system-i386 is installed, under QEMU too: the same serial bytes and the same exit status
 * show that the loader and the exit conventions match QEMU's. Skipped without {@code gcc -m32}.
 */
class ToolchainKernelTest {

  /** Checks the Multiboot magic, prints OK, exits with 0x10 (status 33); 1 (status 3) on fail. */
  private static final String OK_KERNEL_BODY = """
      _start:
              cmpl    $0x2BADB002, %eax
              jne     fail
              movw    $0x3F8, %dx
              movb    $'O', %al
              outb    %al, %dx
              movb    $'K', %al
              outb    %al, %dx
              movb    $'\\n', %al
              outb    %al, %dx
              movb    $0x10, %al
              outb    %al, $0xF4
      fail:
              movb    $0x1, %al
              outb    %al, $0xF4
              hlt
      """;

  private static final String ELF_KERNEL = """
              .text
              .p2align 2
              .long   0x1BADB002, 0x3, -(0x1BADB002 + 0x3)
              .globl  _start
      """ + OK_KERNEL_BODY;

  /** The a.out kludge: header flag bit 16 and the address fields, loaded as a flat binary. */
  private static final String FLAT_KERNEL = """
              .text
              .p2align 2
      mbh:    .long   0x1BADB002, 0x10003, -(0x1BADB002 + 0x10003)
              .long   mbh, mbh, load_end, bss_end, _start
              .globl  _start
      """ + OK_KERNEL_BODY + """
      load_end:
              .bss
              .space  0x2000
      bss_end:
      """;

  @TempDir
  static Path dir;

  @BeforeAll
  static void requireToolchainAndProcessor() throws Exception {
    if (!succeeds(List.of("gcc", "-m32", "--version"))) {
      org.junit.jupiter.api.Assertions.fail("gcc not found: install gcc (and gcc-multilib)");
    }
  }

  @Test
  void anElfKernelFromGccPrintsOkAndExitsLikeUnderQemu() throws Exception {
    Path elf = link("ok", ELF_KERNEL);
    Outcome hospes = runOnHospes(elf);
    assertThat(hospes).isEqualTo(new Outcome("OK\n", 33));
    runUnderQemu(elf).ifPresent(qemu -> assertThat(hospes).isEqualTo(qemu));
  }

  @Test
  void aFlatBinaryWithTheAoutKludgeBootsLikeUnderQemu() throws Exception {
    Path elf = link("flat", FLAT_KERNEL);
    Path bin = dir.resolve("flat.bin");
    run(List.of("objcopy", "-O", "binary", elf.toString(), bin.toString()));
    byte[] image = Files.readAllBytes(bin);
    assertThat(image[0] & 0xFF).as("not an ELF").isEqualTo(0x02);

    Outcome hospes = runOnHospes(bin);
    assertThat(hospes).isEqualTo(new Outcome("OK\n", 33));
    runUnderQemu(bin).ifPresent(qemu -> assertThat(hospes).isEqualTo(qemu));
  }

  @Test
  void loaderMatchesTheLinkersView() throws Exception {
    Path elf = link("layout", ELF_KERNEL);
    NativeMachine m = NativeMachine.builder().serialOut(OutputStream.nullOutputStream()).build();
    LoadedKernel k = m.loadMultiboot(elf, null);
    assertThat(k.entry()).isEqualTo(0x10000C);
    assertThat(k.segments()).hasSize(1);
    assertThat(k.segments().get(0).physicalAddress()).isEqualTo(0x100000);
    assertThat(m.memory().read32(0x100000)).isEqualTo(0x1BADB002);
  }

  record Outcome(String serial, int status) {}

  private static Outcome runOnHospes(Path kernel) throws BootException {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    NativeMachine m = NativeMachine.builder()
        .serialOut(serial)
        .diagnostics(new PrintStream(OutputStream.nullOutputStream()))
        .build();
    m.loadMultiboot(kernel, null);
    RunResult result = m.run(1_000_000);
    return new Outcome(serial.toString(StandardCharsets.ISO_8859_1), result.exitStatus());
  }

  private static Optional<Outcome> runUnderQemu(Path kernel) throws Exception {
    if (!succeeds(List.of("qemu-system-i386", "--version"))) {
      return Optional.empty();
    }
    Process qemu = new ProcessBuilder("qemu-system-i386", "-kernel", kernel.toString(),
        "-m", "64", "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
    byte[] out;
    try (InputStream in = qemu.getInputStream()) {
      out = in.readAllBytes();
    }
    assertThat(qemu.waitFor(30, TimeUnit.SECONDS)).as("QEMU finished").isTrue();
    return Optional.of(
        new Outcome(new String(out, StandardCharsets.ISO_8859_1), qemu.exitValue()));
  }

  private static Path link(String name, String source) throws Exception {
    Path s = dir.resolve(name + ".S");
    Path elf = dir.resolve(name + ".elf");
    Files.writeString(s, source);
    run(List.of("gcc", "-m32", "-nostdlib", "-static", "-no-pie", "-Wl,-Ttext=0x100000",
        "-Wl,--build-id=none", "-Wl,-n", "-o", elf.toString(), s.toString()));
    return elf;
  }

  private static void run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output;
    try (InputStream in = p.getInputStream()) {
      output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(p.waitFor()).as("%s%n%s", command, output).isZero();
  }

  private static boolean succeeds(List<String> command) {
    try {
      Process p = new ProcessBuilder(new ArrayList<>(command))
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
