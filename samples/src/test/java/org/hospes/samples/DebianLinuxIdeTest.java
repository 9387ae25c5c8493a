package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.LinuxKernelLoader;
import org.hospes.dom0.devicemodel.ide.IdeStats;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.stats.Counters;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The emulated disk's acceptance test: Debian's unmodified 686-pae bzImage in an HVM domain
 * (booted by the Linux boot protocol, no BIOS) loads its own ata_piix, libata, sd_mod and ext4
 * modules from the package, finds the PIIX3 IDE function at 00:01.1 in compatibility mode, takes
 * the ext4 image (a {@code --disk} with the hvm default, bus=ide: primary master) as sda,
 * mounts it, has busybox write /hello.txt, syncs, unmounts and ends the run through
 * isa-debug-exit. The host then finds the file with debugfs and e2fsck -fn finds the image
 * clean. Tagged {@code linux-long}.
 */
@Tag("linux-long")
class DebianLinuxIdeTest {
  private static final List<String> MODULES = Stream.concat(Stream.of("scsi_common.ko",
      "scsi_mod.ko", "libata.ko", "ata_piix.ko", "crct10dif_common.ko", "crct10dif_generic.ko",
      "crc-t10dif.ko", "crc64.ko", "crc64_rocksoft_generic.ko", "crc64-rocksoft.ko", "t10-pi.ko",
      "sd_mod.ko"), Ext4DiskGuest.EXT4.stream()).toList();

  @TempDir
  Path tmp;

  /** Both HVM modes; {@code -Dhospes.ide.modes=hvm} for one. */
  static Stream<String> modes() {
    return Stream.of(System.getProperty("hospes.ide.modes", "hvm,hvm-shadow").split(","));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("modes")
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void linuxsAtaPiixWritesAFileOnAnExt4Image(String mode) throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    Path initrd = Ext4DiskGuest.initramfs(tmp, vmlinuz.resolveSibling("modules"), MODULES);
    Path raw = Ext4DiskGuest.ext4Image(tmp);
    int ddMiB = Integer.getInteger("hospes.ide.ddmb", 0);
    String cmdline = "console=ttyS0 cryptomgr.notests hospes.exit=isa hospes.disk=sda"
        + " hospes.driver=ata_piix hospes.ddmb=" + ddMiB;
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(mode.equals("hvm") ? DomainMode.HVM_EPT
        : DomainMode.HVM_SHADOW, 256, console, new PrintStream(diag, true,
        StandardCharsets.UTF_8));
    DiskSpec spec = DiskSpec.parse(raw.toString(), 0, null);
    DiskImage disk = spec.open();
    m.addDisk(spec, disk);
    byte[] initramfs = java.nio.file.Files.readAllBytes(initrd);
    m.load(new LinuxKernelLoader(), KernelFiles.read(vmlinuz), vmlinuz.toString(),
        new BootRequest(cmdline, List.of(new BootModule(initramfs, "initrd"))), null);
    long host = System.nanoTime();
    RunResult r = m.run(8_000_000_000L);
    host = System.nanoTime() - host;
    String text = console.toString(StandardCharsets.ISO_8859_1);
    java.nio.file.Files.writeString(Path.of(System.getProperty("java.io.tmpdir"),
        "hospes-ide-" + mode + ".log"), text + "\n--- " + r + "\n" + diag);
    IdeStats s = m.ide().stats();
    Counters c = m.domain().totals();
    System.out.printf("ide %s: %s%n  ioreqs=%d exits=%d cycles=%d instructions=%d host=%.1fs"
        + " dd=%dMiB%n", mode, s, c.ioreqs, c.totalExits(), c.cycles, c.instructions,
        host / 1e9, ddMiB);
    for (Map.Entry<String, long[]> e : c.exitsByReason().entrySet()) {
      System.out.printf("  exit %-24s %,12d %,16d cycles%n", e.getKey(), e.getValue()[0],
          e.getValue()[1]);
    }
    assertThat(text)
        .as("console (run ended: %s; %s)", r, diag)
        .contains("pci 0000:00:01.1: [8086:7010] type 00 class 0x010180")
        .contains("scsi host0: ata_piix")
        .contains("ata1: PATA max MWDMA2 cmd 0x1f0 ctl 0x3f6 bmdma 0x")
        .contains("ata1.00: ATA-6: HOSPES HARDDISK, 1.0, max UDMA/100")
        .contains("sd 0:0:0:0: [sda] 32768 512-byte logical blocks")
        .contains("EXT4-fs (sda): mounted filesystem")
        .contains("written by busybox 6.1.0-")
        .contains("blk-init: busybox exited with 0, disk unmounted")
        .doesNotContain("Kernel panic");
    assertThat(r.exitStatus()).as("%s %s", r, diag).isEqualTo(1);
    assertThat(s.dmaSectorsWritten).as("libata uses bus-master DMA (MWDMA2)").isPositive();
    assertThat(s.flushes).isPositive();
    assertThat(s.aborted + s.idNotFound + s.mediaErrors + s.dmaFaults + s.shortTables).as("%s", s).isZero();
    disk.close();
    assertThat(Ext4DiskGuest.run(tmp, "debugfs", "-R", "cat /hello.txt", raw.toString()))
        .contains("written by busybox 6.1.0-")
        .contains("through ata_piix");
    Ext4DiskGuest.run(tmp, "e2fsck", "-fn", raw.toString());
  }
}
