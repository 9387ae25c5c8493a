package org.hospes.samples;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;
import org.hospes.dom0.boot.NewcArchive;

/**
 * What the Debian Linux boot tests share: the kernel ({@code samples/linux/fetch-debian-kernel.sh}
 * caches it; {@code -Dhospes.linux.vmlinuz} overrides) and initramfs images whose /init is built
 * from a C file of {@code samples/linux}.
 */
final class DebianKernel {
  private DebianKernel() {}

  /** The translator's {@code --stats} line for {@code cpu}, or "interpreter" without one. */
  static String engineLine(org.hospes.x86.Cpu cpu) {
    String line = org.hospes.dom0.cli.EngineOption.statsLine(
        java.util.Collections.singletonList(cpu.jit()));
    return line == null ? "interpreter" : line.replace("hospes: ", "");
  }

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
   * A newc initramfs whose /init is the busybox shell script {@code samples/linux/<initScript>},
   * run by the host's /bin/busybox (busybox-static:i386) with the kernel package's own
   * xen-netfront.ko in /modules; {@code extra} maps more paths (parents included) to files of
   * {@code samples/linux}, installed executable.
   */
  static byte[] netfrontInitramfs(String initScript, Map<String, String> extra)
      throws IOException {
    return busyboxInitramfs(initScript, java.util.List.of("xen-netfront.ko"), extra);
  }

  /**
   * A newc initramfs whose /init is the busybox shell script {@code samples/linux/<initScript>},
   * run by the host's /bin/busybox (busybox-static:i386), with the kernel package's modules
   * {@code modules} in /modules (the script loads them); {@code extra} maps more paths (parents
   * included) to files of {@code samples/linux}, installed executable.
   */
  static byte[] busyboxInitramfs(String initScript, java.util.List<String> modules,
      Map<String, String> extra) throws IOException {
    Path dir = vmlinuz().resolveSibling("modules");
    for (String m : modules) {
      if (!Files.isRegularFile(dir.resolve(m))) {
        fail(dir.resolve(m) + " is missing: run samples/linux/fetch-debian-kernel.sh"
            + " (./test does)");
      }
    }
    Path busybox = Path.of("/bin/busybox");
    if (!Files.isRegularFile(busybox)) {
      fail("/bin/busybox is missing: apt-get install busybox-static:i386 (./test does)");
    }
    Path linux = TestKernels.root().resolve("samples/linux");
    NewcArchive cpio = new NewcArchive();
    java.util.Set<String> dirs = new java.util.LinkedHashSet<>(
        java.util.List.of("dev", "proc", "sys", "bin", "modules"));
    for (String path : extra.keySet()) {
      for (int i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
        dirs.add(path.substring(0, i));
      }
    }
    for (String d : dirs) {
      cpio.directory(d);
    }
    cpio.file("bin/busybox", Files.readAllBytes(busybox), 0755);
    for (String m : modules) {
      cpio.file("modules/" + m, Files.readAllBytes(dir.resolve(m)), 0644);
    }
    for (Map.Entry<String, String> e : extra.entrySet()) {
      cpio.file(e.getKey(), Files.readAllBytes(linux.resolve(e.getValue())), 0755);
    }
    cpio.file("init", Files.readAllBytes(linux.resolve(initScript)), 0755);
    return cpio.finish();
  }

  /**
   * A newc initramfs in {@code dir}: /dev, /proc, /init built with {@code gcc -m32 -static} from
   * {@code samples/linux/<initSource>}, and what {@code more} adds.
   */
  static Path initramfs(Path dir, String initSource, Consumer<NewcArchive> more)
      throws IOException, InterruptedException {
    Path init = dir.resolve("init");
    Process gcc = new ProcessBuilder("gcc", "-m32", "-static", "-O2", "-o", init.toString(),
        TestKernels.root().resolve("samples/linux").resolve(initSource).toString())
        .redirectErrorStream(true).start();
    String out = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (gcc.waitFor() != 0) {
      fail("gcc -m32 -static failed (install gcc-multilib): " + out);
    }
    NewcArchive cpio = new NewcArchive();
    cpio.directory("dev");
    cpio.directory("proc");
    more.accept(cpio);
    cpio.file("init", Files.readAllBytes(init), 0755);
    Path img = dir.resolve("initramfs.cpio");
    Files.write(img, cpio.finish());
    return img;
  }
}
