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

  /**
   * Asserts that a frame is at least the Ethernet minimum and, for IPv4, that it has a 20-byte
   * header, a total length that fits, and correct header and transport checksums (plain ifs, not
   * AssertJ: the fuzz test checks every frame the gateway emits).
   */
  static void check(byte[] f) {
    require(f.length >= 60, "frame shorter than 60 bytes", f);
    if (Ethernet.type(f, 0) != Ethernet.TYPE_IPV4) {
      return;
    }
    int ip = Ethernet.HEADER;
    require((f[ip] & 0xff) == 0x45, "version/IHL is not 0x45", f);
    require(inetSum(f, ip, 20) == 0, "bad IPv4 header checksum", f);
    int total = Bytes.u16(f, ip + 2);
    require(total >= 20 && total <= f.length - Ethernet.HEADER, "IPv4 total length", f);
    int proto = f[ip + 9] & 0xff;
    int len = total - 20;
    if (proto == 6 || (proto == 17 && Bytes.u16(f, ip + 26) != 0)) {
      require(pseudoSum(f, ip, proto, len) == 0, "bad transport checksum, proto " + proto, f);
    }
    if (proto == 17) {
      require(Bytes.u16(f, ip + 24) == len, "UDP length differs from the IP length", f);
    }
    if (proto == 1) {
      require(inetSum(f, ip + 20, len) == 0, "bad ICMP checksum", f);
    }
  }

  private static void require(boolean ok, String what, byte[] f) {
    if (!ok) {
      throw new AssertionError(what + " in frame " + java.util.HexFormat.of().formatHex(f));
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
