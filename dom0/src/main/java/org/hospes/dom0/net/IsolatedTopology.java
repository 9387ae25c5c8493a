package org.hospes.dom0.net;

import java.util.function.LongSupplier;

/**
 * {@code isolated:NAME}: a learning L2 switch between guests only (libvirt's isolated network):
 * no uplink and no gateway may join it, so nothing on it reaches dom0 or the host.
 */
public final class IsolatedTopology implements Topology {
  @Override
  public String name() {
    return "isolated";
  }

  @Override
  public boolean named() {
    return true;
  }

  @Override
  public String describe() {
    return "isolated:NAME  guest to guest only: a switch with no uplink";
  }

  @Override
  public Network create(String name, LongSupplier nanos) {
    return new LearningSwitch("isolated:" + name, false, nanos);
  }
}
