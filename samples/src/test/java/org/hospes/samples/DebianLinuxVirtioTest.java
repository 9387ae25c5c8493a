package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.LinuxKernelLoader;
import org.hospes.dom0.devicemodel.virtio.VirtioBlk;
import org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * virtio's acceptance test: Debian's unmodified 686-pae kernel in an HVM domain (EPT, and shadow
 * paging), booted by the Linux boot protocol, loads the package's own virtio_pci (which takes the transitional device
 * 1AF4:1001 with its legacy driver) and virtio_blk, reads the whole disk (16 MiB, the figure for
 * the block path), mounts the ext4 image as /dev/vda, runs
 * busybox from it to write /hello.txt, syncs, unmounts and ends the run through isa-debug-exit.
 * The host then reads the file with debugfs and e2fsck -fn finds the file system clean.
 * virtio_pci takes the device's MSI-X (a configuration vector and one for the request queue,
 * delivered to the local APICs by the hypervisor) and /proc/interrupts shows them as PCI-MSI;
 * with {@code pci=nomsi} the driver falls back to INTA# through the I/O APIC.
 */
@Tag("linux-long")
class DebianLinuxVirtioTest {
  static final List<String> VIRTIO_PCI = List.of("virtio_ring.ko", "virtio.ko",
      "virtio_pci_legacy_dev.ko", "virtio_pci_modern_dev.ko", "virtio_pci.ko");

  @TempDir
  Path tmp;

  /**
   * EPT and shadow paging (MSI-X), and EPT with Linux's MSI turned off (INTx through the I/O
   * APIC); {@code -Dhospes.virtio.runs=hvm} for one.
   */
  static Stream<String> runs() {
    return Stream.of(System.getProperty("hospes.virtio.runs", "hvm,hvm-shadow,hvm pci=nomsi")
        .split(","));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runs")
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void linuxsVirtioBlkWritesAFileOnAnExt4Image(String run) throws Exception {
    String mode = run.split(" ")[0];
    boolean nomsi = run.contains("pci=nomsi");
    boolean msi = !nomsi;
    Path vmlinuz = DebianKernel.vmlinuz();
    List<String> modules = Stream.of(VIRTIO_PCI.stream(), Stream.of("virtio_blk.ko"),
        Ext4DiskGuest.EXT4.stream()).flatMap(s -> s).toList();
    Path initrd = Ext4DiskGuest.initramfs(tmp, vmlinuz.resolveSibling("modules"), modules);
    Path raw = Ext4DiskGuest.ext4Image(tmp);
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.byCliName(mode), 256, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    DiskSpec spec = DiskSpec.parse(raw + ",format=raw,bus=virtio", 0, null);
    DiskImage disk = spec.open();
    m.addDisk(spec, disk);
    // hospes.readmb=16: blk-init first reads the whole 16 MiB disk (page cache, 64 KiB reads).
    String cmdline = "console=ttyS0 cryptomgr.notests hospes.exit=isa hospes.disk=vda"
        + " hospes.driver=virtio_blk hospes.readmb=16 hospes.interrupts"
        + (nomsi ? " pci=nomsi" : "");
    long t0 = System.nanoTime();
    m.load(new LinuxKernelLoader(), KernelFiles.read(vmlinuz), vmlinuz.toString(),
        new BootRequest(cmdline, List.of(new BootModule(
            java.nio.file.Files.readAllBytes(initrd), "initrd"))), null);
    RunResult r = m.run(8_000_000_000L);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    String text = console.toString(StandardCharsets.ISO_8859_1);
    VirtioPciLegacy dev = m.virtioDevices().get(0);
    VirtioBlk blk = (VirtioBlk) dev.device();
    System.out.printf("virtio-blk %s: %d ms host, %d instructions, reads %d (%d B) writes %d"
        + " (%d B) flushes %d errors %d, notifies %d interrupts %d suppressed %d, ioreqs %d%n",
        run, ms, r.instructions(), blk.reads, blk.bytesRead, blk.writes, blk.bytesWritten,
        blk.flushes, blk.errors, dev.notifications(), dev.interrupts(),
        dev.suppressedInterrupts(), m.deviceModel().requests());
    org.hospes.hv.stats.Counters c = m.domain().totals();
    StringBuilder exits = new StringBuilder();
    c.exitsByReason().forEach((k, v) -> exits.append(' ').append(k).append('=').append(v[0]));
    System.out.printf("virtio-blk %s: virtual cycles %d, exits %d:%s%n", run,
        m.hypervisor().now(), c.totalExits(), exits);
    var platform = m.hypervisor().platform(m.domain());
    System.out.printf("virtio-blk %s: MSI-X messages %d, MSIs delivered %d dropped %d%n", run,
        dev.msix().messages(), platform.msiDelivered(), platform.msiDropped());
    assertThat(text)
        .as("console (run ended: %s; %s)", r, diag)
        .contains("virtio_blk virtio0: [vda] 32768 512-byte logical blocks")
        .contains("blk-init: read 16777216 bytes of /dev/vda")
        .contains("EXT4-fs (vda): mounted filesystem")
        .contains("written by busybox 6.1.0-")
        .contains("blk-init: busybox exited with 0, disk unmounted");
    assertThat(r.exitStatus()).as("%s %s", r, diag).isEqualTo(1);
    String interrupts = text.substring(text.indexOf("blk-init: /proc/interrupts"));
    if (msi) {
      assertThat(interrupts).containsPattern("PCI-MSI[^\n]*virtio0-config")
          .containsPattern("PCI-MSI[^\n]*virtio0-req\\.0");
      assertThat(dev.msix().messages()).isPositive();
      assertThat(platform.msiDelivered()).isEqualTo(dev.msix().messages());
      assertThat(platform.msiDropped()).isZero();
    } else {
      assertThat(interrupts).containsPattern("IO-APIC[^\n]*fasteoi[^\n]*virtio0")
          .doesNotContain("PCI-MSI");
      assertThat(dev.msix().messages()).isZero();
    }
    assertThat(blk.writes).isPositive();
    assertThat(blk.flushes).isPositive();
    assertThat(blk.errors).isZero();
    assertThat(dev.needsResets()).isZero();
    disk.close();
    assertThat(Ext4DiskGuest.run(tmp, "debugfs", "-R", "cat /hello.txt", raw.toString()))
        .contains("written by busybox 6.1.0-")
        .contains("through virtio_blk");
    Ext4DiskGuest.run(tmp, "e2fsck", "-fn", raw.toString());
  }
}
