package org.hospes.dom0.net.packet;

/**
 * ARP for IPv4 over Ethernet (RFC 826): hardware type 1, protocol 0x0800, lengths 6 and 4.
 *
 * <pre>
 *  0     2     4  5  6     8            14        18           24        28
 * +-----+-----+--+--+-----+------------+---------+------------+---------+
 * | htype| ptype|hl|pl| oper| sender MAC | sender IP| target MAC | target IP|
 * +-----+-----+--+--+-----+------------+---------+------------+---------+
 * </pre>
 *
 * Offsets are from the start of the ARP packet (the Ethernet payload).
 */
public final class Arp {

  public static final int HTYPE = 0;
  public static final int PTYPE = 2;
  public static final int HLEN = 4;
  public static final int PLEN = 5;
  public static final int OPER = 6;
  public static final int SHA = 8;
  public static final int SPA = 14;
  public static final int THA = 18;
  public static final int TPA = 24;
  public static final int SIZE = 28;

  public static final int HTYPE_ETHERNET = 1;
  public static final int OP_REQUEST = 1;
  public static final int OP_REPLY = 2;

  private Arp() {}

  /** Whether {@code len} bytes at {@code off} are an Ethernet/IPv4 ARP packet we can read. */
  public static boolean isEthernetIpv4(byte[] p, int off, int len) {
    return len >= SIZE && Bytes.u16(p, off + HTYPE) == HTYPE_ETHERNET
        && Bytes.u16(p, off + PTYPE) == Ethernet.TYPE_IPV4 && Bytes.u8(p, off + HLEN) == 6
        && Bytes.u8(p, off + PLEN) == 4;
  }

  public static int oper(byte[] p, int off) {
    return Bytes.u16(p, off + OPER);
  }

  public static long senderMac(byte[] p, int off) {
    return Bytes.mac(p, off + SHA);
  }

  public static int senderIp(byte[] p, int off) {
    return Bytes.i32(p, off + SPA);
  }

  public static long targetMac(byte[] p, int off) {
    return Bytes.mac(p, off + THA);
  }

  public static int targetIp(byte[] p, int off) {
    return Bytes.i32(p, off + TPA);
  }

  /**
   * A whole ARP frame: Ethernet header plus the 28-byte packet, padded to the 60-byte Ethernet
   * minimum as a NIC would.
   */
  public static byte[] frame(long ethDst, int oper, long sha, int spa, long tha, int tpa) {
    byte[] f = new byte[60];
    Ethernet.writeHeader(f, 0, ethDst, sha, Ethernet.TYPE_ARP);
    int o = Ethernet.HEADER;
    Bytes.put16(f, o + HTYPE, HTYPE_ETHERNET);
    Bytes.put16(f, o + PTYPE, Ethernet.TYPE_IPV4);
    Bytes.put8(f, o + HLEN, 6);
    Bytes.put8(f, o + PLEN, 4);
    Bytes.put16(f, o + OPER, oper);
    Bytes.putMac(f, o + SHA, sha);
    Bytes.put32(f, o + SPA, spa);
    Bytes.putMac(f, o + THA, tha);
    Bytes.put32(f, o + TPA, tpa);
    return f;
  }
}
