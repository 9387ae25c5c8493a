package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.hospes.dom0.devicemodel.virtio.VirtioNet;
import org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy;
import org.hospes.dom0.toolstack.HvmMachine;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * virtio-net's acceptance test: Debian's unmodified kernel in an HVM domain loads the package's
 * own virtio_pci and virtio_net (the transitional device 1AF4:1000 on net=nat), busybox's
 * udhcpc leases an address from dom0's NAT gateway and wget fetches a page from an HTTP server
 * on the host's loopback through the gateway. The script nat-init.sh is the PVH NAT test's; the
 * run ends when the kernel halts after poweroff (no ACPI).
 */
@Tag("linux-long")
class DebianLinuxVirtioNetTest {

  @Test
  @Timeout(value = 1800, unit = TimeUnit.SECONDS)
  void linuxsVirtioNetLeasesAnAddressAndFetchesAPageThroughNat() throws Exception {
    try (NatWgetBoot run = new NatWgetBoot("virtio-net")) {
      List<String> modules = Stream.concat(DebianLinuxVirtioTest.VIRTIO_PCI.stream(),
          Stream.of("failover.ko", "net_failover.ko", "virtio_net.ko")).toList();
      NatWgetBoot.Booted b = run.boot(modules, "net=nat,model=virtio");
      HvmMachine m = b.machine();
      VirtioPciLegacy dev = m.virtioDevices().get(0);
      VirtioNet nic = (VirtioNet) dev.device();
      System.out.printf("virtio-net: %d ms host, %d instructions, tx %d frames %d B, rx %d frames"
          + " %d B, dropped %d, notifies %d interrupts %d, ioreqs %d%n", b.hostMillis(),
          b.result().instructions(), nic.txFrames, nic.txBytes, nic.rxFrames, nic.rxBytes,
          nic.rxDropped, dev.notifications(), dev.interrupts(), m.deviceModel().requests());
      NatWgetBoot.printExits("virtio-net", b);
      run.assertFetched(b);
      assertThat(nic.txErrors).isZero();
      assertThat(dev.needsResets()).isZero();
      // virtio_pci took MSI-X: every interrupt was a message the hypervisor delivered.
      System.out.printf("virtio-net: MSI-X messages %d, MSIs delivered %d dropped %d%n",
          dev.msix().messages(), m.hypervisor().platform(m.domain()).msiDelivered(),
          m.hypervisor().platform(m.domain()).msiDropped());
      assertThat(dev.msix().enabled()).isTrue();
      assertThat(dev.msix().messages()).isPositive();
      assertThat(m.hypervisor().platform(m.domain()).msiDropped()).isZero();
      assertThat(nic.rxBytes).isGreaterThan(run.body.length);
    }
  }
}
