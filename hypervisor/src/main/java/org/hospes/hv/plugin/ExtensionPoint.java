package org.hospes.hv.plugin;

import com.google.inject.Provider;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One extension point as data: the map {@code Map<String, V>} that plugins add to, and its
 * built-in entries in the order they are bound. Each built-in is a provider, called on every
 * read of the map as Guice calls an unscoped binding. {@link ExtensionPointModule} binds these
 * with a {@code MapBinder}; a launch without plugins reads them directly (no injector), so that
 * the built-ins are written once for both.
 *
 * @param type the map's value type
 * @param builtIns the built-in entries by name, in binding order
 */
public record ExtensionPoint<V>(Class<V> type, Map<String, Provider<? extends V>> builtIns) {

  public ExtensionPoint {
    // A LinkedHashMap, not Map.copyOf: the order is the MapBinder's, and Map.copyOf has none.
    builtIns = Collections.unmodifiableMap(new LinkedHashMap<>(builtIns));
  }

  /** The point with no built-ins: the map exists (empty) for plugins to add to. */
  public static <V> ExtensionPoint<V> declare(Class<V> type) {
    return new ExtensionPoint<>(type, Map.of());
  }

  /**
   * This point with one more built-in, {@code name}, made by {@code provider}.
   *
   * @throws IllegalArgumentException if the point already has {@code name}
   */
  public ExtensionPoint<V> with(String name, Provider<? extends V> provider) {
    if (builtIns.containsKey(name)) {
      throw new IllegalArgumentException(type.getSimpleName() + " '" + name + "' twice");
    }
    Map<String, Provider<? extends V>> more = new LinkedHashMap<>(builtIns);
    more.put(name, provider);
    return new ExtensionPoint<>(type, more);
  }
}
