package org.hospes.hv.sched;

/**
 * Makes a fresh scheduler. Schedulers keep per-vCPU state, so each hypervisor needs its own
 * instance: this is what is bound by name (Guice {@code MapBinder<String, SchedulerFactory>}),
 * not a scheduler.
 */
@FunctionalInterface
public interface SchedulerFactory {
  Scheduler create();
}
