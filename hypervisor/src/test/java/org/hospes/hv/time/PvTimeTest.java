package org.hospes.hv.time;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The PV vCPU timers on a domain's timer queue. */
class PvTimeTest {

  @Test
  @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aPeriodicTimerFarBehindSendsOneEventAndCountsOnFromNow() {
    // A 1 ms periodic timer (Xen's minimum) whose domain did not run for a day: one VIRQ_TIMER,
    // the next a period after now (Xen's vcpu_periodic_timer_work), not 86.4 million callbacks.
    Hypervisor hv = new Hypervisor(16, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("d", DomainMode.PVH, 1);
    TimerQueue timers = hv.platform(d).timers();
    d.pvTime().setPeriodic(0, 1_000_000, 0);
    long day = 86_400_000_000_000L;
    long before = timers.fired();
    timers.runExpired(day);
    assertThat(timers.fired() - before).isEqualTo(1);
    assertThat(d.pvTime().firings(0)).isEqualTo(1);
    assertThat(timers.nextDeadline()).isEqualTo(day + 1_000_000);
    // On time, it keeps its own phase.
    timers.runExpired(day + 1_000_000);
    assertThat(timers.nextDeadline()).isEqualTo(day + 2_000_000);
  }
}
