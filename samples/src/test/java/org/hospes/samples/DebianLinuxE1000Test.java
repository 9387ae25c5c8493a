package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.devicemodel.e1000.E1000;
import org.hospes.dom0.devicemodel.e1000.E1000Stats;
import org.hospes.dom0.toolstack.HvmMachine;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The emulated NIC's acceptance test: Debian's unmodified kernel in an HVM domain loads the
 * package's own e1000.ko for the 82540EM (8086:100E) that {@code --vif net=nat} gives an hvm
 * domain by default; busybox's udhcpc leases an address from dom0's NAT gateway and wget
 * fetches a page from an HTTP server on the host's loopback through the gateway. The script
 * nat-init.sh is the PVH NAT test's; the run ends when the kernel halts after poweroff.
 */
@Tag("linux-long")
class DebianLinuxE1000Test {

  @Test
  @Timeout(value = 1800, unit = TimeUnit.SECONDS)
  void linuxsE1000LeasesAnAddressAndFetchesAPageThroughNat() throws Exception {
    try (NatWgetBoot run = new NatWgetBoot("an e1000")) {
      NatWgetBoot.Booted b = run.boot(List.of("e1000.ko"), "net=nat"); // e1000: the hvm default
      HvmMachine m = b.machine();
      b.console().lines().filter(l -> l.contains("e1000"))
          .forEach(l -> System.out.println("  " + l));
      assertThat(m.e1000Devices()).hasSize(1);
      E1000 nic = m.e1000Devices().get(0);
      E1000Stats s = nic.stats();
      System.out.printf("e1000: %d ms host, %d instructions, tx %d frames %d B, rx %d frames"
          + " %d B, filtered %d, dropped %d, mmio %d reads %d writes, io %d, interrupts %d,"
          + " ioreqs %d%n", b.hostMillis(), b.result().instructions(), s.txFrames(),
          s.txBytes(), s.rxFrames(), s.rxBytes(), s.rxFiltered(), s.rxDropped(), s.mmioReads(),
          s.mmioWrites(), s.ioAccesses(), s.interrupts(), m.deviceModel().requests());
      NatWgetBoot.printExits("e1000", b);
      assertThat(b.console()).as("console (run ended: %s; %s)", b.result(), b.diagnostics())
          .contains("e1000 0000:00:06.0 eth0: Intel(R) PRO/1000 Network Connection")
          .contains("e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex");
      run.assertFetched(b);
      assertThat(s.dmaErrors()).isZero();
      assertThat(s.ringErrors()).isZero();
      assertThat(s.rxBytes()).isGreaterThan(run.body.length);
      assertThat(s.interrupts()).isPositive();
    }
  }
}
