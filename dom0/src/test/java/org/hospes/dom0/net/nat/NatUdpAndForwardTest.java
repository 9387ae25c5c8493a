package org.hospes.dom0.net.nat;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.hospes.dom0.net.packet.Addresses;
import org.hospes.dom0.net.packet.Bytes;
import org.hospes.dom0.net.packet.Ethernet;
import org.hospes.dom0.net.packet.Icmp;
import org.hospes.dom0.net.packet.Ipv4;
import org.hospes.dom0.net.packet.Tcp;
import org.hospes.dom0.net.packet.Udp;
import org.junit.jupiter.api.Test;

class NatUdpAndForwardTest {

  static final int GUEST_IP = Addresses.parseIp("10.0.2.15");
  static final long GUEST_MAC = Addresses.parseMac("52:54:00:12:34:56");
  static final int GW = NatConfig.DEFAULT_GATEWAY;

  long now;

  static byte[] datagram(int dst, int sport, int dport, String text) {
    byte[] d = text.getBytes(StandardCharsets.US_ASCII);
    return Udp.frame(NatConfig.DEFAULT_GATEWAY_MAC, GUEST_MAC, 5, GUEST_IP, sport, dst, dport, d, 0,
        d.length);
  }

  static String payload(byte[] f) {
    int u = Ethernet.HEADER + 20;
    return new String(f, u + 8, Bytes.u16(f, u + 4) - 8, StandardCharsets.US_ASCII);
  }

  @Test
  void aGuestDatagramToTheGatewayReachesAHostLoopbackEchoAndTheReplyComesBack() throws Exception {
    try (DatagramSocket echo = new DatagramSocket(0, InetAddress.getLoopbackAddress());
        NatGateway gw = new NatGateway("nat0", NatConfig.defaults(), () -> now)) {
      echo.setSoTimeout(5000);
      FakeGuest guest = new FakeGuest(gw, GUEST_MAC, GUEST_IP);
      guest.deliver(datagram(GW, 5353, echo.getLocalPort(), "ping over nat"));
      DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
      echo.receive(p);
      assertThat(new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII))
          .isEqualTo("ping over nat");
      assertThat(p.getAddress().isLoopbackAddress()).isTrue();
      int hostSidePort = p.getPort();
      echo.send(new DatagramPacket("pong".getBytes(StandardCharsets.US_ASCII), 4,
          p.getSocketAddress()));
      byte[] r = guest.await(Frames::isUdp);
      int ip = Ethernet.HEADER;
      assertThat(Ethernet.dst(r, 0)).isEqualTo(GUEST_MAC);
      assertThat(Ipv4.src(r, ip)).as("the reply comes from the address the guest used").isEqualTo(GW);
      assertThat(Ipv4.dst(r, ip)).isEqualTo(GUEST_IP);
      assertThat(Udp.srcPort(r, ip + 20)).isEqualTo(echo.getLocalPort());
      assertThat(Udp.dstPort(r, ip + 20)).isEqualTo(5353);
      assertThat(payload(r)).isEqualTo("pong");
      // A second datagram reuses the flow.
      guest.deliver(datagram(GW, 5353, echo.getLocalPort(), "again"));
      echo.receive(p);
      assertThat(gw.udpFlows()).isEqualTo(1);
      assertThat(p.getPort()).as("same host socket for the same flow").isEqualTo(hostSidePort);
    }
  }

  @Test
  void aDatagramToAClosedHostPortComesBackAsIcmpPortUnreachable() throws Exception {
    int closed;
    try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    try (NatGateway gw = new NatGateway("nat0", NatConfig.defaults(), () -> now)) {
      FakeGuest guest = new FakeGuest(gw, GUEST_MAC, GUEST_IP);
      guest.deliver(datagram(GW, 4444, closed, "anyone?"));
      byte[] r = guest.await(Frames::isIcmp);
      int o = Ethernet.HEADER + 20;
      assertThat(Bytes.u8(r, o + Icmp.TYPE)).isEqualTo(Icmp.TYPE_DEST_UNREACHABLE);
      assertThat(Bytes.u8(r, o + Icmp.CODE)).isEqualTo(Icmp.CODE_PORT_UNREACHABLE);
      // The quote: the guest's IP header and its UDP ports.
      assertThat(Ipv4.src(r, o + 8)).isEqualTo(GUEST_IP);
      assertThat(Ipv4.dst(r, o + 8)).isEqualTo(GW);
      assertThat(Udp.srcPort(r, o + 28)).isEqualTo(4444);
      assertThat(Udp.dstPort(r, o + 28)).isEqualTo(closed);
    }
  }

  @Test
  void restrictRefusesOtherDestinations() throws Exception {
    try (NatGateway gw = new NatGateway("nat0", NatConfig.defaults().withRestrict(true),
        () -> now)) {
      FakeGuest guest = new FakeGuest(gw, GUEST_MAC, GUEST_IP);
      guest.deliver(datagram(Addresses.parseIp("192.0.2.1"), 4444, 53, "q"));
      byte[] r = guest.await(Frames::isIcmp);
      assertThat(Bytes.u8(r, Ethernet.HEADER + 21)).isEqualTo(Icmp.CODE_ADMIN_PROHIBITED);
      GuestTcp c = new GuestTcp(guest, 40000, Addresses.parseIp("192.0.2.1"), 80, 1);
      assertThat(c.connect().has(Tcp.RST)).isTrue();
      assertThat(gw.udpFlows()).isZero();
      assertThat(gw.tcpFlows()).isZero();
    }
  }

  @Test
  void aTcpPortForwardCarriesAHostClientToAGuestServer() throws Exception {
    NatConfig cfg = NatConfig.defaults()
        .withForwards(List.of(PortForward.parse("tcp::0-10.0.2.15:80")));
    try (NatGateway gw = new NatGateway("nat0", cfg, () -> now);
        Socket client = new Socket()) {
      FakeGuest guest = new FakeGuest(gw, GUEST_MAC, GUEST_IP);
      // The guest has spoken (ARP), so the gateway knows its MAC.
      guest.deliver(org.hospes.dom0.net.packet.Arp.frame(Addresses.BROADCAST_MAC,
          org.hospes.dom0.net.packet.Arp.OP_REQUEST, GUEST_MAC, GUEST_IP, 0, GW));
      guest.await(Frames::isArp);
      client.connect(gw.forwardAddress(0));
      client.setSoTimeout(5000);
      GuestTcp server = new GuestTcp(guest, 80, GW, 0, 9000);
      Tcp.Segment syn = Frames.tcp(guest.await(server.mine()));
      assertThat(syn.flags).isEqualTo(Tcp.SYN);
      assertThat(syn.mss).isEqualTo(1460);
      assertThat(syn.srcPort).isGreaterThanOrEqualTo(49152);
      server.peerPort = syn.srcPort;
      server.rcvNxt = syn.seq + 1;
      server.send(Tcp.SYN | Tcp.ACK_FLAG);
      Tcp.Segment ack = Frames.tcp(guest.await(server.mine()));
      assertThat(ack.flags & Tcp.ACK_FLAG).isNotZero();
      assertThat(ack.ack).isEqualTo(server.sndNxt);

      client.getOutputStream().write("hello guest".getBytes(StandardCharsets.US_ASCII));
      while (server.received.size() < 11) {
        server.receiveOne();
      }
      assertThat(server.received.toString(StandardCharsets.US_ASCII)).isEqualTo("hello guest");
      byte[] big = new byte[5000];
      Arrays.fill(big, (byte) 'x');
      server.write(big);
      server.send(Tcp.FIN | Tcp.ACK_FLAG);
      InputStream in = client.getInputStream();
      byte[] got = new byte[5000];
      int n = 0;
      long deadline = System.nanoTime() + 5_000_000_000L;
      client.setSoTimeout(20);
      int r = 0;
      while (r >= 0 && System.nanoTime() < deadline) {
        gw.poll();
        try {
          r = in.read(got, n, got.length - n);
          if (r > 0) {
            n += r;
          }
          if (n == got.length) {
            r = in.read(); // expect EOF: the guest's FIN became a shutdown of the host socket
          }
        } catch (java.net.SocketTimeoutException e) {
          // keep polling
        }
      }
      assertThat(n).isEqualTo(5000);
      assertThat(got).isEqualTo(big);
      assertThat(r).isEqualTo(-1);
      // The host client half-closes: the guest sees the gateway's FIN.
      client.shutdownOutput();
      while (!server.peerFin) {
        server.receiveOne();
      }
    }
  }

  @Test
  void aUdpPortForwardCarriesDatagramsBothWays() throws Exception {
    NatConfig cfg = NatConfig.defaults()
        .withForwards(List.of(PortForward.parse("udp:127.0.0.1:0-10.0.2.15:7")));
    try (NatGateway gw = new NatGateway("nat0", cfg, () -> now);
        DatagramSocket client = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      client.setSoTimeout(5000);
      FakeGuest guest = new FakeGuest(gw, GUEST_MAC, GUEST_IP);
      guest.deliver(org.hospes.dom0.net.packet.Arp.frame(Addresses.BROADCAST_MAC,
          org.hospes.dom0.net.packet.Arp.OP_REQUEST, GUEST_MAC, GUEST_IP, 0, GW));
      guest.await(Frames::isArp);
      client.send(new DatagramPacket("to guest".getBytes(StandardCharsets.US_ASCII), 8,
          gw.forwardAddress(0)));
      byte[] f = guest.await(Frames::isUdp);
      int ip = Ethernet.HEADER;
      assertThat(Ipv4.dst(f, ip)).isEqualTo(GUEST_IP);
      assertThat(Udp.dstPort(f, ip + 20)).isEqualTo(7);
      assertThat(payload(f)).isEqualTo("to guest");
      int gwPort = Udp.srcPort(f, ip + 20);
      guest.deliver(datagram(GW, 7, gwPort, "to host"));
      DatagramPacket p = new DatagramPacket(new byte[100], 100);
      client.receive(p);
      assertThat(new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII))
          .isEqualTo("to host");
      assertThat(p.getSocketAddress()).isEqualTo(gw.forwardAddress(0));
    }
  }
}
