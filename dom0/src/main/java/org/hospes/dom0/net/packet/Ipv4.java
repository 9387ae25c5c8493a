package org.hospes.dom0.net.packet;

/**
 * The IPv4 header (RFC 791). Offsets are from the start of the IP header.
 *
 * <pre>
 *  0       1       2               4               6               8       9       10      12      16      20
 * +-------+-------+---------------+---------------+---------------+-------+-------+-------+-------+-------+
 * |ver|ihl|  tos  | total length  | identification|flags|frag off | ttl   | proto | cksum | src   | dst   |
 * +-------+-------+---------------+---------------+---------------+-------+-------+-------+-------+-------+
 * </pre>
 */
public final class Ipv4 {

  public static final int VERSION_IHL = 0;
  public static final int TOS = 1;
  public static final int TOTAL_LENGTH = 2;
  public static final int ID = 4;
  public static final int FLAGS_FRAGMENT = 6;
  public static final int TTL = 8;
  public static final int PROTOCOL = 9;
  public static final int CHECKSUM = 10;
  public static final int SRC = 12;
  public static final int DST = 16;
  /** A header without options; everything the gateway sends has this length. */
  public static final int HEADER = 20;

  /** The "don't fragment" bit in the flags/fragment-offset word. */
  public static final int FLAG_DF = 0x4000;
  /** "More fragments" plus the fragment offset: nonzero means this is a fragment. */
  public static final int FRAGMENT_MASK = 0x3fff;

  /** The TTL of packets the gateway originates (Linux's default). */
  public static final int DEFAULT_TTL = 64;

  private Ipv4() {}

  /**
   * Checks the header of a packet in {@code len} bytes at {@code off}: version 4, a header length
   * of at least 20 that fits, a total length between the header length and {@code len} (bytes
   * beyond it are Ethernet padding) and a correct header checksum. Returns the header length in
   * bytes, or -1 if the packet must be dropped.
   */
  public static int validate(byte[] p, int off, int len) {
    if (len < HEADER) {
      return -1;
    }
    int vi = Bytes.u8(p, off + VERSION_IHL);
    int ihl = (vi & 15) * 4;
    if ((vi >>> 4) != 4 || ihl < HEADER || ihl > len) {
      return -1;
    }
    int total = Bytes.u16(p, off + TOTAL_LENGTH);
    if (total < ihl || total > len) {
      return -1;
    }
    if (Checksum.of(p, off, ihl) != 0) {
      return -1;
    }
    return ihl;
  }

  public static int totalLength(byte[] p, int off) {
    return Bytes.u16(p, off + TOTAL_LENGTH);
  }

  public static int protocol(byte[] p, int off) {
    return Bytes.u8(p, off + PROTOCOL);
  }

  public static int src(byte[] p, int off) {
    return Bytes.i32(p, off + SRC);
  }

  public static int dst(byte[] p, int off) {
    return Bytes.i32(p, off + DST);
  }

  public static int ttl(byte[] p, int off) {
    return Bytes.u8(p, off + TTL);
  }

  public static boolean isFragment(byte[] p, int off) {
    return (Bytes.u16(p, off + FLAGS_FRAGMENT) & FRAGMENT_MASK) != 0;
  }

  /** Writes a 20-byte header with DF set and its checksum. */
  public static void writeHeader(byte[] p, int off, int totalLength, int id, int protocol, int src,
      int dst) {
    Bytes.put8(p, off + VERSION_IHL, 0x45);
    Bytes.put8(p, off + TOS, 0);
    Bytes.put16(p, off + TOTAL_LENGTH, totalLength);
    Bytes.put16(p, off + ID, id);
    Bytes.put16(p, off + FLAGS_FRAGMENT, FLAG_DF);
    Bytes.put8(p, off + TTL, DEFAULT_TTL);
    Bytes.put8(p, off + PROTOCOL, protocol);
    Bytes.put16(p, off + CHECKSUM, 0);
    Bytes.put32(p, off + SRC, src);
    Bytes.put32(p, off + DST, dst);
    Bytes.put16(p, off + CHECKSUM, Checksum.of(p, off, HEADER));
  }

  /**
   * A whole Ethernet frame around an IPv4 packet whose payload is {@code payloadLen} bytes: the
   * payload area starts at {@link #payloadOffset()} and is left for the caller to fill before it
   * computes the transport checksum. Frames shorter than the 60-byte Ethernet minimum are padded.
   */
  public static byte[] frame(long ethDst, long ethSrc, int id, int protocol, int src, int dst,
      int payloadLen) {
    int total = HEADER + payloadLen;
    byte[] f = new byte[Math.max(60, Ethernet.HEADER + total)];
    Ethernet.writeHeader(f, 0, ethDst, ethSrc, Ethernet.TYPE_IPV4);
    writeHeader(f, Ethernet.HEADER, total, id, protocol, src, dst);
    return f;
  }

  /** Where {@link #frame} puts the transport header. */
  public static int payloadOffset() {
    return Ethernet.HEADER + HEADER;
  }

  /** Whether an address is one a unicast flow may not use (0/8, 127/8, multicast, class E). */
  public static boolean isSpecial(int ip) {
    int first = ip >>> 24;
    return first == 0 || first == 127 || first >= 224;
  }
}
