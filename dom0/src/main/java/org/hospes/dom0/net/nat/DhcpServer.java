package org.hospes.dom0.net.nat;

import static org.hospes.dom0.net.packet.Dhcp.*;

import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.hospes.dom0.net.packet.Addresses;
import org.hospes.dom0.net.packet.Bytes;
import org.hospes.dom0.net.packet.Dhcp;
import org.hospes.dom0.net.packet.DhcpMessageType;

/**
 * The gateway's DHCP server (RFC 2131, options from RFC 2132). It hands out the subnet's addresses
 * from {@link NatConfig#dhcpStart()} up, one per client, and answers:
 *
 * <ul>
 *   <li>DISCOVER with OFFER: the client's current lease if it has one, else its requested address
 *       (option 50) if that is free, else the lowest free address; the offer is held for a minute;
 *   <li>REQUEST in SELECTING state (server identifier present): ACK if it names this server and the
 *       offered address; a server identifier naming another server withdraws our offer silently;
 *   <li>REQUEST in INIT-REBOOT (option 50, no server identifier) and RENEWING/REBINDING (ciaddr):
 *       ACK if it matches the client's lease, NAK if the client has another one or the address is
 *       not in this subnet, silence if we have no record of the client (§4.3.2);
 *   <li>DECLINE: the address is set aside for a lease time; RELEASE frees the lease; INFORM gets an
 *       ACK with the configuration and no address.
 * </ul>
 *
 * <p>A client is known by its client identifier (option 61) if it sends one, else by its hardware
 * address, as §4.2 says. Replies carry the message type, server identifier, lease time with T1 =
 * lease/2 and T2 = 7/8 lease, subnet mask, router, DNS server and broadcast address, and echo the
 * client identifier (RFC 6842).
 *
 * <p>Addressing (§4.1): a NAK is broadcast; a reply to a client that has an address (ciaddr) is
 * unicast to it; a reply to a client without one is broadcast at both layers whatever its
 * broadcast flag says, which §4.1 permits ("MAY be sent as an IP broadcast") and which every
 * client can receive, including one whose stack drops unicast IP to an unconfigured address.
 * Busybox's udhcpc reads replies on a raw socket and checks that the IP header has no options,
 * that the UDP length matches the IP length and both checksums, all of which these frames satisfy.
 */
final class DhcpServer {

  private static final long OFFER_HOLD_NANOS = 60_000_000_000L;

  private final NatConfig config;
  private final Map<String, Lease> byClient = new HashMap<>();
  private final Map<Integer, Lease> byIp = new HashMap<>();

  private static final class Lease {
    final String client;
    final int ip;
    final long chaddr;
    long expires;
    boolean bound;

    Lease(String client, int ip, long chaddr, long expires) {
      this.client = client;
      this.ip = ip;
      this.chaddr = chaddr;
      this.expires = expires;
    }
  }

  /** A reply: the DHCP message and where it goes. */
  record Reply(byte[] message, int dstIp, long dstMac, DhcpMessageType type, int yiaddr,
      long chaddr) {}

  DhcpServer(NatConfig config) {
    this.config = config;
  }

  /**
   * Handles the DHCP message {@code p[off, off+len)} (the UDP payload) at virtual time {@code now}
   * (nanoseconds). Returns the reply, or null when none is due (not a request, malformed,
   * not for us, nothing to offer).
   */
  Reply handle(byte[] p, int off, int len, long now) {
    if (!Dhcp.isDhcp(p, off, len) || Bytes.u8(p, off + OP) != OP_BOOTREQUEST
        || Bytes.u8(p, off + HTYPE) != 1 || Bytes.u8(p, off + HLEN) != 6) {
      return null;
    }
    DhcpMessageType type = Dhcp.messageType(p, off, len);
    if (type == null) {
      return null;
    }
    long chaddr = Bytes.mac(p, off + CHADDR);
    String client = clientKey(p, off, len, chaddr);
    int ciaddr = Bytes.i32(p, off + CIADDR);
    int requested = Dhcp.addressOption(p, off, len, OPT_REQUESTED_IP);
    int serverId = Dhcp.addressOption(p, off, len, OPT_SERVER_ID);
    expire(now);
    Lease lease = byClient.get(client);
    switch (type) {
      case DISCOVER: {
        if (lease == null) {
          int ip = isFree(requested) ? requested : firstFree();
          if (ip == 0) {
            return null;
          }
          lease = new Lease(client, ip, chaddr, now + OFFER_HOLD_NANOS);
          byClient.put(client, lease);
          byIp.put(ip, lease);
        } else if (!lease.bound) {
          lease.expires = now + OFFER_HOLD_NANOS;
        }
        return reply(p, off, len, DhcpMessageType.OFFER, lease.ip, chaddr, ciaddr);
      }
      case REQUEST: {
        if (serverId != 0) {
          if (serverId != config.gatewayIp()) {
            if (lease != null && !lease.bound) {
              remove(lease);
            }
            return null;
          }
          int want = requested != 0 ? requested : ciaddr;
          if (lease != null && lease.ip == want) {
            return bind(p, off, len, lease, chaddr, ciaddr, now);
          }
          return nak(p, off, len, chaddr);
        }
        int want = requested != 0 ? requested : ciaddr;
        if (want == 0) {
          return null;
        }
        if (!config.inSubnet(want)) {
          return nak(p, off, len, chaddr);
        }
        if (lease == null) {
          return null;
        }
        if (lease.ip != want) {
          return nak(p, off, len, chaddr);
        }
        return bind(p, off, len, lease, chaddr, ciaddr, now);
      }
      case DECLINE: {
        if (serverId == config.gatewayIp() && lease != null && lease.ip == requested) {
          remove(lease);
          Lease bad = new Lease("declined", requested, 0, now + leaseNanos());
          bad.bound = true;
          byIp.put(requested, bad);
        }
        return null;
      }
      case RELEASE: {
        if (lease != null && lease.ip == ciaddr) {
          remove(lease);
        }
        return null;
      }
      case INFORM:
        return ciaddr == 0 ? null : reply(p, off, len, DhcpMessageType.ACK, 0, chaddr, ciaddr);
      default:
        return null;
    }
  }

  /** The address leased (bound) to the client with this hardware address, or 0 (for tests). */
  int boundAddress(long chaddr) {
    for (Lease l : byClient.values()) {
      if (l.bound && l.chaddr == chaddr) {
        return l.ip;
      }
    }
    return 0;
  }

  private Reply bind(byte[] p, int off, int len, Lease lease, long chaddr, int ciaddr, long now) {
    lease.bound = true;
    lease.expires = now + leaseNanos();
    return reply(p, off, len, DhcpMessageType.ACK, lease.ip, chaddr, ciaddr);
  }

  private long leaseNanos() {
    return config.leaseSeconds() * 1_000_000_000L;
  }

  private void remove(Lease lease) {
    byClient.remove(lease.client, lease);
    byIp.remove(lease.ip, lease);
  }

  private void expire(long now) {
    var it = byIp.values().iterator();
    while (it.hasNext()) {
      Lease l = it.next();
      if (l.expires - now <= 0) {
        it.remove();
        byClient.remove(l.client, l);
      }
    }
  }

  private boolean isFree(int ip) {
    return ip != 0 && config.isGuestAddress(ip) && !byIp.containsKey(ip);
  }

  private int firstFree() {
    int last = config.broadcast();
    for (int ip = config.dhcpStart(); ip != last; ip++) {
      if (isFree(ip)) {
        return ip;
      }
    }
    return 0;
  }

  private static String clientKey(byte[] p, int off, int len, long chaddr) {
    int o = Dhcp.option(p, off, len, OPT_CLIENT_ID);
    if (o >= 0 && Dhcp.optionLength(o) >= 2) {
      return "id:" + HexFormat.of().formatHex(p, Dhcp.optionOffset(o),
          Dhcp.optionOffset(o) + Dhcp.optionLength(o));
    }
    return "mac:" + Addresses.formatMac(chaddr);
  }

  private Reply nak(byte[] p, int off, int len, long chaddr) {
    Dhcp.Builder b = new Dhcp.Builder(OP_BOOTREPLY, Bytes.i32(p, off + XID),
        Bytes.u16(p, off + FLAGS), 0, 0, 0, Bytes.i32(p, off + GIADDR), chaddr);
    b.messageType(DhcpMessageType.NAK).addressOption(OPT_SERVER_ID, config.gatewayIp());
    echoClientId(p, off, len, b);
    return new Reply(b.build(), Addresses.BROADCAST_IP, Addresses.BROADCAST_MAC,
        DhcpMessageType.NAK, 0, chaddr);
  }

  private Reply reply(byte[] p, int off, int len, DhcpMessageType type, int yiaddr, long chaddr,
      int ciaddr) {
    Dhcp.Builder b = new Dhcp.Builder(OP_BOOTREPLY, Bytes.i32(p, off + XID),
        Bytes.u16(p, off + FLAGS), type == DhcpMessageType.ACK ? ciaddr : 0, yiaddr,
        0, Bytes.i32(p, off + GIADDR), chaddr);
    b.messageType(type).addressOption(OPT_SERVER_ID, config.gatewayIp());
    if (yiaddr != 0) {
      int lease = config.leaseSeconds();
      b.intOption(OPT_LEASE_TIME, lease)
          .intOption(OPT_RENEWAL_TIME, lease / 2)
          .intOption(OPT_REBINDING_TIME, (int) (lease * 7L / 8));
    }
    b.addressOption(OPT_SUBNET_MASK, config.netmask())
        .addressOption(OPT_ROUTER, config.gatewayIp())
        .addressOption(OPT_DNS, config.gatewayIp())
        .addressOption(OPT_BROADCAST_ADDRESS, config.broadcast());
    echoClientId(p, off, len, b);
    boolean unicast = ciaddr != 0;
    return new Reply(b.build(), unicast ? ciaddr : Addresses.BROADCAST_IP,
        unicast ? chaddr : Addresses.BROADCAST_MAC, type, yiaddr, chaddr);
  }

  private static void echoClientId(byte[] p, int off, int len, Dhcp.Builder b) {
    int o = Dhcp.option(p, off, len, OPT_CLIENT_ID);
    if (o >= 0) {
      b.option(OPT_CLIENT_ID, p, Dhcp.optionOffset(o), Dhcp.optionLength(o));
    }
  }
}
