package org.hospes.dom0.net;

/**
 * The Internet checksum (RFC 1071) of TCP and UDP over IPv4 and IPv6 in an Ethernet frame,
 * computed from scratch: what a NIC does for a packet its driver marked "checksum blank"
 * (netif's NETTXF_csum_blank, Linux's CHECKSUM_PARTIAL). The field is recomputed over the
 * pseudo-header and the whole segment whatever it held, so a frontend cannot make dom0 forward
 * a wrong checksum by leaving something odd there. IPv4 fragments and IPv6 extension headers are
 * refused (the checksum covers the whole datagram, which one fragment does not hold).
 */
public final class L4Checksum {
  private L4Checksum() {}

  public static final int ETHERTYPE_IPV4 = 0x0800;
  public static final int ETHERTYPE_IPV6 = 0x86DD;
  public static final int ETHERTYPE_VLAN = 0x8100;
  public static final int PROTO_TCP = 6;
  public static final int PROTO_UDP = 17;

  /**
   * Fills in the TCP or UDP checksum of the frame in {@code f[off..off+len)}. Returns false
   * (and changes nothing) if the frame is not a whole TCP or UDP packet over IPv4 or IPv6.
   */
  public static boolean fill(byte[] f, int off, int len) {
    int end = off + len;
    int l3 = off + 14;
    if (len < 14) {
      return false;
    }
    int type = u16(f, off + 12);
    if (type == ETHERTYPE_VLAN) {
      if (len < 18) {
        return false;
      }
      type = u16(f, off + 16);
      l3 += 4;
    }
    long sum;
    int proto;
    int l4;
    int l4len;
    if (type == ETHERTYPE_IPV4) {
      if (l3 + 20 > end || (f[l3] & 0xF0) != 0x40) {
        return false;
      }
      int ihl = (f[l3] & 0x0F) * 4;
      int total = u16(f, l3 + 2);
      int frag = u16(f, l3 + 6);
      if (ihl < 20 || total < ihl || l3 + total > end || (frag & 0x3FFF) != 0) {
        return false;
      }
      proto = f[l3 + 9] & 0xFF;
      l4 = l3 + ihl;
      l4len = total - ihl;
      sum = sum(f, l3 + 12, 8, 0) + proto + l4len;
    } else if (type == ETHERTYPE_IPV6) {
      if (l3 + 40 > end || (f[l3] & 0xF0) != 0x60) {
        return false;
      }
      l4len = u16(f, l3 + 4);
      proto = f[l3 + 6] & 0xFF;
      l4 = l3 + 40;
      if (l4 + l4len > end) {
        return false;
      }
      sum = sum(f, l3 + 8, 32, 0) + proto + l4len;
    } else {
      return false;
    }
    int field;
    if (proto == PROTO_TCP) {
      field = 16;
      if (l4len < 20) {
        return false;
      }
    } else if (proto == PROTO_UDP) {
      field = 6;
      if (l4len < 8) {
        return false;
      }
    } else {
      return false;
    }
    f[l4 + field] = 0;
    f[l4 + field + 1] = 0;
    int c = finish(sum(f, l4, l4len, sum));
    if (c == 0 && proto == PROTO_UDP) {
      // RFC 768: a computed zero is sent as all ones (zero means "no checksum").
      c = 0xFFFF;
    }
    f[l4 + field] = (byte) (c >>> 8);
    f[l4 + field + 1] = (byte) c;
    return true;
  }

  /** Adds the 16-bit big-endian words of {@code f[off..off+len)} to {@code sum}. */
  public static long sum(byte[] f, int off, int len, long sum) {
    int i = 0;
    for (; i + 1 < len; i += 2) {
      sum += u16(f, off + i);
    }
    if (i < len) {
      sum += (f[off + i] & 0xFF) << 8;
    }
    return sum;
  }

  /** Folds a sum to 16 bits and complements it. */
  public static int finish(long sum) {
    while ((sum >>> 16) != 0) {
      sum = (sum & 0xFFFF) + (sum >>> 16);
    }
    return (int) (~sum & 0xFFFF);
  }

  /** True if the TCP or UDP checksum of the frame verifies (false if it is not such a frame). */
  public static boolean verify(byte[] f, int off, int len) {
    byte[] copy = java.util.Arrays.copyOfRange(f, off, off + len);
    return fill(copy, 0, len) && java.util.Arrays.equals(copy, 0, len, f, off, off + len);
  }

  static int u16(byte[] b, int off) {
    return (b[off] & 0xFF) << 8 | (b[off + 1] & 0xFF);
  }
}
