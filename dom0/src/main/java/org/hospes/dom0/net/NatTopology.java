package org.hospes.dom0.net;

import java.io.IOException;
import java.util.function.LongSupplier;

/**
 * {@code nat}: a switch with dom0's NAT gateway on it as uplink (ARP, ICMP echo, DHCP, TCP and
 * UDP flows to host sockets). The gateway is not on this branch yet: asking for it is a clear
 * error rather than a network that silently drops everything.
 */
public final class NatTopology implements Topology {
  @Override
  public String name() {
    return "nat";
  }

  @Override
  public boolean named() {
    return false;
  }

  @Override
  public String describe() {
    return "nat  a gateway in dom0 with DHCP and NAT to the host (not built yet)";
  }

  @Override
  public Network create(String name, LongSupplier nanos) throws IOException {
    throw new IOException("net=nat: the NAT gateway is not built yet; use net=bridge:NAME,"
        + " net=isolated:NAME or net=routed");
  }
}
