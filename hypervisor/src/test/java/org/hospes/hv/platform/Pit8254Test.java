package org.hospes.hv.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.hospes.x86.IoBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Drives the PIT through its ports with a hand-moved virtual clock. */
class Pit8254Test {

  /** One PIT tick is 1e9 / 1193182 = 838.1 cycles at 1 GHz; clock times below are in ticks. */
  private long cycles;
  private final VirtualClock clock = new VirtualClock(() -> cycles);
  private final TimerQueue timers = new TimerQueue();
  private final List<String> edges = new ArrayList<>();
  private final IoBus io = new IoBus();
  private Pit8254 pit;

  @BeforeEach
  void wire() {
    pit = new Pit8254(clock, timers, high -> edges.add((high ? "up@" : "down@") + tickNow()));
    pit.register(io);
    edges.clear();
  }

  private long tickNow() {
    return clock.ticksAt(cycles, Pit8254.FREQUENCY_HZ);
  }

  /** Moves time to the start of tick {@code t}, firing timers on the way as the machine would. */
  private void advanceToTick(long t) {
    long target = clock.cycleOfTick(t, Pit8254.FREQUENCY_HZ);
    while (timers.nextDeadline() <= target) {
      cycles = Math.max(cycles, timers.nextDeadline());
      timers.runExpired(cycles);
    }
    cycles = target;
  }

  private void out(int port, int v) {
    io.out(port, 1, v);
  }

  private int in(int port) {
    return io.in(port, 1);
  }

  private int readCount16(int port) {
    int lo = in(port);
    return lo | in(port) << 8;
  }

  @Test
  void rateGeneratorRaisesIrq0OncePerPeriod() {
    out(0x43, 0x34);                  // channel 0, LSB/MSB, mode 2
    out(0x40, 100);
    out(0x40, 0);
    advanceToTick(1 + 350);
    // Loaded at tick 1; OUT low while the count is 1 (ticks 100, 200, 300), high again after.
    assertThat(edges).containsExactly("down@100", "up@101", "down@200", "up@201", "down@300",
        "up@301");
  }

  @Test
  void squareWaveIsHighForTheFirstHalfOfEachPeriod() {
    out(0x43, 0x36);                  // channel 0, LSB/MSB, mode 3
    out(0x40, 10);
    out(0x40, 0);
    advanceToTick(25);
    assertThat(edges).containsExactly("down@6", "up@11", "down@16", "up@21");
  }

  @Test
  void oddSquareWaveCountsAreHighOneTickLonger() {
    out(0x43, 0x36);
    out(0x40, 5);
    out(0x40, 0);
    advanceToTick(12);
    assertThat(edges).containsExactly("down@4", "up@6", "down@9", "up@11");
  }

  @Test
  void mode0RaisesOutputAtTerminalCountOnce() {
    out(0x43, 0x30);                  // channel 0, LSB/MSB, mode 0
    assertThat(edges).containsExactly("down@0");
    out(0x40, 0x10);
    out(0x40, 0);
    advanceToTick(100);
    assertThat(edges).containsExactly("down@0", "up@17");
    assertThat(timers.isEmpty()).isTrue();
  }

  @Test
  void theCountDecrementsAtTheTimerRateFromVirtualTime() {
    out(0x43, 0x34);
    out(0x40, 0);
    out(0x40, 0);                     // 0 means 65536
    advanceToTick(1 + 1000);
    assertThat(readCount16(0x40)).isEqualTo(65536 - 1000);
    assertThat(pit.count(0)).isEqualTo(65536 - 1000);
  }

  @Test
  void theLatchCommandFreezesTheCountUntilBothBytesAreRead() {
    out(0x43, 0x34);
    out(0x40, 0x00);
    out(0x40, 0x10);
    advanceToTick(1 + 0x100);
    out(0x43, 0x00);                  // latch channel 0
    advanceToTick(1 + 0x200);
    assertThat(readCount16(0x40)).isEqualTo(0x0F00);
    assertThat(readCount16(0x40)).as("latch released").isEqualTo(0x0E00);
  }

  @Test
  void lsbOnlyAndMsbOnlyAccess() {
    out(0x43, 0xA2);                  // channel 2, MSB only, mode 1
    out(0x42, 0x12);
    assertThat(pit.count(2)).isEqualTo(0x1200);
    out(0x43, 0x50);                  // channel 1, LSB only, mode 0
    out(0x41, 0x34);
    advanceToTick(1 + 4);
    assertThat(in(0x41)).isEqualTo(0x30);
    assertThat(in(0x41)).isEqualTo(0x30);
  }

  @Test
  void readBackLatchesStatusThenCount() {
    out(0x43, 0x34);
    out(0x40, 50);                    // LSB written, MSB still to come
    out(0x43, 0xE2);                  // read back the status of channel 0
    assertThat(in(0x40)).as("status: OUT high, null count, LSB/MSB, mode 2")
        .isEqualTo(0x80 | 0x40 | 0x30 | 0x04);
    out(0x40, 0);
    advanceToTick(12);
    out(0x43, 0xC2);                  // status and count
    assertThat(in(0x40)).as("status once loaded").isEqualTo(0x80 | 0x30 | 0x04);
    assertThat(readCount16(0x40)).isEqualTo(50 - 11);
  }

  @Test
  void readBackOfCountOnly() {
    out(0x61, 0x01);                  // gate 2 high
    out(0x43, 0xB0);                  // channel 2, LSB/MSB, mode 0
    out(0x42, 0xFF);
    out(0x42, 0xFF);
    advanceToTick(1 + 0x10);
    out(0x43, 0xD8);                  // count only (bit 4 set: no status), channel 2
    advanceToTick(1 + 0x20);
    assertThat(readCount16(0x42)).isEqualTo(0xFFEF);
  }

  @Test
  void channel2IsGatedAndItsOutputIsReadThroughPortB() {
    out(0x61, 0x00);                  // gate 2 low
    out(0x43, 0xB0);                  // channel 2, mode 0 (Linux's PIT calibration)
    out(0x42, 100);
    out(0x42, 0);
    advanceToTick(500);
    assertThat(in(0x61) & 0x20).as("gate low: no counting").isZero();
    out(0x61, 0x01);
    advanceToTick(500 + 99);
    assertThat(in(0x61) & 0x20).isZero();
    advanceToTick(500 + 101);
    assertThat(in(0x61) & 0x21).isEqualTo(0x21);
  }

  @Test
  void mode4StrobesLowForOneTick() {
    out(0x43, 0x38);                  // channel 0, LSB/MSB, mode 4
    out(0x40, 20);
    out(0x40, 0);
    advanceToTick(100);
    assertThat(edges).containsExactly("down@21", "up@22");
  }

  @Test
  void mode1WaitsForAGateTriggerOnChannel2() {
    out(0x61, 0x00);
    out(0x43, 0xB2);                  // channel 2, LSB/MSB, mode 1
    out(0x42, 10);
    out(0x42, 0);
    advanceToTick(50);
    assertThat(pit.output(2)).isTrue();
    out(0x61, 0x01);                  // trigger
    advanceToTick(52);
    assertThat(pit.output(2)).isFalse();
    advanceToTick(61);
    assertThat(pit.output(2)).isTrue();
  }

  @Test
  void reprogrammingStopsTheOldPeriod() {
    out(0x43, 0x34);
    out(0x40, 10);
    out(0x40, 0);
    advanceToTick(5);
    out(0x43, 0x30);                  // mode 0, no count yet
    advanceToTick(100);
    assertThat(edges).containsExactly("down@5");
    assertThat(timers.isEmpty()).isTrue();
  }

  @Test
  void refreshBitTogglesWithVirtualTime() {
    int first = in(0x61) & 0x10;
    advanceToTick(18);
    assertThat(in(0x61) & 0x10).isNotEqualTo(first);
  }

  @Test
  void aLateQueueStillDeliversEveryEdgeInOrder() {
    out(0x43, 0x34);
    out(0x40, 10);
    out(0x40, 0);
    cycles = clock.cycleOfTick(35, Pit8254.FREQUENCY_HZ);
    timers.runExpired(cycles);
    assertThat(edges).hasSize(6);
    assertThat(edges.get(5)).isEqualTo("up@35");
  }

  @Test
  void linuxOneshotModeReloadsMode0WithoutANewControlWord() {
    out(0x43, 0x30);                  // oneshot: channel 0, LSB/MSB, mode 0
    out(0x40, 10);
    out(0x40, 0);
    advanceToTick(20);
    assertThat(edges).containsExactly("down@0", "up@11");
    // The next event: only the two count bytes. The first stops the count and drops OUT.
    out(0x40, 5);
    assertThat(edges).endsWith("down@20");
    out(0x40, 0);
    advanceToTick(40);
    assertThat(edges).containsExactly("down@0", "up@11", "down@20", "up@26");
  }

  @Test
  void quickCalibrationReadsTheMsbOfAFreeRunningMode0Count() {
    out(0x61, (in(0x61) & ~0x02) | 0x01);
    out(0x43, 0xB0);                  // channel 2, LSB/MSB, mode 0
    out(0x42, 0xFF);
    out(0x42, 0xFF);
    advanceToTick(1 + 0x300);
    in(0x42);                         // LSB
    assertThat(in(0x42)).as("MSB after 0x300 ticks").isEqualTo(0xFC);
  }

  @Test
  void aNewRateGeneratorCountTakesEffectWhenThePeriodEnds() {
    out(0x43, 0x34);
    out(0x40, 10);
    out(0x40, 0);
    advanceToTick(15);
    out(0x40, 4);
    out(0x40, 0);
    assertThat(pit.count(0)).as("still counting the old period").isEqualTo(10 - 14 % 10);
    advanceToTick(30);
    assertThat(edges).containsExactly("down@10", "up@11", "down@20", "up@21", "down@24", "up@25",
        "down@28", "up@29");
  }

  @Test
  @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aRateGeneratorFarBehindSkipsTheMissedPeriodsInOneStep() {
    // Count 2: an edge every tick. A queue run an hour late must not replay 4 billion edges:
    // the missed periods are skipped (Xen's pt_process_missed_ticks) and the line shows one
    // rising edge for them, which is all an edge-triggered IRR can hold anyway.
    out(0x43, 0x34);
    out(0x40, 2);
    out(0x40, 0);
    advanceToTick(10);
    edges.clear();
    long before = timers.fired();
    long hour = 3600L * Pit8254.FREQUENCY_HZ;
    cycles = clock.cycleOfTick(hour + 1, Pit8254.FREQUENCY_HZ);
    timers.runExpired(cycles);
    assertThat(timers.fired() - before).isLessThan(10);
    assertThat(edges).contains("up@" + (hour + 1));
    // And it goes on at its rate: OUT low at each odd tick, high at each even one.
    edges.clear();
    advanceToTick(hour + 5);
    assertThat(edges).containsExactly("down@" + (hour + 2), "up@" + (hour + 3),
        "down@" + (hour + 4), "up@" + (hour + 5));
  }

  @Test
  void aSquareWaveOfCountOneArmsNoTimer() {
    // Below the data sheet's minimum of 2, OUT stays high: nothing to wake the queue for.
    out(0x43, 0x36);
    out(0x40, 1);
    out(0x40, 0);
    advanceToTick(3);
    assertThat(timers.isEmpty()).isTrue();
  }
}
