package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.backend.blk.BlkStats;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.LinuxKernelLoader;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.xen.Unplugs;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PVHVM's acceptance tests: Debian's unmodified 686-pae bzImage, booted by the Linux boot
 * protocol in an HVM domain with Xen's platform PCI device, finds Xen by CPUID, speaks the
 * unplug protocol (unplugging emulated disks and NICs, as a kernel with blkfront and netfront
 * does), binds its xen-platform-pci driver to 00:03.0, sets up grant tables in the device's
 * BAR1 and takes event channels by the callback vector; then the PVH tests' workloads run
 * through its own xen-blkfront (an ext4 image, e2fsck clean afterwards) and xen-netfront (DHCP,
 * ping and wget through NAT). Tagged {@code linux-long}.
 */
@Tag("linux-long")
class DebianLinuxPvhvmTest {
  @TempDir
  Path tmp;

  /** What the console shows of the platform device and the unplug, in any PVHVM boot. */
  static void showsThePlatformDeviceAndTheUnplug(String text) {
    assertThat(text).as("console:\n%s", text)
        .contains("Booting paravirtualized kernel on Xen HVM")
        .contains("pci 0000:00:03.0: [5853:0001] type 00 class 0xff8000")
        .contains("Netfront and the Xen platform PCI driver have been compiled for this kernel:"
            + " unplug emulated NICs.")
        .contains("Blkfront and the Xen platform PCI driver have been compiled for this kernel:"
            + " unplug emulated disks.")
        .contains("Grant tables using version 1 layout");
  }

  /**
   * Linux prefers the callback vector; with {@code xen_no_vector_callback} its platform driver
   * asks for the device's interrupt instead. The domain has an HVM PC's ACPI tables (hvmloader
   * writes them for every HVM guest, one vCPU or more), so Linux runs the I/O APIC and takes
   * the device's INTA# from the DSDT's _PRT: GSI 28 (Xen's hvm_pci_intx_gsi for slot 3). That is
   * no ISA IRQ, so its get_callback_via names the line by PCI INTx (00:03.0, INTA#) rather than
   * a GSI, and every event arrives as that pin's level on the I/O APIC. (Without tables, as
   * before, Linux ran the PIC and the line was IRQ 11, through PIRQD#, named as GSI 11.)
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"vector", "gsi"})
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void linuxsBlkfrontInPvhvmWritesAFileOnAnExt4Image(String callback) throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    Path initrd = Ext4DiskGuest.initramfs(tmp, vmlinuz.resolveSibling("modules"),
        DebianLinuxBlkTest.MODULES);
    Path img = Ext4DiskGuest.ext4Image(tmp);
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.PVHVM, 256, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    DiskSpec spec = DiskSpec.parse(img.toString(), 0, null);
    DiskImage disk = spec.open();
    m.addDisk(spec, disk);
    BootRequest request = new BootRequest("console=hvc0 earlyprintk=serial cryptomgr.notests"
        + (callback.equals("gsi") ? " xen_no_vector_callback" : ""),
        List.of(new BootModule(java.nio.file.Files.readAllBytes(initrd), "initrd")));
    m.load(new LinuxKernelLoader(), KernelFiles.read(vmlinuz), vmlinuz.toString(), request,
        null);
    RunResult r = m.run(6_000_000_000L);
    String text = console.toString(StandardCharsets.ISO_8859_1);
    if (Boolean.getBoolean("hospes.pvhvm.verbose")) {
      System.out.println(text + "\n" + diag + "\n" + r);
    }
    showsThePlatformDeviceAndTheUnplug(text);
    assertThat(text)
        .as("console (run ended: %s; %s)", r, diag)
        .contains("blkfront: xvda: flush diskcache: enabled")
        .contains("EXT4-fs (xvda): mounted filesystem")
        .contains("written by busybox 6.1.0-")
        .contains("blk-init: busybox exited with 0, disk unmounted")
        .doesNotContain("Kernel panic");
    assertThat(r.exitStatus()).as("%s %s", r, diag).isZero();
    org.hospes.hv.hvm.HvmPlatform platform = m.hypervisor().platform(m.domain());
    if (callback.equals("gsi")) {
      assertThat(platform.callbackVia().describe()).isEqualTo("PCI INTx 00:03 INTA#");
      assertThat(platform.callbackAssertions()).isPositive();
      // The line is the pin the _PRT names, GSI 28, and Linux ran the I/O APIC (its
      // shutdown masks every pin again, so the RTE is not looked at after the poweroff).
      assertThat(org.hospes.dom0.acpi.Dsdt.pciIntxGsi(3, 0)).isEqualTo(28);
      assertThat(platform.ioapic().delivered()).isPositive();
    } else {
      assertThat(platform.callbackVia().describe()).isEqualTo("vector 0xf3");
    }
    HvmDeviceModel dm = m.deviceModel();
    // Linux's platform-pci-unplug: product "linux" (3), then disks and NICs.
    assertThat(dm.unplugPorts().product()).isEqualTo(3);
    assertThat(dm.unplugs().lastMask()).isEqualTo(Unplugs.ALL_IDE_DISKS | Unplugs.ALL_NICS);
    assertThat(dm.log()).anyMatch(l -> l.startsWith("guest unplug request 0x0003"));
    // The disk was offered as an emulated IDE disk too (as xl does), and that copy is gone.
    assertThat(dm.unplugs().unplugged()).extracting(d -> d.unplugName())
        .containsExactly("IDE disk hda");
    assertThat(dm.unplugs().plugged()).isEmpty();
    assertThat(m.ide().channel(0).drive(0)).isNull();
    BlkStats s = m.blockBackends().get(0).stats();
    assertThat(s.writes).isPositive();
    assertThat(s.flushes).isPositive();
    assertThat(s.errors).isZero();
    disk.close();
    assertThat(Ext4DiskGuest.run(tmp, "debugfs", "-R", "cat /hello.txt", img.toString()))
        .contains("through xen-blkfront");
    Ext4DiskGuest.run(tmp, "e2fsck", "-fn", img.toString());
  }

  @Test
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void linuxsNetfrontInPvhvmLeasesAnAddressAndFetchesAPageThroughNat() throws Exception {
    showsThePlatformDeviceAndTheUnplug(
        DebianLinuxNatTest.leaseAndFetch(tmp, "mode=pvhvm,ram=96,loader=linux"));
  }
}
