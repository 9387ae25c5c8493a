package org.hospes.samples;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What the Debian Linux boot tests share: the kernel ({@code samples/linux/fetch-debian-kernel.sh}
 * caches it; {@code -Dhospes.linux.vmlinuz} overrides) and initramfs images whose /init is built
 * from a C file of {@code samples/linux}.
 */
final class DebianKernel {
  private DebianKernel() {}

  /** Debian's 686-pae bzImage, as the package ships it; fails the test when it is missing. */
  static Path vmlinuz() {
    String prop = System.getProperty("hospes.linux.vmlinuz");
    Path p = prop != null && !prop.isEmpty() ? Path.of(prop)
        : Path.of(System.getProperty("user.home"), ".cache/hospes/debian-kernel/vmlinuz");
    if (!Files.isRegularFile(p)) {
      fail("Debian's kernel is not at " + p + ": run samples/linux/fetch-debian-kernel.sh"
          + " (./test does)");
    }
    return p;
  }

  /**
   * A newc initramfs in {@code dir}: /dev, /proc, /init built from {@code samples/linux/init.c}
   * (prints the uptime and powers off), and {@code extra} files (name to bytes, mode 0644).
   */
  static Path initramfs(Path dir, Map<String, byte[]> extra)
      throws IOException, InterruptedException {
    return initramfs(dir, "init.c", cpio -> {
      for (Map.Entry<String, byte[]> e : extra.entrySet()) {
        cpio.file(e.getKey(), e.getValue(), 0644);
      }
    });
  }

  /**
   * A newc initramfs in {@code dir}: /dev, /proc, /init built with {@code gcc -m32 -static} from
   * {@code samples/linux/<initSource>}, and what {@code more} adds.
   */
  static Path initramfs(Path dir, String initSource, Consumer<Cpio> more)
      throws IOException, InterruptedException {
    Path init = dir.resolve("init");
    Process gcc = new ProcessBuilder("gcc", "-m32", "-static", "-O2", "-o", init.toString(),
        TestKernels.root().resolve("samples/linux").resolve(initSource).toString())
        .redirectErrorStream(true).start();
    String out = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (gcc.waitFor() != 0) {
      fail("gcc -m32 -static failed (install gcc-multilib): " + out);
    }
    Cpio cpio = new Cpio();
    cpio.directory("dev");
    cpio.directory("proc");
    more.accept(cpio);
    cpio.file("init", Files.readAllBytes(init), 0755);
    Path img = dir.resolve("initramfs.cpio");
    Files.write(img, cpio.finish());
    return img;
  }
}
