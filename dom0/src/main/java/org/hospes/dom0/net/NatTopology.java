package org.hospes.dom0.net;

import java.io.IOException;
import java.util.function.LongSupplier;
import org.hospes.dom0.net.nat.NatConfig;
import org.hospes.dom0.net.nat.NatGateway;

/**
 * {@code nat}: one learning switch per run with dom0's NAT gateway on it as its uplink
 * ({@link NatGateway}: ARP, ICMP echo and DHCP for 10.0.2.0/24 with the gateway at 10.0.2.2,
 * and the guests' TCP and UDP flows mapped to host sockets), as QEMU's user networking and
 * libvirt's default NAT network give guests.
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
    return "nat  a switch with dom0's NAT gateway (10.0.2.2, DHCP from 10.0.2.15) to the host";
  }

  @Override
  public Network create(String name, LongSupplier nanos) throws IOException {
    NatGateway gateway;
    try {
      gateway = new NatGateway("nat0", NatConfig.defaults(), nanos);
    } catch (IOException e) {
      throw new IOException("net=nat: cannot start the NAT gateway: " + e.getMessage(), e);
    }
    return new NatNetwork(new LearningSwitch("nat", true, nanos), gateway);
  }

  /** The switch and its gateway: the gateway's host-side work runs at each poll. */
  public static final class NatNetwork implements Network {
    private final LearningSwitch sw;
    private final NatGateway gateway;

    NatNetwork(LearningSwitch sw, NatGateway gateway) {
      this.sw = sw;
      this.gateway = gateway;
      sw.connectUplink(gateway);
    }

    public LearningSwitch switchPorts() {
      return sw;
    }

    public NatGateway gateway() {
      return gateway;
    }

    @Override
    public String name() {
      return "nat";
    }

    @Override
    public void connect(SwitchPort port) {
      sw.connect(port);
    }

    @Override
    public void disconnect(SwitchPort port) {
      sw.disconnect(port);
    }

    @Override
    public void poll() {
      gateway.poll();
    }

    @Override
    public void close() {
      gateway.close();
    }
  }
}
