package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.net.Network;
import org.hospes.dom0.net.Networks.NetRef;
import org.hospes.dom0.testing.CapturedCli;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One address per network: two interfaces with the same MAC on one network are refused with
 * one line, because a learning switch cannot tell them apart (it learns the address on
 * whichever port sent last, and the other one's frames go astray). Before, both were plugged in
 * silently.
 */
class GuestNetworksMacTest {
  @TempDir
  Path dir;

  @Test
  void aMacIsHeldOncePerNetworkUntilItsDomainIsReleased() throws IOException {
    Hypervisor hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    var a = hv.createHvmDomain("a", DomainMode.PVH, 2);
    var b = hv.createHvmDomain("b", DomainMode.PVH, 2);
    try (GuestNetworks nets = new GuestNetworks(hv)) {
      Network br0 = nets.networks().network(new NetRef("bridge", "br0"));
      Network br1 = nets.networks().network(new NetRef("bridge", "br1"));
      String mac = "00:16:3e:00:00:0a";
      nets.claimMac(br0, mac, a.domid(), 0);
      assertThatThrownBy(() -> nets.claimMac(br0, mac, b.domid(), 0))
          .isInstanceOf(IOException.class)
          .hasMessage("vif 0: mac 00:16:3e:00:00:0a is already on network bridge:br0 (a's vif"
              + " 0); each interface on a network needs its own address");
      assertThatThrownBy(() -> nets.claimMac(br0, mac, a.domid(), 1))
          .hasMessage("vif 1: mac 00:16:3e:00:00:0a is already on network bridge:br0 (vif 0);"
              + " each interface on a network needs its own address");
      // The same interface twice (pvhvm's e1000 and vif for one --vif), or another network.
      assertThatCode(() -> nets.claimMac(br0, mac, a.domid(), 0)).doesNotThrowAnyException();
      assertThatCode(() -> nets.claimMac(br1, mac, b.domid(), 0)).doesNotThrowAnyException();
      nets.release(a.domid());
      assertThatCode(() -> nets.claimMac(br0, mac, b.domid(), 0))
          .as("free once its domain let go").doesNotThrowAnyException();
    }
  }

  @Test
  void runRefusesTwoVifsWithOneMacOnOneNetworkWithStatus2() throws Exception {
    long paddr = 0x10_0000;
    Path k = Files.write(dir.resolve("pvh.elf"), new ElfImageBuilder().entry(paddr)
        .segment(paddr, new byte[] {(byte) 0xF4}, 0x1000).pvhEntryNote(paddr).build());
    CapturedCli c = new CapturedCli();
    assertThat(c.run("run", "--mode", "pvh", "--vif", "mac=00:16:3e:00:00:10", "--vif",
        "mac=00:16:3e:00:00:10", k.toString())).isEqualTo(2);
    assertThat(c.stderr()).isEqualTo("hospes: " + k + ": vif 1: mac 00:16:3e:00:00:10 is"
        + " already on network nat (vif 0); each interface on a network needs its own address"
        + System.lineSeparator());
    assertThat(c.stdout()).isEmpty();
  }
}
