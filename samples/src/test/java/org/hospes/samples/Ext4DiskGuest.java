package org.hospes.samples;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the Debian disk tests share, whatever the path to the disk (xen-blkfront, ata_piix,
 * virtio_blk): an ext4 image made by {@code mke2fs -d} from a tree holding Debian's
 * busybox-static:i386, an initramfs whose /init ({@code samples/linux/blk-init.c}) loads the
 * given modules in order, mounts the disk and has busybox write /hello.txt on it, and host
 * commands to check the image afterwards (debugfs, e2fsck).
 */
final class Ext4DiskGuest {
  /** ext4 with its dependencies, in load order. */
  static final List<String> EXT4 = List.of("crc16.ko", "mbcache.ko", "jbd2.ko",
      "crc32c_generic.ko", "ext4.ko");

  private Ext4DiskGuest() {}

  /** Runs a host command in {@code dir}; fails the test with its output unless it exits 0. */
  static String run(Path dir, String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int rc = p.waitFor();
    if (rc != 0) {
      fail(String.join(" ", cmd) + " exited with " + rc + ": " + out);
    }
    return out;
  }

  /**
   * The initramfs in {@code dir} with blk-init as /init and {@code modules} (file names in
   * {@code moduleDir}, the fetch script's modules/) loaded in that order.
   */
  static Path initramfs(Path dir, Path moduleDir, List<String> modules)
      throws IOException, InterruptedException {
    return DebianKernel.initramfs(dir, "blk-init.c", cpio -> {
      cpio.directory("root");
      cpio.directory("modules");
      for (String m : modules) {
        Path ko = moduleDir.resolve(m);
        if (!Files.isRegularFile(ko)) {
          fail(ko + " is missing: run samples/linux/fetch-debian-kernel.sh (./test does)");
        }
        try {
          cpio.file("modules/" + m, Files.readAllBytes(ko), 0644);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
      cpio.file("modules/order", (String.join("\n", modules) + "\n")
          .getBytes(StandardCharsets.US_ASCII), 0644);
    });
  }

  /** A 16 MiB ext4 image {@code dir}/disk.img holding /bin/busybox. */
  static Path ext4Image(Path dir) throws IOException, InterruptedException {
    Path busybox = Path.of("/bin/busybox");
    if (!Files.isRegularFile(busybox)
        || !run(dir, "file", "-L", busybox.toString()).contains("Intel 80386")) {
      fail("/bin/busybox is not i386: apt-get install busybox-static:i386 (./test does)");
    }
    Path tree = dir.resolve("tree");
    Files.createDirectories(tree.resolve("bin"));
    Files.copy(busybox, tree.resolve("bin/busybox"));
    tree.resolve("bin/busybox").toFile().setExecutable(true);
    Path img = dir.resolve("disk.img");
    run(dir, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree.toString(), img.toString(), "16M");
    return img;
  }
}
