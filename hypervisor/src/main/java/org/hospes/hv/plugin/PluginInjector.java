package org.hospes.hv.plugin;

import com.google.inject.Binding;
import com.google.inject.CreationException;
import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.Module;
import com.google.inject.TypeLiteral;
import com.google.inject.multibindings.MapBinderBinding;
import com.google.inject.multibindings.MultibinderBinding;
import com.google.inject.multibindings.MultibindingsTargetVisitor;
import com.google.inject.multibindings.OptionalBinderBinding;
import com.google.inject.spi.DefaultBindingTargetVisitor;
import com.google.inject.spi.Element;
import com.google.inject.spi.Elements;
import com.google.inject.util.Types;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import org.hospes.hv.HospesPlugin;

/**
 * The one injector of a launcher or host: the extension points' own modules (their built-ins)
 * and every plugin module, each installed once, in one Guice injector. Every extension point is
 * a {@code MapBinder<String, T>}; the sites that use one (schedulers, cost models, kernel
 * loaders, device models, disk formats, network topologies) read their map from here with
 * {@link #map}. A plugin module may add to as many extension points as it likes.
 *
 * <p>Before Guice sees them, the modules are read once with Guice's SPI, so that two plugins (or
 * a plugin and a built-in) binding the same name in the same map is refused with a message
 * naming both, not with Guice's multi-page report. This is the only place that builds an
 * injector; the core classes take plain maps and are built by hand in unit tests.
 */
public final class PluginInjector {
  private final List<HospesPlugin> plugins;
  private final Injector injector;

  private PluginInjector(List<HospesPlugin> plugins, Injector injector) {
    this.plugins = plugins;
    this.injector = injector;
  }

  /**
   * The plugins {@code loader} can see ({@code META-INF/services/org.hospes.hv.HospesPlugin}),
   * in class-path order.
   *
   * @throws PluginException naming the service file's entry that cannot be loaded
   */
  public static List<HospesPlugin> discover(ClassLoader loader) {
    List<HospesPlugin> found = new ArrayList<>();
    try {
      for (HospesPlugin p : ServiceLoader.load(HospesPlugin.class, loader)) {
        found.add(p);
      }
    } catch (ServiceConfigurationError e) {
      // ServiceLoader's message already names the class and what is wrong with it.
      throw new PluginException("cannot load a plugin: " + e.getMessage(), e);
    }
    return found;
  }

  /** The extension points' modules plus the plugins {@code loader} can see. */
  public static PluginInjector discover(ClassLoader loader, List<? extends Module> points) {
    return of(points, discover(loader));
  }

  /**
   * One injector from {@code points} (the extension points and their built-ins) and
   * {@code plugins}.
   *
   * @throws PluginException when two modules bind the same name in the same extension point,
   *     or Guice refuses a plugin's bindings
   */
  public static PluginInjector of(List<? extends Module> points,
      List<? extends HospesPlugin> plugins) {
    List<Element> all = new ArrayList<>();
    Map<Key<?>, Map<Object, String>> owners = new LinkedHashMap<>();
    for (Module m : points) {
      all.addAll(record(m, "built in", owners));
    }
    for (HospesPlugin p : plugins) {
      all.addAll(record(p, "plugin " + p.getClass().getName(), owners));
    }
    try {
      return new PluginInjector(List.copyOf(plugins),
          Guice.createInjector(Elements.getModule(all)));
    } catch (CreationException e) {
      throw new PluginException("plugins could not be installed: "
          + e.getErrorMessages().iterator().next().getMessage(), e);
    }
  }

  /**
   * The module's elements, recorded once (so its {@code configure()} runs once); every name it
   * adds to a map is noted against {@code owner}, and one already owned is refused.
   */
  private static List<Element> record(Module module, String owner,
      Map<Key<?>, Map<Object, String>> owners) {
    List<Element> elements = Elements.getElements(module);
    for (MapBinderBinding<?> map : maps(elements)) {
      Map<Object, String> names = owners.computeIfAbsent(map.getMapKey(),
          k -> new LinkedHashMap<>());
      Set<Object> mine = new LinkedHashSet<>();
      for (Map.Entry<?, Binding<?>> e : map.getEntries(elements)) {
        String before = names.get(e.getKey());
        if (before != null || !mine.add(e.getKey())) {
          String first = before == null ? owner : before;
          throw new PluginException(first + " and " + owner + " both bind the "
              + pointName(map.getValueTypeLiteral()) + " '" + e.getKey() + "'"
              + (first.equals(owner) ? " twice" : "")
              + "; remove one of them from the class path (--plugin-path, ~/.hospes/plugins)");
        }
      }
      for (Object name : mine) {
        names.put(name, owner);
      }
    }
    return elements;
  }

  /** The MapBinders a module's elements declare, each once. */
  private static List<MapBinderBinding<?>> maps(List<Element> elements) {
    List<MapBinderBinding<?>> found = new ArrayList<>();
    for (Element e : elements) {
      if (e instanceof Binding<?> b) {
        Object v = b.acceptTargetVisitor(MapFinder.INSTANCE);
        if (v instanceof MapBinderBinding<?> m && m.getMapKey().equals(b.getKey())) {
          found.add(m);
        }
      }
    }
    return found;
  }

  /** "CostModel" -> "cost model": how a user reads an extension point's value type. */
  static String pointName(TypeLiteral<?> valueType) {
    String simple = valueType.getRawType().getSimpleName();
    return simple.replaceAll("([a-z0-9])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT);
  }

  /** The plugin modules installed, in class-path order. */
  public List<HospesPlugin> plugins() {
    return plugins;
  }

  /** The injector, for a site that needs more than a map. */
  public Injector injector() {
    return injector;
  }

  /** The extension point {@code Map<String, V>}: built-ins and plugins' entries by name. */
  @SuppressWarnings("unchecked")
  public <V> Map<String, V> map(Class<V> valueType) {
    return (Map<String, V>) injector.getInstance(
        Key.get(Types.mapOf(String.class, valueType)));
  }

  /**
   * The extension point as {@code Map<String, Provider<V>>}, for a site that wants a fresh
   * instance per use (an unscoped binding gives one on every {@code get()}).
   */
  @SuppressWarnings("unchecked")
  public <V> Map<String, com.google.inject.Provider<V>> providers(Class<V> valueType) {
    return (Map<String, com.google.inject.Provider<V>>) injector.getInstance(Key.get(
        Types.mapOf(String.class, Types.newParameterizedType(com.google.inject.Provider.class,
            valueType))));
  }

  /** Finds the MapBinder behind a binding, whether read from modules or from an injector. */
  private static final class MapFinder extends DefaultBindingTargetVisitor<Object, Object>
      implements MultibindingsTargetVisitor<Object, Object> {
    static final MapFinder INSTANCE = new MapFinder();

    @Override
    public Object visit(MultibinderBinding<?> multibinding) {
      return null;
    }

    @Override
    public Object visit(MapBinderBinding<?> mapbinding) {
      return mapbinding;
    }

    @Override
    public Object visit(OptionalBinderBinding<?> optionalbinding) {
      return null;
    }
  }
}
