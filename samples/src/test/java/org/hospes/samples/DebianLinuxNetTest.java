package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.backend.net.NetStats;
import org.hospes.dom0.backend.net.VifBackend;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.net.LearningSwitch;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.dom0.toolstack.VifSpec;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PV network's acceptance test: two PVH domains run Debian's unmodified 686-pae kernel,
 * each loading the package's own xen-netfront module from its initramfs; their vifs are on one
 * {@code bridge} network, one of them captured to a pcap file. Each guest's busybox gives eth0 a
 * static address and pings the other three times. Both must see their replies, and the capture
 * must hold the ICMP traffic as tcpdump reads it.
 */
@org.junit.jupiter.api.Tag("linux-long") // in ./test's second stage (see ./test)
class DebianLinuxNetTest {
  @TempDir
  Path tmp;

  @Test
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void twoLinuxGuestsOnABridgePingEachOtherThroughTheirOwnNetfront() throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    byte[] image = KernelFiles.read(vmlinuz);
    List<BootModule> modules = List.of(new BootModule(
        DebianKernel.netfrontInitramfs("net-init.sh", Map.of()), null));
    Path pcap = tmp.resolve("a.pcap");
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    DomainSpec a = DomainSpec.parse("a=" + vmlinuz + ",mode=pvh,ram=128,loader=pvh,vif=[mac="
        + "00:16:3e:00:00:0a,net=bridge:br0,pcap=" + pcap + "],cmdline=console=hvc0"
        + " cryptomgr.notests myip=10.0.0.1 peer=10.0.0.2 linger=4", null);
    DomainSpec b = DomainSpec.parse("b=" + vmlinuz + ",mode=pvh,ram=128,loader=pvh,"
        + "vif=bridge=br0,cmdline=console=hvc0 cryptomgr.notests myip=10.0.0.2 peer=10.0.0.1"
        + " linger=4", null);
    HostRunner host = HostRunner.create(HostRunner.machineMiBFor(List.of(a, b)), console);
    GuestDomain ga = host.start(a, image, modules);
    GuestDomain gb = host.start(b, image, modules);
    host.run(120_000_000_000L);
    String ta = ga.consoleText();
    String tb = gb.consoleText();
    if (Boolean.getBoolean("hospes.nettest.verbose")) {
      System.out.println(ta + "\n----\n" + tb + "\nvirtual " + host.hypervisor().now()
          + " instructions " + ga.instructions() + " " + gb.instructions());
    }
    assertThat(ta).as("guest a:\n%s", ta)
        .contains("net-init: eth0 has MAC 00:16:3e:00:00:0a")
        .contains("3 packets transmitted, 3 packets received")
        .contains("net-init: ping 10.0.0.2 ok");
    assertThat(tb).as("guest b:\n%s", tb)
        .contains("net-init: eth0 has MAC " + VifSpec.parse("", null).macFor(
            gb.domain().domid(), 0))
        .contains("net-init: ping 10.0.0.1 ok");
    assertThat(ga.isLive()).isFalse();
    assertThat(gb.isLive()).isFalse();
    List<VifBackend> vifs = host.networks().vifs();
    for (VifBackend v : vifs) {
      NetStats s = v.stats();
      assertThat(s.txPackets).as(v.name()).isGreaterThanOrEqualTo(4);
      assertThat(s.rxPackets).as(v.name()).isGreaterThanOrEqualTo(4);
      assertThat(s.txErrors + s.rxErrors).as(v.name()).isZero();
    }
    LearningSwitch br0 = (LearningSwitch) host.networks().networks().networks().get("bridge:br0");
    assertThat(br0.stats().forwarded).isPositive();
    host.networks().close();
    Process p = new ProcessBuilder("tcpdump", "-nn", "-r", pcap.toString())
        .redirectErrorStream(true).start();
    String dump = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(dump).isZero();
    assertThat(dump).contains("10.0.0.1 > 10.0.0.2: ICMP echo request")
        .contains("10.0.0.2 > 10.0.0.1: ICMP echo reply")
        .contains("10.0.0.2 > 10.0.0.1: ICMP echo request");
  }
}
