package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.backend.blk.BlkStats;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The PV disk's acceptance test: Debian's unmodified 686-pae kernel in a PVH domain loads its
 * own xen-blkfront (and ext4) modules from the package, mounts an ext4 image made by
 * {@code mke2fs -d} from a tree holding Debian's busybox-static:i386 as xvda, runs that busybox
 * to write /hello.txt, syncs, unmounts and powers off. The host then reads the file out of the
 * image with debugfs, and e2fsck -fn finds the file system clean. The same runs on a qcow2
 * image that {@code qemu-img convert} made from the ext4 image: afterwards {@code qemu-img check}
 * must find it clean, and the file is read from its conversion back to raw.
 */
class DebianLinuxBlkTest {
  private static final List<String> MODULES = List.of("xen-blkfront.ko", "crc16.ko",
      "mbcache.ko", "jbd2.ko", "crc32c_generic.ko", "ext4.ko");

  @TempDir
  Path tmp;

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
   * The disk test's initramfs in {@code tmp}: blk-init with xen-blkfront, ext4 and their
   * dependencies from the kernel package's {@code modules} directory.
   */
  static Path blkInitramfs(Path tmp, Path modules) throws IOException, InterruptedException {
    return DebianKernel.initramfs(tmp, "blk-init.c", cpio -> {
      cpio.directory("root");
      cpio.directory("modules");
      for (String m : MODULES) {
        Path ko = modules.resolve(m);
        if (!Files.isRegularFile(ko)) {
          fail(ko + " is missing: run samples/linux/fetch-debian-kernel.sh (./test does)");
        }
        try {
          cpio.file("modules/" + m, Files.readAllBytes(ko), 0644);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
      cpio.file("modules/order", (String.join("\n", MODULES) + "\n")
          .getBytes(StandardCharsets.US_ASCII), 0644);
    });
  }

  /** A 16 MiB ext4 image in {@code tmp} holding Debian's busybox-static:i386 as /bin/busybox. */
  static Path ext4Image(Path tmp) throws IOException, InterruptedException {
    Path busybox = Path.of("/bin/busybox");
    if (!Files.isRegularFile(busybox)
        || !run(tmp, "file", "-L", busybox.toString()).contains("Intel 80386")) {
      fail("/bin/busybox is not i386: apt-get install busybox-static:i386 (./test does)");
    }
    Path tree = tmp.resolve("tree");
    Files.createDirectories(tree.resolve("bin"));
    Files.copy(busybox, tree.resolve("bin/busybox"));
    tree.resolve("bin/busybox").toFile().setExecutable(true);
    Path img = tmp.resolve("disk.img");
    run(tmp, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree.toString(), img.toString(), "16M");
    return img;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"raw", "qcow2"})
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void linuxsOwnBlkfrontWritesAFileOnAnExt4Image(String format) throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    Path initrd = blkInitramfs(tmp, vmlinuz.resolveSibling("modules"));
    Path raw = ext4Image(tmp);
    Path img = raw;
    if (format.equals("qcow2")) {
      img = tmp.resolve("disk.qcow2");
      run(tmp, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), img.toString());
      Files.delete(raw);
    }
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.PVH, 256, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    DiskSpec spec = DiskSpec.parse(img + ",format=" + format, 0, null);
    DiskImage disk = spec.open();
    m.addDisk(spec, disk);
    m.loadPvh(vmlinuz, "console=hvc0 cryptomgr.notests", null, List.of(initrd));
    RunResult r = m.run(4_000_000_000L);
    String text = console.toString(StandardCharsets.ISO_8859_1);
    assertThat(text)
        .as("console (run ended: %s; %s)", r, diag)
        .contains("blkfront: xvda: flush diskcache: enabled; persistent grants: enabled;"
            + " indirect descriptors: enabled")
        .contains("EXT4-fs (xvda): mounted filesystem")
        .contains("written by busybox 6.1.0-")
        .contains("blk-init: busybox exited with 0, disk unmounted");
    assertThat(r.exitStatus()).as("%s %s", r, diag).isZero();
    BlkStats s = m.blockBackends().get(0).stats();
    assertThat(s.writes).isPositive();
    assertThat(s.flushes).isPositive();
    assertThat(s.indirectRequests + s.persistentHits).isPositive();
    assertThat(s.errors).isZero();
    disk.close(); // releases the image's lock, so qemu-img may open it
    if (format.equals("qcow2")) {
      assertThat(run(tmp, "qemu-img", "check", "-f", "qcow2", img.toString()))
          .contains("No errors were found on the image.");
      run(tmp, "qemu-img", "convert", "-f", "qcow2", "-O", "raw", img.toString(), raw.toString());
    }
    assertThat(run(tmp, "debugfs", "-R", "cat /hello.txt", raw.toString()))
        .contains("written by busybox 6.1.0-")
        .contains("through xen-blkfront");
    run(tmp, "e2fsck", "-fn", raw.toString());
  }
}
