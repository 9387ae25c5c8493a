package org.hospes.dom0.net.nat;

import static org.hospes.dom0.net.packet.Addresses.formatIp;
import static org.hospes.dom0.net.packet.Addresses.parseIp;
import static org.hospes.dom0.net.packet.Addresses.parseMac;

import java.util.List;
import org.hospes.dom0.net.packet.Addresses;
import org.hospes.dom0.net.packet.Ethernet;

/**
 * The NAT gateway's addresses and policy. The defaults are QEMU user networking's ("slirp"), so
 * that guests and users find what they know:
 *
 * <ul>
 *   <li>subnet 10.0.2.0/24, gateway 10.0.2.2, DHCP pool from 10.0.2.15 up;
 *   <li>gateway MAC 52:55:0a:00:02:02 (QEMU's: 52:55 then the gateway's IPv4 address; the 0x02 bit
 *       of the first byte marks it locally administered);
 *   <li>a 24-hour lease (QEMU's too);
 *   <li>the gateway's own address stands for the host's loopback: a guest that connects to
 *       10.0.2.2:PORT reaches 127.0.0.1:PORT on the host;
 *   <li>{@code restrict} off: other destinations are reached through the host's own network, as
 *       with QEMU's {@code restrict=off}. With it on, only the gateway (the host's loopback) and
 *       port forwards work; other flows are refused (TCP RST, ICMP "administratively
 *       prohibited" for UDP).
 * </ul>
 *
 * <p>{@code seed} seeds the initial sequence numbers of the gateway's TCP endpoints, so that runs
 * are reproducible.
 */
public record NatConfig(
    int network,
    int prefixLength,
    int gatewayIp,
    long gatewayMac,
    int dhcpStart,
    int leaseSeconds,
    boolean restrict,
    List<PortForward> forwards,
    long seed) {

  public static final int DEFAULT_NETWORK = parseIp("10.0.2.0");
  public static final int DEFAULT_PREFIX = 24;
  public static final int DEFAULT_GATEWAY = parseIp("10.0.2.2");
  public static final long DEFAULT_GATEWAY_MAC = parseMac("52:55:0a:00:02:02");
  public static final int DEFAULT_DHCP_START = parseIp("10.0.2.15");
  public static final int DEFAULT_LEASE_SECONDS = 86_400;

  public NatConfig {
    if (prefixLength < 8 || prefixLength > 30) {
      throw new IllegalArgumentException("NAT subnet prefix must be /8../30, not /" + prefixLength);
    }
    int mask = Addresses.netmask(prefixLength);
    if ((network & ~mask) != 0) {
      throw new IllegalArgumentException(
          "NAT subnet " + formatIp(network) + "/" + prefixLength + " has host bits set");
    }
    int broadcast = network | ~mask;
    if ((gatewayIp & mask) != network || gatewayIp == network || gatewayIp == broadcast) {
      throw new IllegalArgumentException(
          "gateway " + formatIp(gatewayIp) + " is not a host address of the NAT subnet");
    }
    if ((dhcpStart & mask) != network || dhcpStart == network || dhcpStart == broadcast) {
      throw new IllegalArgumentException(
          "DHCP start " + formatIp(dhcpStart) + " is not a host address of the NAT subnet");
    }
    if (Ethernet.isGroup(gatewayMac) || gatewayMac == 0 || (gatewayMac >>> 48) != 0) {
      throw new IllegalArgumentException("gateway MAC must be a unicast MAC address");
    }
    if (leaseSeconds < 60) {
      throw new IllegalArgumentException("DHCP lease must be at least 60 s, not " + leaseSeconds);
    }
    forwards = List.copyOf(forwards);
    for (PortForward f : forwards) {
      if (!contains(network, prefixLength, f.guestIp()) || f.guestIp() == gatewayIp) {
        throw new IllegalArgumentException(
            "port forward " + f + ": guest address is not a guest address of the NAT subnet");
      }
    }
  }

  /** QEMU's defaults, no port forwards. */
  public static NatConfig defaults() {
    return new NatConfig(DEFAULT_NETWORK, DEFAULT_PREFIX, DEFAULT_GATEWAY, DEFAULT_GATEWAY_MAC,
        DEFAULT_DHCP_START, DEFAULT_LEASE_SECONDS, false, List.of(), 0);
  }

  public NatConfig withForwards(List<PortForward> fwds) {
    return new NatConfig(network, prefixLength, gatewayIp, gatewayMac, dhcpStart, leaseSeconds,
        restrict, fwds, seed);
  }

  public NatConfig withRestrict(boolean r) {
    return new NatConfig(network, prefixLength, gatewayIp, gatewayMac, dhcpStart, leaseSeconds, r,
        forwards, seed);
  }

  public NatConfig withLeaseSeconds(int s) {
    return new NatConfig(network, prefixLength, gatewayIp, gatewayMac, dhcpStart, s, restrict,
        forwards, seed);
  }

  public int netmask() {
    return Addresses.netmask(prefixLength);
  }

  public int broadcast() {
    return network | ~netmask();
  }

  /** Whether {@code ip} is a host address of the subnet other than the gateway's. */
  public boolean isGuestAddress(int ip) {
    return contains(network, prefixLength, ip) && ip != network && ip != broadcast()
        && ip != gatewayIp;
  }

  public boolean inSubnet(int ip) {
    return contains(network, prefixLength, ip);
  }

  private static boolean contains(int network, int prefix, int ip) {
    return (ip & Addresses.netmask(prefix)) == network;
  }
}
