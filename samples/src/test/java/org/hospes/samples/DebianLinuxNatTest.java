package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.hospes.dom0.backend.net.NetStats;
import org.hospes.dom0.backend.net.VifBackend;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.net.NatTopology;
import org.hospes.dom0.net.Network;
import org.hospes.dom0.net.nat.NatGateway;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NAT network's acceptance test: one PVH domain runs Debian's unmodified 686-pae kernel with
 * the package's own xen-netfront and one vif on {@code net=nat} (the default). Busybox's udhcpc
 * leases an address from dom0's NAT gateway, ping reaches the gateway, and wget fetches a page
 * from an HTTP server this test runs on the host's loopback, through the gateway's TCP mapping
 * of 10.0.2.2 to 127.0.0.1. The guest prints the page's size and md5, which must be the body's.
 */
class DebianLinuxNatTest {
  @TempDir
  Path tmp;

  /** A multi-KiB body (several TCP segments), each line different so a lost segment shows. */
  private static byte[] body() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 300; i++) {
      sb.append(String.format("line %04d: hello from the host, through Hospes's NAT%n", i));
    }
    return sb.toString().getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void linuxLeasesAnAddressPingsTheGatewayAndFetchesAPageFromTheHostThroughNat()
      throws Exception {
    leaseAndFetch(tmp, "mode=pvh,ram=96,loader=pvh");
  }

  /**
   * Runs the NAT workload in one domain made by {@code domainOptions} (the run-many spec's mode,
   * RAM and loader) and checks it: the lease, the pings, the page and its md5, the gateway's and
   * the vif's counts and the capture. Returns the guest's console for the caller's own checks.
   */
  static String leaseAndFetch(Path tmp, String domainOptions) throws Exception {
    byte[] body = body();
    String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(body));
    AtomicInteger requests = new AtomicInteger();
    HttpServer http = HttpServer.create(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    http.createContext("/hello.txt", ex -> {
      requests.incrementAndGet();
      ex.sendResponseHeaders(200, body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    });
    http.start();
    try {
      Path vmlinuz = DebianKernel.vmlinuz();
      byte[] image = KernelFiles.read(vmlinuz);
      List<BootModule> modules = List.of(new BootModule(DebianKernel.netfrontInitramfs(
          "nat-init.sh", Map.of("usr/share/udhcpc/default.script", "udhcpc.script")), null));
      Path pcap = tmp.resolve("nat.pcap");
      DomainSpec spec = DomainSpec.parse("g=" + vmlinuz + "," + domainOptions + ","
          + "vif=[net=nat,pcap=" + pcap + "],cmdline=console=hvc0 cryptomgr.notests port="
          + http.getAddress().getPort(), null);
      ByteArrayOutputStream console = new ByteArrayOutputStream();
      HostRunner host = HostRunner.create(HostRunner.machineMiBFor(List.of(spec)), console);
      GuestDomain g = host.start(spec, image, modules);
      host.run(120_000_000_000L);
      String text = g.consoleText();
      if (Boolean.getBoolean("hospes.nettest.verbose")) {
        System.out.println(text + "\nvirtual " + host.hypervisor().now() + " instructions "
            + g.instructions());
      }
      assertThat(text).as("guest:\n%s", text)
          .contains("udhcpc-script: eth0 is 10.0.2.15 netmask 255.255.255.0, router 10.0.2.2")
          .contains("3 packets transmitted, 3 packets received")
          .contains("nat-init: ping 10.0.2.2 ok")
          .contains("nat-init: wget ok, " + body.length + " bytes, md5 " + md5);
      assertThat(g.isLive()).isFalse();
      org.hospes.dom0.devicemodel.HvmDeviceModel dm = g.deviceModel();
      if (dm != null && dm.xenPlatform() != null) {
        // pvhvm: the interface was offered as an e1000 too, and Linux unplugged it (mask bit
        // 1) before netfront took the vif.
        assertThat(dm.unplugs().unplugged()).anyMatch(d ->
            d instanceof org.hospes.dom0.devicemodel.e1000.E1000 e && e.unplugged());
        assertThat(dm.unplugs().plugged())
            .noneMatch(d -> d instanceof org.hospes.dom0.devicemodel.e1000.E1000);
      }
      assertThat(requests.get()).as("requests the host's HTTP server saw").isEqualTo(1);
      NatGateway gw = null;
      for (Network n : host.networks().networks().networks().values()) {
        if (n instanceof NatTopology.NatNetwork nat) {
          gw = nat.gateway();
        }
      }
      assertThat(gw).isNotNull();
      assertThat(gw.stats().dhcpReplies()).isGreaterThanOrEqualTo(2); // offer and ack
      assertThat(gw.stats().tcpOpened()).isEqualTo(1);
      for (VifBackend v : host.networks().vifs()) {
        NetStats s = v.stats();
        assertThat(s.txErrors + s.rxErrors).as(v.name()).isZero();
        assertThat(s.rxBytes).as(v.name()).isGreaterThan(body.length);
      }
      host.networks().close();
      Process p = new ProcessBuilder("tcpdump", "-nn", "-r", pcap.toString())
          .redirectErrorStream(true).start();
      String dump = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor()).as(dump).isZero();
      int port = http.getAddress().getPort();
      assertThat(dump).containsPattern("10\\.0\\.2\\.2\\.67 > [0-9.]+\\.68: BOOTP/DHCP, Reply")
          .contains("10.0.2.2 > 10.0.2.15: ICMP echo reply")
          .containsPattern("10\\.0\\.2\\.15\\.\\d+ > 10\\.0\\.2\\.2\\." + port
              + ": Flags \\[S\\]")
          .containsPattern("10\\.0\\.2\\.2\\." + port
              + " > 10\\.0\\.2\\.15\\.\\d+: Flags \\[F");
      return text;
    } finally {
      http.stop(0);
    }
  }
}
