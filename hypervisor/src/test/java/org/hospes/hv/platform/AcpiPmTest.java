package org.hospes.hv.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.junit.jupiter.api.Test;

/** The PM timer and PM1 blocks on a hand-moved 1 GHz virtual clock. */
class AcpiPmTest {
  private long cycles;
  private final TimerQueue timers = new TimerQueue();
  private final List<String> events = new ArrayList<>();
  private final AcpiPm pm = new AcpiPm(new VirtualClock(() -> cycles), timers,
      high -> events.add("sci " + high + " @" + cycles), () -> events.add("off @" + cycles));

  private void advanceTo(long c) {
    while (timers.nextDeadline() <= c) {
      cycles = timers.nextDeadline();
      timers.runExpired(cycles);
    }
    cycles = c;
  }

  @Test
  void theTimerCountsAt3579545HzIn24Bits() {
    assertThat(pm.in(AcpiPm.PM_TMR_BLK, 4)).isZero();
    advanceTo(1_000_000_000L);            // one second
    assertThat(pm.in(AcpiPm.PM_TMR_BLK, 4)).isEqualTo(3_579_545);
    advanceTo(5_000_000_000L);            // 17,897,725 ticks: wrapped once past 2^24
    assertThat(pm.in(AcpiPm.PM_TMR_BLK, 4)).isEqualTo(17_897_725 - (1 << 24));
    assertThat(pm.in(AcpiPm.PM_TMR_BLK + 3, 1)).as("the high byte of a 24-bit timer").isZero();
    pm.out(AcpiPm.PM_TMR_BLK, 4, 0);      // read-only
    assertThat(pm.in(AcpiPm.PM_TMR_BLK, 4)).isEqualTo(17_897_725 - (1 << 24));
  }

  /** Seeded: the timer never runs backwards (mod 2^24) and matches floor(t * f / 1e9). */
  @Test
  void theTimerIsMonotonicAndExactAtRandomInstants() {
    long seed = 0xB008;
    Random rnd = new Random(seed);
    long t = 0;
    for (int i = 0; i < 10_000; i++) {
      t += rnd.nextInt(50_000_000);
      advanceTo(t);
      long expect = (t / 1_000_000_000L) * 3_579_545L
          + (t % 1_000_000_000L) * 3_579_545L / 1_000_000_000L;
      assertThat(pm.in(AcpiPm.PM_TMR_BLK, 4)).as("seed %x at %d", seed, t)
          .isEqualTo((int) (expect & 0xFF_FFFF));
    }
  }

  @Test
  void tmrStsSetsWhenBit23FlipsAndRaisesTheSciOnlyWhenEnabled() {
    long flip = (1_000_000_000L * (1 << 23) + 3_579_544) / 3_579_545;  // first cycle of 2^23
    advanceTo(flip - 1);
    assertThat(pm.in(AcpiPm.PM1A_EVT_BLK, 2) & AcpiPm.TMR_STS).isZero();
    advanceTo(flip);
    assertThat(pm.in(AcpiPm.PM1A_EVT_BLK, 2) & AcpiPm.TMR_STS).isNotZero();
    assertThat(events).isEmpty();
    pm.out(AcpiPm.PM1A_EVT_BLK, 2, AcpiPm.TMR_STS);       // write 1 to clear
    assertThat(pm.in(AcpiPm.PM1A_EVT_BLK, 2) & AcpiPm.TMR_STS).isZero();
    pm.out(AcpiPm.PM1A_EVT_BLK + 2, 2, AcpiPm.TMR_STS);   // TMR_EN
    long flip2 = (1_000_000_000L * (1 << 24) + 3_579_544) / 3_579_545;  // bit 23 again
    advanceTo(flip2 + 5);
    assertThat(events).containsExactly("sci true @" + flip2);
    assertThat(pm.sciAsserted()).isTrue();
    pm.out(AcpiPm.PM1A_EVT_BLK, 2, AcpiPm.TMR_STS);
    assertThat(pm.sciAsserted()).isFalse();
    assertThat(events).last().asString().startsWith("sci false");
  }

  @Test
  void thePowerButtonRaisesTheSciWhenItsEnableIsSet() {
    pm.pressPowerButton();
    assertThat(pm.sciAsserted()).isFalse();
    pm.out(AcpiPm.PM1A_EVT_BLK + 2, 2, AcpiPm.PWRBTN_STS);
    assertThat(pm.sciAsserted()).isTrue();
    pm.out(AcpiPm.PM1A_EVT_BLK + 1, 1, AcpiPm.PWRBTN_STS >>> 8);  // byte write clears too
    assertThat(pm.sciAsserted()).isFalse();
    assertThat(pm.in(AcpiPm.PM1A_EVT_BLK, 2)).isZero();
  }

  @Test
  void sciEnReadsSetAndSlpEnWithS5PowersOff() {
    assertThat(pm.in(AcpiPm.PM1A_CNT_BLK, 2) & AcpiPm.SCI_EN).isNotZero();
    pm.out(AcpiPm.PM1A_CNT_BLK, 2, 0);
    assertThat(pm.in(AcpiPm.PM1A_CNT_BLK, 2) & AcpiPm.SCI_EN).isNotZero();
    // Linux writes SLP_TYP first, then SLP_TYP | SLP_EN.
    pm.out(AcpiPm.PM1A_CNT_BLK, 2, 5 << AcpiPm.SLP_TYP_SHIFT);
    pm.out(AcpiPm.PM1A_CNT_BLK, 2, 5 << AcpiPm.SLP_TYP_SHIFT | AcpiPm.SLP_EN);
    assertThat(events).isEmpty();
    assertThat(pm.unsupportedSleeps()).isEqualTo(1);
    assertThat(pm.in(AcpiPm.PM1A_CNT_BLK, 2) & AcpiPm.SLP_EN).as("write-only").isZero();
    pm.out(AcpiPm.PM1A_CNT_BLK, 2, AcpiPm.SLP_TYP_S5 << AcpiPm.SLP_TYP_SHIFT);
    assertThat(events).isEmpty();
    pm.out(AcpiPm.PM1A_CNT_BLK, 2, AcpiPm.SLP_TYP_S5 << AcpiPm.SLP_TYP_SHIFT | AcpiPm.SLP_EN);
    assertThat(events).containsExactly("off @0");
  }

  @Test
  void releasingTheGlobalLockSetsGblSts() {
    pm.out(AcpiPm.PM1A_EVT_BLK + 2, 2, AcpiPm.GBL_STS);
    pm.out(AcpiPm.PM1A_CNT_BLK, 2, AcpiPm.GBL_RLS);
    assertThat(pm.in(AcpiPm.PM1A_EVT_BLK, 2) & AcpiPm.GBL_STS).isNotZero();
    assertThat(pm.sciAsserted()).isTrue();
    assertThat(pm.in(AcpiPm.PM1A_CNT_BLK, 2) & AcpiPm.GBL_RLS).isZero();
  }
}
