package org.hospes.dom0.net;

import java.util.function.LongSupplier;

/** {@code routed}: point-to-point links to a router in dom0 ({@link RoutedNetwork}). */
public final class RoutedTopology implements Topology {
  @Override
  public String name() {
    return "routed";
  }

  @Override
  public boolean named() {
    return false;
  }

  @Override
  public String describe() {
    return "routed  /32 routes to each guest via a router in dom0 (gateway 10.0.3.1)";
  }

  @Override
  public Network create(String name, LongSupplier nanos) {
    return new RoutedNetwork("routed");
  }
}
