package org.hospes.hv.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.sched.CreditScheduler;
import org.hospes.hv.time.Runstate;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;

/**
 * dom0's service vCPU is preempted as any vCPU is on Xen: at the next scheduling point once its
 * slice has ended, also when a wake during its work makes the scheduler want the pCPU back,
 * and, for a handler that serves many requests in one event, between two requests, the rest
 * going on first in its next slice. Nothing is lost or done twice, and the work's cycles are
 * dom0's.
 */
class ServicePreemptionTest {
  private static final long MS = Hypervisor.HZ / 1000;
  private static final int CODE = 0x1000;

  private final Hypervisor hv = new Hypervisor(64, new CreditScheduler(), new DefaultCostModel());
  private final DomainControl dom0 = hv.control();

  private static Vcpu vcpu(Domain d) {
    return d.vcpus().get(0);
  }

  private Domain guest(String name, int... code) {
    Domain d = hv.createHvmDomain(name, DomainMode.HVM_EPT, 1);
    for (int i = 0; i < code.length; i++) {
      d.memory().write8(CODE + i, code[i]);
    }
    Cpu cpu = vcpu(d).cpu();
    cpu.setEip(CODE);
    cpu.setReg(Cpu.ESP, 0x8000);
    return d;
  }

  /** sti; hlt; jmp back (no interrupt source): blocked until something wakes it, then again. */
  private Domain sleeper() {
    return guest("sleeper", 0xFB, 0xF4, 0xEB, 0xFC);
  }

  /** cpuid; jmp back, forever. */
  private Domain spinner() {
    return guest("spin", 0x0F, 0xA2, 0xEB, 0xFC);
  }

  private long running(Domain d) {
    return vcpu(d).runstate().timeIn(Runstate.RUNNING, hv.now());
  }

  /**
   * dom0 works through 300 items of 0.1 ms. It lost its boost at the 10 ms tick it ran over;
   * item 150 (at 15 ms, past the 1 ms rate limit) wakes a blocked guest, which is boosted and
   * so outranks dom0: dom0 gives up the pCPU after that item, not at the end of its slice (the
   * 20 ms tick), and its remaining items go on after the guest has run.
   */
  @Test
  void aBoostedWakeDuringDom0sWorkPreemptsItAtTheNextItem() {
    Domain g = sleeper();
    hv.unpause(g);
    hv.run(MS / 10);
    assertThat(vcpu(g).state()).isEqualTo(VcpuState.BLOCKED);
    long start = hv.now();
    List<Long> starts = new ArrayList<>();
    List<Long> guestCyclesSeen = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      int n = i;
      dom0.work().submit(now -> {
        starts.add(now);
        guestCyclesSeen.add(vcpu(g).counters().cycles);
        if (n == 150) {
          hv.wake(vcpu(g));
        }
        return MS / 10;
      });
    }
    long guestBefore = vcpu(g).counters().cycles;
    hv.run(60 * MS);
    assertThat(starts).hasSize(300);
    assertThat(dom0.hasWork()).isFalse();
    // The woken guest ran between items 150 and 151, not after dom0's slice ended.
    assertThat(guestCyclesSeen.get(150)).isEqualTo(guestBefore);
    assertThat(guestCyclesSeen.get(151)).isGreaterThan(guestBefore);
    long woke = starts.get(150);
    assertThat(woke - start).isBetween(15 * MS, 16 * MS);
    assertThat(starts.get(151)).isLessThan(start + 20 * MS);
    // Each item once, in order, and all of it dom0's time.
    for (int i = 1; i < 300; i++) {
      assertThat(starts.get(i) - starts.get(i - 1)).isGreaterThanOrEqualTo(MS / 10);
    }
    assertThat(dom0.counters().cycles).isEqualTo(300 * MS / 10);
    assertThat(running(dom0.domain())).isEqualTo(300 * MS / 10);
  }

  /**
   * One event whose handler has 100 requests of 1 ms to serve, beside a spinner: the handler
   * stops between two requests when dom0's slice ends (the 10 ms tick), hands the rest to
   * continueLater, and goes on from the next request in dom0's next slice, after the spinner
   * has had its turn. Each request is done once, in order; dom0's vCPU is charged exactly the
   * 100 ms (its counters and its runstate), one event handled.
   */
  @Test
  void aHandlerWithManyRequestsStopsBetweenTwoAtTheSliceEndAndGoesOnInTheNext() {
    Result r = manyRequests(() -> Long.MAX_VALUE);
    assertThat(r.done).containsExactlyElementsOf(java.util.stream.IntStream.range(0, 100)
        .boxed().toList());
    assertThat(r.legs).isGreaterThan(1);
    assertThat(dom0.work().preemptions()).isEqualTo(r.legs - 1);
    // The first leg ends at the 10 ms tick: nothing runs past the slice by a whole batch.
    assertThat(r.firstLegEnd).isLessThanOrEqualTo(r.eventAt + 11 * MS);
    // Between two legs the spinner ran.
    assertThat(r.spinnerBetweenLegs).isTrue();
    assertThat(dom0.counters().cycles).isEqualTo(100 * MS + r.legs * 1000);
    assertThat(running(dom0.domain()) - runningOffset).isEqualTo(dom0.counters().cycles);
    assertThat(dom0.counters().eventUpcalls).isEqualTo(1);
    assertThat(dom0.hasWork()).isFalse();
  }

  /** Where a caller cuts time is not a scheduling decision: the legs fall where they fell. */
  @Test
  void theLegsFallAtTheSameTimesHoweverTheCallerCutsTime() {
    Result one = manyRequests(() -> Long.MAX_VALUE);
    long[] steps = {1, 7, 1000, 12_345, 3, 250_001, 99_991, 2};
    int[] i = {0};
    Result cut = new ServicePreemptionTest().manyRequests(() -> steps[i[0]++ % steps.length]);
    assertThat(cut.requestTimes).isEqualTo(one.requestTimes);
    assertThat(cut.legs).isEqualTo(one.legs);
  }

  private static final class Result {
    final List<Integer> done = new ArrayList<>();
    final List<Long> requestTimes = new ArrayList<>();
    int legs;
    long eventAt;
    long firstLegEnd = -1;
    boolean spinnerBetweenLegs;
  }

  private Result manyRequests(LongSupplier steps) {
    Domain spin = spinner();
    int gport = dom0.allocUnboundFor(spin.domid(), DomainControl.DOM0);
    int local = dom0.channels().bindInterdomain(spin.domid(), gport);
    Result r = new Result();
    int[] next = {0};
    long[] spinAtLegEnd = {-1};
    DomainControl.PortHandler[] handler = new DomainControl.PortHandler[1];
    ServiceWork.Item[] leg = new ServiceWork.Item[1];
    leg[0] = now -> {
      r.legs++;
      if (spinAtLegEnd[0] >= 0 && vcpu(spin).counters().cycles > spinAtLegEnd[0]) {
        r.spinnerBetweenLegs = true;
      }
      long spent = 1000;
      int first = next[0];
      while (next[0] < 100) {
        if (next[0] != first && dom0.preemptionDue(spent)) {
          if (r.firstLegEnd < 0) {
            r.firstLegEnd = now + spent;
          }
          spinAtLegEnd[0] = vcpu(spin).counters().cycles;
          dom0.continueLater(leg[0]);
          return spent;
        }
        r.done.add(next[0]);
        r.requestTimes.add(now + spent);
        next[0]++;
        spent += MS;
      }
      return spent;
    };
    boolean[] armed = {false};
    handler[0] = (p, now) -> {
      if (!armed[0]) {
        return 0; // the bind's own event
      }
      r.eventAt = now;
      return leg[0].run(now);
    };
    dom0.listen(local, handler[0]);
    hv.unpause(spin);
    runFor(5 * MS, steps);
    dom0.counters().cycles = 0;
    dom0.counters().eventUpcalls = 0;
    long runningBefore = running(dom0.domain());
    armed[0] = true;
    spin.eventChannels().send(gport);
    runFor(400 * MS, steps);
    runningOffset = runningBefore;
    return r;
  }

  /** dom0's RUNNING time before the event (its run for the bind's own event). */
  private long runningOffset;

  private void runFor(long span, LongSupplier steps) {
    long end = hv.now() + span;
    while (hv.now() < end) {
      hv.step(Math.min(steps.getAsLong(), end - hv.now()));
    }
    while (hv.runUnderWay()) {
      hv.step(Long.MAX_VALUE);
    }
  }
}
