package org.hospes.dom0.net.nat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.dom0.net.packet.Dhcp.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.hospes.dom0.net.packet.Addresses;
import org.hospes.dom0.net.packet.Bytes;
import org.hospes.dom0.net.packet.Dhcp;
import org.hospes.dom0.net.packet.DhcpMessageType;
import org.hospes.dom0.net.packet.Ethernet;
import org.hospes.dom0.net.packet.Ipv4;
import org.hospes.dom0.net.packet.Udp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * DHCP exchanges shaped as busybox's udhcpc sends them: DISCOVER and REQUEST broadcast from
 * 0.0.0.0:68 to 255.255.255.255:67, flags 0, client identifier 61 = type 1 + MAC, max message size
 * 576, parameter request list (subnet, router, DNS, hostname, domain, broadcast, NTP), vendor class
 * "udhcp 1.36.1", REQUEST with 50 and 54; renewals unicast from the leased address with ciaddr.
 */
class NatDhcpTest {

  static final long MAC = Addresses.parseMac("52:54:00:aa:bb:01");
  static final long MAC2 = Addresses.parseMac("52:54:00:aa:bb:02");
  static final int GW = NatConfig.DEFAULT_GATEWAY;

  long now;
  NatGateway gw;
  FakeGuest guest;

  @BeforeEach
  void setUp() throws IOException {
    gw = new NatGateway("nat0", NatConfig.defaults(), () -> now);
    guest = new FakeGuest(gw, MAC, 0);
  }

  @AfterEach
  void tearDown() {
    gw.close();
  }

  static byte[] udhcpc(long mac, DhcpMessageType type, int xid, int ciaddr, int requested,
      int server, boolean clientId) {
    Dhcp.Builder b = new Dhcp.Builder(OP_BOOTREQUEST, xid, 0, ciaddr, 0, 0, 0, mac);
    b.messageType(type);
    if (clientId) {
      byte[] id = new byte[7];
      id[0] = 1;
      Bytes.putMac(id, 1, mac);
      b.option(OPT_CLIENT_ID, id);
    }
    if (requested != 0) {
      b.addressOption(OPT_REQUESTED_IP, requested);
    }
    if (server != 0) {
      b.addressOption(OPT_SERVER_ID, server);
    }
    b.shortOption(OPT_MAX_MESSAGE_SIZE, 576);
    b.option(OPT_PARAMETER_LIST, (byte) 1, (byte) 3, (byte) 6, (byte) 12, (byte) 15, (byte) 28,
        (byte) 42);
    b.option(OPT_VENDOR_CLASS, "udhcp 1.36.1".getBytes(StandardCharsets.US_ASCII));
    byte[] m = b.build();
    boolean bcast = ciaddr == 0;
    return Udp.frame(bcast ? Addresses.BROADCAST_MAC : NatConfig.DEFAULT_GATEWAY_MAC, mac, 0,
        ciaddr, CLIENT_PORT, bcast ? Addresses.BROADCAST_IP : GW, SERVER_PORT, m, 0, m.length);
  }

  /** The DHCP payload of a reply frame, after checking its addressing as udhcpc's raw socket does. */
  static int dhcpOff(byte[] f) {
    int ip = Ethernet.HEADER;
    assertThat(Ipv4.protocol(f, ip)).isEqualTo(17);
    assertThat(f[ip] & 15).as("IHL 5 (udhcpc drops IP options)").isEqualTo(5);
    assertThat(Udp.srcPort(f, ip + 20)).isEqualTo(67);
    assertThat(Udp.dstPort(f, ip + 20)).isEqualTo(68);
    assertThat(Ipv4.src(f, ip)).isEqualTo(GW);
    int off = ip + 28;
    assertThat(Bytes.i32(f, off + COOKIE)).isEqualTo(MAGIC_COOKIE);
    assertThat(Bytes.u8(f, off + OP)).isEqualTo(OP_BOOTREPLY);
    return off;
  }

  static int len(byte[] f) {
    return Bytes.u16(f, Ethernet.HEADER + 24) - 8;
  }

  static DhcpMessageType type(byte[] f) {
    return Dhcp.messageType(f, dhcpOff(f), len(f));
  }

  byte[] reply() {
    return guest.await(Frames::isUdp);
  }

  @Test
  void discoverRequestGetsOfferAndAckWithTheFullConfiguration() {
    guest.deliver(udhcpc(MAC, DhcpMessageType.DISCOVER, 0x1234abcd, 0, 0, 0, true));
    byte[] offer = reply();
    int o = dhcpOff(offer);
    int l = len(offer);
    assertThat(Ethernet.dst(offer, 0)).as("broadcast: the client has no address yet")
        .isEqualTo(Addresses.BROADCAST_MAC);
    assertThat(Ipv4.dst(offer, Ethernet.HEADER)).isEqualTo(Addresses.BROADCAST_IP);
    assertThat(Dhcp.messageType(offer, o, l)).isEqualTo(DhcpMessageType.OFFER);
    assertThat(Bytes.i32(offer, o + XID)).isEqualTo(0x1234abcd);
    assertThat(Bytes.mac(offer, o + CHADDR)).isEqualTo(MAC);
    int yiaddr = Bytes.i32(offer, o + YIADDR);
    assertThat(Addresses.formatIp(yiaddr)).isEqualTo("10.0.2.15");
    assertThat(Dhcp.addressOption(offer, o, l, OPT_SERVER_ID)).isEqualTo(GW);
    assertThat(Dhcp.addressOption(offer, o, l, OPT_SUBNET_MASK)).isEqualTo(0xffffff00);
    assertThat(Dhcp.addressOption(offer, o, l, OPT_ROUTER)).isEqualTo(GW);
    assertThat(Dhcp.addressOption(offer, o, l, OPT_DNS)).isEqualTo(GW);
    assertThat(Dhcp.addressOption(offer, o, l, OPT_LEASE_TIME)).isEqualTo(86400);
    assertThat(Dhcp.addressOption(offer, o, l, OPT_RENEWAL_TIME)).isEqualTo(43200);
    assertThat(Dhcp.addressOption(offer, o, l, OPT_REBINDING_TIME)).isEqualTo(75600);
    int cid = Dhcp.option(offer, o, l, OPT_CLIENT_ID);
    assertThat(Dhcp.optionLength(cid)).as("client id echoed (RFC 6842)").isEqualTo(7);
    assertThat(l).isGreaterThanOrEqualTo(300);

    guest.deliver(udhcpc(MAC, DhcpMessageType.REQUEST, 0x1234abce, 0, yiaddr, GW, true));
    byte[] ack = reply();
    o = dhcpOff(ack);
    l = len(ack);
    assertThat(Dhcp.messageType(ack, o, l)).isEqualTo(DhcpMessageType.ACK);
    assertThat(Bytes.i32(ack, o + YIADDR)).isEqualTo(yiaddr);
    assertThat(Bytes.i32(ack, o + XID)).isEqualTo(0x1234abce);
    assertThat(gw.dhcpAddress(MAC)).isEqualTo(yiaddr);

    // Renewal: unicast from the leased address, ciaddr set, no 50/54; answered by unicast.
    now += 43_200_000_000_000L;
    guest.ip = yiaddr;
    guest.deliver(udhcpc(MAC, DhcpMessageType.REQUEST, 0x99, yiaddr, 0, 0, true));
    byte[] renew = reply();
    assertThat(type(renew)).isEqualTo(DhcpMessageType.ACK);
    assertThat(Ethernet.dst(renew, 0)).isEqualTo(MAC);
    assertThat(Ipv4.dst(renew, Ethernet.HEADER)).isEqualTo(yiaddr);
    assertThat(Bytes.i32(renew, dhcpOff(renew) + CIADDR)).isEqualTo(yiaddr);
  }

  @Test
  void aSecondClientGetsTheNextAddressAndTheFirstKeepsItsOwn() {
    guest.deliver(udhcpc(MAC, DhcpMessageType.DISCOVER, 1, 0, 0, 0, true));
    int a = Bytes.i32(reply(), Ethernet.HEADER + 28 + YIADDR);
    guest.deliver(udhcpc(MAC, DhcpMessageType.REQUEST, 2, 0, a, GW, true));
    reply();
    guest.deliver(udhcpc(MAC2, DhcpMessageType.DISCOVER, 3, 0, 0, 0, false));
    int b = Bytes.i32(reply(), Ethernet.HEADER + 28 + YIADDR);
    assertThat(Addresses.formatIp(b)).isEqualTo("10.0.2.16");
    // The first client asks again (a reboot): same address.
    guest.deliver(udhcpc(MAC, DhcpMessageType.DISCOVER, 4, 0, 0, 0, true));
    assertThat(Bytes.i32(reply(), Ethernet.HEADER + 28 + YIADDR)).isEqualTo(a);
  }

  @Test
  void aRequestForTheWrongAddressIsNakedAndAnotherServersSelectionIsSilent() {
    guest.deliver(udhcpc(MAC, DhcpMessageType.DISCOVER, 1, 0, 0, 0, true));
    int a = Bytes.i32(reply(), Ethernet.HEADER + 28 + YIADDR);
    guest.deliver(udhcpc(MAC, DhcpMessageType.REQUEST, 2, 0, a + 7, GW, true));
    byte[] nak = reply();
    assertThat(type(nak)).isEqualTo(DhcpMessageType.NAK);
    assertThat(Ethernet.dst(nak, 0)).isEqualTo(Addresses.BROADCAST_MAC);
    assertThat(Bytes.i32(nak, dhcpOff(nak) + YIADDR)).isZero();
    // INIT-REBOOT with an address from another network: NAK.
    guest.deliver(udhcpc(MAC, DhcpMessageType.REQUEST, 3, 0, Addresses.parseIp("192.168.1.9"), 0,
        true));
    assertThat(type(reply())).isEqualTo(DhcpMessageType.NAK);
    // SELECTING another server: no answer, and our offer is withdrawn.
    guest.deliver(udhcpc(MAC, DhcpMessageType.REQUEST, 4, 0, a, Addresses.parseIp("10.0.2.3"),
        true));
    gw.poll();
    assertThat(guest.inbox).isEmpty();
    assertThat(gw.dhcpAddress(MAC)).isZero();
  }

  @Test
  void releaseFreesTheAddressAndAnExpiredOfferIsReused() {
    guest.deliver(udhcpc(MAC, DhcpMessageType.DISCOVER, 1, 0, 0, 0, true));
    int a = Bytes.i32(reply(), Ethernet.HEADER + 28 + YIADDR);
    guest.deliver(udhcpc(MAC, DhcpMessageType.REQUEST, 2, 0, a, GW, true));
    reply();
    guest.ip = a;
    guest.deliver(udhcpc(MAC, DhcpMessageType.RELEASE, 3, a, 0, GW, true));
    assertThat(gw.dhcpAddress(MAC)).isZero();
    guest.deliver(udhcpc(MAC2, DhcpMessageType.DISCOVER, 4, 0, 0, 0, false));
    assertThat(Bytes.i32(reply(), Ethernet.HEADER + 28 + YIADDR)).isEqualTo(a);
    // MAC2 never requests; a minute later its offer is gone and MAC gets the address back.
    now += 61_000_000_000L;
    guest.ip = 0;
    guest.deliver(udhcpc(MAC, DhcpMessageType.DISCOVER, 5, 0, 0, 0, true));
    assertThat(Bytes.i32(reply(), Ethernet.HEADER + 28 + YIADDR)).isEqualTo(a);
  }

  @Test
  void theRequestedAddressOptionIsHonouredWhenFree() {
    int want = Addresses.parseIp("10.0.2.100");
    guest.deliver(udhcpc(MAC, DhcpMessageType.DISCOVER, 1, 0, want, 0, true));
    assertThat(Bytes.i32(reply(), Ethernet.HEADER + 28 + YIADDR)).isEqualTo(want);
    // ...but never the gateway's own address.
    guest.deliver(udhcpc(MAC2, DhcpMessageType.DISCOVER, 2, 0, GW, 0, true));
    assertThat(Bytes.i32(reply(), Ethernet.HEADER + 28 + YIADDR)).isNotEqualTo(GW);
  }
}
