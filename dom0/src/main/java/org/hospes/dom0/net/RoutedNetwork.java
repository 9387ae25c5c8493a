package org.hospes.dom0.net;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code routed} topology, as Xen's vif-route script sets up dom0: every vif is a
 * point-to-point link to a router in dom0, there is no shared L2 segment, and the router holds a
 * /32 route to each guest's address.
 *
 * <ul>
 *   <li>The router's side of every link has MAC {@code fe:ff:ff:ff:ff:ff} (what vif-route gives
 *       dom0's vif interfaces) and the address {@link #ROUTER_IP} (10.0.3.1), which answers ICMP
 *       echo: guests use it as their gateway.
 *   <li>Proxy ARP: the router answers every ARP request on a link for an address other than the
 *       asker's own with its own MAC, so a guest with any netmask sends everything to it.
 *   <li>Routes: a guest's address is given with {@code ip=} in its vif configuration (as xl's
 *       {@code ip=} for vif-route), or else it is the first source address the guest uses (an
 *       ARP sender or an IPv4 source; 0.0.0.0 does not count). An address already routed to
 *       another link is not taken. After that, IPv4 from the link with another source address is
 *       dropped (anti-spoofing, as vif-route's iptables rules do).
 *   <li>Forwarding: IPv4 to a routed address goes to its link with the Ethernet addresses
 *       rewritten (the router's as source, the guest's as destination), the TTL decremented and
 *       the header checksum recomputed; a TTL of 1 or less, an address with no route and
 *       broadcasts are dropped and counted. Other protocols (IPv6) are not routed.
 * </ul>
 */
public final class RoutedNetwork implements Network {
  public static final long ROUTER_MAC = 0xFEFF_FFFF_FFFFL;
  /** 10.0.3.1. */
  public static final int ROUTER_IP = 0x0A00_0301;

  /** Counters. */
  public static final class Stats {
    public long routed;
    public long arpReplies;
    public long echoReplies;
    public long noRoute;
    public long ttlExpired;
    public long spoofed;
    public long notRouted;
  }

  private static final class Link {
    final SwitchPort port;
    long guestMac = -1;
    int ip;

    Link(SwitchPort port) {
      this.port = port;
    }
  }

  private final String name;
  private final List<Link> links = new ArrayList<>();
  private Link[] linkArray = new Link[0];
  private final Stats stats = new Stats();
  private final byte[] scratch = new byte[65536];
  private int depth;

  public RoutedNetwork(String name) {
    this.name = name;
  }

  @Override
  public String name() {
    return name;
  }

  public Stats stats() {
    return stats;
  }

  @Override
  public void connect(SwitchPort port) {
    Link l = new Link(port);
    links.add(l);
    linkArray = links.toArray(new Link[0]);
    port.attach((from, f, off, len) -> fromGuest(l, f, off, len));
  }

  /**
   * A /32 route to {@code ip} through {@code port}'s link, whose guest has MAC {@code mac} (the
   * vif's configured address). IllegalArgumentException if another link has that address.
   */
  public void route(SwitchPort port, int ip, long mac) {
    Link l = link(port);
    Link owner = byIp(ip);
    if (owner != null && owner != l) {
      throw new IllegalArgumentException("routed: " + ipText(ip) + " is already routed to "
          + owner.port.name());
    }
    l.ip = ip;
    l.guestMac = mac;
  }

  /** The address routed to {@code port}, or 0. */
  public int addressOf(SwitchPort port) {
    Link l = link(port);
    return l == null ? 0 : l.ip;
  }

  private Link link(SwitchPort port) {
    for (Link l : linkArray) {
      if (l.port == port) {
        return l;
      }
    }
    return null;
  }

  @Override
  public void disconnect(SwitchPort port) {
    Link l = link(port);
    if (l != null) {
      links.remove(l);
      linkArray = links.toArray(new Link[0]);
      port.attach(null);
    }
  }

  private Link byIp(int ip) {
    for (Link l : linkArray) {
      if (l.ip == ip && ip != 0) {
        return l;
      }
    }
    return null;
  }

  private void claim(Link l, int ip) {
    if (l.ip == 0 && ip != 0 && ip != ROUTER_IP && ip != -1 && byIp(ip) == null) {
      l.ip = ip;
    }
  }

  private void fromGuest(Link l, byte[] f, int off, int len) {
    if (len < 14) {
      stats.notRouted++;
      return;
    }
    if (l.guestMac < 0 && (f[off + 6] & 1) == 0) {
      l.guestMac = LearningSwitch.mac(f, off + 6);
    }
    int type = u16(f, off + 12);
    if (type == 0x0806 && len >= 42) {
      arp(l, f, off);
    } else if (type == 0x0800 && len >= 34 && (f[off + 14] & 0xF0) == 0x40) {
      ipv4(l, f, off, len);
    } else {
      stats.notRouted++;
    }
  }

  private void arp(Link l, byte[] f, int off) {
    int a = off + 14;
    if (u16(f, a) != 1 || u16(f, a + 2) != 0x0800 || f[a + 4] != 6 || f[a + 5] != 4) {
      stats.notRouted++;
      return;
    }
    int op = u16(f, a + 6);
    int senderIp = u32(f, a + 14);
    int targetIp = u32(f, a + 24);
    claim(l, senderIp);
    if (op != 1 || targetIp == senderIp || targetIp == 0 || (l.ip != 0 && targetIp == l.ip)) {
      return;
    }
    byte[] r = buffer();
    depth++;
    try {
      // Ethernet: to the asker, from the router.
      System.arraycopy(f, a + 8, r, 0, 6);
      putMac(r, 6, ROUTER_MAC);
      put16(r, 12, 0x0806);
      put16(r, 14, 1);
      put16(r, 16, 0x0800);
      r[18] = 6;
      r[19] = 4;
      put16(r, 20, 2);
      putMac(r, 22, ROUTER_MAC);
      put32(r, 28, targetIp);
      System.arraycopy(f, a + 8, r, 32, 6);
      put32(r, 38, senderIp);
      stats.arpReplies++;
      l.port.deliver(r, 0, 42);
    } finally {
      depth--;
    }
  }

  private void ipv4(Link l, byte[] f, int off, int len) {
    int ip = off + 14;
    int ihl = (f[ip] & 0x0F) * 4;
    int total = u16(f, ip + 2);
    if (ihl < 20 || total < ihl || 14 + total > len) {
      stats.notRouted++;
      return;
    }
    int src = u32(f, ip + 12);
    int dst = u32(f, ip + 16);
    claim(l, src);
    if (l.ip == 0 || src != l.ip) {
      stats.spoofed++;
      return;
    }
    if (dst == ROUTER_IP) {
      echo(l, f, off, ihl, total);
      return;
    }
    Link to = byIp(dst);
    if (to == null || to.guestMac < 0) {
      stats.noRoute++;
      return;
    }
    int ttl = f[ip + 8] & 0xFF;
    if (ttl <= 1) {
      stats.ttlExpired++;
      return;
    }
    byte[] r = buffer();
    depth++;
    try {
      int n = 14 + total;
      System.arraycopy(f, off, r, 0, n);
      putMac(r, 0, to.guestMac);
      putMac(r, 6, ROUTER_MAC);
      r[14 + 8] = (byte) (ttl - 1);
      ipChecksum(r, 14, ihl);
      stats.routed++;
      to.port.deliver(r, 0, n);
    } finally {
      depth--;
    }
  }

  private void echo(Link l, byte[] f, int off, int ihl, int total) {
    int ip = off + 14;
    int icmp = ip + ihl;
    int icmpLen = total - ihl;
    if ((f[ip + 9] & 0xFF) != 1 || icmpLen < 8 || (f[icmp] & 0xFF) != 8
        || (u16(f, ip + 6) & 0x3FFF) != 0) {
      stats.notRouted++;
      return;
    }
    byte[] r = buffer();
    depth++;
    try {
      int n = 14 + total;
      System.arraycopy(f, off, r, 0, n);
      System.arraycopy(f, off + 6, r, 0, 6);
      putMac(r, 6, ROUTER_MAC);
      put32(r, 14 + 12, ROUTER_IP);
      put32(r, 14 + 16, u32(f, ip + 12));
      r[14 + 8] = 64;
      ipChecksum(r, 14, ihl);
      int ic = 14 + ihl;
      r[ic] = 0;
      r[ic + 2] = 0;
      r[ic + 3] = 0;
      put16(r, ic + 2, L4Checksum.finish(L4Checksum.sum(r, ic, icmpLen, 0)));
      stats.echoReplies++;
      l.port.deliver(r, 0, n);
    } finally {
      depth--;
    }
  }

  private byte[] buffer() {
    // A reply delivered to a port that answers at once would re-enter: it gets its own buffer.
    return depth == 0 ? scratch : new byte[65536];
  }

  static void ipChecksum(byte[] b, int ip, int ihl) {
    b[ip + 10] = 0;
    b[ip + 11] = 0;
    put16(b, ip + 10, L4Checksum.finish(L4Checksum.sum(b, ip, ihl, 0)));
  }

  static int u16(byte[] b, int off) {
    return (b[off] & 0xFF) << 8 | (b[off + 1] & 0xFF);
  }

  static int u32(byte[] b, int off) {
    return u16(b, off) << 16 | u16(b, off + 2);
  }

  static void put16(byte[] b, int off, int v) {
    b[off] = (byte) (v >> 8);
    b[off + 1] = (byte) v;
  }

  static void put32(byte[] b, int off, int v) {
    put16(b, off, v >>> 16);
    put16(b, off + 2, v);
  }

  static void putMac(byte[] b, int off, long mac) {
    for (int i = 5; i >= 0; i--) {
      b[off + i] = (byte) mac;
      mac >>>= 8;
    }
  }

  public static String ipText(int ip) {
    return (ip >>> 24) + "." + (ip >>> 16 & 0xFF) + "." + (ip >>> 8 & 0xFF) + "." + (ip & 0xFF);
  }

  /** Parses a dotted quad; IllegalArgumentException if it is not one. */
  public static int parseIp(String s) {
    String[] p = s.split("\\.", -1);
    if (p.length != 4) {
      throw new IllegalArgumentException("'" + s + "' is not an IPv4 address");
    }
    int v = 0;
    for (String x : p) {
      int b;
      try {
        b = Integer.parseInt(x);
      } catch (NumberFormatException e) {
        b = -1;
      }
      if (b < 0 || b > 255 || x.isEmpty() || x.length() > 3) {
        throw new IllegalArgumentException("'" + s + "' is not an IPv4 address");
      }
      v = v << 8 | b;
    }
    return v;
  }
}
