package org.hospes.hv.sched;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.stats.Counters;
import org.hospes.hv.time.Runstate;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Where a caller cuts time is not a scheduling decision: the same domains run to the same
 * virtual time in one call and in many small uneven steps end in the same state, to the
 * instruction, cycle and runstate nanosecond of every vCPU, on one pCPU and on two. The
 * domains mix what makes a slice end: exits (CPUID), block boundaries (a loop with no exit),
 * and timer interrupts that wake a sleeper with BOOST priority, which preempts whoever runs.
 */
class CutInvarianceTest {
  private static final long MS = Hypervisor.HZ / 1000;
  private static final long SPAN = 100 * MS;
  /** Uneven step sizes, cycled: single cycles, a few blocks, parts of a slice. */
  private static final long[] STEPS = {1, 7, 1000, 12_345, 3, 250_001, 99_991, 2};

  /** Everything a run leaves behind that the schedule decides, as text to compare. */
  private static String fingerprint(Hypervisor hv, List<Domain> domains) {
    StringBuilder b = new StringBuilder();
    b.append("now ").append(hv.now()).append(" idle ").append(hv.idleCycles()).append('\n');
    for (int i = 0; i < hv.pcpuCount(); i++) {
      PhysicalCpu p = hv.pcpu(i);
      b.append("pcpu").append(i).append(" busy ").append(p.busyCycles()).append(" idle ")
          .append(p.idleCycles(hv.now())).append(" migrations ").append(p.migrations())
          .append('\n');
    }
    for (Domain d : domains) {
      for (Vcpu v : d.vcpus()) {
        Counters c = v.counters();
        Runstate rs = v.runstate();
        b.append(d.name()).append('.').append(v.id()).append(" insns ").append(c.instructions)
            .append(" cycles ").append(c.cycles).append(" guest ").append(c.guestCycles)
            .append(" exits ").append(c.totalExits()).append(" injected ")
            .append(c.injectedInterrupts).append(" walks ").append(c.pageWalkReferences)
            .append(" migrations ").append(c.migrations).append(" runstate ").append(rs.state());
        for (int s = 0; s < 4; s++) {
          b.append(' ').append(rs.timeIn(s, hv.now()));
        }
        b.append(" entered ").append(rs.entryTime()).append('\n');
      }
      b.append(d.name()).append(" ticks ").append(d.memory().read32(Guests.TICKS))
          .append(" count ").append(d.memory().read32(Guests.COUNT)).append(" tsc ")
          .append(d.memory().read32(Guests.COUNT + 4)).append('\n');
    }
    return b.toString();
  }

  private static Hypervisor host(int pcpus, List<Domain> domains) {
    Hypervisor hv = new Hypervisor(64, new CreditScheduler(), new DefaultCostModel());
    hv.setPcpus(pcpus);
    // The sleeper first, so that it is queued first and programs its timer at once; the
    // counter next, so that it runs in the first milliseconds on one pCPU too.
    domains.add(Guests.timerSleeper(hv, "sleep", 1000));
    domains.add(Guests.counter(hv, "count"));
    domains.add(Guests.spinner(hv, "cpuid"));
    if (pcpus > 1) {
      domains.add(Guests.spinner(hv, "cpuid2"));
    }
    domains.forEach(hv::unpause);
    return hv;
  }

  /**
   * Runs the host for {@code span} in steps of {@code steps}' sizes, then on to the end of the
   * run under way (where the scheduler decides), and returns its fingerprint.
   */
  private static String run(int pcpus, LongSupplier steps) {
    return run(pcpus, SPAN, steps);
  }

  private static String run(int pcpus, long span, LongSupplier steps) {
    List<Domain> domains = new ArrayList<>();
    Hypervisor hv = host(pcpus, domains);
    while (hv.now() < span) {
      hv.step(Math.min(steps.getAsLong(), span - hv.now()));
    }
    while (hv.runUnderWay()) {
      hv.step(Long.MAX_VALUE);
    }
    return fingerprint(hv, domains);
  }

  private static String oneCall(int pcpus) {
    return run(pcpus, () -> Long.MAX_VALUE);
  }

  @ParameterizedTest(name = "{0} pCPU(s)")
  @ValueSource(ints = {1, 2})
  void manySmallUnevenStepsEndAsOneCallDoes(int pcpus) {
    String one = oneCall(pcpus);
    int[] i = {0};
    String cut = run(pcpus, () -> STEPS[i[0]++ % STEPS.length]);
    System.out.printf("%d pCPU(s), one call:%n%s", pcpus, one);
    assertThat(cut).isEqualTo(one);
    // The sleeper's interrupts came, and every domain ran.
    assertThat(one).doesNotContain("sleep ticks 0 ").doesNotContain(" insns 0 ");
  }

  static List<Arguments> seeds() {
    List<Arguments> a = new ArrayList<>();
    for (long seed : new long[] {1, 2, 3}) {
      a.add(Arguments.of(1, seed));
      a.add(Arguments.of(2, seed));
    }
    return a;
  }

  /** Random step sizes, from one cycle to a few slices, spread evenly over their magnitude. */
  @ParameterizedTest(name = "{0} pCPU(s), seed {1}")
  @MethodSource("seeds")
  void randomStepsEndAsOneCallDoes(int pcpus, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    String cut = run(pcpus, () -> 1L + random.nextLong(1L << random.nextInt(27)));
    assertThat(cut).isEqualTo(oneCall(pcpus));
  }

  /**
   * Two counters on two pCPUs: pCPU 0 runs first (both clocks at 0, the lower number) and its
   * run is cut at the first block boundary past 1,000, while pCPU 1, still at 0, must wait for
   * that run to end. A step whose budget ends before pCPU 0's clock runs nothing, as a fresh
   * run would not start past the budget's end: no block more, the caller's time passes. The
   * next step takes the run to the first boundary past its own budget's end, as a fresh run.
   */
  @org.junit.jupiter.api.Test
  void aResumedRunStopsAtTheBudgetsEndAsAFreshRunDoes() {
    Hypervisor hv = new Hypervisor(64, new CreditScheduler(), new DefaultCostModel());
    hv.setPcpus(2);
    Domain a = Guests.counter(hv, "a");
    Domain b = Guests.counter(hv, "b");
    hv.unpause(a);
    hv.unpause(b);
    hv.step(1000);
    assertThat(hv.runUnderWay()).isTrue();
    PhysicalCpu p0 = hv.pcpu(0);
    long cut = p0.clock();
    long insns = a.vcpus().get(0).counters().instructions;
    assertThat(cut).isGreaterThanOrEqualTo(1000).isLessThan(1100);
    assertThat(hv.pcpu(1).busyCycles()).isZero();
    long before = hv.now();
    assertThat(before).isLessThan(cut);

    hv.step(cut - before);
    assertThat(p0.clock()).isEqualTo(cut);
    assertThat(a.vcpus().get(0).counters().instructions).isEqualTo(insns);
    assertThat(hv.now()).isEqualTo(cut);
    assertThat(hv.pcpu(1).busyCycles()).isZero();

    hv.step(500);
    assertThat(p0.clock()).isGreaterThanOrEqualTo(cut + 500).isLessThan(cut + 600);
    assertThat(hv.pcpu(1).busyCycles()).isZero();
    // The same counts as one step to the same budget's end from the start.
    Hypervisor fresh = new Hypervisor(64, new CreditScheduler(), new DefaultCostModel());
    fresh.setPcpus(2);
    Domain fa = Guests.counter(fresh, "a");
    Domain fb = Guests.counter(fresh, "b");
    fresh.unpause(fa);
    fresh.unpause(fb);
    fresh.step(cut + 500);
    assertThat(fresh.pcpu(0).clock()).isEqualTo(p0.clock());
    assertThat(fa.vcpus().get(0).counters().instructions)
        .isEqualTo(a.vcpus().get(0).counters().instructions);
    assertThat(fa.memory().read32(Guests.COUNT)).isEqualTo(a.memory().read32(Guests.COUNT));
  }

  /**
   * Steps of a few cycles, so that a cut falls inside nearly every block, the last one of each
   * slice too: the processor stops only at block boundaries and sizes no block for a cut, so
   * the block that ends a slice ends it where it would have.
   */
  @ParameterizedTest(name = "{0} pCPU(s)")
  @ValueSource(ints = {1, 2})
  void stepsOfAFewCyclesEndAsOneCallDoes(int pcpus) {
    SplittableRandom random = new SplittableRandom(pcpus);
    String cut = run(pcpus, 4 * MS, () -> 1L + random.nextLong(16));
    assertThat(cut).isEqualTo(run(pcpus, 4 * MS, () -> Long.MAX_VALUE));
  }
}
