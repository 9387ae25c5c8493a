package org.hospes.hv.sched;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.function.LongSupplier;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.stats.Counters;
import org.hospes.x86.vmx.ExitReason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An interrupt raised from outside between two steps (here the device model's IRQ1, as console
 * input raises the UART's line) for a vCPU whose run is under way kicks it, as Xen's vcpu_kick
 * does: the resumed run exits for the external interrupt at the boundary the cut stopped it at,
 * and the entry after that exit injects the interrupt, before one more instruction of the
 * loop. Without the kick the loop, which makes no exits, would run on to the end of its slice.
 */
class KickTest {
  private static final long MS = Hypervisor.HZ / 1000;
  /** Where the outside event comes: well after the guest set its PIC up and turned IF on. */
  private static final long RAISE_AT = MS / 10;

  private static Hypervisor host(int pcpus) {
    Hypervisor hv = new Hypervisor(64, new CreditScheduler(), new DefaultCostModel());
    hv.setPcpus(pcpus);
    return hv;
  }

  @Test
  void anInterruptRaisedBetweenStepsIsTakenAtTheBoundaryTheCutStoppedAt() {
    Hypervisor hv = host(1);
    Domain d = Guests.keyboardCounter(hv, "kbd");
    hv.unpause(d);
    while (hv.now() < RAISE_AT) {
      hv.step(10_000);
    }
    // The run is under way: the scheduler's slice (30 ms) is far from used.
    assertThat(hv.runUnderWay()).isTrue();
    Vcpu v = d.vcpus().get(0);
    long exits = v.counters().totalExits();
    int counted = d.memory().read32(Guests.COUNT);
    assertThat(counted).isPositive();

    hv.platform(d).setIsaIrqLevel(1, true);
    hv.step(10_000);

    // Taken at once: the handler saw the count as the cut left it, not one iteration more.
    assertThat(d.memory().read32(Guests.TICKS)).isEqualTo(1);
    assertThat(d.memory().read32(Guests.SEEN)).isEqualTo(counted);
    Counters c = v.counters();
    assertThat(c.kicks).isEqualTo(1);
    assertThat(c.exitCount[ExitReason.EXTERNAL_INTERRUPT.code()]).isEqualTo(1);
    // The kick's exit and the handler's EOI (an OUT): no other.
    assertThat(c.totalExits()).isEqualTo(exits + 2);
    assertThat(c.injectedInterrupts).isEqualTo(1);
    // The loop goes on after the handler's IRET, still in the same run.
    assertThat(d.memory().read32(Guests.COUNT)).isGreaterThan(counted);
    assertThat(hv.runUnderWay()).isTrue();
  }

  @Test
  void cutsWithNothingRaisedKickNothing() {
    Hypervisor hv = host(1);
    Domain d = Guests.keyboardCounter(hv, "kbd");
    hv.unpause(d);
    while (hv.now() < 2 * MS) {
      hv.step(777);
    }
    Counters c = d.vcpus().get(0).counters();
    assertThat(c.kicks).isZero();
    assertThat(c.exitCount[ExitReason.EXTERNAL_INTERRUPT.code()]).isZero();
    assertThat(d.memory().read32(Guests.TICKS)).isZero();
  }

  /**
   * A line already high at the cut was already asked for (it waits for the guest's IF, with an
   * interrupt-window exit): the next step's resumption does not kick again for it. Here the
   * guest runs with IF off, so a kick would only show as an extra exit.
   */
  @Test
  void anInterruptPendingAtTheCutDoesNotKickAgain() {
    Hypervisor hv = host(1);
    Domain d = Guests.keyboardCounter(hv, "kbd");
    // cli instead of sti: the interrupt stays pending in the PIC.
    d.memory().write8(Guests.CODE + 34, 0xFA);
    hv.unpause(d);
    while (hv.now() < RAISE_AT) {
      hv.step(10_000);
    }
    hv.platform(d).setIsaIrqLevel(1, true);
    hv.step(10_000);
    Counters c = d.vcpus().get(0).counters();
    assertThat(c.kicks).isEqualTo(1);
    long exits = c.totalExits();
    for (int i = 0; i < 20; i++) {
      hv.step(10_000);
    }
    assertThat(c.kicks).isEqualTo(1);
    assertThat(c.totalExits()).isEqualTo(exits);
    assertThat(d.memory().read32(Guests.TICKS)).isZero();
  }

  /**
   * The same input at the same virtual time gives the same run, however the time before and
   * after it is cut: one step to the raise and one to the end, or steps of uneven sizes.
   */
  @ParameterizedTest(name = "{0} pCPU(s)")
  @ValueSource(ints = {1, 2})
  void theSameInputAtTheSameTimeGivesTheSameRunHoweverTimeIsCut(int pcpus) {
    String one = run(pcpus, () -> Long.MAX_VALUE);
    assertThat(one).contains(" ticks 1 ");
    SplittableRandom random = new SplittableRandom(pcpus);
    assertThat(run(pcpus, () -> 1L + random.nextLong(1L << random.nextInt(18)))).isEqualTo(one);
    long[] steps = {1, 7, 1000, 12_345, 3, 2};
    int[] i = {0};
    assertThat(run(pcpus, () -> steps[i[0]++ % steps.length])).isEqualTo(one);
  }

  /**
   * On two pCPUs, a run cut by a step can be ahead of the global time (the pCPU furthest
   * behind, which it holds back), and where it stopped depends on the cut. An interrupt raised
   * between steps for a vCPU blocked in HLT wakes it at the global time it was raised: its
   * runstate turns RUNNABLE then, not at the time the cut run had reached, and no pCPU runs it
   * earlier. The same raise at the same time gives the same run however time is cut.
   */
  @org.junit.jupiter.api.Test
  void onTwoPcpusAnEventRaisedBetweenStepsWakesAtTheGlobalTime() {
    SplittableRandom random = new SplittableRandom(5);
    String one = sleeperRun(() -> Long.MAX_VALUE);
    assertThat(one).contains(" ticks 1 ");
    assertThat(sleeperRun(() -> 1L + random.nextLong(1L << random.nextInt(16)))).isEqualTo(one);
    long[] steps = {1, 7, 1000, 12_345, 3, 2};
    int[] i = {0};
    assertThat(sleeperRun(() -> steps[i[0]++ % steps.length])).isEqualTo(one);
  }

  /**
   * What the caller raises between steps happens at the global time, not at the present the
   * last run left behind. On two pCPUs dom0 runs two items of 50,000 cycles on pCPU 0 (it goes
   * first: both clocks are at 0) up to 100,000, while pCPU 1, with a spinner, is still at 0: the
   * global time is 0. Work submitted then to a blocked driver domain wakes its vCPU at 0, not
   * at 50,000, where dom0's last item began on the other pCPU.
   */
  @org.junit.jupiter.api.Test
  void onTwoPcpusWhatIsRaisedBetweenStepsHappensAtTheGlobalTime() {
    Hypervisor hv = host(2);
    org.hospes.hv.control.DomainControl dd = hv.createServiceDomain("dd",
        org.hospes.hv.control.Privilege.NONE);
    Domain spin = Guests.spinner(hv, "spin");
    hv.setHardAffinity(spin, 0b10);
    hv.setHardAffinity(dd.domain(), 0b10);
    hv.control().work().submit(now -> 50_000);
    hv.control().work().submit(now -> 50_000);
    hv.unpause(spin);
    hv.step(Long.MAX_VALUE);
    assertThat(hv.pcpu(0).clock()).isEqualTo(100_000);
    assertThat(hv.pcpu(1).clock()).isZero();
    assertThat(hv.now()).isZero();
    Vcpu v = dd.domain().vcpus().get(0);
    dd.work().submit(now -> 1000);
    assertThat(v.runstate().state()).isEqualTo(org.hospes.hv.time.Runstate.RUNNABLE);
    assertThat(v.runstate().entryTime()).isEqualTo(hv.now());
  }

  /** Not a multiple of the pCPU quantum: runs are cut inside their slices there. */
  private static final long SLEEPER_RAISE_AT = 150_007;

  /**
   * A keyboard guest that halts (IRQ1 wakes it; its handler counts), a CPUID spinner and a
   * counter, on 2 pCPUs: runs to {@link #SLEEPER_RAISE_AT}, raises IRQ1 and checks that the
   * sleeper woke at the raise's global time, runs on to 2 ms; the run as text to compare.
   */
  private static String sleeperRun(LongSupplier steps) {
    Hypervisor hv = host(2);
    Domain kbd = Guests.keyboardCounter(hv, "kbd");
    // hlt; jmp back to it, in place of the counting loop: blocked until IRQ1.
    kbd.memory().write8(Guests.CODE + 35, 0xF4);
    kbd.memory().write8(Guests.CODE + 36, 0xEB);
    kbd.memory().write8(Guests.CODE + 37, 0xFD);
    Domain spin = Guests.spinner(hv, "spin");
    Domain count = Guests.counter(hv, "count");
    hv.unpause(kbd);
    hv.unpause(spin);
    hv.unpause(count);
    while (hv.now() < SLEEPER_RAISE_AT) {
      hv.step(Math.min(steps.getAsLong(), SLEEPER_RAISE_AT - hv.now()));
    }
    Vcpu v = kbd.vcpus().get(0);
    assertThat(v.state()).isEqualTo(org.hospes.hv.domain.VcpuState.BLOCKED);
    long raised = hv.now();
    hv.platform(kbd).setIsaIrqLevel(1, true);
    assertThat(v.runstate().state()).isEqualTo(org.hospes.hv.time.Runstate.RUNNABLE);
    assertThat(v.runstate().entryTime()).isEqualTo(raised);
    long end = 2 * MS;
    while (hv.now() < end) {
      hv.step(Math.min(steps.getAsLong(), end - hv.now()));
    }
    while (hv.runUnderWay()) {
      hv.step(Long.MAX_VALUE);
    }
    StringBuilder b = new StringBuilder("raised ").append(raised).append(" now ")
        .append(hv.now()).append('\n');
    for (Domain dom : new Domain[] {kbd, spin, count}) {
      Vcpu x = dom.vcpus().get(0);
      Counters c = x.counters();
      b.append(dom.name()).append(" insns ").append(c.instructions).append(" cycles ")
          .append(c.cycles).append(" exits ").append(c.totalExits()).append(" ticks ")
          .append(dom.memory().read32(Guests.TICKS)).append(" runstate");
      for (int s = 0; s < 4; s++) {
        b.append(' ').append(x.runstate().timeIn(s, hv.now()));
      }
      b.append('\n');
    }
    return b.toString();
  }

  /** Runs to {@link #RAISE_AT}, raises IRQ1, runs on to 2 ms; the run as text to compare. */
  private static String run(int pcpus, LongSupplier steps) {
    Hypervisor hv = host(pcpus);
    Domain d = Guests.keyboardCounter(hv, "kbd");
    Domain other = Guests.counter(hv, "count");
    hv.unpause(d);
    hv.unpause(other);
    while (hv.now() < RAISE_AT) {
      hv.step(Math.min(steps.getAsLong(), RAISE_AT - hv.now()));
    }
    hv.platform(d).setIsaIrqLevel(1, true);
    long end = 2 * MS;
    while (hv.now() < end) {
      hv.step(Math.min(steps.getAsLong(), end - hv.now()));
    }
    while (hv.runUnderWay()) {
      hv.step(Long.MAX_VALUE);
    }
    StringBuilder b = new StringBuilder("now ").append(hv.now()).append('\n');
    for (Domain dom : new Domain[] {d, other}) {
      Counters c = dom.vcpus().get(0).counters();
      b.append(dom.name()).append(" insns ").append(c.instructions).append(" cycles ")
          .append(c.cycles).append(" exits ").append(c.totalExits()).append(" kicks ")
          .append(c.kicks).append(" ticks ").append(dom.memory().read32(Guests.TICKS))
          .append(" seen ").append(dom.memory().read32(Guests.SEEN)).append(" count ")
          .append(dom.memory().read32(Guests.COUNT)).append('\n');
    }
    return b.toString();
  }
}
