package org.hospes.dom0.net.packet;

/**
 * ICMP (RFC 792): type, code, checksum over the whole ICMP message, then four bytes whose meaning
 * depends on the type (identifier and sequence for echo; unused for destination unreachable), then
 * data.
 */
public final class Icmp {

  public static final int TYPE = 0;
  public static final int CODE = 1;
  public static final int CHECKSUM = 2;
  public static final int REST = 4;
  public static final int HEADER = 8;

  public static final int TYPE_ECHO_REPLY = 0;
  public static final int TYPE_DEST_UNREACHABLE = 3;
  public static final int TYPE_ECHO_REQUEST = 8;

  public static final int CODE_NET_UNREACHABLE = 0;
  public static final int CODE_HOST_UNREACHABLE = 1;
  public static final int CODE_PORT_UNREACHABLE = 3;
  /** "Communication administratively prohibited" (RFC 1812 §5.2.7.1). */
  public static final int CODE_ADMIN_PROHIBITED = 13;

  private Icmp() {}

  /**
   * A destination-unreachable frame about the IPv4 packet {@code orig[ipOff, ipOff+ipLen)}: the
   * ICMP body quotes the original IP header and the first 8 bytes of its payload, as RFC 792
   * requires (enough for the receiver to find the socket the error belongs to).
   */
  public static byte[] unreachable(long ethDst, long ethSrc, int id, int src, int code, byte[] orig,
      int ipOff, int ipLen, int ihl) {
    int quote = Math.min(ipLen, ihl + 8);
    byte[] f = Ipv4.frame(ethDst, ethSrc, id, IpProtocol.ICMP.code(), src, Ipv4.src(orig, ipOff),
        HEADER + quote);
    int o = Ipv4.payloadOffset();
    Bytes.put8(f, o + TYPE, TYPE_DEST_UNREACHABLE);
    Bytes.put8(f, o + CODE, code);
    System.arraycopy(orig, ipOff, f, o + HEADER, quote);
    Bytes.put16(f, o + CHECKSUM, Checksum.of(f, o, HEADER + quote));
    return f;
  }
}
