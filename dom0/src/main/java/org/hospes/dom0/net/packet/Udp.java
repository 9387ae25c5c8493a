package org.hospes.dom0.net.packet;

/** The UDP header (RFC 768): source port, destination port, length, checksum. */
public final class Udp {

  public static final int SRC_PORT = 0;
  public static final int DST_PORT = 2;
  public static final int LENGTH = 4;
  public static final int CHECKSUM = 6;
  public static final int HEADER = 8;

  private Udp() {}

  /**
   * Checks a datagram in an IP payload of {@code len} bytes: the length field between 8 and
   * {@code len}, and the checksum if it is not zero (zero means "none" over IPv4). Returns the
   * datagram length from the header, or -1.
   */
  public static int validate(byte[] p, int off, int len, int srcIp, int dstIp) {
    if (len < HEADER) {
      return -1;
    }
    int ulen = Bytes.u16(p, off + LENGTH);
    if (ulen < HEADER || ulen > len) {
      return -1;
    }
    if (Bytes.u16(p, off + CHECKSUM) != 0) {
      int sum = Checksum.pseudoHeader(srcIp, dstIp, IpProtocol.UDP.code(), ulen);
      if (Checksum.finish(Checksum.add(sum, p, off, ulen)) != 0) {
        return -1;
      }
    }
    return ulen;
  }

  public static int srcPort(byte[] p, int off) {
    return Bytes.u16(p, off + SRC_PORT);
  }

  public static int dstPort(byte[] p, int off) {
    return Bytes.u16(p, off + DST_PORT);
  }

  /**
   * A whole Ethernet/IPv4/UDP frame carrying {@code data[dataOff, dataOff+dataLen)}, with the UDP
   * checksum computed (a computed 0 is sent as 0xffff, RFC 768).
   */
  public static byte[] frame(long ethDst, long ethSrc, int id, int src, int sport, int dst,
      int dport, byte[] data, int dataOff, int dataLen) {
    int ulen = HEADER + dataLen;
    byte[] f = Ipv4.frame(ethDst, ethSrc, id, IpProtocol.UDP.code(), src, dst, ulen);
    int o = Ipv4.payloadOffset();
    Bytes.put16(f, o + SRC_PORT, sport);
    Bytes.put16(f, o + DST_PORT, dport);
    Bytes.put16(f, o + LENGTH, ulen);
    System.arraycopy(data, dataOff, f, o + HEADER, dataLen);
    int sum = Checksum.pseudoHeader(src, dst, IpProtocol.UDP.code(), ulen);
    sum = Checksum.add(sum, f, o, ulen);
    int c = Checksum.finish(sum);
    Bytes.put16(f, o + CHECKSUM, c == 0 ? 0xffff : c);
    return f;
  }
}
