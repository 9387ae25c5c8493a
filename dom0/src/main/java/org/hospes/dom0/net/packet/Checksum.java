package org.hospes.dom0.net.packet;

/**
 * The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit
 * words. Sums are accumulated in an {@code int} read as unsigned, without folding, and folded once
 * at the end: 32 unsigned bits hold the sum of a 64 KiB range (at most 32,768 words of 0xffff,
 * just under 2^31) plus a pseudo-header with room to spare.
 */
public final class Checksum {

  private Checksum() {}

  /** Adds {@code len} bytes at {@code off} to a running sum; an odd last byte is zero-padded. */
  public static int add(int sum, byte[] b, int off, int len) {
    int end = off + (len & ~1);
    for (int i = off; i < end; i += 2) {
      sum += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
    }
    if ((len & 1) != 0) {
      sum += (b[off + len - 1] & 0xff) << 8;
    }
    return sum;
  }

  /** The IPv4 pseudo-header sum for TCP and UDP (RFC 793 §3.1, RFC 768). */
  public static int pseudoHeader(int src, int dst, int protocol, int length) {
    return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
  }

  /** Folds the carries in and complements: the value to store in a checksum field. */
  public static int finish(int sum) {
    long s = sum & 0xffffffffL;
    while ((s >>> 16) != 0) {
      s = (s & 0xffff) + (s >>> 16);
    }
    return (int) (~s & 0xffff);
  }

  /** The checksum of a byte range; 0 when the range holds a correct checksum field. */
  public static int of(byte[] b, int off, int len) {
    return finish(add(0, b, off, len));
  }
}
