package org.hospes.hv;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.plugin.PluginInjector;
import org.hospes.hv.sched.Scheduler;
import org.hospes.hv.sched.SchedulerFactory;

/**
 * Builds hypervisors with the scheduler and cost model chosen by name among those bound in
 * {@link HypervisorModule} (built-ins) and by plugins. Plain Java over the two maps; the
 * launcher's one {@link PluginInjector} gives them (dom0's {@code HostPlugins}), and the
 * no-argument constructor makes a hypervisor-only one for embedders and tests.
 */
public final class HypervisorFactory {
  public static final String DEFAULT_SCHEDULER = "credit";
  public static final String DEFAULT_COST_MODEL = "default";

  private final Map<String, SchedulerFactory> schedulers;
  private final Map<String, com.google.inject.Provider<CostModel>> costModels;

  /** The built-ins and the plugins of the thread's context class loader. */
  public HypervisorFactory() {
    this(Thread.currentThread().getContextClassLoader());
  }

  /** The built-ins and the plugins {@code pluginLoader} sees. */
  public HypervisorFactory(ClassLoader pluginLoader) {
    this(PluginInjector.discover(pluginLoader, List.of(new HypervisorModule())));
  }

  /** The maps of a launcher's injector (which must include {@link HypervisorModule}). */
  public HypervisorFactory(PluginInjector plugins) {
    this(plugins.map(SchedulerFactory.class), plugins.providers(CostModel.class));
  }

  /** By hand: schedulers and cost models by name (a provider gives a cost model per run). */
  public HypervisorFactory(Map<String, SchedulerFactory> schedulers,
      Map<String, com.google.inject.Provider<CostModel>> costModels) {
    this.schedulers = Map.copyOf(schedulers);
    this.costModels = Map.copyOf(costModels);
  }

  /** A hypervisor with the named scheduler and cost model (default set, plugins included). */
  public static Hypervisor create(String schedulerName, String costModelName, int machineMiB) {
    return new HypervisorFactory().hypervisor(schedulerName, costModelName, machineMiB);
  }

  public Hypervisor hypervisor(String schedulerName, String costModelName, int machineMiB) {
    return new Hypervisor(machineMiB, scheduler(schedulerName), costModel(costModelName));
  }

  /** A fresh scheduler; IllegalArgumentException listing the known names if unknown. */
  public Scheduler scheduler(String name) {
    SchedulerFactory f = name == null ? null : schedulers.get(name);
    if (f == null) {
      throw unknown("scheduler", name, schedulerNames());
    }
    return f.create();
  }

  /** The named cost model; IllegalArgumentException listing the known names if unknown. */
  public CostModel costModel(String name) {
    com.google.inject.Provider<CostModel> p = name == null ? null : costModels.get(name);
    if (p == null) {
      throw unknown("cost model", name, costModelNames());
    }
    return p.get();
  }

  /** Where more names come from, for a user who expected one that is not there. */
  static final String PLUGINS_ADD_MORE =
      " (a plugin jar on --plugin-path, in ~/.hospes/plugins or in HOSPES_CLASSPATH adds more)";

  /**
   * The refusal of a {@code kind} name that is not among {@code known}. A known name followed
   * by options ({@code credit,weight=512}, as devices take them) is told that schedulers and
   * cost models take none, instead of being called unknown.
   */
  private static IllegalArgumentException unknown(String kind, String name, Set<String> known) {
    int comma = name == null ? -1 : name.indexOf(',');
    if (comma > 0 && known.contains(name.substring(0, comma))) {
      return new IllegalArgumentException(kind + " '" + name.substring(0, comma)
          + "' takes no options ('" + name.substring(comma + 1) + "' given)");
    }
    return new IllegalArgumentException("unknown " + kind + " '" + name + "'; known "
        + kind + "s: " + String.join(", ", known) + PLUGINS_ADD_MORE);
  }

  public Set<String> schedulerNames() {
    return new TreeSet<>(schedulers.keySet());
  }

  public Set<String> costModelNames() {
    return new TreeSet<>(costModels.keySet());
  }
}
