package org.hospes.samples.sched;

import com.google.inject.AbstractModule;
import org.hospes.hv.HospesPlugin;
import org.hospes.hv.HypervisorModule;

/**
 * Adds the lottery scheduler under the name "lottery". Listed in this jar's
 * {@code META-INF/services/org.hospes.hv.HospesPlugin}, so having the jar on the class path is
 * enough: {@code hospes run --mode hvm --sched lottery KERNEL}.
 */
public final class LotterySchedulerPlugin extends AbstractModule implements HospesPlugin {
  @Override
  protected void configure() {
    HypervisorModule.schedulers(binder()).addBinding(LotteryScheduler.NAME)
        .toInstance(LotteryScheduler::new);
  }
}
