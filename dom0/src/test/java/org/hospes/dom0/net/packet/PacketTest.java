package org.hospes.dom0.net.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class PacketTest {

  static byte[] hex(String s) {
    return HexFormat.of().parseHex(s.replace(" ", ""));
  }

  @Test
  void theChecksumMatchesRfc1071sWorkedExample() {
    // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, so the checksum is its complement.
    byte[] b = hex("0001 f203 f4f5 f6f7");
    assertThat(Checksum.of(b, 0, b.length)).isEqualTo(~0xddf2 & 0xffff);
    // An odd length pads with a zero byte.
    assertThat(Checksum.of(hex("01"), 0, 1)).isEqualTo(~0x0100 & 0xffff);
  }

  @Test
  void aKnownIpv4HeaderGetsItsKnownChecksum() {
    // 192.168.0.1 -> 192.168.0.199, UDP, total 0x73, DF, TTL 64: checksum 0xb861.
    byte[] h = hex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7");
    assertThat(Checksum.of(h, 0, 20)).isEqualTo(0xb861);
    Bytes.put16(h, 10, 0xb861);
    byte[] p = java.util.Arrays.copyOf(h, 0x73);
    assertThat(Ipv4.validate(p, 0, p.length)).isEqualTo(20);
    assertThat(Ipv4.validate(p, 0, 20)).as("total length 0x73 does not fit in 20").isEqualTo(-1);
    p[10] ^= 1;
    assertThat(Ipv4.validate(p, 0, p.length)).isEqualTo(-1);
  }

  @Test
  void ipv4ValidationRejectsBadVersionsAndLengths() {
    byte[] f = Ipv4.frame(1, 2, 3, 17, 0x0a000202, 0x0a00020f, 8);
    int ip = Ethernet.HEADER;
    assertThat(Ipv4.validate(f, ip, 28)).isEqualTo(20);
    assertThat(Ipv4.validate(f, ip, 27)).as("total length past the data").isEqualTo(-1);
    assertThat(Ipv4.validate(f, ip, 19)).isEqualTo(-1);
    byte[] v6 = f.clone();
    v6[ip] = 0x65;
    assertThat(Ipv4.validate(v6, ip, 28)).isEqualTo(-1);
    byte[] ihl4 = f.clone();
    ihl4[ip] = 0x44;
    assertThat(Ipv4.validate(ihl4, ip, 28)).isEqualTo(-1);
  }

  @Test
  void aTcpFrameRoundTripsWithItsMssOption() {
    byte[] data = {1, 2, 3};
    byte[] f = Tcp.frame(1, 2, 9, 0x0a00020f, 40000, 0x0a000202, 80, 0xfffffff0, 77,
        Tcp.SYN | Tcp.ACK_FLAG, 4096, 1460, data, 0, 3);
    int ip = Ethernet.HEADER;
    Tcp.Segment s = new Tcp.Segment();
    assertThat(Tcp.parse(f, ip + 20, Ipv4.totalLength(f, ip) - 20, 0x0a00020f, 0x0a000202, s))
        .isTrue();
    assertThat(s.srcPort).isEqualTo(40000);
    assertThat(s.dstPort).isEqualTo(80);
    assertThat(s.seq).isEqualTo(0xfffffff0);
    assertThat(s.ack).isEqualTo(77);
    assertThat(s.window).isEqualTo(4096);
    assertThat(s.mss).isEqualTo(1460);
    assertThat(s.dataLen).isEqualTo(3);
    assertThat(s.seqLength()).isEqualTo(4);
    assertThat(f[s.dataOff + 2]).isEqualTo((byte) 3);
    // The pseudo-header binds the addresses: another destination fails the checksum.
    assertThat(Tcp.parse(f, ip + 20, Ipv4.totalLength(f, ip) - 20, 0x0a00020f, 0x0a000203, s))
        .isFalse();
  }

  @Test
  void malformedTcpOptionsAreSkippedNotTrusted() {
    // Data offset 8 words: options NOP, MSS with length 200 (runs past the header), then junk.
    byte[] seg = new byte[32];
    Bytes.put8(seg, Tcp.DATA_OFFSET, 8 << 4);
    seg[20] = Tcp.OPT_NOP;
    seg[21] = Tcp.OPT_MSS;
    seg[22] = (byte) 200;
    int sum = Checksum.pseudoHeader(1, 2, 6, 32);
    Bytes.put16(seg, Tcp.CHECKSUM, Checksum.finish(Checksum.add(sum, seg, 0, 32)));
    Tcp.Segment s = new Tcp.Segment();
    assertThat(Tcp.parse(seg, 0, 32, 1, 2, s)).isTrue();
    assertThat(s.mss).isEqualTo(-1);
    // An MSS option whose 4 bytes straddle the end of the header is not read from the data.
    byte[] edge = new byte[28];
    Bytes.put8(edge, Tcp.DATA_OFFSET, 6 << 4);
    edge[20] = Tcp.OPT_NOP;
    edge[21] = Tcp.OPT_NOP;
    edge[22] = Tcp.OPT_MSS;
    edge[23] = 4;
    edge[24] = 0x05; // payload, not option
    edge[25] = (byte) 0xb4;
    int esum = Checksum.pseudoHeader(1, 2, 6, 28);
    Bytes.put16(edge, Tcp.CHECKSUM, Checksum.finish(Checksum.add(esum, edge, 0, 28)));
    assertThat(Tcp.parse(edge, 0, 28, 1, 2, s)).isTrue();
    assertThat(s.mss).isEqualTo(-1);
    assertThat(s.dataLen).isEqualTo(4);
    // A data offset larger than the segment is rejected.
    Bytes.put8(seg, Tcp.DATA_OFFSET, 15 << 4);
    assertThat(Tcp.parse(seg, 0, 32, 1, 2, s)).isFalse();
  }

  @Test
  void sequenceComparisonsWrapModulo2to32() {
    assertThat(Tcp.seqLt(0xfffffff0, 0x10)).isTrue();
    assertThat(Tcp.seqLt(0x10, 0xfffffff0)).isFalse();
    assertThat(Tcp.seqLeq(5, 5)).isTrue();
  }

  @Test
  void udpValidationChecksLengthAndAnOptionalChecksum() {
    byte[] d = {9, 8, 7};
    byte[] f = Udp.frame(1, 2, 3, 10, 1000, 20, 2000, d, 0, 3);
    int u = Ipv4.payloadOffset();
    assertThat(Udp.validate(f, u, 11, 10, 20)).isEqualTo(11);
    assertThat(Udp.validate(f, u, 11, 10, 21)).as("wrong pseudo header").isEqualTo(-1);
    assertThat(Udp.validate(f, u, 10, 10, 20)).as("length past the payload").isEqualTo(-1);
    Bytes.put16(f, u + Udp.CHECKSUM, 0);
    assertThat(Udp.validate(f, u, 11, 10, 21)).as("checksum 0 means none").isEqualTo(11);
  }

  @Test
  void dhcpOptionsAreFoundAndATruncatedListIsRejected() {
    byte[] m = new Dhcp.Builder(Dhcp.OP_BOOTREQUEST, 42, 0, 0, 0, 0, 0, 0x525400123456L)
        .messageType(DhcpMessageType.DISCOVER)
        .addressOption(Dhcp.OPT_REQUESTED_IP, 0x0a00020f)
        .build();
    assertThat(m.length).isEqualTo(Dhcp.MIN_SIZE);
    assertThat(Dhcp.isDhcp(m, 0, m.length)).isTrue();
    assertThat(Dhcp.messageType(m, 0, m.length)).isEqualTo(DhcpMessageType.DISCOVER);
    assertThat(Dhcp.addressOption(m, 0, m.length, Dhcp.OPT_REQUESTED_IP)).isEqualTo(0x0a00020f);
    assertThat(Dhcp.option(m, 0, m.length, Dhcp.OPT_SERVER_ID)).isEqualTo(-1);
    // Cut inside the requested-IP option: its length now runs past the end.
    assertThat(Dhcp.addressOption(m, 0, Dhcp.OPTIONS + 5, Dhcp.OPT_REQUESTED_IP)).isZero();
    assertThat(Bytes.mac(m, Dhcp.CHADDR)).isEqualTo(0x525400123456L);
  }

  @Test
  void addressesParseAndFormatStrictly() {
    assertThat(Addresses.formatIp(Addresses.parseIp("10.0.2.2"))).isEqualTo("10.0.2.2");
    assertThat(Addresses.parseIp("255.255.255.255")).isEqualTo(-1);
    assertThatThrownBy(() -> Addresses.parseIp("10.0.2")).isInstanceOf(
        IllegalArgumentException.class);
    assertThatThrownBy(() -> Addresses.parseIp("10.0.2.256")).isInstanceOf(
        IllegalArgumentException.class);
    assertThatThrownBy(() -> Addresses.parseIp("10.0.-2.2")).isInstanceOf(
        IllegalArgumentException.class);
    assertThat(Addresses.formatMac(Addresses.parseMac("52:55:0A:00:02:02")))
        .isEqualTo("52:55:0a:00:02:02");
    assertThat(Addresses.netmask(24)).isEqualTo(0xffffff00);
    assertThat(Addresses.netmask(0)).isZero();
    assertThat(Ethernet.isGroup(Addresses.BROADCAST_MAC)).isTrue();
    assertThat(Ethernet.isGroup(0x525400123456L)).isFalse();
  }

  @Test
  void anIcmpUnreachableQuotesTheHeaderAndEightBytes() {
    byte[] orig = Udp.frame(1, 2, 3, 0x0a00020f, 1000, 0x0a000202, 2000, new byte[100], 0, 100);
    int ip = Ethernet.HEADER;
    byte[] f = Icmp.unreachable(2, 1, 4, 0x0a000202, Icmp.CODE_PORT_UNREACHABLE, orig, ip, 128, 20);
    int o = Ipv4.payloadOffset();
    assertThat(Ipv4.totalLength(f, ip)).isEqualTo(20 + 8 + 28);
    assertThat(Checksum.of(f, o, 36)).isZero();
    assertThat(Udp.dstPort(f, o + 8 + 20)).isEqualTo(2000);
  }
}
