package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hospes.dom0.backend.net.NetStats;
import org.hospes.dom0.backend.net.VifBackend;
import org.hospes.dom0.net.Network;
import org.hospes.dom0.net.nat.NatConfig;
import org.hospes.dom0.net.nat.NatGateway;
import org.hospes.dom0.toolstack.DomainOutcome;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * samples/guests/net-bench, built with the SDK's netfront and IPv4 stack: two PVH guests on one
 * bridge. The sender pings the receiver, streams 300 UDP datagrams of 1 KiB and fetches a page
 * over TCP; the receiver must get every datagram with the sender's payload checksum, the page
 * must arrive whole, both netbacks must count the same frames, and a second run must print
 * exactly the same figures (virtual time).
 */
class NetBenchGuestTest {
  private static final int COUNT = 300;
  private static final int PINGS = 8;

  private static Path elf() throws Exception {
    Path root = TestKernels.root();
    return new GuestBuilder(root.resolve("guest-sdk/c"), root.resolve("samples/target/guests"))
        .build("net-bench", List.of(root.resolve("samples/guests/net-bench/net-bench.c")));
  }

  private record Run(String rx, String tx, List<NetStats> stats) {}

  private static Run run(Path elf) throws Exception {
    DomainSpec rx = DomainSpec.parse("rx=" + elf + ",mode=pvh,ram=16,vif=net=bridge:br0,"
        + "cmdline=role=recv ip=10.0.0.2/24", null);
    DomainSpec tx = DomainSpec.parse("tx=" + elf + ",mode=pvh,ram=16,vif=net=bridge:br0,"
        + "cmdline=role=send ip=10.0.0.1/24 peer=10.0.0.2 count=" + COUNT + " pings=" + PINGS,
        null);
    HostRunner host = HostRunner.create(HostRunner.machineMiBFor(List.of(rx, tx)),
        new ByteArrayOutputStream());
    byte[] image = Files.readAllBytes(elf);
    GuestDomain grx = host.start(rx, image);
    GuestDomain gtx = host.start(tx, image);
    host.run(20_000_000_000L);
    String trx = grx.consoleText();
    String ttx = gtx.consoleText();
    assertThat(grx.outcome().kind()).as(trx).isEqualTo(DomainOutcome.Kind.EXITED);
    assertThat(grx.outcome().status()).as(trx).isZero();
    assertThat(gtx.outcome().kind()).as(ttx).isEqualTo(DomainOutcome.Kind.EXITED);
    assertThat(gtx.outcome().status()).as(ttx).isZero();
    List<NetStats> stats = host.networks().vifs().stream().map(VifBackend::stats).toList();
    host.networks().close();
    return new Run(trx, ttx, stats);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void twoGuestsPingStreamUdpAndFetchAPageOverTcpWithoutLoss() throws Exception {
    Path elf = elf();
    Run a = run(elf);
    assertThat(a.tx()).as(a.tx())
        .contains("net-bench: ping 10.0.0.2: " + PINGS + " sent, " + PINGS + " received")
        .contains("net-bench: http GET / -> \"HTTP/1.0 200 OK\", 2089 bytes, body 2048 bytes")
        .contains("bad responses 0, bad checksums 0");
    Matcher sent = Pattern.compile("udp sent " + COUNT
        + " datagrams of 1024 bytes, checksum ([0-9a-f]{8})").matcher(a.tx());
    assertThat(sent.find()).as(a.tx()).isTrue();
    String sum = sent.group(1);
    assertThat(a.rx()).as(a.rx())
        .contains("net-bench: udp received " + COUNT + " of " + COUNT + ", lost 0, duplicates 0,"
            + " bytes " + COUNT * 1024 + ", checksum " + sum + " (matches)")
        .contains("net-bench: served one HTTP request of 30 bytes");
    assertThat(a.tx()).contains("receiver reports " + COUNT + " received, 0 lost, checksum "
        + sum + " (matches)");
    // What one guest sent the other received, frame for frame, through the bridge.
    assertThat(a.stats()).hasSize(2);
    NetStats s0 = a.stats().get(0);
    NetStats s1 = a.stats().get(1);
    assertThat(s0.txPackets).isEqualTo(s1.rxPackets);
    assertThat(s1.txPackets).isEqualTo(s0.rxPackets);
    assertThat(s0.txErrors + s0.rxErrors + s1.txErrors + s1.rxErrors).isZero();
    // The sender's own count: data, END, ping requests (with the warm-up), ARP, TCP segments.
    assertThat(Math.max(s0.txPackets, s1.txPackets)).isGreaterThan(COUNT + PINGS);

    Run b = run(elf);
    assertThat(figures(b.tx())).isEqualTo(figures(a.tx()));
    assertThat(figures(b.rx())).isEqualTo(figures(a.rx()));
  }

  /**
   * role=dhcp on a bridge with dom0's NAT gateway as a port: the SDK's DHCP client takes the
   * gateway's first lease (DISCOVER, OFFER, REQUEST, ACK: two replies) and pings the router.
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void dhcpLeaseFromTheNatGatewayThenPingTheRouter() throws Exception {
    Path elf = elf();
    DomainSpec spec = DomainSpec.parse("g=" + elf + ",mode=pvh,ram=16,vif=net=bridge:lan,"
        + "cmdline=role=dhcp", null);
    HostRunner host = HostRunner.create(HostRunner.machineMiBFor(List.of(spec)),
        new ByteArrayOutputStream());
    GuestDomain g = host.start(spec, Files.readAllBytes(elf));
    Network lan = host.networks().networks().networks().get("bridge:lan");
    try (NatGateway gw = new NatGateway("nat", NatConfig.defaults(),
        () -> host.hypervisor().now())) {
      lan.connect(gw);
      host.run(20_000_000_000L);
      String out = g.consoleText();
      assertThat(out).as(out).contains(
          "net-bench: dhcp address 10.0.2.15 mask ffffff00 router 10.0.2.2, ping router ok");
      assertThat(g.outcome().status()).as(out).isZero();
      assertThat(gw.stats().dhcpReplies()).isEqualTo(2);
    } finally {
      host.networks().close();
    }
  }

  /**
   * role=dhcp get=PORT: after its lease the guest's minimal TCP client fetches a page from an
   * HTTP server on the host's loopback through the NAT gateway (10.0.2.2 stands for 127.0.0.1).
   * Host sockets answer in real time, so only the content is checked, not the timing.
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void tcpGetThroughTheNatGatewayFromAHostServer() throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    byte[] body = "hello from the host\n".getBytes(StandardCharsets.US_ASCII);
    server.createContext("/", ex -> {
      ex.sendResponseHeaders(200, body.length);
      try (var os = ex.getResponseBody()) {
        os.write(body);
      }
    });
    server.start();
    try {
      Path elf = elf();
      DomainSpec spec = DomainSpec.parse("g=" + elf + ",mode=pvh,ram=16,vif=net=bridge:lan,"
          + "cmdline=role=dhcp get=" + server.getAddress().getPort(), null);
      HostRunner host = HostRunner.create(HostRunner.machineMiBFor(List.of(spec)),
          new ByteArrayOutputStream());
      GuestDomain g = host.start(spec, Files.readAllBytes(elf));
      Network lan = host.networks().networks().networks().get("bridge:lan");
      try (NatGateway gw = new NatGateway("nat", NatConfig.defaults(),
          () -> host.hypervisor().now())) {
        lan.connect(gw);
        // Run in 1 ms slices of virtual time, letting the gateway relay host sockets between.
        for (int i = 0; i < 40_000 && g.isLive(); i++) {
          host.run(1_000_000L);
          gw.poll();
        }
        String out = g.consoleText();
        assertThat(out).as(out)
            .contains("net-bench: GET -> \"HTTP/1.1 200 OK\", body \"hello from the host\n\"");
        assertThat(g.outcome().status()).as(out).isZero();
        assertThat(gw.stats().tcpOpened()).isEqualTo(1);
      } finally {
        host.networks().close();
      }
    } finally {
      server.stop(0);
    }
  }

  /** Every net-bench line (round trips and KiB/s included): virtual time repeats exactly. */
  private static List<String> figures(String console) {
    return console.lines().filter(l -> l.startsWith("net-bench: ")).toList();
  }
}
