package org.hospes.hv.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.junit.jupiter.api.Test;

/**
 * The credit scheduler on several physical CPUs: CPU-bound domains get the share credit1 gives
 * them (weights over all pCPUs, at most one pCPU per vCPU), idle pCPUs steal queued work, hard
 * affinity holds, and identical runs give identical counters on every pCPU.
 */
class PhysicalCpusTest {
  private static final long SECOND = Hypervisor.HZ;

  private static Hypervisor hv(int pcpus) {
    Hypervisor hv = new Hypervisor(64, new CreditScheduler(), new DefaultCostModel());
    hv.setPcpus(pcpus);
    return hv;
  }

  private static double share(Domain d, long total) {
    return (double) Guests.cycles(d) / total;
  }

  private static String pcpuLine(Hypervisor hv, long ran) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < hv.pcpuCount(); i++) {
      PhysicalCpu p = hv.pcpu(i);
      b.append(String.format(" pcpu%d busy %.4f idle %.4f migrations %d;", i,
          (double) p.busyCycles() / ran, (double) p.idleCycles(hv.now()) / ran,
          p.migrations()));
    }
    return b.toString();
  }

  private static List<Domain> spinners(Hypervisor hv, int n) {
    List<Domain> ds = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ds.add(Guests.spinner(hv, "spin" + i));
    }
    return ds;
  }

  @Test
  void twoSpinnersHalveOnePcpuAndEachHaveOneOfTwo() {
    for (int pcpus = 1; pcpus <= 2; pcpus++) {
      Hypervisor hv = hv(pcpus);
      List<Domain> ds = spinners(hv, 2);
      ds.forEach(hv::unpause);
      long ran = hv.run(2 * SECOND);
      System.out.printf("2 spinners on %d pCPU(s), %d cycles: a %.4f b %.4f;%s%n", pcpus, ran,
          share(ds.get(0), ran), share(ds.get(1), ran), pcpuLine(hv, ran));
      assertThat(ran).isCloseTo(2 * SECOND, within(PCPU_SLACK));
      double expected = pcpus == 1 ? 0.5 : 1.0;
      for (Domain d : ds) {
        assertThat(share(d, ran)).as(d.name() + " on " + pcpus).isCloseTo(expected,
            within(expected * 0.02));
      }
      for (int i = 0; i < pcpus; i++) {
        assertThat((double) hv.pcpu(i).busyCycles() / ran).isCloseTo(1.0, within(0.01));
        assertThat(hv.pcpu(i).idleCycles(hv.now())).isLessThan(ran / 100);
      }
    }
  }

  private static final long PCPU_SLACK = 20_000L;

  @Test
  void threeEqualSpinnersOnTwoPcpusGetTwoThirdsEach() {
    Hypervisor hv = hv(2);
    List<Domain> ds = spinners(hv, 3);
    ds.forEach(hv::unpause);
    long ran = hv.run(3 * SECOND);
    System.out.printf("3 spinners on 2 pCPUs: %.4f %.4f %.4f;%s%n", share(ds.get(0), ran),
        share(ds.get(1), ran), share(ds.get(2), ran), pcpuLine(hv, ran));
    for (Domain d : ds) {
      // Each earns a third of 2 pCPUs' credit; OVER vCPUs trade places with UNDER ones that
      // wait on the other pCPU, so no one keeps a pCPU to itself.
      assertThat(share(d, ran)).as(d.name()).isCloseTo(2.0 / 3, within(2.0 / 3 * 0.05));
    }
    assertThat(hv.pcpu(0).migrations() + hv.pcpu(1).migrations()).isPositive();
    assertThat(hv.idleCycles()).isLessThan(ran / 100);
  }

  @Test
  void weightsShareAllPcpusButAVcpuGetsAtMostOne() {
    // 1 pCPU, weights 2:1: two thirds and one third.
    Hypervisor one = hv(1);
    List<Domain> ab = spinners(one, 2);
    one.setSchedulerParameters(ab.get(0), 512, 0);
    ab.forEach(one::unpause);
    long ran1 = one.run(3 * SECOND);
    System.out.printf("weights 512:256 on 1 pCPU: %.4f %.4f%n", share(ab.get(0), ran1),
        share(ab.get(1), ran1));
    assertThat(share(ab.get(0), ran1)).isCloseTo(2.0 / 3, within(2.0 / 3 * 0.05));
    assertThat(share(ab.get(1), ran1)).isCloseTo(1.0 / 3, within(1.0 / 3 * 0.05));

    // 2 pCPUs, weights 2:1:1: the heavy one's fair share is a whole pCPU (its peak), the
    // others split the second one.
    Hypervisor two = hv(2);
    List<Domain> abc = spinners(two, 3);
    two.setSchedulerParameters(abc.get(0), 512, 0);
    abc.forEach(two::unpause);
    long ran2 = two.run(3 * SECOND);
    System.out.printf("weights 512:256:256 on 2 pCPUs: %.4f %.4f %.4f;%s%n",
        share(abc.get(0), ran2), share(abc.get(1), ran2), share(abc.get(2), ran2),
        pcpuLine(two, ran2));
    assertThat(share(abc.get(0), ran2)).isCloseTo(1.0, within(0.05));
    assertThat(share(abc.get(1), ran2)).isCloseTo(0.5, within(0.5 * 0.05));
    assertThat(share(abc.get(2), ran2)).isCloseTo(0.5, within(0.5 * 0.05));

    // 2 pCPUs, weights 4:1 between two domains: no vCPU gets more than one pCPU, so both get
    // one, whatever the weights say.
    Hypervisor cap = hv(2);
    List<Domain> xy = spinners(cap, 2);
    cap.setSchedulerParameters(xy.get(0), 1024, 0);
    xy.forEach(cap::unpause);
    long ran3 = cap.run(SECOND);
    assertThat(share(xy.get(0), ran3)).isCloseTo(1.0, within(0.02));
    assertThat(share(xy.get(1), ran3)).isCloseTo(1.0, within(0.02));
  }

  @Test
  void aCapHoldsOnTwoPcpusAndItsUnusedShareGoesToTheOthers() {
    // Capped at 25 % beside two spinners on 2 pCPUs: it gets its quarter of a pCPU; the two
    // others share the remaining 1.75 pCPUs evenly (the capped domain's unused credit is
    // redistributed to them).
    Hypervisor hv = hv(2);
    List<Domain> ds = spinners(hv, 3);
    hv.setSchedulerParameters(ds.get(0), 256, 25);
    ds.forEach(hv::unpause);
    long ran = hv.run(3 * SECOND);
    System.out.printf("cap 25 beside 2 spinners on 2 pCPUs: %.4f %.4f %.4f;%s%n",
        share(ds.get(0), ran), share(ds.get(1), ran), share(ds.get(2), ran), pcpuLine(hv, ran));
    assertThat(share(ds.get(0), ran)).isCloseTo(0.25, within(0.25 * 0.05));
    assertThat(share(ds.get(1), ran)).isCloseTo(0.875, within(0.875 * 0.05));
    assertThat(share(ds.get(2), ran)).isCloseTo(0.875, within(0.875 * 0.05));
    assertThat(hv.idleCycles()).isLessThan(ran / 100);
  }

  @Test
  void anIdlePcpuStealsWorkQueuedOnAPeerOnceAffinityAllows() {
    Hypervisor hv = hv(2);
    List<Domain> ds = spinners(hv, 2);
    for (Domain d : ds) {
      hv.setHardAffinity(d, 0b01);
    }
    ds.forEach(hv::unpause);
    long pinned = hv.run(SECOND);
    long[] before = {Guests.cycles(ds.get(0)), Guests.cycles(ds.get(1))};
    double idle1 = (double) hv.pcpu(1).idleCycles(hv.now()) / pinned;
    System.out.printf("2 spinners pinned to pCPU 0: %.4f %.4f, pCPU 1 idle %.4f%n",
        (double) before[0] / pinned, (double) before[1] / pinned, idle1);
    assertThat((double) before[0] / pinned).isCloseTo(0.5, within(0.025));
    assertThat((double) before[1] / pinned).isCloseTo(0.5, within(0.025));
    assertThat(idle1).isGreaterThan(0.99);
    assertThat(hv.pcpu(1).busyCycles()).isZero();

    // Unpinned: pCPU 1 takes the vCPU waiting on pCPU 0's queue.
    for (Domain d : ds) {
      hv.setHardAffinity(d, 0b11);
    }
    long ran = hv.run(SECOND);
    double a = (double) (Guests.cycles(ds.get(0)) - before[0]) / ran;
    double b = (double) (Guests.cycles(ds.get(1)) - before[1]) / ran;
    System.out.printf("unpinned: %.4f %.4f;%s%n", a, b, pcpuLine(hv, ran));
    assertThat(a).isCloseTo(1.0, within(0.05));
    assertThat(b).isCloseTo(1.0, within(0.05));
    assertThat(hv.pcpu(1).migrations()).isPositive();
    assertThatThrownBy(() -> hv.setHardAffinity(ds.get(0), 0b100))
        .hasMessageContaining("hard affinity must name physical CPUs among 0..1");
  }

  @Test
  void aWokenVcpuRunsOnAnIdlePcpuAtOnce() {
    // One spinner keeps a pCPU; the 250 Hz timer guest, woken by each interrupt, finds the
    // other pCPU idle and takes it: every interrupt handled, the spinner undisturbed.
    Hypervisor hv = hv(2);
    Domain sleeper = Guests.timerSleeper(hv, "sleeper", 250);
    Domain spin = Guests.spinner(hv, "spin");
    hv.unpause(sleeper);
    hv.unpause(spin);
    long ran = hv.run(SECOND);
    int ticks = sleeper.memory().read32(Guests.TICKS);
    System.out.printf("250 Hz guest beside a spinner on 2 pCPUs: %d interrupts, spinner %.4f;%s%n",
        ticks, share(spin, ran), pcpuLine(hv, ran));
    assertThat(ticks).isBetween(249, 251);
    assertThat(share(spin, ran)).isGreaterThan(0.995);
  }

  @Test
  void identicalRunsGiveIdenticalCountersOnEveryPcpu() {
    long[] first = mixedRun();
    long[] second = mixedRun();
    assertThat(second).containsExactly(first);
  }

  private static long[] mixedRun() {
    Hypervisor hv = hv(3);
    Domain a = Guests.spinner(hv, "a");
    Domain b = Guests.spinner(hv, "b");
    Domain c = Guests.timerSleeper(hv, "c", 250);
    Domain d = Guests.spinner(hv, "d");
    Domain e = Guests.spinner(hv, "e");
    hv.setSchedulerParameters(a, 300, 40);
    hv.setSchedulerParameters(b, 700, 0);
    for (Domain x : List.of(a, b, c, d, e)) {
      hv.unpause(x);
    }
    hv.run(SECOND / 2);
    List<Long> out = new ArrayList<>(List.of(hv.now(), hv.idleCycles(), Guests.cycles(a),
        Guests.cycles(b), Guests.cycles(c), Guests.cycles(d), Guests.cycles(e),
        c.totals().injectedInterrupts, c.totals().totalExits(), a.totals().migrations,
        b.totals().migrations, d.totals().migrations));
    for (int i = 0; i < hv.pcpuCount(); i++) {
      out.add(hv.pcpu(i).busyCycles());
      out.add(hv.pcpu(i).idleCycles(hv.now()));
      out.add(hv.pcpu(i).migrations());
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  @Test
  void pcpusAreValidatedAndRoundRobinStaysOnOne() {
    Hypervisor hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    assertThatThrownBy(() -> hv.setPcpus(2))
        .hasMessageContaining("the rr scheduler runs every vCPU on one physical CPU");
    hv.setPcpus(1);
    assertThatThrownBy(() -> hv(65)).hasMessageContaining("physical CPUs must be 1..64, got 65");
    assertThatThrownBy(() -> hv(0)).hasMessageContaining("physical CPUs must be 1..64, got 0");
    Hypervisor ran = hv(2);
    ran.run(1000);
    assertThatThrownBy(() -> ran.setPcpus(4))
        .hasMessageContaining("physical CPUs are set before the hypervisor runs");
  }
}
