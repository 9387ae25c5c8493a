package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.devicemodel.ide.IdeStats;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.plugin.HostPlugins;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * samples/guests/disk-bench over the emulated IDE disk, through the SDK's ATA driver
 * (guest-sdk/c/src/ata.c): on the bare PC's own PIIX3 (native) and through dom0's device model
 * (hvm). The guest checks every page it reads back; the host then reads the image back and
 * finds it byte for byte what the same workload leaves through blkfront and blkback (pvh), so
 * the driver wrote every sector where it said, no more and no fewer. The device model counted
 * the PIO sectors and flushes the workload asks for, with no command aborted. The driver's
 * error paths: no disk is a clear failure, a read-only disk's aborted write is -XEN_EIO.
 */
class IdeDiskBenchGuestTest {
  /** What disk-bench writes: 512 KiB twice (4 and 64 KiB blocks) and 16 random blocks of each. */
  private static final long BYTES_WRITTEN = 2 * (512 << 10) + 16 * 4096 + 16 * 65536;

  @TempDir
  Path tmp;

  private static Path elf() throws Exception {
    Path root = TestKernels.root();
    return new GuestBuilder(root.resolve("guest-sdk/c"), root.resolve("samples/target/guests"))
        .build("disk-bench", List.of(root.resolve("samples/guests/disk-bench/disk-bench.c")));
  }

  private Path blank(String name) throws Exception {
    Path img = tmp.resolve(name);
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    return img;
  }

  private record Run(RunResult result, String console, IdeStats ide) {}

  private static Run hvm(DomainMode mode, String disk) throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(mode, 16, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    DiskImage image = null;
    if (disk != null) {
      DiskSpec spec = DiskSpec.parse(disk, 0, null);
      image = spec.open();
      m.addDisk(spec, image);
    }
    byte[] elf = Files.readAllBytes(elf());
    KernelLoader loader = HostPlugins.classPath().kernelLoaders()
        .choose(null, BootMode.of(mode), elf);
    m.load(loader, elf, "disk-bench.elf", new BootRequest("", List.of()), null);
    RunResult r = m.run(500_000_000L);
    if (image != null) {
      image.close();
    }
    return new Run(r, console.toString(StandardCharsets.ISO_8859_1) + diag,
        m.ide() == null ? null : m.ide().stats());
  }

  private static Run nativeRun(Path img) throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    DiskSpec spec = DiskSpec.parse(img + ",format=raw,vdev=hda,bus=ide", 0, null);
    try (DiskImage image = spec.open()) {
      NativeMachine m = NativeMachine.builder().ramMiB(16).serialOut(console)
          .diagnostics(new PrintStream(diag, true, StandardCharsets.UTF_8))
          .ideDisk(image).build();
      byte[] elf = Files.readAllBytes(elf());
      KernelLoader loader = HostPlugins.classPath().kernelLoaders()
          .choose(null, BootMode.NATIVE, elf);
      m.load(loader, elf, "disk-bench.elf", new BootRequest("", List.of()));
      RunResult r = m.run(500_000_000L);
      return new Run(r, console.toString(StandardCharsets.ISO_8859_1) + diag, m.ide().stats());
    }
  }

  /** The guest's own checks passed, and the IDE model saw the workload's sectors. */
  private static void checkIdeRun(Run run) {
    assertThat(run.console()).as("%s", run.result())
        .contains("disk-bench: hda 2048 sectors of 512 bytes (ide, HOSPES HARDDISK)\n")
        .contains("disk-bench: ok, ");
    assertThat(run.result().exitStatus()).as(run.console()).isZero();
    for (int kib : new int[] {4, 64}) {
      assertThat(checksum(run.console(), "seq write", kib))
          .isEqualTo(checksum(run.console(), "seq read", kib));
    }
    IdeStats s = run.ide();
    assertThat(s.pioSectorsWritten).isEqualTo(BYTES_WRITTEN / 512);
    assertThat(s.pioSectorsRead).isEqualTo(BYTES_WRITTEN / 512);
    assertThat(s.flushes).isEqualTo(4);
    assertThat(s.aborted + s.idNotFound + s.mediaErrors).isZero();
  }

  @Test
  @Timeout(value = 600, unit = TimeUnit.SECONDS)
  void theIdePathLeavesTheDiskAsBlkfrontDoesInNativeAndHvm() throws Exception {
    Path viaNative = blank("native.img");
    Path viaHvm = blank("hvm.img");
    Path viaPv = blank("pvh.img");
    checkIdeRun(nativeRun(viaNative));
    checkIdeRun(hvm(DomainMode.HVM_EPT, viaHvm + ",format=raw,vdev=hda,bus=ide"));
    Run pv = hvm(DomainMode.PVH, viaPv + ",format=raw,vdev=xvda");
    assertThat(pv.console()).contains("disk-bench: xvda 2048 sectors").contains("disk-bench: ok");
    assertThat(pv.result().exitStatus()).isZero();
    // The host's read-back: the same blocks, in the same places, with the same generations.
    byte[] want = Files.readAllBytes(viaPv);
    assertThat(want).as("blkfront wrote the disk").isNotEqualTo(new byte[1 << 20]);
    assertThat(Files.readAllBytes(viaNative)).as("native IDE image").isEqualTo(want);
    assertThat(Files.readAllBytes(viaHvm)).as("hvm IDE image").isEqualTo(want);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void withoutADiskTheDriverFailsClearly() throws Exception {
    Run r = hvm(DomainMode.HVM_EPT, null);
    // A channel with no drive floats (status FFh): -XEN_ENOENT, and the bench stops.
    assertThat(r.console()).contains("disk-bench: ata_open hda failed (-2)");
    assertThat(r.result().exitStatus()).isEqualTo(3);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void aReadOnlyDisksAbortedWriteIsAnIoError() throws Exception {
    Run r = hvm(DomainMode.HVM_EPT, blank("ro.img") + ",format=raw,vdev=hda,bus=ide,access=ro");
    // The drive sets ERR with ABRT in the error register: the driver returns -XEN_EIO.
    assertThat(r.console()).contains("disk-bench: hda 2048 sectors")
        .contains("disk-bench: write failed (-5)");
    assertThat(r.result().exitStatus()).isEqualTo(3);
    assertThat(r.ide().aborted).isEqualTo(1);
  }

  /** {@code hospes run --mode native --disk IMG}: the bare PC's IDE disk from the command line. */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void theRunCommandGivesTheBarePcItsIdeDisk() throws Exception {
    Path img = blank("cli.img");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = org.hospes.dom0.cli.HospesCli.newCommandLine(
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute("run", "--mode", "native", "--disk", img.toString(), elf().toString());
    String text = out.toString(StandardCharsets.ISO_8859_1);
    assertThat(status).as(text + err).isZero();
    assertThat(text).contains("disk-bench: hda 2048 sectors").contains("disk-bench: ok, ");
    assertThat(Files.readAllBytes(img)).isNotEqualTo(new byte[1 << 20]);
    // A PV disk has no place on the bare PC.
    err.reset();
    status = org.hospes.dom0.cli.HospesCli.newCommandLine(
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute("run", "--mode", "native", "--disk", img + ",bus=xen", elf().toString());
    assertThat(status).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("native mode has only the PIIX3's IDE disks");
  }

  private static String checksum(String text, String phase, int kib) {
    Matcher mt = Pattern.compile("disk-bench: " + phase + " " + kib
        + " KiB x \\d+: \\d+ KiB/s \\(virtual\\), checksum ([0-9a-f]{8})").matcher(text);
    assertThat(mt.find()).as(phase + " " + kib).isTrue();
    return mt.group(1);
  }
}
