package org.hospes.hv.platform;

import org.hospes.hv.platform.ApicBus.DeliveryMode;
import org.hospes.x86.MmioDevice;

/**
 * An I/O APIC at 0xFEC00000 as Xen's HVM vioapic presents one (82093AA datasheet; version 0x11,
 * 48 pins as Xen's VIOAPIC_NUM_PINS): the index register IOREGSEL at offset 0x00, the data
 * window IOWIN at 0x10, the ID, version and arbitration registers, and one 64-bit redirection
 * entry per pin (two registers from index 0x10).
 *
 * <p>A redirection entry holds the vector (bits 7-0), the delivery mode (10-8: fixed,
 * lowest-priority, SMI, NMI, INIT, ExtINT), the destination mode (11: physical 0, logical 1),
 * the read-only delivery status (12), the polarity (13), the read-only remote IRR (14), the
 * trigger mode (15: edge 0, level 1), the mask (16) and the destination (63-56). Entries start
 * masked.
 *
 * <ul>
 *   <li>An edge-triggered pin delivers on each rising edge while unmasked; an edge while masked is
 *       lost, as on the part.
 *   <li>A level-triggered pin delivers while its line is asserted, unmasked and remote IRR is
 *       clear, and sets remote IRR. The local APIC that accepted it sets the vector's TMR bit and
 *       broadcasts its EOI ({@link #eoi}): remote IRR clears, and a line still asserted delivers
 *       again. Unmasking an asserted level pin delivers too.
 * </ul>
 *
 * <p>Lines are given as asserted or not; the polarity bit is kept for software and not applied
 * (as in Xen's vioapic, devices report the logical level). Delivery is instant, so the delivery
 * status bit reads 0. SMI, INIT and the reserved modes are not delivered; each is counted
 * ({@link #undeliverable()}). NMI and ExtINT go to the bus, whose local APICs decide.
 */
public final class IoApic implements MmioDevice {
  public static final long BASE = 0xFEC0_0000L;
  /** The register window: IOREGSEL, IOWIN (Xen's VIOAPIC_MEM_LENGTH is 0x100). */
  public static final long SIZE = 0x100;
  public static final int PINS = 48;
  public static final int VERSION = 0x11;
  /** The ID after reset (the MADT's I/O APIC entry says the same). */
  public static final int DEFAULT_ID = 0;

  // Direct registers (offsets in the window).
  public static final int IOREGSEL = 0x00;
  public static final int IOWIN = 0x10;

  // Indirect registers (IOREGSEL values).
  public static final int REG_ID = 0x00;
  public static final int REG_VERSION = 0x01;
  public static final int REG_ARBITRATION = 0x02;
  public static final int REG_REDIRECTION = 0x10;

  // Redirection entry bits (low doubleword).
  public static final int VECTOR_MASK = 0xFF;
  public static final int DELIVERY_MODE_SHIFT = 8;
  public static final int DEST_LOGICAL = 1 << 11;
  public static final int DELIVERY_STATUS = 1 << 12;
  public static final int POLARITY_LOW = 1 << 13;
  public static final int REMOTE_IRR = 1 << 14;
  public static final int TRIGGER_LEVEL = 1 << 15;
  public static final int MASKED = 1 << 16;
  /** The bits software writes in the low doubleword: all but delivery status and remote IRR. */
  static final int LOW_WRITABLE = 0x1_AFFF;
  /** The high doubleword holds the destination in bits 31-24; the rest is reserved. */
  static final int HIGH_WRITABLE = 0xFF00_0000;

  private final ApicBus bus;
  private final int[] low = new int[PINS];
  private final int[] high = new int[PINS];
  /** Input line levels, one bit per pin. */
  private long asserted;
  private int id = DEFAULT_ID;
  private int select;
  private long delivered;
  private long undeliverable;
  private long badAccesses;
  /** Told after every write of pin 0's redirection entry (the PIC's ExtINT route). */
  private Runnable pin0Written = () -> { };

  public IoApic(ApicBus bus) {
    this.bus = bus;
    java.util.Arrays.fill(low, MASKED);
  }

  /** The GSI an ISA IRQ reaches: its own number, except IRQ 0 (the PIT), which is wired to 2. */
  public static int isaGsi(int isaIrq) {
    return isaIrq == 0 ? 2 : isaIrq;
  }

  // ---------------------------------------------------------------- device side

  /** Drives input {@code pin} (0-47): asserted or not. */
  public void setLevel(int pin, boolean high) {
    if (pin < 0 || pin >= PINS) {
      throw new IllegalArgumentException("I/O APIC pin " + pin + " (0-" + (PINS - 1) + ")");
    }
    long bit = 1L << pin;
    boolean was = (asserted & bit) != 0;
    if (high) {
      asserted |= bit;
    } else {
      asserted &= ~bit;
    }
    if (!high) {
      return;
    }
    int entry = low[pin];
    if ((entry & TRIGGER_LEVEL) != 0) {
      serviceLevel(pin);
    } else if (!was && (entry & MASKED) == 0) {
      send(pin, entry);
    }
  }

  /** True if input {@code pin} is asserted. */
  public boolean isAsserted(int pin) {
    return (asserted & (1L << pin)) != 0;
  }

  /**
   * The EOI a local APIC broadcasts for a level-triggered {@code vector}: every level entry with
   * that vector and remote IRR set has it cleared and, if its line is still asserted and it is
   * unmasked, delivers again.
   */
  public void eoi(int vector) {
    for (int pin = 0; pin < PINS; pin++) {
      int entry = low[pin];
      if ((entry & REMOTE_IRR) != 0 && (entry & VECTOR_MASK) == vector) {
        low[pin] = entry & ~REMOTE_IRR;
        serviceLevel(pin);
      }
    }
  }

  private void serviceLevel(int pin) {
    int entry = low[pin];
    if ((entry & (MASKED | REMOTE_IRR)) == 0 && (entry & TRIGGER_LEVEL) != 0
        && isAsserted(pin)) {
      if (send(pin, entry)) {
        low[pin] |= REMOTE_IRR;
      }
    }
  }

  private boolean send(int pin, int entry) {
    DeliveryMode mode = DeliveryMode.of(entry >>> DELIVERY_MODE_SHIFT);
    switch (mode) {
      case FIXED, LOWEST_PRIORITY, NMI, EXTINT -> { }
      default -> {
        // SMI (no SMM here), INIT (not a device's business) and the reserved encodings.
        undeliverable++;
        return false;
      }
    }
    boolean ok = bus.deliver(pin, high[pin] >>> 24, (entry & DEST_LOGICAL) != 0, mode,
        entry & VECTOR_MASK, (entry & TRIGGER_LEVEL) != 0);
    if (ok) {
      delivered++;
    } else {
      undeliverable++;
    }
    return ok;
  }

  /** True if some redirection entry is unmasked: a timer line may still get through. */
  public boolean anyUnmasked() {
    for (int pin = 0; pin < PINS; pin++) {
      if ((low[pin] & MASKED) == 0) {
        return true;
      }
    }
    return false;
  }

  /** Interrupts the bus accepted. */
  public long delivered() {
    return delivered;
  }

  /** Interrupts not delivered: no APIC took them, or a mode that is not modelled. */
  public long undeliverable() {
    return undeliverable;
  }

  /** Accesses the part does not decode (not 32 bits wide, or outside the two registers). */
  public long badAccesses() {
    return badAccesses;
  }

  /** Runs {@code listener} after each write of either half of pin 0's redirection entry. */
  public void onPin0Written(Runnable listener) {
    this.pin0Written = java.util.Objects.requireNonNull(listener);
  }

  /** The low doubleword of pin {@code pin}'s redirection entry. */
  public int redirectionLow(int pin) {
    return low[pin];
  }

  /** The high doubleword (destination in bits 31-24). */
  public int redirectionHigh(int pin) {
    return high[pin];
  }

  public int id() {
    return id;
  }

  // ---------------------------------------------------------------- registers

  @Override
  public int read(long offset, int size) {
    int value;
    int reg = (int) offset & ~3;
    if (reg == IOREGSEL) {
      value = select;
    } else if (reg == IOWIN) {
      value = readIndirect(select);
    } else {
      badAccesses++;
      return 0;
    }
    if (size != 4) {
      // Narrow reads get the bytes they cover; the datasheet asks for doublewords.
      int shift = (int) (offset & 3) * 8;
      return (value >>> shift) & (size == 2 ? 0xFFFF : 0xFF);
    }
    return value;
  }

  @Override
  public void write(long offset, int size, int value) {
    int reg = (int) offset & ~3;
    if (reg == IOREGSEL && (offset & 3) == 0) {
      // A byte write selects as well as a doubleword one: the register is 8 bits wide.
      select = value & 0xFF;
    } else if (reg == IOWIN && size == 4) {
      writeIndirect(select, value);
    } else {
      badAccesses++;
    }
  }

  private int readIndirect(int index) {
    switch (index) {
      case REG_ID:
      case REG_ARBITRATION:
        // The arbitration ID is loaded from the ID register (82093AA, 3.2.3).
        return id << 24;
      case REG_VERSION:
        return (PINS - 1) << 16 | VERSION;
      default:
        int pin = (index - REG_REDIRECTION) >> 1;
        if (index >= REG_REDIRECTION && pin < PINS) {
          return (index & 1) == 0 ? low[pin] : high[pin];
        }
        return 0;
    }
  }

  private void writeIndirect(int index, int value) {
    if (index == REG_ID) {
      id = value >>> 24 & 0xF;
      return;
    }
    int pin = (index - REG_REDIRECTION) >> 1;
    if (index < REG_REDIRECTION || pin >= PINS) {
      return; // version, arbitration and unimplemented registers are read-only
    }
    if ((index & 1) != 0) {
      high[pin] = value & HIGH_WRITABLE;
      if (pin == 0) {
        pin0Written.run();
      }
      return;
    }
    int old = low[pin];
    int entry = (old & ~LOW_WRITABLE) | (value & LOW_WRITABLE);
    if ((entry & TRIGGER_LEVEL) == 0) {
      // Remote IRR means nothing for an edge entry (Xen clears it on the switch).
      entry &= ~REMOTE_IRR;
    }
    low[pin] = entry;
    if (pin == 0) {
      // Xen's vioapic_write_redirent: pin 0's entry (either half) moves the i8259 target, and
      // is not serviced as a line.
      pin0Written.run();
      return;
    }
    // An asserted level line waiting behind the mask delivers when it is lifted.
    serviceLevel(pin);
  }
}
