package org.hospes.hv.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.junit.jupiter.api.Test;

class CreditSchedulerTest {
  private static final long SECOND = Hypervisor.HZ;

  private static Hypervisor hv(Scheduler s) {
    return new Hypervisor(64, s, new DefaultCostModel());
  }

  private static double share(Domain d, long total) {
    return (double) Guests.cycles(d) / total;
  }

  @Test
  void weightsGiveProportionalShares() {
    Hypervisor hv = hv(new CreditScheduler());
    Domain a = Guests.spinner(hv, "a");
    Domain b = Guests.spinner(hv, "b");
    hv.setSchedulerParameters(b, 512, 0);
    hv.unpause(a);
    hv.unpause(b);
    long ran = hv.run(3 * SECOND);
    long ca = Guests.cycles(a);
    long cb = Guests.cycles(b);
    System.out.printf("credit 256:512 over %d cycles: a=%d b=%d ratio %.4f idle %d%n", ran, ca,
        cb, (double) cb / ca, hv.idleCycles());
    assertThat(ran).isCloseTo(3 * SECOND, within(10_000L));
    assertThat((double) cb / ca).isCloseTo(2.0, within(2.0 * 0.05));
    assertThat(hv.idleCycles()).isZero();
  }

  @Test
  void capHoldsAgainstCompetition() {
    Hypervisor hv = hv(new CreditScheduler());
    Domain capped = Guests.spinner(hv, "capped");
    Domain other = Guests.spinner(hv, "other");
    hv.setSchedulerParameters(capped, 256, 25);
    hv.unpause(capped);
    hv.unpause(other);
    long ran = hv.run(3 * SECOND);
    System.out.printf("cap 25 vs uncapped: capped %.4f other %.4f idle %d%n",
        share(capped, ran), share(other, ran), hv.idleCycles());
    assertThat(share(capped, ran)).isCloseTo(0.25, within(0.25 * 0.05));
    assertThat(share(other, ran)).isCloseTo(0.75, within(0.75 * 0.05));
  }

  @Test
  void capHoldsAloneAndTheRestIsIdle() {
    Hypervisor hv = hv(new CreditScheduler());
    Domain capped = Guests.spinner(hv, "capped");
    hv.setSchedulerParameters(capped, 256, 25);
    hv.unpause(capped);
    long ran = hv.run(3 * SECOND);
    System.out.printf("cap 25 alone: capped %.4f idle %.4f%n", share(capped, ran),
        (double) hv.idleCycles() / ran);
    assertThat(ran).isCloseTo(3 * SECOND, within(10_000L));
    assertThat(share(capped, ran)).isCloseTo(0.25, within(0.25 * 0.05));
    assertThat((double) hv.idleCycles() / ran).isCloseTo(0.75, within(0.75 * 0.05));
  }

  @Test
  void wakingVcpuIsBoostedAndRunsPromptly() {
    Hypervisor hv = hv(new CreditScheduler());
    Domain spin = Guests.spinner(hv, "spin");
    Domain sleeper = Guests.timerSleeper(hv, "sleeper", 250);
    // The sleeper first, so its PIT is programmed from the start.
    hv.unpause(sleeper);
    hv.unpause(spin);
    long ran = hv.run(SECOND);
    int ticks = sleeper.memory().read32(Guests.TICKS);
    System.out.printf("boost: 250 Hz PIT guest handled %d interrupts in %.3f s next to a spinner"
        + " (spinner share %.4f)%n", ticks, ran / 1e9, share(spin, ran));
    // Every tick handled about when it fired: waiting for the spinner's 30 ms slices would
    // lose most of them (the PIT's interrupt stays pending, later ones merge into it).
    assertThat(ticks).isBetween(248, 251);
    assertThat(share(spin, ran)).isGreaterThan(0.9);

    // For contrast, round robin (no boost): the woken vCPU queues behind the spinner.
    Hypervisor rr = hv(new RoundRobinScheduler());
    Domain rrSpin = Guests.spinner(rr, "spin");
    Domain rrSleeper = Guests.timerSleeper(rr, "sleeper", 250);
    rr.unpause(rrSleeper);
    rr.unpause(rrSpin);
    rr.run(SECOND);
    int rrTicks = rrSleeper.memory().read32(Guests.TICKS);
    System.out.printf("no boost (rr): handled %d interrupts%n", rrTicks);
    assertThat(rrTicks).isLessThan(ticks * 6 / 10);
  }

  @Test
  void boostIsGivenOnWakeFromBlockOnlyAndPreempts() {
    Hypervisor hv = hv(new CreditScheduler());
    CreditScheduler s = (CreditScheduler) hv.scheduler();
    Domain a = Guests.spinner(hv, "a");
    Domain b = Guests.spinner(hv, "b");
    hv.unpause(a);
    hv.unpause(b);
    hv.run(5_000_000);
    Vcpu va = a.vcpus().get(0);
    Vcpu vb = b.vcpus().get(0);
    // a ran first and holds its 30 ms slice.
    assertThat(Guests.cycles(a)).isGreaterThan(4_000_000);
    assertThat(Guests.cycles(b)).isZero();

    hv.pause(b);
    hv.unpause(b);
    assertThat(s.priority(vb)).isEqualTo(CreditScheduler.PRI_UNDER);
    hv.run(1_000_000);
    assertThat(Guests.cycles(b)).as("an unpaused vCPU waits for its turn").isZero();

    hv.block(vb);
    hv.wake(vb);
    assertThat(s.priority(vb)).isEqualTo(CreditScheduler.PRI_BOOST);
    long a0 = Guests.cycles(a);
    hv.step(100_000);
    assertThat(Guests.cycles(b)).as("a woken vCPU preempts").isPositive();
    assertThat(Guests.cycles(a)).isEqualTo(a0);
    assertThat(s.priority(va)).isEqualTo(CreditScheduler.PRI_UNDER);
  }

  /**
   * Xen's tickle: a vCPU woken with BOOST over a running UNDER one makes the pCPU schedule at
   * once, not at the next tick or timer; within the rate limit of the running vCPU's start, it
   * runs until the rate limit has passed (csched_schedule's ratelimit), and not a cycle longer.
   */
  @Test
  void aBoostedWakePreemptsWhenTheRateLimitHasPassedNotAtTheNextTick() {
    Hypervisor hv = hv(new CreditScheduler());
    Domain a = Guests.spinner(hv, "a");
    Domain b = Guests.spinner(hv, "b");
    hv.unpause(a);
    hv.unpause(b);
    Vcpu va = a.vcpus().get(0);
    Vcpu vb = b.vcpus().get(0);
    hv.run(300_000);
    assertThat(va.runstate().state()).isEqualTo(org.hospes.hv.time.Runstate.RUNNING);
    hv.block(vb);
    hv.wake(vb);
    hv.run(2_000_000);
    long limit = CreditScheduler.DEFAULT_RATELIMIT_US * 1_000L;
    // a stopped at its first exit at or after the rate limit (a CPUID exit costs ~1,100
    // cycles), and b has run since.
    assertThat(Guests.cycles(a)).isBetween(limit, limit + 2_000);
    assertThat(vb.runstate().state()).isEqualTo(org.hospes.hv.time.Runstate.RUNNING);
    assertThat(vb.runstate().entryTime()).isEqualTo(Guests.cycles(a));

    // Past the rate limit, the tickle preempts at once. b keeps its slice past the 10 ms tick
    // (which ends its boost); then a is woken from a block while b runs.
    hv.run(10_000_000);
    assertThat(vb.runstate().state()).isEqualTo(org.hospes.hv.time.Runstate.RUNNING);
    long woke = hv.now();
    long b0 = Guests.cycles(b);
    hv.block(va);
    hv.wake(va);
    hv.run(1_000_000);
    assertThat(Guests.cycles(b)).isEqualTo(b0);
    assertThat(va.runstate().entryTime()).isEqualTo(woke);
  }

  @Test
  void roundRobinGivesEqualShares() {
    Hypervisor hv = hv(new RoundRobinScheduler());
    Domain a = Guests.spinner(hv, "a");
    Domain b = Guests.spinner(hv, "b");
    // rr has no weights or caps: a weight or cap is refused (it was taken and ignored), and
    // the value the domain has already is no change.
    assertThatThrownBy(() -> hv.setSchedulerParameters(b, 512, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("the rr scheduler ignores"
            + " weights: weight 512 would change nothing; weights need a scheduler that has"
            + " them (credit)");
    assertThatThrownBy(() -> hv.setSchedulerParameters(b, 256, 50))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("the rr"
            + " scheduler ignores caps: cap 50% would change nothing");
    hv.setSchedulerParameters(b, 256, 0);
    assertThat(b.weight()).isEqualTo(256);
    assertThat(b.cap()).isZero();
    hv.unpause(a);
    hv.unpause(b);
    long ran = hv.run(3 * SECOND);
    System.out.printf("rr: a %.4f b %.4f%n", share(a, ran), share(b, ran));
    assertThat(share(a, ran)).isCloseTo(0.5, within(0.5 * 0.05));
    assertThat(share(b, ran)).isCloseTo(0.5, within(0.5 * 0.05));
  }

  @Test
  void parametersChangedAtRunTimeTakeEffect() {
    Hypervisor hv = hv(new CreditScheduler());
    Domain a = Guests.spinner(hv, "a");
    Domain b = Guests.spinner(hv, "b");
    hv.unpause(a);
    hv.unpause(b);
    hv.run(SECOND);
    assertThat((double) Guests.cycles(b) / Guests.cycles(a)).isCloseTo(1.0, within(0.05));

    hv.setSchedulerParameters(b, 768, 0);
    long a0 = Guests.cycles(a);
    long b0 = Guests.cycles(b);
    hv.run(3 * SECOND);
    double ratio = (double) (Guests.cycles(b) - b0) / (Guests.cycles(a) - a0);
    System.out.printf("after weight 256:768 ratio %.4f%n", ratio);
    assertThat(ratio).isCloseTo(3.0, within(3.0 * 0.05));

    hv.setSchedulerParameters(b, 768, 10);
    a0 = Guests.cycles(a);
    b0 = Guests.cycles(b);
    long ran = hv.run(3 * SECOND);
    double capped = (double) (Guests.cycles(b) - b0) / ran;
    System.out.printf("after cap 10: b %.4f a %.4f%n", capped,
        (double) (Guests.cycles(a) - a0) / ran);
    assertThat(capped).isCloseTo(0.10, within(0.10 * 0.05));

    hv.setSchedulerParameters(b, 256, 0);
    a0 = Guests.cycles(a);
    b0 = Guests.cycles(b);
    hv.run(3 * SECOND);
    ratio = (double) (Guests.cycles(b) - b0) / (Guests.cycles(a) - a0);
    System.out.printf("after uncap, 256:256 ratio %.4f%n", ratio);
    assertThat(ratio).isCloseTo(1.0, within(0.05));
  }

  @Test
  void domainsEndingWhileRunningOrQueuedLeaveTheOthersRunning() {
    Hypervisor hv = hv(new CreditScheduler());
    Domain crasher = hv.createHvmDomain("crasher", org.hospes.hv.domain.DomainMode.HVM_EPT, 1);
    crasher.memory().write8(Guests.CODE, 0xCC); // int3 without an IDT: triple fault
    crasher.vcpus().get(0).cpu().setEip(Guests.CODE);
    Domain a = Guests.spinner(hv, "a");
    Domain b = Guests.spinner(hv, "b");
    hv.unpause(crasher);
    hv.unpause(a);
    hv.unpause(b);
    hv.run(100_000_000);
    assertThat(crasher.state()).hasToString("CRASHED");
    hv.destroy(b, "destroyed");
    long a0 = Guests.cycles(a);
    long ran = hv.run(SECOND);
    assertThat(Guests.cycles(a) - a0).isCloseTo(ran, within(ran / 1000));
    assertThat(hv.idleCycles()).isZero();
  }

  @Test
  void identicalRunsGiveIdenticalCounters() {
    long[] first = mixedRun();
    long[] second = mixedRun();
    assertThat(second).containsExactly(first);
  }

  private static long[] mixedRun() {
    Hypervisor hv = hv(new CreditScheduler());
    Domain a = Guests.spinner(hv, "a");
    Domain b = Guests.spinner(hv, "b");
    Domain c = Guests.timerSleeper(hv, "c", 250);
    hv.setSchedulerParameters(a, 300, 40);
    hv.setSchedulerParameters(b, 700, 0);
    hv.unpause(a);
    hv.unpause(b);
    hv.unpause(c);
    hv.run(SECOND / 2);
    return new long[] {hv.now(), hv.idleCycles(), Guests.cycles(a), Guests.cycles(b),
        Guests.cycles(c), a.totals().instructions, b.totals().instructions,
        c.totals().instructions, c.totals().injectedInterrupts, c.totals().totalExits()};
  }

  @Test
  void parametersAreValidated() {
    Hypervisor hv = hv(new CreditScheduler());
    Domain a = Guests.spinner(hv, "a");
    assertThatThrownBy(() -> hv.setSchedulerParameters(a, 0, 0))
        .hasMessageContaining("weight must be 1..65535");
    assertThatThrownBy(() -> hv.setSchedulerParameters(a, 256, 101))
        .hasMessageContaining("cap must be 0");
    assertThatThrownBy(() -> hv.setSchedulerParameters(a, 256, -1))
        .hasMessageContaining("cap must be 0");
    assertThat(a.weight()).isEqualTo(256);
  }
}
