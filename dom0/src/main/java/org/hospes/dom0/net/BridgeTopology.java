package org.hospes.dom0.net;

import java.util.function.LongSupplier;

/**
 * {@code bridge:NAME}: a learning L2 switch (xl's {@code bridge=xenbr0}); guests on the same
 * name share one segment, and uplinks (a gateway) may join it.
 */
public final class BridgeTopology implements Topology {
  @Override
  public String name() {
    return "bridge";
  }

  @Override
  public boolean named() {
    return true;
  }

  @Override
  public String describe() {
    return "bridge:NAME  a learning L2 switch shared by the guests that name it";
  }

  @Override
  public Network create(String name, LongSupplier nanos) {
    return new LearningSwitch("bridge:" + name, true, nanos);
  }
}
