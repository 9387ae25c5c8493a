package org.hospes.hv.platform;

import java.util.Objects;
import org.hospes.hv.time.Timer;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.hospes.x86.IoBus;
import org.hospes.x86.PortDevice;

/**
 * The Intel 8254 programmable interval timer of a PC: three 16-bit down-counters clocked at
 * {@link #FREQUENCY_HZ} at ports 0x40-0x42, the control word register at 0x43, and the bits of
 * "system control port B" (0x61) that belong to it: channel 2's gate (bit 0) and output (bit 5),
 * plus the refresh toggle (bit 4) that old delay loops poll.
 *
 * <p>Time is virtual. Nothing counts: a channel remembers the tick at which its count was loaded
 * and computes its count and output from the {@link VirtualClock} when asked. Channel 0's output
 * drives IRQ 0: the channel arms one {@link Timer} at its next output transition and, when it
 * fires, sets the line and re-arms, so a periodic timer costs one queue operation per edge and
 * allocates nothing.
 *
 * <p>Implemented: modes 0 (interrupt on terminal count), 1 (hardware one-shot), 2 (rate
 * generator), 3 (square wave), 4 (software strobe) and 5 (hardware strobe); LSB, MSB and
 * LSB-then-MSB access; the counter latch command; the read-back command (count and status, with
 * the OUT and null-count bits). The gate of channels 0 and 1 is tied high; channel 2's comes from
 * port 0x61. Counting is binary; the BCD bit is stored and reported in the status byte but
 * ignored. A count of 0 means 65536. A count written while modes 2 and 3 are counting is loaded
 * when the current period ends (for mode 3 the data sheet says the current half period). Counts
 * read in mode 3 step by two from the even count in each half period. A channel 0 whose timer
 * runs more than {@link #MAX_REPLAYED_PERIODS} periods late skips the missed periods in one step
 * ({@link #channel0Edge}), so a catch-up is bounded work whatever the count.
 */
public final class Pit8254 implements PortDevice {

  /** The input clock: 14.31818 MHz / 12, rounded to the nearest hertz. */
  public static final long FREQUENCY_HZ = 1_193_182L;

  public static final int CHANNEL0 = 0x40;
  public static final int CHANNEL1 = 0x41;
  public static final int CHANNEL2 = 0x42;
  public static final int CONTROL = 0x43;
  public static final int PORT_B = 0x61;

  // Control word fields.
  public static final int SC_SHIFT = 6;
  public static final int SC_READ_BACK = 3;
  public static final int RW_LATCH = 0;
  public static final int RW_LSB = 1;
  public static final int RW_MSB = 2;
  public static final int RW_LSB_MSB = 3;
  /** Read-back: bit clear means "latch the count" / "latch the status". */
  public static final int READ_BACK_NO_COUNT = 0x20;
  public static final int READ_BACK_NO_STATUS = 0x10;

  // Status byte (read-back).
  public static final int STATUS_OUT = 0x80;
  public static final int STATUS_NULL_COUNT = 0x40;

  // Port 0x61 bits.
  public static final int PORT_B_GATE2 = 0x01;
  public static final int PORT_B_SPEAKER = 0x02;
  public static final int PORT_B_REFRESH = 0x10;
  public static final int PORT_B_OUT2 = 0x20;

  /** The refresh request toggles about every 15 microseconds: every 18 timer ticks. */
  private static final long REFRESH_TICKS = 18;
  /**
   * How many periods late channel 0's timer may run and still replay every edge; later, the
   * missed periods are skipped in one step ({@link #channel0Edge}), so a catch-up costs at most
   * about twice this many callbacks.
   */
  static final long MAX_REPLAYED_PERIODS = 8;
  /** "Not counting": no count loaded, or waiting for a gate trigger. */
  private static final long IDLE = Long.MIN_VALUE;

  /** Where channel 0's output goes (the PIC's IRQ 0). */
  @FunctionalInterface
  public interface OutputLine {
    void set(boolean high);
  }

  /** One counter. */
  final class Channel {
    final int index;
    int mode;
    int access = RW_LSB_MSB;
    boolean bcd;
    /** The count register (initial count); 0 means 65536. */
    int count;
    /** Tick at which the counting element was loaded, or {@link #IDLE}. */
    long loadTick = IDLE;
    /** Modes 0 and 4 with the gate low: ticks counted before counting was suspended. */
    long pausedElapsed = -1;
    /** Modes 2 and 3: a count written while counting, loaded at the end of the period. */
    int pendingCount;
    long pendingAt = IDLE;
    boolean gate;
    /** A count has been written since the last control word. */
    boolean hasCount;
    boolean nullCount;
    /** Second byte of an LSB-then-MSB write or read is next. */
    boolean writeMsbNext;
    boolean readMsbNext;
    int writeLsb;
    boolean countLatched;
    int latchedCount;
    boolean latchedMsbNext;
    boolean statusLatched;
    int latchedStatus;
    /** For channel 0: the level last driven onto the output line, and its timer. */
    boolean lineLevel;
    Timer timer;
    /** The tick of the edge the timer is armed for. */
    long armedTick;
    OutputLine line;

    Channel(int index) {
      this.index = index;
      this.gate = index != 2;
    }

    int period() {
      return count == 0 ? 0x10000 : count;
    }

    /** Loads a count written during a period once that period has ended. */
    void settle(long tick) {
      if (pendingAt != IDLE && tick >= pendingAt) {
        count = pendingCount;
        loadTick = pendingAt;
        pendingAt = IDLE;
      }
    }

    /** Ticks the counting element has counted at {@code tick}, or -1 if it is not counting. */
    long elapsed(long tick) {
      settle(tick);
      if (pausedElapsed >= 0) {
        return pausedElapsed;
      }
      if (loadTick == IDLE || tick < loadTick) {
        return -1;
      }
      return tick - loadTick;
    }

    /** The counting element at {@code tick}. */
    int countAt(long tick) {
      long e = elapsed(tick);
      int n = period();
      if (e < 0) {
        return count & 0xFFFF;
      }
      return switch (mode) {
        case 2 -> (int) (n - e % n) & 0xFFFF;
        case 3 -> {
          // Decrements by two; each half period starts again from the (even) count.
          long half = (n + 1) / 2;
          long phase = e % n;
          long inHalf = phase < half ? phase : phase - half;
          int even = n & ~1;
          yield (int) Math.max(even - 2 * inHalf, 2) & 0xFFFF;
        }
        default -> (int) ((n - e) & 0xFFFF);
      };
    }

    /** The OUT pin at {@code tick}. */
    boolean outAt(long tick) {
      long e = elapsed(tick);
      int n = period();
      switch (mode) {
        case 0:
          return e >= n;
        case 1:
          return e < 0 || e >= n;
        case 2:
          return !gate || e < 0 || n < 2 || e % n != n - 1;
        case 3:
          return !gate || e < 0 || e % n < (n + 1) / 2;
        default: // 4 and 5
          return e != n;
      }
    }

    /** The first tick after {@code tick} at which OUT changes, or -1 if it never will. */
    long nextChange(long tick) {
      settle(tick);
      if (pausedElapsed >= 0 || loadTick == IDLE) {
        return -1;
      }
      if (tick < loadTick) {
        // Loading itself may change OUT (mode 1 goes low, modes 0/4 depend on the count).
        return outAt(loadTick) != outAt(tick) ? loadTick : nextChange(loadTick);
      }
      long e = tick - loadTick;
      int n = period();
      long at;
      switch (mode) {
        case 0:
        case 1:
          at = e < n ? n : -1;
          break;
        case 2: {
          if (n < 2) {
            return -1;
          }
          long phase = e % n;
          at = phase < n - 1 ? e + (n - 1 - phase) : e + 1;
          break;
        }
        case 3: {
          if (n < 2) {
            // A count of 1 (below the data sheet's minimum of 2): OUT stays high (outAt).
            return -1;
          }
          long half = (n + 1) / 2;
          long phase = e % n;
          at = phase < half ? e + (half - phase) : e + (n - phase);
          break;
        }
        default:
          at = e < n ? n : e == n ? n + 1 : -1;
          break;
      }
      return at < 0 ? -1 : loadTick + at;
    }

    int status(long tick) {
      return (outAt(tick) ? STATUS_OUT : 0) | (nullCount(tick) ? STATUS_NULL_COUNT : 0)
          | access << 4 | mode << 1 | (bcd ? 1 : 0);
    }

    boolean nullCount(long tick) {
      settle(tick);
      return nullCount && (loadTick == IDLE || tick < loadTick || pendingAt != IDLE);
    }

    void control(int rw, int m, boolean isBcd, long tick) {
      access = rw;
      mode = m > 5 ? m - 4 : m;
      bcd = isBcd;
      writeMsbNext = false;
      readMsbNext = false;
      countLatched = false;
      statusLatched = false;
      loadTick = IDLE;
      pendingAt = IDLE;
      pausedElapsed = -1;
      hasCount = false;
      nullCount = true;
      outputChanged(tick);
    }

    void writeCount(int value, long tick) {
      settle(tick);
      int written;
      switch (access) {
        case RW_LSB -> written = value;
        case RW_MSB -> written = value << 8;
        default -> {
          if (!writeMsbNext) {
            writeLsb = value;
            writeMsbNext = true;
            if (mode == 0) {
              // Writing the first byte stops a mode 0 count.
              loadTick = IDLE;
              outputChanged(tick);
            }
            return;
          }
          writeMsbNext = false;
          written = writeLsb | value << 8;
        }
      }
      if ((mode == 2 || mode == 3) && gate && loadTick != IDLE && tick >= loadTick) {
        // Counting: the new count is loaded when the current period ends (at the next rising
        // edge of OUT; the data sheet loads a mode 3 count at the end of the half period).
        long n = period();
        pendingAt = loadTick + ((tick - loadTick) / n + 1) * n;
        pendingCount = written;
        nullCount = true;
        outputChanged(tick);
        return;
      }
      count = written;
      pendingAt = IDLE;
      nullCount = true;
      hasCount = true;
      pausedElapsed = -1;
      if (mode == 1 || mode == 5) {
        // Hardware-triggered: the count is loaded by the next rising edge of the gate.
        outputChanged(tick);
        return;
      }
      // Loaded on the next clock pulse.
      loadTick = tick + 1;
      if (!gate) {
        pausedElapsed = (mode == 0 || mode == 4) ? 0 : -1;
        if (mode == 2 || mode == 3) {
          loadTick = IDLE;
        }
      }
      outputChanged(tick);
    }

    int readCount(long tick) {
      if (statusLatched) {
        statusLatched = false;
        return latchedStatus;
      }
      if (countLatched) {
        if (access == RW_LSB_MSB && !latchedMsbNext) {
          latchedMsbNext = true;
          return latchedCount & 0xFF;
        }
        countLatched = false;
        latchedMsbNext = false;
        return access == RW_MSB || access == RW_LSB_MSB ? (latchedCount >>> 8) & 0xFF
            : latchedCount & 0xFF;
      }
      int c = countAt(tick);
      switch (access) {
        case RW_LSB:
          return c & 0xFF;
        case RW_MSB:
          return (c >>> 8) & 0xFF;
        default:
          readMsbNext = !readMsbNext;
          return readMsbNext ? c & 0xFF : (c >>> 8) & 0xFF;
      }
    }

    void latchCount(long tick) {
      if (!countLatched) {
        countLatched = true;
        latchedMsbNext = false;
        latchedCount = countAt(tick);
      }
    }

    void latchStatus(long tick) {
      if (!statusLatched) {
        statusLatched = true;
        latchedStatus = status(tick);
      }
    }

    void setGate(boolean high, long tick) {
      if (high == gate) {
        return;
      }
      gate = high;
      if (high) {
        switch (mode) {
          case 0, 4 -> {
            if (pausedElapsed >= 0) {
              loadTick = tick - pausedElapsed;
              pausedElapsed = -1;
            }
          }
          default -> {
            // Modes 1, 2, 3 and 5: a rising gate (re)loads the count on the next tick.
            if (hasCount) {
              loadTick = tick + 1;
            }
          }
        }
      } else if (mode == 0 || mode == 4) {
        long e = elapsed(tick);
        if (e >= 0) {
          pausedElapsed = e;
        }
      } else if (mode == 2 || mode == 3) {
        if (pendingAt != IDLE) {
          count = pendingCount;
          pendingAt = IDLE;
        }
        loadTick = IDLE;
      }
      outputChanged(tick);
    }

    /** Re-evaluates channel 0's output line and its next edge after a change of state. */
    void outputChanged(long tick) {
      if (line == null) {
        return;
      }
      boolean level = outAt(tick);
      if (level != lineLevel) {
        lineLevel = level;
        line.set(level);
      }
      long next = nextChange(tick);
      if (next < 0) {
        timer.cancel();
      } else {
        armedTick = next;
        timer.arm(clock.cycleOfTick(next, FREQUENCY_HZ));
      }
    }
  }

  private final VirtualClock clock;
  private final Channel[] channels = {new Channel(0), new Channel(1), new Channel(2)};
  private boolean speakerData;

  /**
   * @param clock the machine's virtual clock
   * @param timers where channel 0 arms its edges
   * @param irq0 channel 0's output, normally {@code level -> pic.setLevel(0, level)}
   */
  public Pit8254(VirtualClock clock, TimerQueue timers, OutputLine irq0) {
    this.clock = Objects.requireNonNull(clock, "clock");
    Channel c0 = channels[0];
    c0.line = Objects.requireNonNull(irq0, "irq0");
    c0.timer = timers.newTimer("pit0", this::channel0Edge);
    // Before any control word a counter's OUT state is undefined; here channel 0 is an idle
    // mode 3 counter with OUT high, so that programming it does not look like a rising edge.
    c0.mode = 3;
    c0.lineLevel = true;
    c0.line.set(true);
  }

  /**
   * True while channel 0's timer is armed for an edge: the channel counts in a mode whose output
   * will change (periodically in modes 2 and 3), as Xen's pt_active of the vPIT's channel 0
   * timer says. Xen routes the PIT's interrupt specially while it is (HvmPlatform).
   */
  public boolean channel0TimerActive() {
    return channels[0].timer.isArmed();
  }

  /** Claims ports 0x40-0x43 and 0x61. */
  public void register(IoBus io) {
    io.register(CHANNEL0, 4, this);
    io.register(PORT_B, 1, this);
  }

  private long tick() {
    return clock.ticksAt(clock.now(), FREQUENCY_HZ);
  }

  /**
   * Channel 0's timer: evaluates the output at the tick the edge was due, not at {@code now}, so
   * that a run of the queue a little late shows the PIC every edge in order (the queue fires a
   * timer re-armed into the past again at once).
   *
   * <p>A run more than {@link #MAX_REPLAYED_PERIODS} periods late (the domain was paused or
   * descheduled while the clock moved on) does not replay the missed periods edge by edge: a
   * 2-tick rate generator behind by an hour would take billions of callbacks. The missed periods are skipped in one step, as
   * Xen's vpt does in {@code pt_process_missed_ticks} (the count of missed periods is a
   * division, the next edge is re-armed past now), and the line shows one rising edge for all
   * of them: the edge-triggered IRR (PIC or I/O APIC) holds one request for any number of
   * edges, so what the guest can observe is the same. The counter itself is computed from the
   * clock and never falls behind.
   */
  private void channel0Edge(long now) {
    Channel c = channels[0];
    long at = c.armedTick;
    long n = c.period();
    long nowTick = clock.ticksAt(now, FREQUENCY_HZ);
    if ((c.mode == 2 || c.mode == 3) && n >= 2 && nowTick - at > MAX_REPLAYED_PERIODS * n && c.gate
        && c.pendingAt == IDLE && c.pausedElapsed < 0 && c.loadTick != IDLE
        && at >= c.loadTick) {
      // The period containing now began with a rising edge: drop the line and raise it there.
      long lastStart = c.loadTick + (nowTick - c.loadTick) / n * n;
      if (c.lineLevel) {
        c.lineLevel = false;
        c.line.set(false);
      }
      c.outputChanged(lastStart);
      return;
    }
    c.outputChanged(at);
  }

  @Override
  public int in(int port, int size) {
    long tick = tick();
    switch (port) {
      case CHANNEL0, CHANNEL1, CHANNEL2:
        return channels[port - CHANNEL0].readCount(tick);
      case PORT_B: {
        Channel c2 = channels[2];
        return (c2.gate ? PORT_B_GATE2 : 0) | (speakerData ? PORT_B_SPEAKER : 0)
            | ((tick / REFRESH_TICKS) % 2 == 1 ? PORT_B_REFRESH : 0)
            | (c2.outAt(tick) ? PORT_B_OUT2 : 0);
      }
      default:
        // The control word register cannot be read.
        return 0xFF;
    }
  }

  @Override
  public void out(int port, int size, int value) {
    int v = value & 0xFF;
    long tick = tick();
    switch (port) {
      case CHANNEL0, CHANNEL1, CHANNEL2 -> channels[port - CHANNEL0].writeCount(v, tick);
      case CONTROL -> control(v, tick);
      case PORT_B -> {
        speakerData = (v & PORT_B_SPEAKER) != 0;
        channels[2].setGate((v & PORT_B_GATE2) != 0, tick);
      }
      default -> { }
    }
  }

  private void control(int v, long tick) {
    int sc = v >>> SC_SHIFT;
    int rw = (v >>> 4) & 3;
    if (sc == SC_READ_BACK) {
      for (int i = 0; i < 3; i++) {
        if ((v & (2 << i)) == 0) {
          continue;
        }
        Channel c = channels[i];
        if ((v & READ_BACK_NO_STATUS) == 0) {
          c.latchStatus(tick);
        }
        if ((v & READ_BACK_NO_COUNT) == 0) {
          c.latchCount(tick);
        }
      }
      return;
    }
    Channel c = channels[sc];
    if (rw == RW_LATCH) {
      c.latchCount(tick);
    } else {
      c.control(rw, (v >>> 1) & 7, (v & 1) != 0, tick);
    }
  }

  // ------------------------------------------------------------------ inspection, for tests

  /** The current count of channel {@code i}, without disturbing any read sequence. */
  public int count(int i) {
    return channels[i].countAt(tick());
  }

  /** The current OUT pin of channel {@code i}. */
  public boolean output(int i) {
    return channels[i].outAt(tick());
  }
}
