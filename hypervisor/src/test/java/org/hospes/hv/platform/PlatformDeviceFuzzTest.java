package org.hospes.hv.platform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A hostile guest against each platform device on its own: thousands of random register reads
 * and writes (offsets in, unaligned in and just past the device's window, every access size the
 * interface has, values biased towards the ones that hurt: 0, 1, all ones, single bits, tiny
 * timer periods, counters near 2^32 and 2^63) interleaved with the virtual clock jumping by
 * random amounts, from zero to a year at once, as it does for a domain that was paused or
 * descheduled for long.
 *
 * <p>After every step: no exception came out, every read returned a value of its access size,
 * the device's state is within its documented domain, and the jump ran a bounded number of timer
 * callbacks ({@link #MAX_FIRES_PER_JUMP}): a periodic timer that fell behind must skip its
 * missed periods in one go, as Xen's {@code pt_process_missed_ticks} does (and as an IRR bit,
 * which holds one request for any number of edges, makes invisible to the guest), not replay
 * them one by one. After the garbage each device is reprogrammed normally and must work as
 * specified. A failure names the seed, the step and the last operations; a hang fails on the
 * watchdog with the same description.
 */
class PlatformDeviceFuzzTest {
  private static final int STEPS = 4000;
  /** Timer callbacks one jump of the clock may run, all devices' timers together. */
  private static final int MAX_FIRES_PER_JUMP = 64;
  /** Virtual time stays below 2^60 cycles (36 years at 1 GHz), far from overflow. */
  private static final long TIME_LIMIT = 1L << 60;
  private static final long[] SEEDS = {1, 0x5EED, 20_261_202};

  static Stream<Arguments> cases() {
    List<Arguments> list = new ArrayList<>();
    for (String device : new String[] {"pit", "pic", "rtc", "acpi", "hpet", "ioapic",
        "lapic"}) {
      for (long seed : SEEDS) {
        list.add(Arguments.of(device, seed));
      }
    }
    return list.stream();
  }

  @ParameterizedTest(name = "{0} seed {1}")
  @MethodSource("cases")
  void garbageNeitherBreaksNorHangsTheDevice(String device, long seed) {
    Rig rig = switch (device) {
      case "pit" -> new PitRig();
      case "pic" -> new PicRig();
      case "rtc" -> new RtcRig();
      case "acpi" -> new AcpiRig();
      case "hpet" -> new HpetRig();
      case "ioapic" -> new IoApicRig();
      default -> new LapicRig();
    };
    rig.rnd = new Random(seed);
    rig.name = device + " seed " + seed;
    // The watchdog turns an endless catch-up loop into a failure that says where it was.
    assertTimeoutPreemptively(Duration.ofSeconds(20), rig::fuzz, rig::where);
  }

  /** One device under fuzz: its clock, its timers, and what it drove. */
  abstract static class Rig {
    long cycles;
    final VirtualClock clock = new VirtualClock(() -> cycles);
    final TimerQueue timers = new TimerQueue();
    Random rnd;
    String name;
    volatile int step;
    /** The last operations, for the failure message. */
    private final ArrayDeque<String> trail = new ArrayDeque<>();

    /** One random access to the device (or a device-side event). */
    abstract void poke();

    /** The device's state is in its documented domain. */
    abstract void checkState();

    /** Programmed normally after the garbage, the device does what it should. */
    abstract void checkStillWorks();

    void fuzz() {
      try {
        for (step = 0; step < STEPS; step++) {
          if (rnd.nextInt(10) < 7) {
            poke();
          } else {
            jump(randomJump());
          }
          checkState();
        }
        note("reprogrammed normally");
        checkStillWorks();
      } catch (RuntimeException e) {
        // Whatever the device threw, the failure says where: seed, step, last operations.
        throw new AssertionError(e + " thrown at " + where(), e);
      }
    }

    synchronized String where() {
      return name + " step " + step + ", last operations: " + String.join("; ", trail);
    }

    synchronized void note(String what) {
      if (trail.size() == 24) {
        trail.removeFirst();
      }
      trail.addLast(what);
    }

    long randomJump() {
      long delta = switch (rnd.nextInt(10)) {
        case 0, 1 -> 0;
        case 2, 3, 4 -> rnd.nextInt(2000);
        case 5, 6 -> rnd.nextInt(10_000_000);
        case 7, 8 -> (long) (rnd.nextDouble() * 1e11);
        default -> (1L << (40 + rnd.nextInt(16))) + rnd.nextInt(1 << 20);
      };
      return cycles + delta > TIME_LIMIT ? rnd.nextInt(1000) : delta;
    }

    /**
     * The clock jumps by {@code delta} and the queue runs once, at the new time, as the
     * hypervisor's run loop does for a domain that did not run meanwhile.
     */
    void jump(long delta) {
      note("jump " + delta);
      long before = timers.fired();
      cycles += delta;
      timers.runExpired(cycles);
      assertThat(timers.fired() - before).as("%s: timer callbacks for one jump of %d cycles",
          where(), delta).isLessThanOrEqualTo(MAX_FIRES_PER_JUMP);
    }

    /** Moves time to {@code target} deadline by deadline, as a machine running all along. */
    void stepTo(long target) {
      int guard = 0;
      while (timers.nextDeadline() <= target) {
        cycles = Math.max(cycles, timers.nextDeadline());
        timers.runExpired(cycles);
        assertThat(++guard).as("%s: callbacks on the way", where()).isLessThan(1_000_000);
      }
      cycles = target;
    }

    /** A value biased towards the ones that break devices. */
    int value() {
      return switch (rnd.nextInt(8)) {
        case 0 -> 0;
        case 1 -> -1;
        case 2 -> 1 << rnd.nextInt(32);
        case 3 -> rnd.nextInt(4);
        case 4 -> rnd.nextInt(256);
        default -> rnd.nextInt();
      };
    }

    int size() {
      return 1 << rnd.nextInt(3);
    }

    static int mask(int size) {
      return size == 4 ? -1 : (1 << (8 * size)) - 1;
    }

    void checkWidth(String what, int value, int size) {
      assertThat(value & ~mask(size)).as("%s: %s returned 0x%x for a %d-byte read", where(),
          what, value, size).isZero();
    }

    /** A port access: one of {@code ports}, or a neighbour just outside them. */
    void portAccess(org.hospes.x86.PortDevice dev, int[] ports, int[] neighbours,
        java.util.function.IntSupplier valueOf) {
      int port = rnd.nextInt(6) == 0 ? neighbours[rnd.nextInt(neighbours.length)]
          : ports[rnd.nextInt(ports.length)];
      int size = size();
      if (rnd.nextInt(10) < 6) {
        int v = valueOf.getAsInt();
        note(String.format("out 0x%x/%d <- 0x%x", port, size, v));
        dev.out(port, size, v & mask(size));
      } else {
        note(String.format("in 0x%x/%d", port, size));
        checkWidth("in 0x" + Integer.toHexString(port), dev.in(port, size), size);
      }
    }

    /** An MMIO access at an offset in or around the window: registers, unaligned, past it. */
    void mmioAccess(org.hospes.x86.MmioDevice dev, int[] registers, long window,
        java.util.function.IntSupplier valueOf) {
      long off = switch (rnd.nextInt(5)) {
        case 0 -> rnd.nextInt((int) window);
        case 1 -> registers[rnd.nextInt(registers.length)] + 1 + rnd.nextInt(3);
        default -> registers[rnd.nextInt(registers.length)];
      };
      int size = size();
      // The exit handler hands a device accesses that start in its window (one may run past
      // its end, if the page goes on).
      off = Math.min(off, window - 1);
      if (rnd.nextInt(10) < 6) {
        int v = valueOf.getAsInt();
        note(String.format("write 0x%x/%d <- 0x%x", off, size, v));
        dev.write(off, size, size == 4 ? v : v & mask(size));
      } else {
        note(String.format("read 0x%x/%d", off, size));
        checkWidth("read 0x" + Long.toHexString(off), dev.read(off, size), size);
      }
    }
  }

  // ------------------------------------------------------------------ 8254 PIT

  static final class PitRig extends Rig {
    boolean line;
    int rises;
    final Pit8254 pit = new Pit8254(clock, timers, high -> {
      if (high && !line) {
        rises++;
      }
      line = high;
    });

    @Override
    void poke() {
      portAccess(pit, new int[] {0x40, 0x41, 0x42, 0x43, 0x43, 0x61},
          new int[] {0x3F, 0x44, 0x47, 0x60, 0x62}, () -> switch (rnd.nextInt(4)) {
            // Counts of 0 (65536), 1 and 2, the smallest periods.
            case 0 -> rnd.nextInt(3);
            // A control word: channel, access, mode (6 and 7 alias 2 and 3), BCD; or read-back.
            case 1 -> rnd.nextInt(256);
            default -> value();
          });
    }

    @Override
    void checkState() {
      for (int i = 0; i < 3; i++) {
        assertThat(pit.count(i)).as("%s: count %d", where(), i).isBetween(0, 0xFFFF);
        pit.output(i);
      }
    }

    @Override
    void checkStillWorks() {
      // Channel 0, rate generator, 1193 ticks (1 ms): one rising edge per period.
      pit.out(0x43, 1, 0x34);
      pit.out(0x40, 1, 1193 & 0xFF);
      pit.out(0x40, 1, 1193 >> 8);
      stepTo(cycles + 1_000_000);
      rises = 0;
      stepTo(cycles + 10_000_000);
      assertThat(rises).as("%s: IRQ 0 edges in 10 ms at 1 kHz", where()).isBetween(9, 11);
      // Channel 2, mode 0 one-shot of 100 ticks started by its gate: OUT2 at port 0x61 rises.
      pit.out(0x61, 1, 0);
      pit.out(0x43, 1, 0xB0);
      pit.out(0x42, 1, 100);
      pit.out(0x42, 1, 0);
      pit.out(0x61, 1, Pit8254.PORT_B_GATE2);
      stepTo(cycles + 50 * 838);
      assertThat(pit.in(0x61, 1) & Pit8254.PORT_B_OUT2).as("%s: OUT2 early", where()).isZero();
      stepTo(cycles + 60 * 838);
      assertThat(pit.in(0x61, 1) & Pit8254.PORT_B_OUT2).as("%s: OUT2 after the count", where())
          .isNotZero();
    }
  }

  // ------------------------------------------------------------------ 8259A pair

  static final class PicRig extends Rig {
    final Pic8259Pair pic = new Pic8259Pair();

    @Override
    void poke() {
      switch (rnd.nextInt(10)) {
        case 0, 1 -> {
          int irq = rnd.nextInt(16);
          boolean high = rnd.nextBoolean();
          note("line " + irq + (high ? " high" : " low"));
          pic.setLevel(irq, high);
        }
        case 2 -> {
          if (pic.pending()) {
            int v = pic.acknowledge();
            note("INTA -> 0x" + Integer.toHexString(v));
            assertThat(v).as("%s: vector", where()).isBetween(0, 255);
          }
        }
        default -> portAccess(pic, new int[] {0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1},
            new int[] {0x1F, 0x22, 0x9F, 0xA2, 0x4CF, 0x4D2}, () -> switch (rnd.nextInt(5)) {
              case 0 -> 0x10 | rnd.nextInt(16);          // ICW1
              case 1 -> rnd.nextInt(256) & ~0x18;        // OCW2
              case 2 -> 0x08 | (rnd.nextInt(256) & ~0x10); // OCW3 (read IRR/ISR, poll, SMM)
              default -> value();
            });
      }
    }

    @Override
    void checkState() {
      assertThat(pic.irr() >>> 16).as("%s: IRR", where()).isZero();
      assertThat(pic.isr() >>> 16).as("%s: ISR", where()).isZero();
      assertThat(pic.imr() >>> 16).as("%s: IMR", where()).isZero();
    }

    @Override
    void checkStillWorks() {
      for (int irq = 0; irq < 16; irq++) {
        pic.setLevel(irq, false);
      }
      pic.out(0x4D0, 1, 0);
      pic.out(0x4D1, 1, 0);
      for (int[] icw : new int[][] {{0x20, 0x11, 0x20, 0x04, 0x01}, {0xA0, 0x11, 0x28, 0x02,
          0x01}}) {
        pic.out(icw[0], 1, icw[1]);
        for (int k = 2; k < 5; k++) {
          pic.out(icw[0] + 1, 1, icw[k]);
        }
        pic.out(icw[0] + 1, 1, 0);
      }
      assertThat(pic.pending()).as("%s: pending after init", where()).isFalse();
      pic.raise(3);
      assertThat(pic.acknowledge()).as(where()).isEqualTo(0x23);
      pic.out(0x20, 1, 0x20);
      pic.lower(3);
      pic.raise(10);
      assertThat(pic.acknowledge()).as(where()).isEqualTo(0x2A);
      assertThat(pic.isr()).as(where()).isEqualTo(1 << 10 | 1 << 2);
      pic.out(0xA0, 1, 0x20);
      pic.out(0x20, 1, 0x20);
      assertThat(pic.isr()).as(where()).isZero();
      assertThat(pic.pending()).as(where()).isFalse();
    }
  }

  // ------------------------------------------------------------------ CMOS RTC

  static final class RtcRig extends Rig {
    boolean line;
    int rises;
    final CmosRtc rtc = new CmosRtc(clock, timers, high -> {
      if (high && !line) {
        rises++;
      }
      line = high;
    }, CmosRtc.DEFAULT_START);

    /** The register port 0x70 selects, as the guest last wrote it. */
    int index;

    @Override
    void poke() {
      if (rnd.nextBoolean()) {
        portAccess(rtc, new int[] {0x70}, new int[] {0x6F, 0x72}, () -> {
          int v = rnd.nextInt(3) == 0 ? rnd.nextInt(256) : rnd.nextInt(0x0E) | rnd.nextInt(2) << 7;
          index = v & 0x7F;
          return v;
        });
        return;
      }
      portAccess(rtc, new int[] {0x71}, new int[] {0x6F, 0x72}, () -> switch (index) {
        // Register A: mostly running, any rate; sometimes the divider in reset.
        case CmosRtc.REG_A -> (rnd.nextInt(4) == 0 ? rnd.nextInt(8) : 2) << 4 | rnd.nextInt(16);
        // Register B: mostly updating (SET clear), any format and interrupt enables.
        case CmosRtc.REG_B -> rnd.nextInt(4) == 0 ? value() : rnd.nextInt(0x80);
        // The time: half the time a value valid in BCD, so that the clock runs and nonsense
        // in one register meets sense in the others.
        case CmosRtc.SECONDS, CmosRtc.MINUTES, CmosRtc.SECONDS_ALARM, CmosRtc.MINUTES_ALARM ->
            rnd.nextBoolean() ? bcd(rnd.nextInt(60)) : value();
        case CmosRtc.HOURS, CmosRtc.HOURS_ALARM -> rnd.nextBoolean() ? bcd(rnd.nextInt(24))
            : value();
        case CmosRtc.DAY_OF_MONTH -> rnd.nextBoolean() ? bcd(1 + rnd.nextInt(28)) : value();
        case CmosRtc.MONTH -> rnd.nextBoolean() ? bcd(1 + rnd.nextInt(12)) : value();
        default -> value();
      });
    }

    private static int bcd(int v) {
      return (v / 10) << 4 | v % 10;
    }

    @Override
    void checkState() {
      assertThat(rtc.read(CmosRtc.REG_D)).as("%s: register D", where()).isEqualTo(0x80);
    }

    @Override
    void checkStillWorks() {
      rtc.write(CmosRtc.REG_B, CmosRtc.B_SET | CmosRtc.B_24H);
      int[] time = {0x00, 0x00, 0x00, 0x00, 0x12, 0x00, 0x05, 0x15, 0x06, 0x26};
      for (int reg = 0; reg < time.length; reg++) {
        rtc.write(reg, time[reg]);
      }
      rtc.write(CmosRtc.REG_A, CmosRtc.A_DV_RUN | 0x06);
      rtc.write(CmosRtc.REG_B, CmosRtc.B_24H | CmosRtc.B_UIE);
      rtc.read(CmosRtc.REG_C);
      rises = 0;
      stepTo(cycles + 1_100_000_000L);
      assertThat(rises).as("%s: update-ended interrupts in 1.1 s", where()).isBetween(1, 2);
      assertThat(rtc.read(CmosRtc.REG_C) & (CmosRtc.C_IRQF | CmosRtc.C_UF))
          .as(where()).isEqualTo(CmosRtc.C_IRQF | CmosRtc.C_UF);
      assertThat(rtc.read(CmosRtc.SECONDS)).as("%s: seconds", where()).isBetween(1, 2);
      assertThat(rtc.read(CmosRtc.HOURS)).as(where()).isEqualTo(0x12);
    }
  }

  // ------------------------------------------------------------------ ACPI PM blocks

  static final class AcpiRig extends Rig {
    boolean sci;
    int softOffs;
    final AcpiPm pm = new AcpiPm(clock, timers, high -> sci = high, () -> softOffs++);

    @Override
    void poke() {
      if (rnd.nextInt(40) == 0) {
        note("power button");
        pm.pressPowerButton();
        return;
      }
      portAccess(pm, new int[] {0xB000, 0xB001, 0xB002, 0xB003, 0xB004, 0xB005, 0xB008,
          0xB009, 0xB00A, 0xB00B}, new int[] {0xAFFF, 0xB006, 0xB007, 0xB00C, 0xB00F},
          this::value);
    }

    @Override
    void checkState() {
      assertThat(pm.pm1Status() & ~AcpiPm.STS_BITS).as("%s: PM1_STS", where()).isZero();
      assertThat(pm.pm1Enable() & ~AcpiPm.EN_BITS).as("%s: PM1_EN", where()).isZero();
      assertThat(pm.pm1Control() & AcpiPm.SCI_EN).as("%s: SCI_EN", where()).isNotZero();
      assertThat(pm.timerValue()).as("%s: PM_TMR", where())
          .isEqualTo((int) (clock.ticksAt(cycles, AcpiPm.TIMER_HZ) & 0xFF_FFFF));
      assertThat(pm.sciAsserted()).as("%s: SCI level", where())
          .isEqualTo((pm.pm1Status() & pm.pm1Enable()) != 0).isEqualTo(sci);
    }

    @Override
    void checkStillWorks() {
      pm.out(AcpiPm.PM1A_EVT_BLK, 2, 0xFFFF);
      pm.out(AcpiPm.PM1A_EVT_BLK + 2, 2, AcpiPm.TMR_STS);
      assertThat(sci).as("%s: SCI after clearing", where()).isFalse();
      long ticks = clock.ticksAt(cycles, AcpiPm.TIMER_HZ);
      long flip = ((ticks >>> 23) + 1) << 23;
      stepTo(clock.cycleOfTick(flip, AcpiPm.TIMER_HZ) - 1);
      assertThat(sci).as("%s: SCI before bit 23 flips", where()).isFalse();
      stepTo(clock.cycleOfTick(flip, AcpiPm.TIMER_HZ) + 1);
      assertThat(sci).as("%s: SCI when bit 23 flips", where()).isTrue();
    }
  }

  // ------------------------------------------------------------------ HPET

  static final class HpetRig extends Rig {
    final int[] rises = new int[16];
    final boolean[] levels = new boolean[16];
    final Hpet hpet = new Hpet(clock, timers, (irq, high) -> {
      assertThat(irq).as("%s: HPET line", where()).isBetween(0, 15).isNotEqualTo(2);
      if (high && !levels[irq]) {
        rises[irq]++;
      }
      levels[irq] = high;
    });
    private static final int[] REGISTERS = {0x00, 0x04, 0x10, 0x14, 0x20, 0x24, 0xF0, 0xF4,
        0x100, 0x104, 0x108, 0x10C, 0x110, 0x114, 0x120, 0x124, 0x128, 0x12C, 0x130, 0x134,
        0x140, 0x144, 0x148, 0x14C, 0x150, 0x154, 0x160, 0x168, 0x3F8, 0x3FC};
    private static final int TN_BITS = Hpet.TN_LEVEL | Hpet.TN_INT_ENABLE | Hpet.TN_PERIODIC
        | Hpet.TN_VAL_SET | Hpet.TN_32BIT | Hpet.TN_ROUTE_MASK | Hpet.TN_PERIODIC_CAP
        | Hpet.TN_SIZE_CAP;

    /** A 64-bit value near one of the counter's wraps, or small. */
    long wrapValue() {
      long near = switch (rnd.nextInt(4)) {
        case 0 -> 0;
        case 1 -> 1L << 32;
        case 2 -> 1L << 63;
        default -> rnd.nextLong();
      };
      return near + rnd.nextInt(2001) - 1000;
    }

    void write64(int reg, long v) {
      hpet.write(reg, 4, (int) v);
      hpet.write(reg + 4, 4, (int) (v >>> 32));
    }

    @Override
    void poke() {
      if (rnd.nextInt(10) == 0) {
        // A driver's sequence with hostile numbers: halt, load the counter, set a timer's
        // mode, comparator and period, start again.
        int t = Hpet.TIMER0 + rnd.nextInt(Hpet.TIMERS) * Hpet.TIMER_STRIDE;
        long counter = wrapValue();
        int conf = Hpet.TN_INT_ENABLE | rnd.nextInt(2) * Hpet.TN_PERIODIC
            | rnd.nextInt(2) * Hpet.TN_32BIT | rnd.nextInt(2) * Hpet.TN_LEVEL
            | rnd.nextInt(16) << Hpet.TN_ROUTE_SHIFT;
        long cmp = rnd.nextBoolean() ? counter + rnd.nextInt(2000) - 1000 : wrapValue();
        long period = rnd.nextBoolean() ? 1 + rnd.nextInt(3) : wrapValue();
        note(String.format("driver: counter 0x%x timer 0x%x conf 0x%x cmp 0x%x period 0x%x",
            counter, t, conf, cmp, period));
        hpet.write(Hpet.GEN_CONF, 4, 0);
        write64(Hpet.MAIN_COUNTER, counter);
        hpet.write(t, 4, conf | Hpet.TN_VAL_SET);
        write64(t + Hpet.TN_COMPARATOR, cmp);
        write64(t + Hpet.TN_COMPARATOR, period);
        hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE | rnd.nextInt(2) * Hpet.CONF_LEGACY);
        return;
      }
      mmioAccess(hpet, REGISTERS, Hpet.SIZE, () -> switch (rnd.nextInt(6)) {
        // Comparators and periods just ahead of (or behind) the counter, tiny periods.
        case 0 -> (int) hpet.counter() + rnd.nextInt(2000) - 100;
        case 1 -> rnd.nextInt(3);
        // Timer configurations: enable, periodic, 32-bit, set-value, level, any route.
        case 2 -> rnd.nextInt(1 << 14);
        // Counter halves near the wraps: 2^32, 2^63, 2^64.
        case 3 -> rnd.nextBoolean() ? -1 - rnd.nextInt(3) : 0x8000_0000 | rnd.nextInt(3);
        default -> value();
      });
    }

    @Override
    void checkState() {
      assertThat(hpet.read(Hpet.GEN_CONF, 4) & ~3).as("%s: GEN_CONF", where()).isZero();
      assertThat(hpet.read(Hpet.GINTR_STA, 4) & ~7).as("%s: status", where()).isZero();
      for (int t = 0; t < Hpet.TIMERS; t++) {
        int base = Hpet.TIMER0 + t * Hpet.TIMER_STRIDE;
        int conf = hpet.read(base, 4);
        assertThat(conf & ~TN_BITS).as("%s: timer %d config 0x%x", where(), t, conf).isZero();
        if ((conf & Hpet.TN_32BIT) != 0) {
          assertThat(hpet.read(base + Hpet.TN_COMPARATOR + 4, 4))
              .as("%s: 32-bit timer %d comparator high half", where(), t).isZero();
        }
      }
    }

    @Override
    void checkStillWorks() {
      hpet.write(Hpet.GEN_CONF, 4, 0);
      for (int t = 0; t < Hpet.TIMERS; t++) {
        hpet.write(Hpet.TIMER0 + t * Hpet.TIMER_STRIDE, 4, 0);
      }
      hpet.write(Hpet.GINTR_STA, 4, 7);
      hpet.write(Hpet.MAIN_COUNTER, 4, 0);
      hpet.write(Hpet.MAIN_COUNTER + 4, 4, 0);
      // Timer 2, 64-bit one-shot on IRQ 5, 1000 ticks (10 us) after enabling.
      int t2 = Hpet.TIMER0 + 2 * Hpet.TIMER_STRIDE;
      hpet.write(t2, 4, Hpet.TN_INT_ENABLE | 5 << Hpet.TN_ROUTE_SHIFT);
      hpet.write(t2 + Hpet.TN_COMPARATOR, 4, 1000);
      hpet.write(t2 + Hpet.TN_COMPARATOR + 4, 4, 0);
      java.util.Arrays.fill(rises, 0);
      hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE);
      stepTo(cycles + 9_900);
      assertThat(rises[5]).as("%s: one-shot early", where()).isZero();
      stepTo(cycles + 200);
      assertThat(rises[5]).as("%s: one-shot", where()).isEqualTo(1);
      stepTo(cycles + 100_000);
      assertThat(rises[5]).as("%s: one-shot fires once", where()).isEqualTo(1);
      // Timer 0, periodic every 1000 ticks from a halted counter at 0, in legacy replacement
      // mode on IRQ 0. TN_VAL_SET lets each comparator half through once.
      hpet.write(Hpet.GEN_CONF, 4, 0);
      hpet.write(Hpet.MAIN_COUNTER, 4, 0);
      hpet.write(Hpet.MAIN_COUNTER + 4, 4, 0);
      int conf = Hpet.TN_INT_ENABLE | Hpet.TN_PERIODIC | Hpet.TN_VAL_SET;
      hpet.write(Hpet.TIMER0, 4, conf);
      hpet.write(Hpet.TIMER0 + Hpet.TN_COMPARATOR, 4, 1000);
      hpet.write(Hpet.TIMER0, 4, conf);
      hpet.write(Hpet.TIMER0 + Hpet.TN_COMPARATOR + 4, 4, 0);
      hpet.write(Hpet.GEN_CONF, 4, Hpet.CONF_ENABLE | Hpet.CONF_LEGACY);
      rises[0] = 0;
      stepTo(cycles + 100_000 + 5_000);
      assertThat(rises[0]).as("%s: periodic edges in 10 periods", where()).isBetween(10, 11);
    }
  }

  // ------------------------------------------------------------------ I/O APIC

  static final class IoApicRig extends Rig {
    final List<String> deliveries = new ArrayList<>();
    final IoApic ioapic = new IoApic((gsi, dest, logical, mode, vector, level) -> {
      assertThat(vector).as("%s: vector", where()).isBetween(0, 255);
      deliveries.add(mode + "/0x" + Integer.toHexString(vector));
      return true;
    });
    private static final int[] REGISTERS = {0x00, 0x00, 0x10, 0x10, 0x20, 0x40, 0xF0};

    @Override
    void poke() {
      switch (rnd.nextInt(10)) {
        case 0 -> {
          int pin = rnd.nextInt(IoApic.PINS);
          boolean high = rnd.nextBoolean();
          note("pin " + pin + (high ? " high" : " low"));
          ioapic.setLevel(pin, high);
        }
        case 1 -> {
          int vector = rnd.nextInt(256);
          note("EOI 0x" + Integer.toHexString(vector));
          ioapic.eoi(vector);
        }
        default -> mmioAccess(ioapic, REGISTERS, IoApic.SIZE, () -> switch (rnd.nextInt(4)) {
          // IOREGSEL: the ID, version and arbitration registers, every entry, past them.
          case 0 -> rnd.nextInt(0x70);
          case 1 -> rnd.nextInt(256);
          default -> value();
        });
      }
    }

    @Override
    void checkState() {
      assertThat(ioapic.read(IoApic.IOREGSEL, 4) & ~0xFF).as("%s: IOREGSEL", where()).isZero();
      assertThat(ioapic.id()).as("%s: ID", where()).isBetween(0, 15);
      for (int pin = 0; pin < IoApic.PINS; pin++) {
        int low = ioapic.redirectionLow(pin);
        assertThat(low & ~(IoApic.LOW_WRITABLE | IoApic.REMOTE_IRR))
            .as("%s: entry %d low 0x%x", where(), pin, low).isZero();
        if ((low & IoApic.TRIGGER_LEVEL) == 0) {
          assertThat(low & IoApic.REMOTE_IRR).as("%s: remote IRR of edge entry %d", where(),
              pin).isZero();
        }
        assertThat(ioapic.redirectionHigh(pin) & ~IoApic.HIGH_WRITABLE)
            .as("%s: entry %d high", where(), pin).isZero();
      }
    }

    private void program(int pin, int low) {
      ioapic.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * pin + 1);
      ioapic.write(IoApic.IOWIN, 4, 0);
      ioapic.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * pin);
      ioapic.write(IoApic.IOWIN, 4, low);
    }

    @Override
    void checkStillWorks() {
      for (int pin = 0; pin < IoApic.PINS; pin++) {
        ioapic.setLevel(pin, false);
        program(pin, IoApic.MASKED);
      }
      deliveries.clear();
      program(7, 0x37);
      ioapic.setLevel(7, true);
      ioapic.setLevel(7, false);
      assertThat(deliveries).as("%s: edge pin 7", where()).containsExactly("FIXED/0x37");
      deliveries.clear();
      program(20, 0x55 | IoApic.TRIGGER_LEVEL);
      ioapic.setLevel(20, true);
      ioapic.setLevel(20, true);
      assertThat(deliveries).as("%s: level pin 20", where()).containsExactly("FIXED/0x55");
      ioapic.eoi(0x55);
      assertThat(deliveries).as("%s: level pin 20 still high at EOI", where()).hasSize(2);
      ioapic.setLevel(20, false);
      ioapic.eoi(0x55);
      assertThat(deliveries).as("%s: level pin 20 low at EOI", where()).hasSize(2);
    }
  }

  // ------------------------------------------------------------------ local APIC

  static final class LapicRig extends Rig {
    final LocalApic lapic = new LocalApic(0, clock, timers);
    private static final int[] REGISTERS = {0x20, 0x30, 0x80, 0x90, 0xA0, 0xB0, 0xD0, 0xE0,
        0xF0, 0x100, 0x170, 0x180, 0x200, 0x270, 0x280, 0x300, 0x310, 0x320, 0x320, 0x330,
        0x340, 0x350, 0x360, 0x370, 0x380, 0x380, 0x390, 0x3E0, 0x3E0, 0x3F0, 0xFF0};

    @Override
    void poke() {
      switch (rnd.nextInt(20)) {
        case 0 -> {
          long v = rnd.nextBoolean() ? LocalApic.MSR_VALUE ^ (rnd.nextBoolean() ? 0x800 : 0)
              : rnd.nextLong();
          note("APIC base <- 0x" + Long.toHexString(v));
          lapic.writeApicBase(v);
        }
        case 1 -> {
          int vector = rnd.nextInt(256);
          note("accept 0x" + Integer.toHexString(vector));
          lapic.accept(vector, rnd.nextBoolean());
        }
        case 2 -> {
          int v = lapic.acknowledge();
          note("INTA -> " + v);
          assertThat(v).as("%s: vector", where()).isBetween(-1, 255);
        }
        case 3 -> {
          note("INIT");
          lapic.init();
        }
        case 4, 5 -> {
          // The timer as a driver programs it, down to a period of one bus cycle.
          int lvt = rnd.nextInt(256) | rnd.nextInt(4) << 16;
          int divide = rnd.nextInt(16);
          int initial = rnd.nextBoolean() ? 1 + rnd.nextInt(4) : value();
          note(String.format("timer lvt 0x%x divide 0x%x initial 0x%x", lvt, divide, initial));
          lapic.write(LocalApic.LVT_TIMER, 4, lvt);
          lapic.write(LocalApic.TIMER_DIVIDE, 4, divide);
          lapic.write(LocalApic.TIMER_INITIAL, 4, initial);
        }
        default -> mmioAccess(lapic, REGISTERS, LocalApic.SIZE, () -> switch (rnd.nextInt(5)) {
          // Timer LVT: any vector, masked or not, one-shot or periodic.
          case 0 -> rnd.nextInt(256) | rnd.nextInt(8) << 16;
          // Initial counts and divide configurations down to one cycle.
          case 1 -> rnd.nextInt(4);
          case 2 -> LocalApic.SVR_ENABLE | rnd.nextInt(256);
          default -> value();
        });
      }
    }

    @Override
    void checkState() {
      int pending = lapic.pendingVector();
      assertThat(pending == -1 || pending >= 16 && pending <= 255)
          .as("%s: pending vector %d", where(), pending).isTrue();
      if (!lapic.globallyEnabled()) {
        assertThat(lapic.read(LocalApic.TPR, 4)).as("%s: disabled window", where())
            .isEqualTo(-1);
        return;
      }
      assertThat(lapic.read(LocalApic.TPR, 4) & ~0xFF).as("%s: TPR", where()).isZero();
      assertThat(lapic.read(LocalApic.PPR, 4) & ~0xFF).as("%s: PPR", where()).isZero();
      assertThat(lapic.read(LocalApic.SVR, 4) & ~0x3FF).as("%s: SVR", where()).isZero();
      assertThat(lapic.read(LocalApic.TIMER_DIVIDE, 4) & ~0xB).as("%s: divide", where())
          .isZero();
      assertThat(lapic.read(LocalApic.LVT_TIMER, 4) & ~(0x3_00FF | LocalApic.LVT_MASKED))
          .as("%s: timer LVT", where()).isZero();
      for (int reg = LocalApic.LVT_THERMAL; reg <= LocalApic.LVT_ERROR; reg += 0x10) {
        // LINT0 and LINT1 also hold polarity and trigger mode (bits 13 and 15).
        int writable = reg == LocalApic.LVT_LINT0 || reg == LocalApic.LVT_LINT1 ? 0x1_A7FF
            : reg == LocalApic.LVT_ERROR ? 0x1_00FF : 0x1_07FF;
        assertThat(lapic.read(reg, 4) & ~writable).as("%s: LVT 0x%x", where(), reg).isZero();
      }
      long initial = lapic.read(LocalApic.TIMER_INITIAL, 4) & 0xFFFF_FFFFL;
      long current = lapic.read(LocalApic.TIMER_CURRENT, 4) & 0xFFFF_FFFFL;
      assertThat(current).as("%s: current count", where()).isLessThanOrEqualTo(initial);
    }

    @Override
    void checkStillWorks() {
      if (!lapic.writeApicBase(LocalApic.MSR_VALUE)) {
        lapic.writeApicBase(0);
        assertThat(lapic.writeApicBase(LocalApic.MSR_VALUE)).as(where()).isTrue();
      }
      lapic.write(LocalApic.SVR, 4, LocalApic.SVR_ENABLE | 0xFF);
      lapic.write(LocalApic.TPR, 4, 0);
      lapic.write(LocalApic.LVT_TIMER, 4, LocalApic.LVT_MASKED);
      for (int k = 0; k < 300 && lapic.acknowledge() >= 0; k++) {
        lapic.write(LocalApic.EOI, 4, 0);
      }
      for (int k = 0; k < 256; k++) {
        lapic.write(LocalApic.EOI, 4, 0);
      }
      assertThat(lapic.pendingVector()).as("%s: drained", where()).isEqualTo(-1);
      // One-shot of 1000 bus cycles, divide by 1.
      lapic.write(LocalApic.TIMER_DIVIDE, 4, 0xB);
      lapic.write(LocalApic.LVT_TIMER, 4, 0x40);
      lapic.write(LocalApic.TIMER_INITIAL, 4, 1000);
      stepTo(cycles + 999);
      assertThat(lapic.pendingVector()).as("%s: one-shot early", where()).isEqualTo(-1);
      stepTo(cycles + 2);
      assertThat(lapic.acknowledge()).as("%s: one-shot", where()).isEqualTo(0x40);
      lapic.write(LocalApic.EOI, 4, 0);
      // Periodic, 500 cycles divided by 2: one interrupt per 1000 cycles.
      lapic.write(LocalApic.TIMER_DIVIDE, 4, 0);
      lapic.write(LocalApic.LVT_TIMER, 4, 0x41 | LocalApic.LVT_TIMER_PERIODIC);
      lapic.write(LocalApic.TIMER_INITIAL, 4, 500);
      for (int k = 0; k < 10; k++) {
        stepTo(cycles + 1000);
        assertThat(lapic.acknowledge()).as("%s: period %d", where(), k).isEqualTo(0x41);
        lapic.write(LocalApic.EOI, 4, 0);
      }
    }
  }
}
