package org.hospes.hv.time;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VirtualClockTest {

  private long cycles;
  private final VirtualClock clock = new VirtualClock(() -> cycles);

  @Test
  void nowIsTheCycleCountAndTheDefaultIsOneGigahertz() {
    cycles = 12345;
    assertThat(clock.now()).isEqualTo(12345);
    assertThat(clock.hz()).isEqualTo(1_000_000_000L);
    assertThat(clock.nanos()).isEqualTo(12345);
  }

  @Test
  void ticksOfASlowerClockRoundDown() {
    assertThat(clock.ticksAt(838, 1_193_182)).isZero();
    assertThat(clock.ticksAt(839, 1_193_182)).isEqualTo(1);
    assertThat(clock.ticksAt(1_000_000_000L, 1_193_182)).isEqualTo(1_193_182);
  }

  @Test
  void cycleOfTickIsTheFirstCycleAtWhichTheTickHasElapsed() {
    for (long t = 0; t < 5000; t += 7) {
      long c = clock.cycleOfTick(t, 1_193_182);
      assertThat(clock.ticksAt(c, 1_193_182)).isEqualTo(t);
      if (c > 0) {
        assertThat(clock.ticksAt(c - 1, 1_193_182)).isEqualTo(t - 1);
      }
    }
  }

  @Test
  void conversionsDoNotOverflowForLongRuns() {
    long year = 365L * 24 * 3600 * 1_000_000_000L;
    assertThat(clock.ticksAt(100 * year, 1_193_182)).isEqualTo(100L * 365 * 24 * 3600 * 1_193_182);
    assertThat(clock.cycleOfTick(Long.MAX_VALUE / 2, 1_193_182)).isEqualTo(Long.MAX_VALUE);
  }
}
