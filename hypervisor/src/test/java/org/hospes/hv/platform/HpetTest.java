package org.hospes.hv.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The HPET driven through its registers with a hand-moved 1 GHz virtual clock. */
class HpetTest {
  private long cycles;
  private final TimerQueue timers = new TimerQueue();
  private final List<String> edges = new ArrayList<>();
  private final Hpet hpet = new Hpet(new VirtualClock(() -> cycles), timers,
      (irq, high) -> edges.add((high ? "up" : "down") + irq + "@" + cycles));

  private void advanceTo(long c) {
    while (timers.nextDeadline() <= c) {
      cycles = timers.nextDeadline();
      timers.runExpired(cycles);
    }
    cycles = c;
  }

  private void write64(int reg, long v) {
    hpet.write(reg, 4, (int) v);
    hpet.write(reg + 4, 4, (int) (v >>> 32));
  }

  @Test
  void capabilitiesAreQemus() {
    assertThat(hpet.read(Hpet.GCAP_ID, 4)).isEqualTo(0x8086_A201);
    assertThat(hpet.read(Hpet.GCAP_ID + 4, 4)).isEqualTo(10_000_000);
    assertThat(hpet.read(Hpet.TIMER0, 4) & 0xFFFF).isEqualTo(0x30);
  }

  @Test
  void theCounterRunsAt100MhzOnlyWhileEnabled() {
    advanceTo(1000);
    assertThat(hpet.counter()).isZero();
    hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE);
    advanceTo(1000 + 10_000);
    assertThat(hpet.read(Hpet.MAIN_COUNTER, 4)).isEqualTo(1000);
    hpet.write(Hpet.GEN_CONF, 4, 0);
    advanceTo(50_000);
    assertThat(hpet.counter()).isEqualTo(1000);
    write64(Hpet.MAIN_COUNTER, 0x1_0000_0005L);
    assertThat(hpet.read(Hpet.MAIN_COUNTER + 4, 4)).isEqualTo(1);
    assertThat(hpet.read(Hpet.MAIN_COUNTER, 4)).isEqualTo(5);
  }

  @Test
  void aPeriodicComparatorInLegacyModePulsesIrq0EachPeriod() {
    // TN_VAL_SET lets one comparator write through; each write clears it.
    int conf = Hpet.TN_INT_ENABLE | Hpet.TN_PERIODIC | Hpet.TN_VAL_SET;
    hpet.write(Hpet.TIMER0, 4, conf);
    hpet.write(Hpet.TIMER0 + Hpet.TN_COMPARATOR + 4, 4, 0);
    hpet.write(Hpet.TIMER0, 4, conf);
    hpet.write(Hpet.TIMER0 + Hpet.TN_COMPARATOR, 4, 100);
    hpet.write(Hpet.TIMER0 + Hpet.TN_COMPARATOR, 4, 100);
    hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE | Hpet.CONF_LEGACY);
    edges.clear();
    advanceTo(3500);
    // 100 ticks of 10 ns = 1000 cycles: edges at 1000, 2000 and 3000.
    assertThat(edges).containsExactly("up0@1000", "down0@1000", "up0@2000", "down0@2000",
        "up0@3000", "down0@3000");
    assertThat(hpet.read(Hpet.TIMER0 + Hpet.TN_COMPARATOR, 4)).isEqualTo(400);
  }

  @Test
  void legacyReplacementCutsThePitOffIrq0() {
    hpet.pitOutput(true);
    assertThat(edges).containsExactly("up0@0");
    hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE | Hpet.CONF_LEGACY);
    hpet.pitOutput(false);
    hpet.pitOutput(true);
    assertThat(edges).containsExactly("up0@0", "down0@0");
    hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE);
    assertThat(edges).containsExactly("up0@0", "down0@0", "up0@0");
  }

  @Test
  void aLevelTriggeredOneShotHoldsItsLineUntilTheStatusBitIsCleared() {
    hpet.write(Hpet.TIMER0 + 2 * Hpet.TIMER_STRIDE, 4,
        Hpet.TN_INT_ENABLE | Hpet.TN_LEVEL | 5 << Hpet.TN_ROUTE_SHIFT);
    write64(Hpet.TIMER0 + 2 * Hpet.TIMER_STRIDE + Hpet.TN_COMPARATOR, 50);
    hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE);
    advanceTo(10_000);
    assertThat(edges).containsExactly("up5@500");
    assertThat(hpet.read(Hpet.GINTR_STA, 4)).isEqualTo(4);
    hpet.write(Hpet.GINTR_STA, 4, 4);
    assertThat(hpet.read(Hpet.GINTR_STA, 4)).isZero();
    assertThat(edges).containsExactly("up5@500", "down5@10000");
  }

  @Test
  void a32BitOneShotComesRoundAgainAfterTheLowHalfWraps() {
    hpet.write(Hpet.TIMER0 + Hpet.TIMER_STRIDE, 4,
        Hpet.TN_INT_ENABLE | Hpet.TN_32BIT | 3 << Hpet.TN_ROUTE_SHIFT);
    hpet.write(Hpet.TIMER0 + Hpet.TIMER_STRIDE + Hpet.TN_COMPARATOR, 4, 10);
    hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE);
    advanceTo(200);
    assertThat(edges).containsExactly("up3@100", "down3@100");
    assertThat(timers.nextDeadline()).isEqualTo(100 + (1L << 32) * 10);
  }

  @Test
  @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aPeriodicComparatorBehindACounterPastTwoToThe63CatchesUpInOneStep() {
    // The counter loaded at 3/4 of its range, the comparator at 1: unsigned, the comparator is
    // behind, so it fires at once; its catch-up must compare unsigned too, or (the difference
    // being negative as a signed number) it advances one period per callback, 2^61 times.
    int t1 = Hpet.TIMER0 + Hpet.TIMER_STRIDE;
    int conf = Hpet.TN_INT_ENABLE | Hpet.TN_PERIODIC | Hpet.TN_VAL_SET | 3 << Hpet.TN_ROUTE_SHIFT;
    hpet.write(t1, 4, conf);
    hpet.write(t1 + Hpet.TN_COMPARATOR, 4, 1);
    hpet.write(t1, 4, conf);
    hpet.write(t1 + Hpet.TN_COMPARATOR + 4, 4, 0);
    // Without TN_VAL_SET only the period takes the value: 2 ticks.
    hpet.write(t1 + Hpet.TN_COMPARATOR, 4, 2);
    write64(Hpet.MAIN_COUNTER, 0xC000_0000_0000_0010L);
    hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE);
    long before = timers.fired();
    timers.runExpired(cycles);
    assertThat(timers.fired() - before).isEqualTo(1);
    // Whole periods from the old comparator, just past the counter.
    assertThat(hpet.read(Hpet.TIMER0 + Hpet.TIMER_STRIDE + Hpet.TN_COMPARATOR, 4))
        .isEqualTo(0x11);
    assertThat(hpet.read(Hpet.TIMER0 + Hpet.TIMER_STRIDE + Hpet.TN_COMPARATOR + 4, 4))
        .isEqualTo(0xC000_0000);
    assertThat(edges).containsExactly("up3@0", "down3@0");
  }

  @Test
  void a32BitOneShotLateByManyWrapsFiresOnceAndArmsTheNextWrap() {
    hpet.write(Hpet.TIMER0 + Hpet.TIMER_STRIDE, 4,
        Hpet.TN_INT_ENABLE | Hpet.TN_32BIT | 3 << Hpet.TN_ROUTE_SHIFT);
    hpet.write(Hpet.TIMER0 + Hpet.TIMER_STRIDE + Hpet.TN_COMPARATOR, 4, 10);
    hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE);
    // A thousand wraps (12 hours) later, in one run of the queue.
    long wrap = (1L << 32) * 10;
    cycles = 100 + 1000 * wrap + 50;
    long before = timers.fired();
    timers.runExpired(cycles);
    assertThat(timers.fired() - before).isEqualTo(1);
    assertThat(timers.nextDeadline()).isEqualTo(100 + 1001 * wrap);
  }

  @Test
  void comparatorsStillFireAfterYearsOfVirtualTime() {
    // Ten years: the counter's tick count is far past 2^63 / 1000, which once left every
    // comparator unarmed.
    cycles = 10L * 365 * 86_400 * 1_000_000_000L;
    hpet.write(Hpet.TIMER0 + 2 * Hpet.TIMER_STRIDE, 4,
        Hpet.TN_INT_ENABLE | 5 << Hpet.TN_ROUTE_SHIFT);
    write64(Hpet.TIMER0 + 2 * Hpet.TIMER_STRIDE + Hpet.TN_COMPARATOR, 1000);
    hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE);
    long start = cycles;
    advanceTo(start + 10_000);
    assertThat(edges).containsExactly("up5@" + (start + 10_000), "down5@" + (start + 10_000));
  }

  @Test
  void aLevelTriggeredTimerRoutedElsewhereReleasesTheLineItHeld() {
    int t2 = Hpet.TIMER0 + 2 * Hpet.TIMER_STRIDE;
    hpet.write(t2, 4, Hpet.TN_INT_ENABLE | Hpet.TN_LEVEL | 5 << Hpet.TN_ROUTE_SHIFT);
    write64(t2 + Hpet.TN_COMPARATOR, 50);
    hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE);
    advanceTo(1000);
    assertThat(edges).containsExactly("up5@500");
    // Rerouted while asserted: IRQ 5 is let go and IRQ 7 is held instead, until the status
    // is cleared. Switched to edge, it holds nothing.
    hpet.write(t2, 4, Hpet.TN_INT_ENABLE | Hpet.TN_LEVEL | 7 << Hpet.TN_ROUTE_SHIFT);
    assertThat(edges).containsExactly("up5@500", "down5@1000", "up7@1000");
    hpet.write(t2, 4, Hpet.TN_INT_ENABLE | 7 << Hpet.TN_ROUTE_SHIFT);
    assertThat(edges).containsExactly("up5@500", "down5@1000", "up7@1000", "down7@1000");
    assertThat(hpet.read(Hpet.GINTR_STA, 4)).isZero();
  }
}
