package org.hospes.dom0.net.packet;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * IPv4 and MAC addresses in their compact forms: an IPv4 address is an {@code int} in network
 * order (10.0.2.2 is {@code 0x0a000202}), a MAC address the low 48 bits of a {@code long}. The
 * packet code keeps them as primitives so that parsing a frame allocates nothing.
 */
public final class Addresses {

  /** ff:ff:ff:ff:ff:ff. */
  public static final long BROADCAST_MAC = 0xffff_ffff_ffffL;
  /** 255.255.255.255, the limited broadcast address. */
  public static final int BROADCAST_IP = 0xffffffff;

  private Addresses() {}

  /** Parses a dotted quad strictly (four decimal fields 0..255), or IllegalArgumentException. */
  public static int parseIp(String s) {
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      throw new IllegalArgumentException("not an IPv4 address: " + s);
    }
    int ip = 0;
    for (String p : parts) {
      if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
        throw new IllegalArgumentException("not an IPv4 address: " + s);
      }
      int v = Integer.parseInt(p);
      if (v > 255) {
        throw new IllegalArgumentException("not an IPv4 address: " + s);
      }
      ip = (ip << 8) | v;
    }
    return ip;
  }

  public static String formatIp(int ip) {
    return (ip >>> 24) + "." + ((ip >>> 16) & 0xff) + "." + ((ip >>> 8) & 0xff) + "." + (ip & 0xff);
  }

  /** Parses {@code aa:bb:cc:dd:ee:ff} (colons or dashes); throws IllegalArgumentException. */
  public static long parseMac(String s) {
    String[] parts = s.split("[:-]", -1);
    if (parts.length != 6) {
      throw new IllegalArgumentException("not a MAC address: " + s);
    }
    long mac = 0;
    for (String p : parts) {
      if (p.length() != 2 || !p.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
        throw new IllegalArgumentException("not a MAC address: " + s);
      }
      mac = (mac << 8) | Integer.parseInt(p, 16);
    }
    return mac;
  }

  public static String formatMac(long mac) {
    StringBuilder sb = new StringBuilder(17);
    for (int i = 5; i >= 0; i--) {
      int b = (int) (mac >>> (8 * i)) & 0xff;
      sb.append(Character.forDigit(b >>> 4, 16)).append(Character.forDigit(b & 15, 16));
      if (i > 0) {
        sb.append(':');
      }
    }
    return sb.toString();
  }

  public static InetAddress toInet(int ip) {
    byte[] a = {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip};
    try {
      return InetAddress.getByAddress(a);
    } catch (UnknownHostException e) {
      throw new AssertionError("4-byte address rejected", e);
    }
  }

  /** The address as an int, or 0 if it is not IPv4. */
  public static int fromInet(InetAddress a) {
    if (!(a instanceof Inet4Address)) {
      return 0;
    }
    byte[] b = a.getAddress();
    return Bytes.i32(b, 0);
  }

  /** The netmask of a prefix length 0..32 ({@code /24} is 255.255.255.0). */
  public static int netmask(int prefixLength) {
    return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
  }
}
