package org.hospes.hv;

import com.google.inject.Module;

/**
 * A Guice module a jar contributes to Hospes. List the implementation's class name in
 * {@code META-INF/services/org.hospes.hv.HospesPlugin}; {@link HypervisorModule} finds it with
 * {@link java.util.ServiceLoader} and installs it. In {@code configure()} a plugin adds entries
 * to the extension points, e.g.
 *
 * <pre>{@code
 * HypervisorModule.schedulers(binder()).addBinding("lottery").toInstance(LotteryScheduler::new);
 * HypervisorModule.costModels(binder()).addBinding("slow").to(SlowCostModel.class);
 * }</pre>
 *
 * <p>Implementations need a public no-argument constructor (ServiceLoader's rule).
 */
public interface HospesPlugin extends Module {}
