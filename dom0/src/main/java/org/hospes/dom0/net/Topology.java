package org.hospes.dom0.net;

import java.io.IOException;
import java.util.function.LongSupplier;

/**
 * A kind of virtual network (an extension point, bound by name with
 * {@link Networks#topologies}): {@code bridge}, {@code isolated}, {@code routed} and
 * {@code nat} are built in; a plugin may add more.
 */
public interface Topology {

  /** The name users write in {@code net=}. */
  String name();

  /**
   * True if networks of this kind are named ({@code bridge:NAME}: each name is its own
   * network); false if there is one per host ({@code routed}, {@code nat}).
   */
  boolean named();

  /** One line for {@code --help} and errors. */
  String describe();

  /**
   * Makes network {@code name} ({@code null} for an unnamed topology). {@code nanos} is the
   * virtual clock (MAC ageing, timers). IOException with a one-line reason if it cannot be
   * made (a gateway's host port in use, a topology not available).
   */
  Network create(String name, LongSupplier nanos) throws IOException;
}
