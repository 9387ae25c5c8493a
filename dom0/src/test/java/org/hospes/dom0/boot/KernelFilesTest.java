package org.hospes.dom0.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link KernelFiles#read} reads a file chunk by chunk: the same bytes as readAllBytes. */
class KernelFilesTest {
  @TempDir
  Path dir;

  @Test
  void everySizeAroundTheChunkReadsWhole() throws Exception {
    long seed = new Random().nextLong();
    Random random = new Random(seed);
    int c = KernelFiles.CHUNK;
    for (int size : new int[] {0, 1, 4095, c - 1, c, c + 1, 2 * c, 3 * c + 17,
        random.nextInt(5 << 20)}) {
      byte[] bytes = new byte[size];
      random.nextBytes(bytes);
      Path f = dir.resolve("k" + size);
      Files.write(f, bytes);
      assertThat(KernelFiles.read(f)).as("seed %d, %d bytes", seed, size).isEqualTo(bytes);
    }
  }

  @Test
  void errorsSayWhatIsWrong() throws Exception {
    assertThatThrownBy(() -> KernelFiles.read(dir)).isInstanceOf(BootException.class)
        .hasMessage("is a directory");
    assertThatThrownBy(() -> KernelFiles.read(dir.resolve("absent")))
        .isInstanceOf(BootException.class).hasMessage("no such file");
  }

  /** A sample kernel that make has not built yet: the message says how to build it. */
  @Test
  void aMissingSampleKernelNamesTheMakeThatBuildsIt() throws Exception {
    Path kernels = Files.createDirectories(dir.resolve("kernels"));
    Files.writeString(kernels.resolve("Makefile"), "all:\n");
    Files.writeString(kernels.resolve("hello.c"), "int kmain(void) { return 0; }\n");
    assertThatThrownBy(() -> KernelFiles.read(kernels.resolve("build/hello.elf")))
        .isInstanceOf(BootException.class)
        .hasMessage("no such file (make -C " + kernels + " hello builds it)");
    // No source of that name, no Makefile, or not a build directory: nothing to suggest.
    assertThatThrownBy(() -> KernelFiles.read(kernels.resolve("build/other.elf")))
        .hasMessage("no such file");
    Files.delete(kernels.resolve("Makefile"));
    assertThatThrownBy(() -> KernelFiles.read(kernels.resolve("build/hello.elf")))
        .hasMessage("no such file");
    assertThatThrownBy(() -> KernelFiles.read(kernels.resolve("hello.elf")))
        .hasMessage("no such file");
  }

  /**
   * A device is refused at once: /dev/zero was read until the heap ran out (the trial's
   * {@code hospes run /dev/zero} was still silent after 30 s). A pipe is read as a file.
   */
  @Test
  void aDeviceIsRefusedAndAPipeIsRead() throws Exception {
    assumeTrue(Files.exists(Path.of("/dev/zero")) && new java.io.File("/usr/bin/mkfifo")
        .canExecute(), "/dev/zero and mkfifo(1) are needed");
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () ->
        assertThatThrownBy(() -> KernelFiles.read(Path.of("/dev/zero")))
            .isInstanceOf(BootException.class).hasMessage("is a device, not a file"));
    Path fifo = dir.resolve("fifo");
    assertThat(new ProcessBuilder("/usr/bin/mkfifo", fifo.toString()).start().waitFor())
        .isZero();
    byte[] bytes = {1, 2, 3, 4, 5};
    Thread writer = new Thread(() -> {
      try {
        Files.write(fifo, bytes);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    writer.start();
    assertThat(KernelFiles.read(fifo)).isEqualTo(bytes);
    writer.join();
  }
}
