package org.hospes.hv.plugin;

import com.google.inject.AbstractModule;
import com.google.inject.Binder;
import com.google.inject.multibindings.MapBinder;
import java.util.List;

/**
 * A layer's extension points and their built-ins: a Guice module that declares each point's
 * {@code MapBinder<String, V>} and binds its built-ins, and that also gives them as data
 * ({@link #points()}). {@link PluginInjector} builds an injector from these modules only when
 * there are plugins; without any, it reads the same {@link ExtensionPoint}s directly, because
 * Guice's injector for the built-ins alone was the largest part of the processor time that a
 * short {@code hospes run} spent before its guest.
 */
public class ExtensionPointModule extends AbstractModule {
  private final List<ExtensionPoint<?>> points;

  public ExtensionPointModule(ExtensionPoint<?>... points) {
    this.points = List.of(points);
  }

  /** The points this module declares, in binding order. */
  public final List<ExtensionPoint<?>> points() {
    return points;
  }

  @Override
  protected final void configure() {
    for (ExtensionPoint<?> p : points) {
      bind(binder(), p);
    }
  }

  private static <V> void bind(Binder binder, ExtensionPoint<V> point) {
    MapBinder<String, V> map = MapBinder.newMapBinder(binder, String.class, point.type());
    point.builtIns().forEach((name, provider) -> map.addBinding(name).toProvider(provider));
  }
}
