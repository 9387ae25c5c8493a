package org.hospes.dom0.net;

import com.google.inject.Binder;
import com.google.inject.multibindings.MapBinder;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongSupplier;
import org.hospes.hv.HospesPlugin;

/**
 * dom0's virtual networks for one run, by the name users give in {@code net=}: the topologies
 * Hospes knows ({@code bridge}, {@code isolated}, {@code routed}, {@code nat} built in, more from
 * plugins) and the networks made so far. Every vif naming {@code bridge:br0} joins the same
 * network; an unnamed topology ({@code routed}, {@code nat}) has one network per run.
 *
 * <p>A plugin (a {@link HospesPlugin} listed for {@link java.util.ServiceLoader}) adds a
 * topology with {@code Networks.topologies(binder()).addBinding("vlan").toInstance(...)}; it
 * may not replace a built-in name. The launcher's {@code HostPlugins} gives a run its
 * {@code Networks} over the map from its one injector.
 */
public final class Networks implements AutoCloseable {
  /** A parsed {@code net=} value: a topology and, for a named one, the network's name. */
  public record NetRef(String topology, String name) {
    /** Parses {@code TOPOLOGY} or {@code TOPOLOGY:NAME}; checks only the syntax. */
    public static NetRef parse(String text) {
      int colon = text.indexOf(':');
      String t = colon < 0 ? text : text.substring(0, colon);
      String n = colon < 0 ? null : text.substring(colon + 1);
      if (t.isEmpty() || !t.matches("[a-z][a-z0-9_-]*")) {
        throw new IllegalArgumentException("net=" + text + ": '" + t
            + "' is not a topology name (nat, bridge:NAME, isolated:NAME, routed)");
      }
      if (n != null && !n.matches("[A-Za-z0-9_.-]{1,15}")) {
        throw new IllegalArgumentException("net=" + text + ": network name '" + n
            + "' must be 1 to 15 letters, digits, '.', '_' or '-'");
      }
      return new NetRef(t, n);
    }

    @Override
    public String toString() {
      return name == null ? topology : topology + ":" + name;
    }
  }

  private final Map<String, Topology> topologies = new LinkedHashMap<>();
  private final Map<String, Network> networks = new LinkedHashMap<>();
  private final LongSupplier nanos;

  /** The built-in topologies only. */
  public Networks(LongSupplier nanos) {
    this(Map.of(), nanos);
  }

  /** The built-ins plus {@code extra} (plugins' topologies; built-in names are kept). */
  public Networks(Map<String, Topology> extra, LongSupplier nanos) {
    this.nanos = nanos;
    for (Topology t : builtIns()) {
      topologies.put(t.name(), t);
    }
    for (Map.Entry<String, Topology> e : extra.entrySet()) {
      topologies.putIfAbsent(e.getKey(), e.getValue());
    }
  }

  static List<Topology> builtIns() {
    return List.of(new BridgeTopology(), new IsolatedTopology(), new RoutedTopology(),
        new NatTopology());
  }

  /** The topology map, for a plugin module to add a binding to. */
  public static MapBinder<String, Topology> topologies(Binder binder) {
    return MapBinder.newMapBinder(binder, String.class, Topology.class);
  }

  public Set<String> names() {
    return Collections.unmodifiableSet(new TreeSet<>(topologies.keySet()));
  }

  public Topology topology(String name) {
    return topologies.get(name);
  }

  /**
   * Checks {@code ref} names a known topology with a name exactly when it takes one;
   * IllegalArgumentException with a one-line reason otherwise.
   */
  public void check(NetRef ref) {
    Topology t = topologies.get(ref.topology());
    if (t == null) {
      throw new IllegalArgumentException("net=" + ref + ": unknown topology '"
          + ref.topology() + "'; known: " + String.join(", ", names()));
    }
    if (t.named() && ref.name() == null) {
      throw new IllegalArgumentException("net=" + ref + ": " + t.name()
          + " networks are named: write " + t.name() + ":NAME");
    }
    if (!t.named() && ref.name() != null) {
      throw new IllegalArgumentException("net=" + ref + ": there is one " + t.name()
          + " network; write net=" + t.name());
    }
  }

  /** The network {@code ref} names, made on first use. */
  public Network network(NetRef ref) throws IOException {
    check(ref);
    String key = ref.toString();
    Network n = networks.get(key);
    if (n == null) {
      n = topologies.get(ref.topology()).create(ref.name(), nanos);
      networks.put(key, n);
    }
    return n;
  }

  /** The networks made so far, by name. */
  public Map<String, Network> networks() {
    return Collections.unmodifiableMap(networks);
  }

  /** Lets every network do its timed and host-side work. */
  public void poll() {
    for (Network n : networks.values()) {
      n.poll();
    }
  }

  @Override
  public void close() {
    List<Network> all = new ArrayList<>(networks.values());
    networks.clear();
    for (Network n : all) {
      n.close();
    }
  }
}
