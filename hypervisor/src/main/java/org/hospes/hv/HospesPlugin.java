package org.hospes.hv;

import com.google.inject.Module;

/**
 * A Guice module a jar contributes to Hospes. List the implementation's class name in
 * {@code META-INF/services/org.hospes.hv.HospesPlugin};
 * {@link org.hospes.hv.plugin.PluginInjector} finds it with {@link java.util.ServiceLoader} and
 * installs it once, in the launcher's one injector. In {@code configure()} a plugin adds entries
 * to any of the extension points (one module may add to several), e.g.
 *
 * <pre>{@code
 * HypervisorModule.schedulers(binder()).addBinding("lottery").toInstance(LotteryScheduler::new);
 * HypervisorModule.costModels(binder()).addBinding("slow").to(SlowCostModel.class);
 * }</pre>
 *
 * <p>Each name may be bound once: two plugins (or a plugin and a built-in) binding the same name
 * in the same extension point are refused with a {@link org.hospes.hv.plugin.PluginException}
 * naming both. Implementations need a public no-argument constructor (ServiceLoader's rule).
 */
public interface HospesPlugin extends Module {}
