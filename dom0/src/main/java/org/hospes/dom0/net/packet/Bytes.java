package org.hospes.dom0.net.packet;

/**
 * Big-endian (network order) reads and writes on a byte array. Callers check bounds first: these
 * helpers index the array directly and let an out-of-range index throw, which the packet parsers
 * never allow to happen because they validate every length before they read.
 */
public final class Bytes {

  private Bytes() {}

  public static int u8(byte[] b, int off) {
    return b[off] & 0xff;
  }

  public static int u16(byte[] b, int off) {
    return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff);
  }

  public static int i32(byte[] b, int off) {
    return ((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8)
        | (b[off + 3] & 0xff);
  }

  /** A 48-bit MAC address as the low bits of a long. */
  public static long mac(byte[] b, int off) {
    return ((long) u16(b, off) << 32) | (i32(b, off + 2) & 0xffffffffL);
  }

  public static void put8(byte[] b, int off, int v) {
    b[off] = (byte) v;
  }

  public static void put16(byte[] b, int off, int v) {
    b[off] = (byte) (v >>> 8);
    b[off + 1] = (byte) v;
  }

  public static void put32(byte[] b, int off, int v) {
    b[off] = (byte) (v >>> 24);
    b[off + 1] = (byte) (v >>> 16);
    b[off + 2] = (byte) (v >>> 8);
    b[off + 3] = (byte) v;
  }

  public static void putMac(byte[] b, int off, long mac) {
    put16(b, off, (int) (mac >>> 32));
    put32(b, off + 2, (int) mac);
  }
}
