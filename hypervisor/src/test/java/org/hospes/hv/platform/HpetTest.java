package org.hospes.hv.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.junit.jupiter.api.Test;

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
}
