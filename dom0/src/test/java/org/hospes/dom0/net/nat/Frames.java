package org.hospes.dom0.net.nat;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.dom0.net.packet.Bytes;
import org.hospes.dom0.net.packet.Ethernet;
import org.hospes.dom0.net.packet.Ipv4;
import org.hospes.dom0.net.packet.Tcp;

/** Test-side frame inspection, with a checksum written independently of the production one. */
final class Frames {

  private Frames() {}

  /** RFC 1071 the plain way: 16-bit words summed in a long, folded at the end. */
  static int inetSum(byte[] b, int off, int len) {
    long sum = 0;
    for (int i = 0; i < len; i += 2) {
      int hi = b[off + i] & 0xff;
      int lo = i + 1 < len ? b[off + i + 1] & 0xff : 0;
      sum += (hi << 8) | lo;
    }
    while (sum > 0xffff) {
      sum = (sum & 0xffff) + (sum >> 16);
    }
    return (int) (~sum & 0xffff);
  }

  static int pseudoSum(byte[] f, int ip, int proto, int len) {
    byte[] ph = new byte[12 + len];
    System.arraycopy(f, ip + 12, ph, 0, 8);
    ph[9] = (byte) proto;
    ph[10] = (byte) (len >> 8);
    ph[11] = (byte) len;
    System.arraycopy(f, ip + 20, ph, 12, len);
    return inetSum(ph, 0, ph.length);
  }

  /** Asserts that an IPv4 frame's header and transport checksums verify (others pass). */
  static void check(byte[] f) {
    assertThat(f.length).as("frame length").isGreaterThanOrEqualTo(60);
    if (Ethernet.type(f, 0) != Ethernet.TYPE_IPV4) {
      return;
    }
    int ip = Ethernet.HEADER;
    assertThat(f[ip] & 0xff).as("version/IHL").isEqualTo(0x45);
    assertThat(inetSum(f, ip, 20)).as("IPv4 header checksum").isZero();
    int total = Bytes.u16(f, ip + 2);
    assertThat(total).isLessThanOrEqualTo(f.length - Ethernet.HEADER);
    int proto = f[ip + 9] & 0xff;
    int len = total - 20;
    if (proto == 6 || (proto == 17 && Bytes.u16(f, ip + 26) != 0)) {
      assertThat(pseudoSum(f, ip, proto, len)).as("transport checksum, proto " + proto).isZero();
    }
    if (proto == 17) {
      assertThat(Bytes.u16(f, ip + 24)).as("UDP length").isEqualTo(len);
    }
    if (proto == 1) {
      assertThat(inetSum(f, ip + 20, len)).as("ICMP checksum").isZero();
    }
  }

  static boolean isTcp(byte[] f) {
    return Ethernet.type(f, 0) == Ethernet.TYPE_IPV4 && (f[Ethernet.HEADER + 9] & 0xff) == 6;
  }

  static boolean isUdp(byte[] f) {
    return Ethernet.type(f, 0) == Ethernet.TYPE_IPV4 && (f[Ethernet.HEADER + 9] & 0xff) == 17;
  }

  static boolean isIcmp(byte[] f) {
    return Ethernet.type(f, 0) == Ethernet.TYPE_IPV4 && (f[Ethernet.HEADER + 9] & 0xff) == 1;
  }

  static boolean isArp(byte[] f) {
    return Ethernet.type(f, 0) == Ethernet.TYPE_ARP;
  }

  /** Parses a TCP frame from the gateway (its checksums already checked). */
  static Tcp.Segment tcp(byte[] f) {
    Tcp.Segment s = new Tcp.Segment();
    int ip = Ethernet.HEADER;
    int total = Ipv4.totalLength(f, ip);
    assertThat(Tcp.parse(f, ip + 20, total - 20, Ipv4.src(f, ip), Ipv4.dst(f, ip), s)).isTrue();
    return s;
  }
}
