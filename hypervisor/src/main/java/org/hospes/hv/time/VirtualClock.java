package org.hospes.hv.time;

import com.google.common.base.Preconditions;
import java.util.Objects;

/**
 * The machine's clock: "now" is the processor's cycle count, read at a nominal frequency.
 *
 * <p>The nominal frequency is {@link #DEFAULT_HZ} (1 GHz) unless a machine chooses another. At
 * present every retired instruction costs one cycle and a halted processor is charged the idle
 * cycles the run loop skips, so one instruction is one virtual nanosecond; a cost model may later
 * charge more per instruction without changing anything here.
 *
 * <p>Devices that count at their own rate (the 8254's 1,193,182 Hz, a 3.579545 MHz ACPI timer)
 * convert with {@link #ticksAt} and {@link #cycleOfTick}. Both are exact integer conversions
 * (floor and ceiling respectively) that cannot overflow for any cycle count up to
 * {@code Long.MAX_VALUE} as long as both frequencies are below 2^31, so a device's tick count is a
 * pure function of the cycle count: deterministic, and identical however the run was sliced.
 */
public final class VirtualClock {

  /** The default nominal processor frequency: 1 GHz, so one cycle is one nanosecond. */
  public static final long DEFAULT_HZ = 1_000_000_000L;

  private final CycleSource source;
  private final long hz;

  public VirtualClock(CycleSource source) {
    this(source, DEFAULT_HZ);
  }

  public VirtualClock(CycleSource source, long hz) {
    Preconditions.checkArgument(hz > 0 && hz < (1L << 31), "frequency out of range: %s", hz);
    this.source = Objects.requireNonNull(source, "source");
    this.hz = hz;
  }

  /** The current virtual time in cycles. */
  public long now() {
    return source.cycles();
  }

  /** Cycles per virtual second. */
  public long hz() {
    return hz;
  }

  /** The current virtual time in nanoseconds (rounded down). */
  public long nanos() {
    return ticksAt(now(), 1_000_000_000L);
  }

  /**
   * Whole ticks of a {@code tickHz} clock that have elapsed at cycle {@code cycle}, i.e.
   * {@code floor(cycle * tickHz / hz)}, both clocks starting together at cycle 0.
   */
  public long ticksAt(long cycle, long tickHz) {
    return scale(cycle, tickHz, hz, false);
  }

  /** The first cycle at which tick {@code tick} of a {@code tickHz} clock has elapsed. */
  public long cycleOfTick(long tick, long tickHz) {
    return scale(tick, hz, tickHz, true);
  }

  /** {@code value * mul / div}, rounded down or up, without overflowing the product. */
  static long scale(long value, long mul, long div, boolean roundUp) {
    Preconditions.checkArgument(value >= 0, "negative time %s", value);
    long whole = value / div;
    long rest = value % div;
    long frac = rest * mul;               // < 2^31 * 2^31: no overflow
    long part = frac / div;
    if (roundUp && frac % div != 0) {
      part++;
    }
    if (whole > (Long.MAX_VALUE - part) / mul) {
      return Long.MAX_VALUE;
    }
    return whole * mul + part;
  }
}
