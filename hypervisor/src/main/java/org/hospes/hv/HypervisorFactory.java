package org.hospes.hv;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.TypeLiteral;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.sched.Scheduler;
import org.hospes.hv.sched.SchedulerFactory;

/**
 * Builds hypervisors with the scheduler and cost model chosen by name among those bound in
 * {@link HypervisorModule} (built-ins and plugins). The only place that touches the injector.
 */
public final class HypervisorFactory {
  public static final String DEFAULT_SCHEDULER = "credit";
  public static final String DEFAULT_COST_MODEL = "default";

  private final Map<String, SchedulerFactory> schedulers;
  private final Map<String, com.google.inject.Provider<CostModel>> costModels;

  public HypervisorFactory() {
    this(Guice.createInjector(new HypervisorModule()));
  }

  public HypervisorFactory(ClassLoader pluginLoader) {
    this(Guice.createInjector(new HypervisorModule(pluginLoader)));
  }

  public HypervisorFactory(Injector injector) {
    this.schedulers = injector.getInstance(
        Key.get(new TypeLiteral<Map<String, SchedulerFactory>>() {}));
    this.costModels = injector.getInstance(
        Key.get(new TypeLiteral<Map<String, com.google.inject.Provider<CostModel>>>() {}));
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
      throw new IllegalArgumentException("unknown scheduler '" + name + "'; known schedulers: "
          + String.join(", ", schedulerNames()));
    }
    return f.create();
  }

  /** The named cost model; IllegalArgumentException listing the known names if unknown. */
  public CostModel costModel(String name) {
    com.google.inject.Provider<CostModel> p = name == null ? null : costModels.get(name);
    if (p == null) {
      throw new IllegalArgumentException("unknown cost model '" + name
          + "'; known cost models: " + String.join(", ", costModelNames()));
    }
    return p.get();
  }

  public Set<String> schedulerNames() {
    return new TreeSet<>(schedulers.keySet());
  }

  public Set<String> costModelNames() {
    return new TreeSet<>(costModels.keySet());
  }
}
