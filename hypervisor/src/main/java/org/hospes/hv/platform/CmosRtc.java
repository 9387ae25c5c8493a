package org.hospes.hv.platform;

import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.util.Objects;
import org.hospes.hv.time.Timer;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.hospes.x86.IoBus;
import org.hospes.x86.PortDevice;

/**
 * The PC's CMOS real-time clock, a Motorola MC146818 (and its successor the DS12887) behind the
 * index port 0x70 and the data port 0x71, on IRQ 8. Registers 0-9 hold the time and alarm,
 * 0x0A-0x0D are control registers A-D, and 0x0E-0x7F are battery-backed RAM (0x32 the century,
 * by the IBM PC's convention).
 *
 * <p>Writing port 0x70 selects a register with bits 6-0; bit 7 masks NMI on a PC (kept in
 * {@link #nmiMasked()}; this machine has no NMI source). Port 0x70 is write-only and reads as
 * 0xFF, as QEMU's.
 *
 * <p>Time is virtual. The divider chain is a phase (the cycle at which it left reset) and the
 * time registers are advanced lazily, when read or when an interrupt is due, by the whole
 * seconds ("update cycles") that have passed since. The registers hold the time as the chip
 * does, in the format register B selected when they were written: BCD or binary (DM, bit 2),
 * 12-hour with bit 7 for PM or 24-hour (bit 1); changing the format does not convert them. An
 * update advances them in the current format; registers that do not form a valid date (the
 * guest wrote nonsense) stop the clock until rewritten. Leap years are every fourth year, as on
 * the chip, which is right for 2000-2099.
 *
 * <ul>
 *   <li>Register A: UIP (bit 7, read-only) is 1 for the 244 us before each update, when the
 *       time must not be read; DV (bits 6-4) 010 runs the divider, 11x holds it in reset and
 *       the first update comes 500 ms after release; RS (bits 3-0) picks the periodic rate
 *       (32768 Hz >> (RS - 1); 1 and 2 give 256 and 128 Hz; 0 none).
 *   <li>Register B: SET (bit 7) stops updates (and clears UIE), PIE, AIE, UIE (6-4) enable the
 *       periodic, alarm and update-ended interrupts, SQWE (3) and DSE (0) are stored only.
 *   <li>Register C: IRQF, PF, AF, UF (bits 7-4), read-only and cleared by reading. PF, AF and UF
 *       are set whether or not their interrupts are enabled; IRQF and the IRQ 8 line go high
 *       when an enabled one is set, and low when C is read.
 *   <li>Register D: VRT (bit 7), the battery is good; read-only.
 *   <li>An alarm byte with bits 7-6 both set matches any value ("don't care").
 * </ul>
 */
public final class CmosRtc implements PortDevice {
  public static final int INDEX_PORT = 0x70;
  public static final int DATA_PORT = 0x71;
  public static final int IRQ = 8;

  public static final int SECONDS = 0x00;
  public static final int SECONDS_ALARM = 0x01;
  public static final int MINUTES = 0x02;
  public static final int MINUTES_ALARM = 0x03;
  public static final int HOURS = 0x04;
  public static final int HOURS_ALARM = 0x05;
  public static final int DAY_OF_WEEK = 0x06;
  public static final int DAY_OF_MONTH = 0x07;
  public static final int MONTH = 0x08;
  public static final int YEAR = 0x09;
  public static final int REG_A = 0x0A;
  public static final int REG_B = 0x0B;
  public static final int REG_C = 0x0C;
  public static final int REG_D = 0x0D;
  public static final int CENTURY = 0x32;
  public static final int SIZE = 128;

  public static final int A_UIP = 0x80;
  public static final int A_DV_MASK = 0x70;
  /** DV = 010: a 32.768 kHz time base, the divider running. */
  public static final int A_DV_RUN = 0x20;
  public static final int A_RS_MASK = 0x0F;
  public static final int B_SET = 0x80;
  public static final int B_PIE = 0x40;
  public static final int B_AIE = 0x20;
  public static final int B_UIE = 0x10;
  public static final int B_SQWE = 0x08;
  public static final int B_DM_BINARY = 0x04;
  public static final int B_24H = 0x02;
  public static final int B_DSE = 0x01;
  public static final int C_IRQF = 0x80;
  public static final int C_PF = 0x40;
  public static final int C_AF = 0x20;
  public static final int C_UF = 0x10;
  public static final int D_VRT = 0x80;
  public static final int HOUR_PM = 0x80;
  public static final int ALARM_DONT_CARE = 0xC0;

  /** The time base: 32.768 kHz. */
  static final long BASE_HZ = 32_768;
  /** UIP rises this long before an update (244 us: 8 cycles of the 32.768 kHz base). */
  static final long UIP_BASE_TICKS = 8;
  /** Alarms are searched at most a day ahead: a matching alarm matches once a day at least. */
  static final int DAY = 86_400;

  /** The line to the interrupt controller. */
  @FunctionalInterface
  public interface IrqLine {
    void set(boolean high);
  }

  private final VirtualClock clock;
  private final IrqLine irq;
  private final Timer timer;
  private final byte[] ram = new byte[SIZE];
  private int index;
  private boolean nmiMasked;
  /** The cycle at which the divider chain left reset: updates fall 1 s, 2 s, ... after it. */
  private long phase;
  /** Update cycles applied to the time registers (counted from {@link #phase}). */
  private long updatesApplied;
  /** Periodic edges already reflected in register C. */
  private long periodicSeen;
  private boolean line;

  /**
   * A clock showing {@code start} (24-hour BCD, as firmware leaves it) at cycle 0 of {@code clock},
   * with register A 0x26 (running, 1024 Hz periodic rate) and B 0x02.
   */
  public CmosRtc(VirtualClock clock, TimerQueue timers, IrqLine irq, LocalDateTime start) {
    this.clock = Objects.requireNonNull(clock);
    this.irq = Objects.requireNonNull(irq);
    this.timer = timers.newTimer("rtc", this::expired);
    ram[REG_A] = (byte) (A_DV_RUN | 0x06);
    ram[REG_B] = (byte) B_24H;
    ram[REG_D] = (byte) D_VRT;
    writeTime(start);
    ram[CENTURY] = (byte) bcd(start.getYear() / 100);
    phase = clock.now();
  }

  /** The fixed date a machine's clock starts at unless told otherwise: runs are repeatable. */
  public static final LocalDateTime DEFAULT_START = LocalDateTime.of(2026, 1, 1, 0, 0, 0);

  public void register(IoBus bus) {
    bus.register(INDEX_PORT, 2, this);
  }

  /** Port 0x70's bit 7 as last written: NMI masked. */
  public boolean nmiMasked() {
    return nmiMasked;
  }

  @Override
  public int in(int port, int size) {
    if (port != DATA_PORT) {
      return size == 4 ? -1 : (1 << (8 * size)) - 1;
    }
    return read(index);
  }

  @Override
  public void out(int port, int size, int value) {
    if (port == INDEX_PORT) {
      index = value & 0x7F;
      nmiMasked = (value & 0x80) != 0;
    } else {
      write(index, value & 0xFF);
    }
  }

  /** Register {@code reg} as the guest reads it. */
  public int read(int reg) {
    long now = clock.now();
    catchUp(now);
    switch (reg) {
      case REG_A:
        return (ram[REG_A] & 0x7F) | (updating(now) ? A_UIP : 0);
      case REG_C: {
        int c = ram[REG_C] & 0xFF;
        ram[REG_C] = 0;
        setLine(false);
        arm(now);
        return c;
      }
      default:
        return ram[reg] & 0xFF;
    }
  }

  /** Writes register {@code reg} as the guest does. */
  public void write(int reg, int value) {
    long now = clock.now();
    catchUp(now);
    switch (reg) {
      case REG_A: {
        boolean wasRunning = running();
        ram[REG_A] = (byte) (value & 0x7F);
        if (!wasRunning && running()) {
          // Out of reset: the first update comes half a second later.
          phase = now - clock.hz() / 2;
          updatesApplied = updatesAt(now);
        }
        // A new rate counts its edges from now on.
        periodicSeen = periodicAt(now);
        break;
      }
      case REG_B:
        if ((value & B_SET) != 0) {
          value &= ~B_UIE;
        }
        ram[REG_B] = (byte) value;
        updateIrqf();
        break;
      case REG_C:
      case REG_D:
        return; // read-only
      default:
        ram[reg] = (byte) value;
    }
    arm(now);
  }

  private boolean running() {
    return (ram[REG_A] & A_DV_MASK) == A_DV_RUN;
  }

  private boolean updatesOn() {
    return running() && (ram[REG_B] & B_SET) == 0;
  }

  /** Update cycles from the phase up to {@code now} (0 while the divider is in reset). */
  private long updatesAt(long now) {
    return running() && now >= phase ? (now - phase) / clock.hz() : 0;
  }

  private long updateCycle(long n) {
    return phase + n * clock.hz();
  }

  /** Cycles per periodic edge, or 0 when RS selects none. */
  private long periodCycles() {
    int rs = ram[REG_A] & A_RS_MASK;
    if (rs == 0 || !running()) {
      return 0;
    }
    int shift = rs <= 2 ? rs + 6 : rs - 1;
    return Math.max(1, (clock.hz() << shift) / BASE_HZ);
  }

  private long periodicAt(long now) {
    long p = periodCycles();
    return p == 0 || now < phase ? 0 : (now - phase) / p;
  }

  private boolean updating(long now) {
    if (!updatesOn()) {
      return false;
    }
    long next = updateCycle(updatesAt(now) + 1);
    return next - now <= UIP_BASE_TICKS * clock.hz() / BASE_HZ;
  }

  /**
   * Applies the update cycles and periodic edges up to {@code now}: advances the time registers
   * and sets UF, AF and PF in register C (and IRQF when enabled).
   */
  private void catchUp(long now) {
    long updates = updatesAt(now);
    if (updates > updatesApplied) {
      long n = updates - updatesApplied;
      updatesApplied = updates;
      if ((ram[REG_B] & B_SET) == 0) {
        boolean alarm = advance(n);
        ram[REG_C] |= C_UF;
        if (alarm) {
          ram[REG_C] |= C_AF;
        }
      }
    }
    long edges = periodicAt(now);
    if (edges > periodicSeen) {
      ram[REG_C] |= C_PF;
    }
    periodicSeen = edges;
    updateIrqf();
  }

  private void updateIrqf() {
    // PF, AF and UF sit at the same bits as their enables PIE, AIE and UIE.
    if ((ram[REG_C] & ram[REG_B] & (C_PF | C_AF | C_UF)) != 0) {
      ram[REG_C] |= (byte) C_IRQF;
      setLine(true);
    }
  }

  private void setLine(boolean high) {
    if (line != high) {
      line = high;
      irq.set(high);
    }
  }

  /**
   * Advances the time registers by {@code n} seconds; true if the alarm matched at any of the
   * seconds passed (the last day of them is enough to look at).
   */
  private boolean advance(long n) {
    LocalDateTime t = readTime();
    if (t == null) {
      return false; // not a valid date: the clock stands
    }
    boolean alarm = false;
    long from = Math.max(1, n - DAY + 1);
    for (long i = from; i <= n && !alarm; i++) {
      alarm = alarmMatches(t.plusSeconds(i));
    }
    // The day of the week is a counter of its own, not part of the date: it may hold anything
    // the guest wrote. It is read as Xen's from_bcd reads it (digits taken as they are, no
    // check) and counts on within 1-7, so that nonsense there neither stops the clock nor
    // throws.
    int raw = ram[DAY_OF_WEEK] & 0xFF;
    int dow = (ram[REG_B] & B_DM_BINARY) != 0 ? raw : (raw >> 4) * 10 + (raw & 0xF);
    long days = java.time.temporal.ChronoUnit.DAYS.between(t.toLocalDate(),
        t.plusSeconds(n).toLocalDate());
    writeTime(t.plusSeconds(n));
    ram[DAY_OF_WEEK] = (byte) toFormat((int) Math.floorMod(dow - 1 + days, 7L) + 1);
    return alarm;
  }

  private boolean alarmMatches(LocalDateTime t) {
    return alarmField(SECONDS_ALARM, t.getSecond()) && alarmField(MINUTES_ALARM, t.getMinute())
        && alarmField(HOURS_ALARM, -1 - t.getHour());
  }

  /** {@code value} < 0 encodes an hour, -1 - hour, compared in the 12/24-hour format. */
  private boolean alarmField(int reg, int value) {
    int a = ram[reg] & 0xFF;
    if ((a & ALARM_DONT_CARE) == ALARM_DONT_CARE) {
      return true;
    }
    return value < 0 ? a == encodeHour(-1 - value) : a == toFormat(value);
  }

  /** The time registers as a date, or null if they do not hold one. */
  private LocalDateTime readTime() {
    try {
      int hour = decodeHour(ram[HOURS] & 0xFF);
      int year = 2000 + fromFormat(ram[YEAR] & 0xFF);
      return LocalDateTime.of(year, fromFormat(ram[MONTH] & 0xFF),
          fromFormat(ram[DAY_OF_MONTH] & 0xFF), hour, fromFormat(ram[MINUTES] & 0xFF),
          fromFormat(ram[SECONDS] & 0xFF));
    } catch (DateTimeException e) {
      return null;
    }
  }

  private void writeTime(LocalDateTime t) {
    ram[SECONDS] = (byte) toFormat(t.getSecond());
    ram[MINUTES] = (byte) toFormat(t.getMinute());
    ram[HOURS] = (byte) encodeHour(t.getHour());
    // Sunday is 1.
    ram[DAY_OF_WEEK] = (byte) toFormat(t.getDayOfWeek().getValue() % 7 + 1);
    ram[DAY_OF_MONTH] = (byte) toFormat(t.getDayOfMonth());
    ram[MONTH] = (byte) toFormat(t.getMonthValue());
    ram[YEAR] = (byte) toFormat(t.getYear() % 100);
  }

  private int encodeHour(int hour) {
    if ((ram[REG_B] & B_24H) != 0) {
      return toFormat(hour);
    }
    int h12 = hour % 12 == 0 ? 12 : hour % 12;
    return toFormat(h12) | (hour >= 12 ? HOUR_PM : 0);
  }

  private int decodeHour(int raw) {
    if ((ram[REG_B] & B_24H) != 0) {
      return fromFormat(raw);
    }
    int h12 = fromFormat(raw & 0x7F);
    if (h12 < 1 || h12 > 12) {
      throw new DateTimeException("bad 12-hour value");
    }
    return h12 % 12 + ((raw & HOUR_PM) != 0 ? 12 : 0);
  }

  private int toFormat(int v) {
    return (ram[REG_B] & B_DM_BINARY) != 0 ? v : bcd(v);
  }

  private int fromFormat(int raw) {
    if ((ram[REG_B] & B_DM_BINARY) != 0) {
      return raw;
    }
    int lo = raw & 0xF;
    int hi = raw >> 4;
    if (lo > 9 || hi > 9) {
      throw new DateTimeException("bad BCD byte");
    }
    return hi * 10 + lo;
  }

  private static int bcd(int v) {
    return (v / 10) << 4 | v % 10;
  }

  /**
   * Arms the timer for the next moment register C could raise IRQF: the next periodic edge
   * with PIE, the next update with UIE or AIE; nothing while IRQF is already up (reading C
   * re-arms).
   */
  private void arm(long now) {
    timer.cancel();
    if ((ram[REG_C] & C_IRQF) != 0) {
      return;
    }
    long next = TimerQueue.NEVER;
    int b = ram[REG_B] & 0xFF;
    if ((b & B_PIE) != 0 && periodCycles() != 0) {
      long p = periodCycles();
      next = Math.min(next, phase + (periodicAt(now) + 1) * p);
    }
    if ((b & (B_UIE | B_AIE)) != 0 && updatesOn()) {
      next = Math.min(next, updateCycle(updatesAt(now) + 1));
    }
    if (next != TimerQueue.NEVER) {
      timer.arm(next);
    }
  }

  private void expired(long now) {
    catchUp(now);
    arm(now);
  }
}
