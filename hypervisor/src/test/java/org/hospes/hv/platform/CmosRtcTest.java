package org.hospes.hv.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.hospes.x86.IoBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Drives the MC146818 through ports 0x70/0x71 with a hand-moved virtual clock (1 GHz). */
class CmosRtcTest {
  private static final long SECOND = 1_000_000_000L;
  private long cycles;
  private final VirtualClock clock = new VirtualClock(() -> cycles);
  private final TimerQueue timers = new TimerQueue();
  private final List<String> edges = new ArrayList<>();
  private final IoBus io = new IoBus();
  private CmosRtc rtc;

  @BeforeEach
  void wire() {
    // Saturday 2026-02-28 23:59:58: a month, a day of the week and AM/PM roll over soon.
    rtc = new CmosRtc(clock, timers, high -> edges.add((high ? "up@" : "down@") + cycles),
        LocalDateTime.of(2026, 2, 28, 23, 59, 58));
    rtc.register(io);
  }

  private void advanceTo(long target) {
    while (timers.nextDeadline() <= target) {
      cycles = Math.max(cycles, timers.nextDeadline());
      timers.runExpired(cycles);
    }
    cycles = target;
  }

  private int read(int reg) {
    io.out(0x70, 1, reg);
    return io.in(0x71, 1);
  }

  private void write(int reg, int value) {
    io.out(0x70, 1, reg);
    io.out(0x71, 1, value);
  }

  private int[] time() {
    return new int[] {read(9), read(8), read(7), read(6), read(4), read(2), read(0)};
  }

  @Test
  void theTimeStartsInBcdTwentyFourHourAndAdvancesOncePerSecond() {
    assertThat(read(0x0A)).isEqualTo(0x26);
    assertThat(read(0x0B)).isEqualTo(0x02);
    assertThat(read(0x0D)).isEqualTo(0x80);
    assertThat(read(0x32)).as("century").isEqualTo(0x20);
    // year, month, day, day of week (Saturday = 7), hour, minute, second
    assertThat(time()).containsExactly(0x26, 0x02, 0x28, 0x07, 0x23, 0x59, 0x58);
    advanceTo(SECOND - 1);
    assertThat(read(0)).isEqualTo(0x58);
    advanceTo(SECOND);
    assertThat(read(0)).isEqualTo(0x59);
    advanceTo(2 * SECOND);
    // Across midnight, into March (2026 is not a leap year), Sunday.
    assertThat(time()).containsExactly(0x26, 0x03, 0x01, 0x01, 0x00, 0x00, 0x00);
    advanceTo(2 * SECOND + 3600 * SECOND);
    assertThat(read(4)).isEqualTo(0x01);
  }

  @Test
  void binaryAndTwelveHourFormatsApplyToWhatIsWrittenAndToUpdates() {
    write(0x0B, 0x80); // SET, BCD, 12-hour
    write(0x0B, 0x80 | 0x04); // binary, 12-hour
    // The registers are not converted: the whole date is rewritten in the new format.
    write(9, 26);
    write(8, 2);
    write(7, 28);
    write(4, 0x80 | 11); // 11 PM
    write(2, 59);
    write(0, 59);
    write(0x0B, 0x04);
    advanceTo(SECOND);
    // Midnight in 12-hour form is 12 AM.
    assertThat(read(4)).isEqualTo(12);
    assertThat(read(2)).isZero();
    assertThat(read(0)).isZero();
    assertThat(read(8)).as("March, binary").isEqualTo(3);
    advanceTo(SECOND + 12 * 3600 * SECOND);
    assertThat(read(4)).as("12 PM").isEqualTo(0x80 | 12);
  }

  @Test
  void setStopsUpdatesAndClearsUie() {
    write(0x0B, 0x02 | 0x10);
    write(0x0B, 0x82 | 0x10);
    assertThat(read(0x0B)).isEqualTo(0x82);
    advanceTo(5 * SECOND);
    assertThat(read(0)).isEqualTo(0x58);
    write(0x0B, 0x02);
    advanceTo(6 * SECOND);
    assertThat(read(0)).isEqualTo(0x59);
  }

  @Test
  void uipIsSetFor244MicrosecondsBeforeEachUpdate() {
    advanceTo(SECOND - 244_141);
    assertThat(read(0x0A) & 0x80).isZero();
    advanceTo(SECOND - 244_140);
    assertThat(read(0x0A) & 0x80).isEqualTo(0x80);
    advanceTo(SECOND - 1);
    assertThat(read(0x0A) & 0x80).isEqualTo(0x80);
    advanceTo(SECOND);
    assertThat(read(0x0A) & 0x80).isZero();
  }

  @Test
  void periodicInterruptsComeAtTheRateRsSelectsAndReadingCAcknowledgesThem() {
    write(0x0A, 0x20 | 0x0F); // 2 Hz
    write(0x0B, 0x02 | 0x40); // PIE
    advanceTo(SECOND / 2 - 1);
    assertThat(edges).isEmpty();
    advanceTo(SECOND / 2);
    assertThat(edges).containsExactly("up@" + SECOND / 2);
    advanceTo(SECOND / 2 + 10);
    assertThat(read(0x0C)).isEqualTo(0x80 | 0x40);
    assertThat(edges).containsExactly("up@" + SECOND / 2, "down@" + (SECOND / 2 + 10));
    assertThat(read(0x0C)).as("cleared by the read").isZero();
    advanceTo(SECOND);
    assertThat(edges).hasSize(3).last().isEqualTo("up@" + SECOND);
    // The update at 1 s also set UF, without UIE: no interrupt for it, but the flag shows.
    assertThat(read(0x0C)).isEqualTo(0x80 | 0x40 | 0x10);
  }

  @Test
  void flagsAreSetWithoutTheirInterruptsAndRaiseNothing() {
    // The alarm registers start at 00:00:00, which passes at 2 s; PF follows RS (1024 Hz).
    advanceTo(3 * SECOND);
    assertThat(read(0x0C)).isEqualTo(0x40 | 0x20 | 0x10);
    assertThat(edges).isEmpty();
  }

  @Test
  void theAlarmFiresWhenTheTimeMatchesWithDontCareBytes() {
    write(0x01, 0x05); // at second 05 of any minute of any hour
    write(0x03, 0xFF);
    write(0x05, 0xC0);
    write(0x0B, 0x02 | 0x20); // AIE
    read(0x0C);
    advanceTo(6 * SECOND);
    assertThat(edges).isEmpty(); // 00:00:04
    advanceTo(7 * SECOND);
    assertThat(edges).containsExactly("up@" + 7 * SECOND);
    assertThat(read(0x0C)).isEqualTo(0x80 | 0x40 | 0x20 | 0x10);
  }

  @Test
  void updateEndedInterruptsComeEverySecond() {
    write(0x0B, 0x02 | 0x10);
    advanceTo(SECOND);
    assertThat(edges).containsExactly("up@" + SECOND);
    read(0x0C);
    advanceTo(2 * SECOND);
    assertThat(edges).hasSize(3).last().isEqualTo("up@" + 2 * SECOND);
  }

  @Test
  void theDividerInResetStopsTheClockAndTheFirstUpdateComesHalfASecondAfterRelease() {
    write(0x0A, 0x70);
    advanceTo(10 * SECOND);
    assertThat(read(0)).isEqualTo(0x58);
    write(0x0A, 0x26);
    advanceTo(10 * SECOND + SECOND / 2 - 1);
    assertThat(read(0)).isEqualTo(0x58);
    advanceTo(10 * SECOND + SECOND / 2);
    assertThat(read(0)).isEqualTo(0x59);
  }

  @Test
  void port0x70KeepsTheNmiMaskAndReadsAsAllOnesAndCAndDAreReadOnly() {
    io.out(0x70, 1, 0x80 | 0x0D);
    assertThat(rtc.nmiMasked()).isTrue();
    assertThat(io.in(0x71, 1)).isEqualTo(0x80);
    io.out(0x70, 1, 0x0D);
    assertThat(rtc.nmiMasked()).isFalse();
    assertThat(io.in(0x70, 1)).isEqualTo(0xFF);
    write(0x0D, 0);
    write(0x0C, 0xF0);
    assertThat(read(0x0D)).isEqualTo(0x80);
    assertThat(read(0x0C)).isZero();
    write(0x40, 0x5A);
    assertThat(read(0x40)).as("NVRAM").isEqualTo(0x5A);
  }

  @Test
  void nonsenseInTheDayOfTheWeekNeitherStopsTheClockNorThrows() {
    // 0xAA is no BCD number; the chip's day-of-week counter counts on from what it holds, read
    // as Xen's from_bcd reads it (10 * 10 + 10 = 110), within 1-7.
    write(6, 0xAA);
    advanceTo(3 * SECOND);
    assertThat(read(0)).isEqualTo(0x01);
    assertThat(read(7)).isEqualTo(0x01);
    assertThat(read(6)).isBetween(1, 7);
  }
}
