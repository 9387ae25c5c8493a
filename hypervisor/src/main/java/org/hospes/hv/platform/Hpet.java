package org.hospes.hv.platform;

import org.hospes.hv.time.Timer;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.hospes.x86.MmioDevice;

/**
 * A High Precision Event Timer block at 0xFED00000 (IA-PC HPET specification 1.0a), as QEMU's
 * {@code pc} machine and Xen's HVM platform give one: a 64-bit main counter at 100 MHz (period
 * 10,000,000 fs) on the virtual clock, three comparators with one-shot and periodic modes, edge or
 * level interrupts, 32-bit mode, and legacy replacement routing (timer 0 on IRQ 0 instead of the
 * PIT, timer 1 on IRQ 8 instead of the RTC). Without an I/O APIC a comparator's own route
 * (Tn_INT_ROUTE_CNF) names an ISA line of the 8259A pair; FSB (MSI) delivery is not offered.
 *
 * <p>The capability register reads as QEMU's (0x8086A201: revision 1, 3 timers, 64-bit counter,
 * legacy route capable, vendor 0x8086). As in QEMU, a comparator set at or behind the counter in
 * 64-bit mode fires at once rather than after the counter wraps. Registers are accessed as 32-bit
 * halves (the processor has no 64-bit MMIO). A periodic comparator that fell behind moves past
 * the counter by whole periods in one step, however many it missed. A level-triggered
 * comparator holds its line while its status bit is set; rerouted, made edge-triggered or
 * cleared, it lets the line go.
 */
public final class Hpet implements MmioDevice {
  public static final long BASE = 0xFED0_0000L;
  public static final long SIZE = 0x400;
  public static final int TIMERS = 3;
  /** 100 MHz: the counter's period is 10 ns = 10,000,000 fs. */
  public static final long FREQUENCY_HZ = 100_000_000L;
  public static final long PERIOD_FS = 10_000_000L;
  /** Revision 1, NUM_TIM_CAP 2 (3 timers), COUNT_SIZE_CAP, LEG_RT_CAP, vendor 0x8086. */
  public static final int CAPABILITIES_LOW = 0x8086_A201;

  // Register offsets.
  public static final int GCAP_ID = 0x000;
  public static final int GEN_CONF = 0x010;
  public static final int GINTR_STA = 0x020;
  public static final int MAIN_COUNTER = 0x0F0;
  public static final int TIMER0 = 0x100;
  public static final int TIMER_STRIDE = 0x20;
  public static final int TN_CONFIG = 0x00;
  public static final int TN_COMPARATOR = 0x08;
  public static final int TN_FSB_ROUTE = 0x10;

  public static final int CONF_ENABLE = 1;
  public static final int CONF_LEGACY = 2;
  public static final int TN_LEVEL = 1 << 1;
  public static final int TN_INT_ENABLE = 1 << 2;
  public static final int TN_PERIODIC = 1 << 3;
  public static final int TN_PERIODIC_CAP = 1 << 4;
  public static final int TN_SIZE_CAP = 1 << 5;
  public static final int TN_VAL_SET = 1 << 6;
  public static final int TN_32BIT = 1 << 8;
  public static final int TN_ROUTE_SHIFT = 9;
  public static final int TN_ROUTE_MASK = 0x1F << TN_ROUTE_SHIFT;
  private static final int TN_WRITABLE = TN_LEVEL | TN_INT_ENABLE | TN_PERIODIC | TN_VAL_SET
      | TN_32BIT | TN_ROUTE_MASK;
  /** ISA lines a comparator may be routed to without an I/O APIC (all but the cascade, 2). */
  public static final int ROUTE_CAP = 0xFFFB;

  /** The ISA interrupt lines the HPET drives. */
  public interface IsaLines {
    void setLevel(int irq, boolean high);
  }

  private final VirtualClock clock;
  private final IsaLines lines;
  private final Comparator[] timers = new Comparator[TIMERS];
  private int config;
  private int status;
  /** Counter value at {@link #baseTick} (the counter runs while enabled). */
  private long counterBase;
  private long baseTick;
  /** The PIT's output, which reaches IRQ 0 unless legacy replacement routing is on. */
  private boolean pitLevel;

  private final class Comparator {
    final int index;
    final Timer timer;
    int conf = TN_PERIODIC_CAP | TN_SIZE_CAP;
    long cmp = -1L;
    long period;

    Comparator(int index, TimerQueue queue) {
      this.index = index;
      this.timer = queue.newTimer("hpet.timer" + index, now -> fired());
    }

    boolean periodic() {
      return (conf & TN_PERIODIC) != 0;
    }

    boolean wide() {
      return (conf & TN_32BIT) == 0;
    }

    /** The ISA line this comparator drives, or -1. */
    int line() {
      if ((config & CONF_LEGACY) != 0 && index < 2) {
        return index == 0 ? 0 : 8;
      }
      int route = (conf & TN_ROUTE_MASK) >>> TN_ROUTE_SHIFT;
      return route < 16 && (ROUTE_CAP & 1 << route) != 0 ? route : -1;
    }

    void schedule() {
      timer.cancel();
      if ((config & CONF_ENABLE) == 0) {
        return;
      }
      long now = counter();
      long delta;
      if (wide()) {
        // Unsigned 64-bit: a comparator at or behind the counter fires at once (as QEMU's).
        delta = Long.compareUnsigned(cmp, now) > 0 ? cmp - now : 0;
      } else {
        delta = ((int) cmp - (int) now) & 0xFFFF_FFFFL;
      }
      armIn(delta);
    }

    /**
     * Arms the timer for when the counter will have advanced by {@code delta} (unsigned) ticks.
     * A deadline beyond the clock's range (about 292 years of cycles) is never reached: the timer
     * stays unarmed. The bound is the clock's, whatever the time now: a guest that ran for years
     * still gets its comparators.
     */
    void armIn(long delta) {
      long tick = clock.ticksAt(clock.now(), FREQUENCY_HZ);
      if (delta < 0 || delta > Long.MAX_VALUE - tick) {
        return;
      }
      long at = clock.cycleOfTick(tick + delta, FREQUENCY_HZ);
      if (at != Long.MAX_VALUE) {
        timer.arm(at);
      }
    }

    void fired() {
      if ((conf & TN_INT_ENABLE) != 0) {
        int irq = line();
        if ((conf & TN_LEVEL) != 0) {
          status |= 1 << index;
          if (irq >= 0) {
            lines.setLevel(irq, true);
          }
        } else if (irq >= 0) {
          lines.setLevel(irq, true);
          lines.setLevel(irq, false);
        }
      }
      long now = counter();
      if (periodic() && period != 0) {
        advancePeriodic(now);
      } else if (!wide()) {
        // A 32-bit one-shot comes round again each time the counter's low half reaches it,
        // every 2^32 ticks; a late run arms the next of those, not the ones it missed.
        long delta = ((int) cmp - (int) now) & 0xFFFF_FFFFL;
        armIn(delta == 0 ? 1L << 32 : delta);
      }
    }

    /**
     * A periodic comparator that matched: it moves past the counter by whole periods in one
     * step, however many it missed (Xen's pt_process_missed_ticks skips them the same way; the
     * guest sees one interrupt for them, as an edge-triggered line shows it). The comparisons
     * are the ones {@link #schedule} makes: unsigned in 64-bit mode, modulo 2^32 in 32-bit mode.
     */
    void advancePeriodic(long now) {
      if (wide()) {
        if (Long.compareUnsigned(now, cmp) < 0) {
          schedule();
          return;
        }
        long step = period - Long.remainderUnsigned(now - cmp, period);
        cmp = now + step;
        if (Long.compareUnsigned(cmp, now) > 0) {
          armIn(step);
        }
        // Else the next match lies past the 64-bit counter's wrap, thousands of years away.
        return;
      }
      long p = period & 0xFFFF_FFFFL;
      if (p == 0) {
        // Only the high half was set before the switch to 32 bits: no period in 32-bit terms.
        return;
      }
      long behind = ((int) now - (int) cmp) & 0xFFFF_FFFFL;
      long step = p - behind % p;
      cmp = (now + step) & 0xFFFF_FFFFL;
      armIn(step);
    }
  }

  public Hpet(VirtualClock clock, TimerQueue queue, IsaLines lines) {
    this.clock = clock;
    this.lines = lines;
    for (int i = 0; i < TIMERS; i++) {
      timers[i] = new Comparator(i, queue);
    }
  }

  /**
   * The PIT's channel 0 output: it drives IRQ 0 except while legacy replacement routing gives
   * that line to comparator 0 (the chipset's multiplexer, modelled here so that the line's level
   * is always one owner's).
   */
  public void pitOutput(boolean high) {
    pitLevel = high;
    if (!legacyReplacement()) {
      // Wire-ORed with a level-triggered comparator routed to IRQ 0, if one holds it.
      lines.setLevel(0, high || (heldLines() & 1) != 0);
    }
  }

  /** True while legacy replacement routing takes IRQ 0 from the PIT and IRQ 8 from the RTC. */
  public boolean legacyReplacement() {
    return (config & (CONF_ENABLE | CONF_LEGACY)) == (CONF_ENABLE | CONF_LEGACY);
  }

  /** True if a comparator with its interrupt enabled is counting toward a line. */
  public boolean canInterrupt() {
    for (Comparator t : timers) {
      if (t.timer.isArmed() && (t.conf & TN_INT_ENABLE) != 0 && t.line() >= 0) {
        return true;
      }
    }
    return false;
  }

  /** The main counter now. */
  public long counter() {
    if ((config & CONF_ENABLE) == 0) {
      return counterBase;
    }
    return counterBase + clock.ticksAt(clock.now(), FREQUENCY_HZ) - baseTick;
  }

  @Override
  public int read(long offset, int size) {
    int off = (int) offset;
    int value = read32(off & ~3);
    int shift = (off & 3) * 8;
    return size == 4 ? value : (value >>> shift) & (size == 2 ? 0xFFFF : 0xFF);
  }

  private int read32(int off) {
    long v = register(off & ~7);
    return (off & 4) == 0 ? (int) v : (int) (v >>> 32);
  }

  private long register(int off) {
    switch (off) {
      case GCAP_ID: return CAPABILITIES_LOW & 0xFFFF_FFFFL | PERIOD_FS << 32;
      case GEN_CONF: return config;
      case GINTR_STA: return status;
      case MAIN_COUNTER: return counter();
      default:
        break;
    }
    if (off >= TIMER0 && off < TIMER0 + TIMERS * TIMER_STRIDE) {
      Comparator t = timers[(off - TIMER0) / TIMER_STRIDE];
      switch ((off - TIMER0) % TIMER_STRIDE) {
        case TN_CONFIG: return t.conf & 0xFFFF_FFFFL | (long) ROUTE_CAP << 32;
        case TN_COMPARATOR: return t.wide() ? t.cmp : t.cmp & 0xFFFF_FFFFL;
        default: return 0;
      }
    }
    return 0;
  }

  @Override
  public void write(long offset, int size, int value) {
    int off = (int) offset;
    if (size != 4 || (off & 3) != 0) {
      // Only aligned 32-bit writes, as the processor makes them to 64-bit registers' halves.
      return;
    }
    boolean high = (off & 4) != 0;
    int reg = off & ~7;
    long v = value & 0xFFFF_FFFFL;
    switch (reg) {
      case GEN_CONF:
        if (!high) {
          writeConfig(value & (CONF_ENABLE | CONF_LEGACY));
        }
        return;
      case GINTR_STA:
        if (!high) {
          clearStatus(value);
        }
        return;
      case MAIN_COUNTER:
        // Writable only while halted (the specification leaves running writes undefined).
        if ((config & CONF_ENABLE) == 0) {
          counterBase = high ? (counterBase & 0xFFFF_FFFFL) | v << 32
              : (counterBase & ~0xFFFF_FFFFL) | v;
        }
        return;
      default:
        break;
    }
    if (reg < TIMER0 || reg >= TIMER0 + TIMERS * TIMER_STRIDE) {
      return;
    }
    Comparator t = timers[(reg - TIMER0) / TIMER_STRIDE];
    switch ((reg - TIMER0) % TIMER_STRIDE) {
      case TN_CONFIG:
        if (!high) {
          int held = heldLines();
          t.conf = (t.conf & ~TN_WRITABLE) | (value & TN_WRITABLE);
          if ((t.conf & TN_LEVEL) == 0) {
            // Edge-triggered: no status to keep (the specification's Tn_INT_STS is for level).
            status &= ~(1 << t.index);
          }
          // A level line this timer held follows its new route, or is released.
          redrive(held, 0);
          if ((t.conf & TN_32BIT) != 0) {
            t.cmp &= 0xFFFF_FFFFL;
            t.period &= 0xFFFF_FFFFL;
          }
          t.schedule();
        }
        return;
      case TN_COMPARATOR: {
        if (high && !t.wide()) {
          return;
        }
        // As in QEMU: the period always takes the value; the comparator does when the timer
        // is one-shot or TN_VAL_SET allows it, and TN_VAL_SET clears itself.
        if (!t.periodic() || (t.conf & TN_VAL_SET) != 0) {
          t.cmp = high ? (t.cmp & 0xFFFF_FFFFL) | v << 32 : (t.cmp & ~0xFFFF_FFFFL) | v;
        }
        t.period = high ? (t.period & 0xFFFF_FFFFL) | v << 32 : (t.period & ~0xFFFF_FFFFL) | v;
        t.conf &= ~TN_VAL_SET;
        t.schedule();
        return;
      }
      default:
        return;
    }
  }

  private void writeConfig(int value) {
    int old = config;
    boolean wasLegacy = legacyReplacement();
    int held = heldLines();
    long now = counter();
    config = value;
    if (((old ^ value) & CONF_ENABLE) != 0) {
      counterBase = now;
      baseTick = clock.ticksAt(clock.now(), FREQUENCY_HZ);
    }
    // Lines held high by level-triggered timers move with the routing; IRQ 0 changes owner
    // (the PIT's level, or comparator 0's) when legacy replacement routing comes or goes.
    redrive(held, wasLegacy != legacyReplacement() ? 1 : 0);
    for (Comparator t : timers) {
      t.schedule();
    }
  }

  private void clearStatus(int bits) {
    int held = heldLines();
    status &= ~bits;
    redrive(held, 0);
  }

  /** The ISA lines level-triggered timers hold high (status set), one bit per IRQ. */
  private int heldLines() {
    int mask = 0;
    for (Comparator t : timers) {
      if ((status & 1 << t.index) != 0 && (t.conf & TN_LEVEL) != 0) {
        int irq = t.line();
        if (irq >= 0) {
          mask |= 1 << irq;
        }
      }
    }
    return mask;
  }

  /**
   * After the status, a timer's routing or mode, or the legacy routing changed: drives again
   * each line whose holders changed since {@code heldBefore} (and those in {@code also}), high
   * while a level-triggered timer holds it or, on IRQ 0, while the PIT owns it and its output
   * is high. A line a timer stopped holding (it was rerouted, made edge-triggered or had its
   * status cleared) is released, never left high with nothing behind it.
   */
  private void redrive(int heldBefore, int also) {
    int held = heldLines();
    int changed = (heldBefore ^ held) | also;
    for (int irq = 0; irq < 16; irq++) {
      if ((changed & 1 << irq) != 0) {
        lines.setLevel(irq, (held & 1 << irq) != 0
            || irq == 0 && !legacyReplacement() && pitLevel);
      }
    }
  }
}
