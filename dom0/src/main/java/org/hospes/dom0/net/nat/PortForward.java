package org.hospes.dom0.net.nat;

import static org.hospes.dom0.net.packet.Addresses.formatIp;
import static org.hospes.dom0.net.packet.Addresses.parseIp;

import java.util.Locale;

/**
 * One port forward: connections (TCP) or datagrams (UDP) arriving at {@code hostIp:hostPort} on
 * the host are carried to {@code guestIp:guestPort} in the NAT subnet, as QEMU's
 * {@code hostfwd=} does. Host port 0 asks the host for a free port (the gateway reports the
 * bound one), which tests use.
 */
public record PortForward(Protocol protocol, int hostIp, int hostPort, int guestIp, int guestPort) {

  /** The transport a forward carries. */
  public enum Protocol {
    TCP,
    UDP
  }

  /** The host address a forward listens on when none is given: loopback, as QEMU does. */
  public static final int DEFAULT_HOST_IP = 0x7f000001;

  public PortForward {
    if (protocol == null) {
      throw new IllegalArgumentException("port forward needs a protocol");
    }
    if (hostPort < 0 || hostPort > 65535) {
      throw new IllegalArgumentException("host port out of range: " + hostPort);
    }
    if (guestPort < 1 || guestPort > 65535) {
      throw new IllegalArgumentException("guest port out of range: " + guestPort);
    }
  }

  /**
   * Parses QEMU's hostfwd syntax: {@code tcp|udp:[hostaddr]:hostport-guestaddr:guestport}, for
   * example {@code tcp::8080-10.0.2.15:80} or {@code udp:127.0.0.1:5353-10.0.2.15:53}. An empty
   * host address means {@link #DEFAULT_HOST_IP}. Throws IllegalArgumentException with a one-line
   * message on bad input.
   */
  public static PortForward parse(String spec) {
    String[] halves = spec.split("-", -1);
    if (halves.length != 2) {
      throw new IllegalArgumentException(
          "port forward must be PROTO:[HOSTADDR]:HOSTPORT-GUESTADDR:GUESTPORT: " + spec);
    }
    String[] host = halves[0].split(":", -1);
    String[] guest = halves[1].split(":", -1);
    if (host.length != 3 || guest.length != 2) {
      throw new IllegalArgumentException(
          "port forward must be PROTO:[HOSTADDR]:HOSTPORT-GUESTADDR:GUESTPORT: " + spec);
    }
    Protocol p;
    try {
      p = Protocol.valueOf(host[0].toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("port forward protocol must be tcp or udp: " + spec);
    }
    int hostIp = host[1].isEmpty() ? DEFAULT_HOST_IP : parseIp(host[1]);
    return new PortForward(p, hostIp, port(host[2], spec), parseIp(guest[0]), port(guest[1], spec));
  }

  private static int port(String s, String spec) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad port '" + s + "' in port forward " + spec);
    }
  }

  @Override
  public String toString() {
    return protocol.name().toLowerCase(Locale.ROOT) + ":" + formatIp(hostIp) + ":" + hostPort + "-"
        + formatIp(guestIp) + ":" + guestPort;
  }
}
