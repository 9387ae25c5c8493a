package org.hospes.hv.platform;

import org.hospes.hv.time.Timer;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.hospes.x86.IoBus;
import org.hospes.x86.PortDevice;

/**
 * The ACPI fixed-hardware registers of an HVM PC (ACPI 6.x, 4.8), at the I/O ports Xen's
 * hvmloader gives them (and its FADT names): the PM1a event block at 0xB000 (PM1_STS, then
 * PM1_EN), the PM1a control block at 0xB004 (PM1_CNT) and the PM timer at 0xB008. The timer
 * and the event block are Xen's {@code pmtimer.c}; the control block is what QEMU's PIIX4 power
 * management does for Xen.
 *
 * <ul>
 *   <li>PM_TMR counts at 3.579545 MHz on the virtual clock, 24 bits wide (the FADT's TMR_VAL_EXT
 *       is 0). Each change of its bit 23 sets TMR_STS.
 *   <li>PM1_STS bits are cleared by writing 1 (TMR_STS, BM_STS, GBL_STS, PWRBTN_STS,
 *       SLPBTN_STS, RTC_STS, WAK_STS); PM1_EN enables TMR, GBL, PWRBTN, SLPBTN and RTC. The SCI
 *       (ISA IRQ 9, level, as the FADT's SCI_INT says) is asserted while an enabled status bit is
 *       set.
 *   <li>PM1_CNT: SCI_EN reads 1 (there is no SMI command port: the machine is always in ACPI
 *       mode); BM_RLD is stored; GBL_RLS is write-only and sets GBL_STS, as firmware answering
 *       the global lock would; SLP_TYP is stored; writing SLP_EN with SLP_TYP = {@link #SLP_TYP_S5}
 *       (the DSDT's \_S5) powers the domain off. Other sleep types are not offered by the DSDT;
 *       a request for one is counted and ignored.
 * </ul>
 *
 * <p>Accesses of any width are taken byte by byte, as the registers are laid out in bytes.
 */
public final class AcpiPm implements PortDevice {
  public static final int PM1A_EVT_BLK = 0xB000;
  public static final int PM1A_CNT_BLK = 0xB004;
  public static final int PM_TMR_BLK = 0xB008;
  public static final int PM1_EVT_LEN = 4;
  public static final int PM1_CNT_LEN = 2;
  public static final int PM_TMR_LEN = 4;
  /** The SCI's ISA IRQ (FADT SCI_INT). */
  public static final int SCI_IRQ = 9;
  /** 3.579545 MHz, the PM timer's frequency (ACPI 6.x, 4.8.3.3). */
  public static final long TIMER_HZ = 3_579_545L;

  // PM1_STS / PM1_EN bits.
  public static final int TMR_STS = 1 << 0;
  public static final int BM_STS = 1 << 4;
  public static final int GBL_STS = 1 << 5;
  public static final int PWRBTN_STS = 1 << 8;
  public static final int SLPBTN_STS = 1 << 9;
  public static final int RTC_STS = 1 << 10;
  public static final int WAK_STS = 1 << 15;
  static final int STS_BITS = TMR_STS | BM_STS | GBL_STS | PWRBTN_STS | SLPBTN_STS | RTC_STS
      | WAK_STS;
  static final int EN_BITS = TMR_STS | GBL_STS | PWRBTN_STS | SLPBTN_STS | RTC_STS;

  // PM1_CNT bits.
  public static final int SCI_EN = 1 << 0;
  public static final int BM_RLD = 1 << 1;
  public static final int GBL_RLS = 1 << 2;
  public static final int SLP_TYP_SHIFT = 10;
  public static final int SLP_TYP_MASK = 7 << SLP_TYP_SHIFT;
  public static final int SLP_EN = 1 << 13;
  /** The SLP_TYP of S5 (soft off), as the DSDT's \_S5 package gives it (PIIX4's value). */
  public static final int SLP_TYP_S5 = 0;

  /** Told when the guest enters a sleep state this platform implements (S5). */
  public interface Sleep {
    void softOff();
  }

  /** The SCI line (an ISA IRQ the platform wires to the PIC and the I/O APIC). */
  public interface SciLine {
    void setLevel(boolean high);
  }

  private final VirtualClock clock;
  private final Timer msbTimer;
  private final SciLine sci;
  private final Sleep sleep;
  private int status;
  private int enable;
  private int control = SCI_EN;
  /** TMR_STS as of {@link #msbEpoch}: bit 23 of the counter at the last clear. */
  private long msbEpoch;
  private boolean sciLevel;
  private long unsupportedSleeps;

  public AcpiPm(VirtualClock clock, TimerQueue timers, SciLine sci, Sleep sleep) {
    this.clock = clock;
    this.sci = sci;
    this.sleep = sleep;
    this.msbTimer = timers.newTimer("pmtimer.msb", this::msbToggled);
  }

  /** Claims the event, control and timer blocks. */
  public void register(IoBus io) {
    io.register(PM1A_EVT_BLK, PM1_EVT_LEN, this);
    io.register(PM1A_CNT_BLK, PM1_CNT_LEN, this);
    io.register(PM_TMR_BLK, PM_TMR_LEN, this);
  }

  /** Ticks of the 3.579545 MHz clock so far. */
  private long ticks() {
    return clock.ticksAt(clock.now(), TIMER_HZ);
  }

  /** The 24-bit PM_TMR value now. */
  public int timerValue() {
    return (int) (ticks() & 0xFF_FFFF);
  }

  /** PM1_STS as software reads it. */
  public int pm1Status() {
    if ((ticks() >>> 23) != msbEpoch) {
      status |= TMR_STS;
    }
    return status;
  }

  public int pm1Enable() {
    return enable;
  }

  public int pm1Control() {
    return control;
  }

  /** True while the SCI is asserted. */
  public boolean sciAsserted() {
    return sciLevel;
  }

  /** Sleep requests for states this platform does not offer (S1-S4). */
  public long unsupportedSleeps() {
    return unsupportedSleeps;
  }

  /** The power button was pressed: PWRBTN_STS, and the SCI if enabled. */
  public void pressPowerButton() {
    status |= PWRBTN_STS;
    updateSci();
  }

  @Override
  public int in(int port, int size) {
    int v = 0;
    for (int i = 0; i < size; i++) {
      v |= readByte(port + i) << (8 * i);
    }
    return v;
  }

  @Override
  public void out(int port, int size, int value) {
    for (int i = 0; i < size; i++) {
      writeByte(port + i, (value >>> (8 * i)) & 0xFF);
    }
  }

  private int readByte(int port) {
    int off = port - PM1A_EVT_BLK;
    switch (off) {
      case 0: case 1: return pm1Status() >>> (8 * off) & 0xFF;
      case 2: case 3: return enable >>> (8 * (off - 2)) & 0xFF;
      case 4: case 5: return control >>> (8 * (off - 4)) & 0xFF;
      case 8: case 9: case 10: return timerValue() >>> (8 * (off - 8)) & 0xFF;
      case 11: return 0; // the timer's high byte: 24-bit timer
      default: return 0xFF;
    }
  }

  private void writeByte(int port, int b) {
    int off = port - PM1A_EVT_BLK;
    switch (off) {
      case 0: case 1: {
        int clear = (b << (8 * off)) & STS_BITS;
        if ((clear & TMR_STS) != 0) {
          msbEpoch = ticks() >>> 23;
        }
        status = pm1Status() & ~clear;
        updateSci();
        break;
      }
      case 2: case 3: {
        int shift = 8 * (off - 2);
        enable = (enable & ~(0xFF << shift)) | ((b << shift) & EN_BITS);
        armMsbTimer();
        updateSci();
        break;
      }
      case 4:
        if ((b & GBL_RLS) != 0) {
          // The OS released the global lock: firmware would be told by GBL_STS.
          status |= GBL_STS;
          updateSci();
        }
        control = (control & ~BM_RLD) | (b & BM_RLD) | SCI_EN;
        break;
      case 5: {
        int high = b << 8;
        control = (control & ~SLP_TYP_MASK) | (high & SLP_TYP_MASK);
        if ((high & SLP_EN) != 0) {
          int type = (high & SLP_TYP_MASK) >>> SLP_TYP_SHIFT;
          if (type == SLP_TYP_S5) {
            sleep.softOff();
          } else {
            unsupportedSleeps++;
          }
        }
        break;
      }
      default:
        break; // the timer is read-only
    }
  }

  private void armMsbTimer() {
    msbTimer.cancel();
    if ((enable & TMR_STS) != 0 && (status & TMR_STS) == 0) {
      long next = ((ticks() >>> 23) + 1) << 23;
      msbTimer.arm(clock.cycleOfTick(next, TIMER_HZ));
    }
  }

  private void msbToggled(long now) {
    pm1Status();
    updateSci();
  }

  private void updateSci() {
    boolean level = (pm1Status() & enable & EN_BITS) != 0;
    if (level != sciLevel) {
      sciLevel = level;
      sci.setLevel(level);
    }
    armMsbTimer();
  }
}
