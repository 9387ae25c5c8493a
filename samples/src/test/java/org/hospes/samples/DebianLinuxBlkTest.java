package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

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
  static final List<String> MODULES = java.util.stream.Stream.concat(
      java.util.stream.Stream.of("xen-blkfront.ko"), Ext4DiskGuest.EXT4.stream()).toList();

  @TempDir
  Path tmp;

  static String run(Path dir, String... cmd) throws IOException, InterruptedException {
    return Ext4DiskGuest.run(dir, cmd);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"raw", "qcow2"})
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void linuxsOwnBlkfrontWritesAFileOnAnExt4Image(String format) throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    Path initrd = Ext4DiskGuest.initramfs(tmp, vmlinuz.resolveSibling("modules"), MODULES);
    Path raw = Ext4DiskGuest.ext4Image(tmp);
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
