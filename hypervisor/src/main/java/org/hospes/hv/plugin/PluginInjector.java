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
 *
 * <p>Without plugins, and when every module is an {@link ExtensionPointModule}, no injector is
 * built: the maps are read from the modules' {@link ExtensionPoint}s, which are what those
 * modules bind, entry for entry and in the same order. Building Guice's injector for the
 * built-ins alone cost more processor time than anything else a short run does before its
 * guest; {@link #injector()} still builds it, on first use.
 */
public final class PluginInjector {
  private final List<HospesPlugin> plugins;
  /** What the injector is built from, when it is built on first use. */
  private final List<? extends Module> modules;
  /** The points by value type, read without Guice; null when there are plugins. */
  private final Map<Class<?>, ExtensionPoint<?>> plain;
  private Injector injector;

  private PluginInjector(List<HospesPlugin> plugins, Injector injector) {
    this.plugins = plugins;
    this.modules = List.of();
    this.plain = null;
    this.injector = injector;
  }

  private PluginInjector(List<? extends Module> modules,
      Map<Class<?>, ExtensionPoint<?>> plain) {
    this.plugins = List.of();
    this.modules = List.copyOf(modules);
    this.plain = plain;
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
      // ServiceLoader's message names the class and what went wrong in general ("could not be
      // instantiated"); what the plugin itself threw is only its cause, and without it the
      // plugin's author had nothing to go on.
      throw new PluginException("cannot load a plugin: " + e.getMessage() + cause(e), e);
    }
    return found;
  }

  /** ": " and what a plugin's constructor or static initializer threw, or "" if nothing did. */
  private static String cause(ServiceConfigurationError e) {
    Throwable c = e.getCause();
    if (c == null) {
      return "";
    }
    String where = "";
    if (c instanceof ExceptionInInitializerError init && init.getCause() != null) {
      where = " in its static initializer";
      c = init.getCause();
    }
    return ": it threw " + c + where;
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
    if (plugins.isEmpty() && points.stream().allMatch(m -> m instanceof ExtensionPointModule)) {
      return new PluginInjector(points, builtIns(points));
    }
    List<Element> all = new ArrayList<>();
    Map<Key<?>, Map<Object, String>> owners = new LinkedHashMap<>();
    for (Module m : points) {
      all.addAll(record(m, "built in", owners));
    }
    for (HospesPlugin p : plugins) {
      List<Element> elements = record(p, "plugin " + p.getClass().getName(), owners);
      refuseErrors(p, elements);
      all.addAll(elements);
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
   * The points of {@code modules} by value type, refusing a name bound twice with the message
   * {@link #record} gives for it.
   */
  private static Map<Class<?>, ExtensionPoint<?>> builtIns(List<? extends Module> modules) {
    Map<Class<?>, ExtensionPoint<?>> points = new LinkedHashMap<>();
    for (Module m : modules) {
      for (ExtensionPoint<?> p : ((ExtensionPointModule) m).points()) {
        points.merge(p.type(), p, PluginInjector::merge);
      }
    }
    return points;
  }

  @SuppressWarnings("unchecked")
  private static ExtensionPoint<?> merge(ExtensionPoint<?> a, ExtensionPoint<?> b) {
    ExtensionPoint<Object> merged = (ExtensionPoint<Object>) a;
    for (Map.Entry<String, ? extends com.google.inject.Provider<?>> e
        : b.builtIns().entrySet()) {
      if (merged.builtIns().containsKey(e.getKey())) {
        throw new PluginException(twice("built in", "built in",
            pointName(TypeLiteral.get(a.type())), e.getKey()));
      }
      merged = merged.with(e.getKey(), e.getValue());
    }
    return merged;
  }

  private static String twice(String first, String owner, String point, Object name) {
    return first + " and " + owner + " both bind the " + point + " '" + name + "'"
        + (first.equals(owner) ? " twice" : "")
        + "; remove one of them from the class path (--plugin-path, ~/.hospes/plugins)";
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
          throw new PluginException(twice(first, owner, pointName(map.getValueTypeLiteral()),
              e.getKey()));
        }
      }
      for (Object name : mine) {
        names.put(name, owner);
      }
    }
    return elements;
  }

  /**
   * Refuses a plugin whose configure() threw or added an error. Guice records either as a
   * message among the module's elements, and the injector then failed with "An exception was
   * caught and reported. Message: ...", naming no plugin: with several on the class path the
   * user could not tell which one to remove.
   */
  private static void refuseErrors(HospesPlugin plugin, List<Element> elements) {
    for (Element e : elements) {
      if (e instanceof com.google.inject.spi.Message m) {
        throw new PluginException("plugin " + plugin.getClass().getName() + " could not be"
            + " installed: " + (m.getCause() != null ? "its configure() threw " + m.getCause()
                : m.getMessage()), m.getCause());
      }
    }
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

  /**
   * The injector, for a site that needs more than a map; without plugins it is built here, on
   * first use, from the same modules.
   */
  public synchronized Injector injector() {
    if (injector == null) {
      injector = Guice.createInjector(modules);
    }
    return injector;
  }

  /** Whether Guice's injector has been built: always with plugins, else once asked for. */
  public synchronized boolean injectorBuilt() {
    return injector != null;
  }

  /** The extension point {@code Map<String, V>}: built-ins and plugins' entries by name. */
  @SuppressWarnings("unchecked")
  public <V> Map<String, V> map(Class<V> valueType) {
    if (plain != null) {
      // As Guice gives an unscoped binding: each provider called on every read.
      Map<String, V> map = new LinkedHashMap<>();
      point(valueType).builtIns().forEach((name, p) -> map.put(name, p.get()));
      return java.util.Collections.unmodifiableMap(map);
    }
    return (Map<String, V>) injector.getInstance(
        Key.get(Types.mapOf(String.class, valueType)));
  }

  /**
   * The extension point as {@code Map<String, Provider<V>>}, for a site that wants a fresh
   * instance per use (an unscoped binding gives one on every {@code get()}).
   */
  @SuppressWarnings("unchecked")
  public <V> Map<String, com.google.inject.Provider<V>> providers(Class<V> valueType) {
    if (plain != null) {
      Map<String, com.google.inject.Provider<V>> map = new LinkedHashMap<>();
      point(valueType).builtIns().forEach((name, p) -> map.put(name, p::get));
      return java.util.Collections.unmodifiableMap(map);
    }
    return (Map<String, com.google.inject.Provider<V>>) injector.getInstance(Key.get(
        Types.mapOf(String.class, Types.newParameterizedType(com.google.inject.Provider.class,
            valueType))));
  }

  /** The built-in point of {@code valueType}, as Guice has no binding for an undeclared one. */
  @SuppressWarnings("unchecked")
  private <V> ExtensionPoint<V> point(Class<V> valueType) {
    ExtensionPoint<V> p = (ExtensionPoint<V>) plain.get(valueType);
    if (p == null) {
      throw new IllegalArgumentException("no extension point Map<String, "
          + valueType.getName() + "> is declared");
    }
    return p;
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
