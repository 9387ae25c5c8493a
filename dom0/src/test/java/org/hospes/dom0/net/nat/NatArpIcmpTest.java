package org.hospes.dom0.net.nat;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.hospes.dom0.net.packet.Addresses;
import org.hospes.dom0.net.packet.Arp;
import org.hospes.dom0.net.packet.Bytes;
import org.hospes.dom0.net.packet.Checksum;
import org.hospes.dom0.net.packet.Ethernet;
import org.hospes.dom0.net.packet.Icmp;
import org.hospes.dom0.net.packet.IpProtocol;
import org.hospes.dom0.net.packet.Ipv4;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NatArpIcmpTest {

  static final int GUEST_IP = Addresses.parseIp("10.0.2.15");
  static final long GUEST_MAC = Addresses.parseMac("52:54:00:12:34:56");
  static final int GW = NatConfig.DEFAULT_GATEWAY;
  static final long GW_MAC = NatConfig.DEFAULT_GATEWAY_MAC;

  NatGateway gw;
  FakeGuest guest;

  @BeforeEach
  void setUp() throws IOException {
    gw = new NatGateway("nat0", NatConfig.defaults(), () -> 0);
    guest = new FakeGuest(gw, GUEST_MAC, GUEST_IP);
  }

  @AfterEach
  void tearDown() {
    gw.close();
  }

  @Test
  void anArpRequestForTheGatewayIsAnsweredWithItsMac() {
    guest.deliver(Arp.frame(Addresses.BROADCAST_MAC, Arp.OP_REQUEST, GUEST_MAC, GUEST_IP, 0, GW));
    byte[] r = guest.await(Frames::isArp);
    int a = Ethernet.HEADER;
    assertThat(Ethernet.dst(r, 0)).isEqualTo(GUEST_MAC);
    assertThat(Ethernet.src(r, 0)).isEqualTo(GW_MAC);
    assertThat(Arp.oper(r, a)).isEqualTo(Arp.OP_REPLY);
    assertThat(Arp.senderMac(r, a)).isEqualTo(GW_MAC);
    assertThat(Arp.senderIp(r, a)).isEqualTo(GW);
    assertThat(Arp.targetMac(r, a)).isEqualTo(GUEST_MAC);
    assertThat(Arp.targetIp(r, a)).isEqualTo(GUEST_IP);
    assertThat(Addresses.formatMac(GW_MAC)).isEqualTo("52:55:0a:00:02:02");
  }

  @Test
  void arpForOtherAddressesAndFramesForOtherMacsAreIgnored() {
    guest.deliver(Arp.frame(Addresses.BROADCAST_MAC, Arp.OP_REQUEST, GUEST_MAC, GUEST_IP, 0,
        Addresses.parseIp("10.0.2.16")));
    byte[] echo = echo(GW, 1, new byte[8]);
    Bytes.putMac(echo, 0, Addresses.parseMac("52:54:00:00:00:99"));
    guest.deliver(echo);
    gw.poll();
    assertThat(guest.inbox).isEmpty();
    assertThat(gw.stats().dropped()).as("the ARP was read (learned from), the echo dropped")
        .isEqualTo(1);
  }

  static byte[] echo(int dst, int seq, byte[] payload) {
    byte[] f = Ipv4.frame(GW_MAC, GUEST_MAC, 9, IpProtocol.ICMP.code(), GUEST_IP, dst,
        Icmp.HEADER + payload.length);
    int o = Ipv4.payloadOffset();
    Bytes.put8(f, o, Icmp.TYPE_ECHO_REQUEST);
    Bytes.put16(f, o + 4, 0x4242);
    Bytes.put16(f, o + 6, seq);
    System.arraycopy(payload, 0, f, o + 8, payload.length);
    Bytes.put16(f, o + 2, Checksum.of(f, o, Icmp.HEADER + payload.length));
    return f;
  }

  @Test
  void anEchoRequestToTheGatewayIsAnsweredWithTheSameIdSequenceAndData() {
    byte[] payload = new byte[56];
    for (int i = 0; i < payload.length; i++) {
      payload[i] = (byte) (i * 7 + 1);
    }
    guest.deliver(echo(GW, 3, payload));
    byte[] r = guest.await(Frames::isIcmp); // Frames.check verified both checksums independently
    int ip = Ethernet.HEADER;
    int o = ip + 20;
    assertThat(Ipv4.src(r, ip)).isEqualTo(GW);
    assertThat(Ipv4.dst(r, ip)).isEqualTo(GUEST_IP);
    assertThat(Ethernet.dst(r, 0)).isEqualTo(GUEST_MAC);
    assertThat(Bytes.u8(r, o)).isEqualTo(Icmp.TYPE_ECHO_REPLY);
    assertThat(Bytes.u8(r, o + 1)).isZero();
    assertThat(Bytes.u16(r, o + 4)).isEqualTo(0x4242);
    assertThat(Bytes.u16(r, o + 6)).isEqualTo(3);
    assertThat(java.util.Arrays.copyOfRange(r, o + 8, o + 8 + 56)).isEqualTo(payload);
    assertThat(Frames.inetSum(r, o, 64)).isZero();
    assertThat(Ipv4.totalLength(r, ip)).isEqualTo(84);
  }

  @Test
  void anEchoWithABadChecksumOrToAnotherHostIsNotAnswered() {
    byte[] bad = echo(GW, 1, new byte[8]);
    bad[Ipv4.payloadOffset() + 9] ^= 1;
    guest.deliver(bad);
    guest.deliver(echo(Addresses.parseIp("10.0.2.77"), 1, new byte[8]));
    gw.poll();
    assertThat(guest.inbox).isEmpty();
  }

  @Test
  void portForwardSynWaitsForArpAndGoesOutOnceTheGuestAnswers() throws IOException {
    // (ARP request side of a forward: the gateway has never heard of 10.0.2.20.)
    NatConfig cfg = NatConfig.defaults().withForwards(
        java.util.List.of(PortForward.parse("tcp:127.0.0.1:0-10.0.2.20:80")));
    try (NatGateway g = new NatGateway("nat0", cfg, () -> 0);
        java.net.Socket client = new java.net.Socket()) {
      FakeGuest other = new FakeGuest(g, Addresses.parseMac("52:54:00:00:00:20"),
          Addresses.parseIp("10.0.2.20"));
      client.connect(g.forwardAddress(0));
      byte[] req = other.await(Frames::isArp);
      assertThat(Ethernet.dst(req, 0)).isEqualTo(Addresses.BROADCAST_MAC);
      assertThat(Arp.oper(req, Ethernet.HEADER)).isEqualTo(Arp.OP_REQUEST);
      assertThat(Arp.targetIp(req, Ethernet.HEADER)).isEqualTo(other.ip);
      assertThat(Arp.senderIp(req, Ethernet.HEADER)).isEqualTo(GW);
      other.deliver(Arp.frame(GW_MAC, Arp.OP_REPLY, other.mac, other.ip, GW_MAC, GW));
      byte[] syn = other.await(Frames::isTcp);
      assertThat(Ethernet.dst(syn, 0)).isEqualTo(other.mac);
      assertThat(Frames.tcp(syn).flags).isEqualTo(org.hospes.dom0.net.packet.Tcp.SYN);
    }
  }
}
