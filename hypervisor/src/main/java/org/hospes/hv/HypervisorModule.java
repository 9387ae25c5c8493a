package org.hospes.hv;

import com.google.inject.Binder;
import com.google.inject.multibindings.MapBinder;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.cost.PrescottCostModel;
import org.hospes.hv.plugin.ExtensionPoint;
import org.hospes.hv.plugin.ExtensionPointModule;
import org.hospes.hv.sched.CreditScheduler;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.hv.sched.SchedulerFactory;

/**
 * The hypervisor's extension points as Guice bindings, kept at the edge: the core classes are
 * plain Java and never see the injector.
 *
 * <ul>
 *   <li>{@code Map<String, SchedulerFactory>}: "credit" ({@link CreditScheduler}), "rr"
 *       ({@link RoundRobinScheduler}). Factories, because schedulers hold state.
 *   <li>{@code Map<String, CostModel>}: "default" ({@link DefaultCostModel}) and "prescott"
 *       ({@link PrescottCostModel}: the first VT-x generation's exit latency).
 * </ul>
 *
 * Plugins are not installed here: {@link org.hospes.hv.plugin.PluginInjector} installs every
 * {@link HospesPlugin} once, beside this module and the other layers' extension points (and,
 * when there are none, reads the built-ins below without an injector).
 */
public final class HypervisorModule extends ExtensionPointModule {

  public HypervisorModule() {
    super(ExtensionPoint.declare(SchedulerFactory.class)
            // One factory each: a non-capturing method reference is one object.
            .with(CreditScheduler.NAME, () -> CreditScheduler::new)
            .with(RoundRobinScheduler.NAME, () -> RoundRobinScheduler::new),
        ExtensionPoint.declare(CostModel.class)
            .with(DefaultCostModel.NAME, DefaultCostModel::new)
            .with(PrescottCostModel.NAME, PrescottCostModel::new));
  }

  /** The scheduler map, for a module (a plugin) to add a binding to. */
  public static MapBinder<String, SchedulerFactory> schedulers(Binder binder) {
    return MapBinder.newMapBinder(binder, String.class, SchedulerFactory.class);
  }

  /** The cost-model map, for a module (a plugin) to add a binding to. */
  public static MapBinder<String, CostModel> costModels(Binder binder) {
    return MapBinder.newMapBinder(binder, String.class, CostModel.class);
  }
}
