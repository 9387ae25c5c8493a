package org.hospes.dom0.net.packet;

/**
 * Ethernet II framing (IEEE 802.3 with an EtherType, no FCS: the switch never sees one).
 *
 * <pre>
 *  0               6               12      14
 * +---------------+---------------+-------+---------
 * | destination   | source        | type  | payload
 * +---------------+---------------+-------+---------
 * </pre>
 */
public final class Ethernet {

  public static final int DST = 0;
  public static final int SRC = 6;
  public static final int TYPE = 12;
  public static final int HEADER = 14;
  /** The largest payload of an untagged frame (the MTU). */
  public static final int MTU = 1500;

  public static final int TYPE_IPV4 = 0x0800;
  public static final int TYPE_ARP = 0x0806;

  private Ethernet() {}

  public static long dst(byte[] f, int off) {
    return Bytes.mac(f, off + DST);
  }

  public static long src(byte[] f, int off) {
    return Bytes.mac(f, off + SRC);
  }

  public static int type(byte[] f, int off) {
    return Bytes.u16(f, off + TYPE);
  }

  /** Writes the 14-byte header at {@code off}. */
  public static void writeHeader(byte[] f, int off, long dst, long src, int type) {
    Bytes.putMac(f, off + DST, dst);
    Bytes.putMac(f, off + SRC, src);
    Bytes.put16(f, off + TYPE, type);
  }

  /** Whether a MAC address is a group (multicast or broadcast) address: the I/G bit. */
  public static boolean isGroup(long mac) {
    return (mac & 0x0100_0000_0000L) != 0;
  }
}
