package org.hospes.dom0.net;

/**
 * One network of dom0's virtual switch, made by a {@link Topology}: the guests' vifs connect to
 * it as ports. How frames move between its ports (an L2 learning switch, a router) is the
 * topology's business.
 */
public interface Network extends AutoCloseable {

  /** The network's name as the user wrote it: {@code bridge:br0}, {@code routed}, ... */
  String name();

  /** Connects a guest's port (a vif). */
  void connect(SwitchPort port);

  /** Disconnects a port; frames stop reaching it and what was learned about it is forgotten. */
  void disconnect(SwitchPort port);

  /** Work that waits on time or on the host (a gateway's timers and sockets); default none. */
  default void poll() {}

  /** Releases what the network holds on the host (sockets); default nothing. */
  @Override
  default void close() {}
}
