package org.hospes.hv.platform;

import org.hospes.x86.InterruptController;
import org.hospes.x86.IoBus;
import org.hospes.x86.PortDevice;

/**
 * The PC's two cascaded Intel 8259A programmable interrupt controllers: the master at ports
 * 0x20-0x21 takes IRQ 0-7, the slave at 0xA0-0xA1 takes IRQ 8-15 and drives the master's IR2.
 * Also the PIIX edge/level control registers (ELCR) at 0x4D0-0x4D1.
 *
 * <p>Devices drive input lines with {@link #setLevel}, {@link #raise} and {@link #lower}; the
 * processor samples {@link #pending()} (INTR) and runs {@link #acknowledge()} (the two INTA
 * cycles). Implemented from the 8259A data sheet:
 *
 * <ul>
 *   <li>initialization with ICW1-ICW4 (single or cascade mode, edge or level triggering, vector
 *       base, auto-EOI, special fully nested mode on the master);
 *   <li>OCW1 (interrupt mask), OCW2 (non-specific, specific and rotating EOIs, set priority,
 *       rotate in auto-EOI mode), OCW3 (read IRR or ISR, poll, special mask mode);
 *   <li>fully nested priority with optional rotation, and the slave's requests entering at the
 *       master's IR2 priority;
 *   <li>spurious interrupts: if a request disappears before the acknowledge (a level-triggered
 *       line dropped), the chip answers with its IR7 vector and sets no ISR bit. For the slave
 *       that is IRQ 15, and the master still puts IR2 in service, so the handler must send the
 *       master an EOI, as on real hardware.
 * </ul>
 *
 * <p>Power-on state: a real 8259A is undefined until initialized. Here both chips start masked
 * (IMR = 0xFF) with vector base 0, so nothing is delivered before a kernel has sent ICW1, which
 * clears the mask as the data sheet says. There is no firmware on the native machine to program
 * the chips the way a BIOS would.
 *
 * <p>Not modelled: the MCS-80/85 mode of ICW4 (the chips always act in 8086 mode), buffered mode
 * (it only concerns the chip's bus drivers) and the ADI bit.
 */
public final class Pic8259Pair implements InterruptController, PortDevice {

  public static final int MASTER_COMMAND = 0x20;
  public static final int MASTER_DATA = 0x21;
  public static final int SLAVE_COMMAND = 0xA0;
  public static final int SLAVE_DATA = 0xA1;
  public static final int ELCR_MASTER = 0x4D0;
  public static final int ELCR_SLAVE = 0x4D1;

  /** The master input the slave's INT output is wired to. */
  public static final int CASCADE_IRQ = 2;

  // ICW1 bits (written to the command port with bit 4 set).
  public static final int ICW1_IC4 = 0x01;
  public static final int ICW1_SNGL = 0x02;
  public static final int ICW1_ADI = 0x04;
  public static final int ICW1_LTIM = 0x08;
  public static final int ICW1_INIT = 0x10;

  // ICW4 bits.
  public static final int ICW4_8086 = 0x01;
  public static final int ICW4_AEOI = 0x02;
  public static final int ICW4_MASTER = 0x04;
  public static final int ICW4_BUF = 0x08;
  public static final int ICW4_SFNM = 0x10;

  // OCW2 (bits 4 and 3 clear): R, SL and EOI in bits 7-5, the level in bits 2-0.
  public static final int OCW2_NONSPECIFIC_EOI = 0x20;
  public static final int OCW2_SPECIFIC_EOI = 0x60;
  public static final int OCW2_ROTATE_NONSPECIFIC_EOI = 0xA0;
  public static final int OCW2_SET_ROTATE_AEOI = 0x80;
  public static final int OCW2_CLEAR_ROTATE_AEOI = 0x00;
  public static final int OCW2_ROTATE_SPECIFIC_EOI = 0xE0;
  public static final int OCW2_SET_PRIORITY = 0xC0;

  // OCW3 (bit 4 clear, bit 3 set).
  public static final int OCW3 = 0x08;
  public static final int OCW3_READ_IRR = 0x0A;
  public static final int OCW3_READ_ISR = 0x0B;
  public static final int OCW3_POLL = 0x0C;
  public static final int OCW3_SET_SMM = 0x68;
  public static final int OCW3_CLEAR_SMM = 0x48;

  /** IRQs 0, 1, 2, 8 and 13 are always edge-triggered on a PIIX: their ELCR bits are fixed 0. */
  private static final int ELCR_WRITABLE_MASTER = 0xF8;
  private static final int ELCR_WRITABLE_SLAVE = 0xDE;

  /** One 8259A. */
  static final class Chip {
    final boolean isMaster;
    /** Interrupt request, in-service and mask registers. */
    int irr;
    int isr;
    int imr = 0xFF;
    /** The current level of each IR input. */
    int lines;
    int elcr;
    int vectorBase;
    int icw1;
    int icw3;
    int icw4;
    /** 0 when initialized; else the ICW expected next (2, 3 or 4). */
    int initStep;
    /** The IR with the lowest priority; the one after it (mod 8) has the highest. */
    int lowest = 7;
    boolean rotateOnAutoEoi;
    boolean readIsr;
    boolean pollNext;
    boolean specialMask;
    /** The INT output, recomputed after every change. */
    boolean intOut;

    Chip(boolean isMaster) {
      this.isMaster = isMaster;
    }

    int levelMask() {
      return (icw1 & ICW1_LTIM) != 0 ? 0xFF : elcr;
    }

    boolean autoEoi() {
      return (icw4 & ICW4_AEOI) != 0;
    }

    boolean cascaded() {
      return isMaster && (icw1 & ICW1_SNGL) == 0 && (icw3 & (1 << CASCADE_IRQ)) != 0;
    }

    /** Priority rank of IR {@code irq}: 0 is the highest. */
    int rank(int irq) {
      return (irq - lowest - 1) & 7;
    }

    /** The highest-priority IR in {@code bits}, or -1. */
    int highest(int bits) {
      if (bits == 0) {
        return -1;
      }
      for (int k = 0; k < 8; k++) {
        int irq = (lowest + 1 + k) & 7;
        if ((bits & (1 << irq)) != 0) {
          return irq;
        }
      }
      return -1;
    }

    /**
     * The IR this chip would interrupt for now, or -1: the highest-priority unmasked request that
     * outranks everything in service (in special mask mode, masked in-service levels do not count;
     * with special fully nested mode on the master, the cascade input does not block itself).
     */
    int deliverable() {
      int req = highest(irr & ~imr);
      if (req < 0) {
        return -1;
      }
      int blocking = isr;
      if (specialMask) {
        blocking &= ~imr;
      }
      if (isMaster && (icw4 & ICW4_SFNM) != 0 && req == CASCADE_IRQ) {
        blocking &= ~(1 << CASCADE_IRQ);
      }
      int svc = highest(blocking);
      return svc < 0 || rank(req) < rank(svc) ? req : -1;
    }

    /** An input changed level. */
    void input(int irq, boolean high) {
      int bit = 1 << irq;
      if ((levelMask() & bit) != 0) {
        // Level-triggered: IRR follows the line.
        if (high) {
          irr |= bit;
          lines |= bit;
        } else {
          irr &= ~bit;
          lines &= ~bit;
        }
        return;
      }
      // Edge-triggered: a low-to-high transition latches the request. The latched request stays
      // when the line drops again, until it is acknowledged (the data sheet asks devices to hold
      // the line until then; chipsets latch).
      if (high) {
        if ((lines & bit) == 0) {
          irr |= bit;
        }
        lines |= bit;
      } else {
        lines &= ~bit;
      }
    }

    /** The INTA of this chip for {@code irq}: moves the request in service (or ends it with AEOI). */
    void acknowledge(int irq) {
      int bit = 1 << irq;
      if ((levelMask() & bit) == 0) {
        irr &= ~bit;
      }
      if (autoEoi()) {
        if (rotateOnAutoEoi) {
          lowest = irq;
        }
      } else {
        isr |= bit;
      }
    }

    void eoi(int irq, boolean rotate) {
      if (irq < 0) {
        return;
      }
      isr &= ~(1 << irq);
      if (rotate) {
        lowest = irq;
      }
    }

    void writeElcr(int value) {
      elcr = value;
      int lm = levelMask();
      irr = (irr & ~lm) | (lines & lm);
    }

    /** ICW1: the data sheet's initialization reset. */
    void startInit(int value) {
      icw1 = value;
      icw3 = 0;
      icw4 = 0;
      initStep = 2;
      imr = 0;
      isr = 0;
      // The edge-sense circuit is reset: an edge-triggered line already high must go low and high
      // again; level-triggered lines that are high request at once.
      irr = lines & levelMask();
      lowest = 7;
      rotateOnAutoEoi = false;
      readIsr = false;
      pollNext = false;
      specialMask = false;
    }

    void writeCommand(int value) {
      if ((value & ICW1_INIT) != 0) {
        startInit(value);
      } else if ((value & OCW3) != 0) {
        if ((value & 0x02) != 0) {
          readIsr = (value & 0x01) != 0;
        }
        if ((value & 0x04) != 0) {
          pollNext = true;
        }
        if ((value & 0x40) != 0) {
          specialMask = (value & 0x20) != 0;
        }
      } else {
        int level = value & 7;
        switch (value & 0xE0) {
          case OCW2_NONSPECIFIC_EOI -> eoi(highest(isr), false);
          case OCW2_SPECIFIC_EOI -> eoi(level, false);
          case OCW2_ROTATE_NONSPECIFIC_EOI -> eoi(highest(isr), true);
          case OCW2_ROTATE_SPECIFIC_EOI -> eoi(level, true);
          case OCW2_SET_PRIORITY -> lowest = level;
          case OCW2_SET_ROTATE_AEOI -> rotateOnAutoEoi = true;
          case OCW2_CLEAR_ROTATE_AEOI -> rotateOnAutoEoi = false;
          default -> { } // 0x40: no operation
        }
      }
    }

    void writeData(int value) {
      switch (initStep) {
        case 2 -> {
          vectorBase = value & 0xF8;
          initStep = (icw1 & ICW1_SNGL) == 0 ? 3 : (icw1 & ICW1_IC4) != 0 ? 4 : 0;
        }
        case 3 -> {
          icw3 = value;
          initStep = (icw1 & ICW1_IC4) != 0 ? 4 : 0;
        }
        case 4 -> {
          icw4 = value;
          initStep = 0;
        }
        default -> imr = value;
      }
    }
  }

  private final Chip master = new Chip(true);
  private final Chip slave = new Chip(false);
  /** The INTR line, kept current so that {@link #pending()} is a field read. */
  private boolean intr;
  private long acknowledged;
  private long spurious;

  /** Claims the command/data ports of both chips and the two ELCR ports. */
  public void register(IoBus io) {
    io.register(MASTER_COMMAND, 2, this);
    io.register(SLAVE_COMMAND, 2, this);
    io.register(ELCR_MASTER, 2, this);
  }

  // ------------------------------------------------------------------ device side

  /** Drives input line {@code irq} (0-15) to {@code high}. */
  public void setLevel(int irq, boolean high) {
    checkIrq(irq);
    if (irq < 8) {
      master.input(irq, high);
    } else {
      slave.input(irq - 8, high);
    }
    update();
  }

  public void raise(int irq) {
    setLevel(irq, true);
  }

  public void lower(int irq) {
    setLevel(irq, false);
  }

  /** A rising edge followed by the line going low again (an edge-triggered device's pulse). */
  public void pulse(int irq) {
    setLevel(irq, true);
    setLevel(irq, false);
  }

  /** True when {@code irq} is masked in its chip's IMR (or, for IRQ 8-15, the cascade is). */
  public boolean isMasked(int irq) {
    checkIrq(irq);
    if (irq < 8) {
      return (master.imr & (1 << irq)) != 0;
    }
    return (slave.imr & (1 << (irq - 8))) != 0 || (master.imr & (1 << CASCADE_IRQ)) != 0;
  }

  // ------------------------------------------------------------------ processor side

  @Override
  public boolean pending() {
    return intr;
  }

  @Override
  public int acknowledge() {
    acknowledged++;
    int irq = master.deliverable();
    if (irq < 0) {
      // The request went away between INTR and INTA: the 8259A answers with IR7, not in service.
      spurious++;
      return master.vectorBase | 7;
    }
    master.acknowledge(irq);
    int vector;
    if (irq == CASCADE_IRQ && master.cascaded()) {
      int sirq = slave.deliverable();
      if (sirq < 0) {
        spurious++;
        vector = slave.vectorBase | 7;
      } else {
        slave.acknowledge(sirq);
        vector = slave.vectorBase | sirq;
      }
    } else {
      vector = master.vectorBase | irq;
    }
    update();
    return vector;
  }

  /** INTA cycles so far, spurious ones included. */
  public long acknowledgeCount() {
    return acknowledged;
  }

  /** Acknowledges answered with a spurious IR7 vector (IRQ 7 or IRQ 15). */
  public long spuriousCount() {
    return spurious;
  }

  // ------------------------------------------------------------------ ports

  @Override
  public int in(int port, int size) {
    // A wider access reads consecutive ports, as the ISA bus splits it into byte cycles.
    int v = 0;
    for (int k = 0; k < size; k++) {
      v |= readByte(port + k) << (8 * k);
    }
    return v;
  }

  private int readByte(int port) {
    return switch (port) {
      case MASTER_COMMAND -> readCommand(master);
      case MASTER_DATA -> master.imr;
      case SLAVE_COMMAND -> readCommand(slave);
      case SLAVE_DATA -> slave.imr;
      case ELCR_MASTER -> master.elcr;
      case ELCR_SLAVE -> slave.elcr;
      default -> 0xFF;
    };
  }

  @Override
  public void out(int port, int size, int value) {
    for (int k = 0; k < size; k++) {
      writeByte(port + k, (value >>> (8 * k)) & 0xFF);
    }
    update();
  }

  private void writeByte(int port, int v) {
    switch (port) {
      case MASTER_COMMAND -> master.writeCommand(v);
      case MASTER_DATA -> master.writeData(v);
      case SLAVE_COMMAND -> slave.writeCommand(v);
      case SLAVE_DATA -> slave.writeData(v);
      case ELCR_MASTER -> master.writeElcr(v & ELCR_WRITABLE_MASTER);
      case ELCR_SLAVE -> slave.writeElcr(v & ELCR_WRITABLE_SLAVE);
      default -> { }
    }
  }

  private int readCommand(Chip chip) {
    if (chip.pollNext) {
      chip.pollNext = false;
      return poll(chip);
    }
    return chip.readIsr ? chip.isr : chip.irr;
  }

  /**
   * Poll mode: the read is this chip's interrupt acknowledge. Bit 7 says whether an interrupt was
   * pending, bits 2-0 give its level.
   */
  private int poll(Chip chip) {
    int irq = chip.deliverable();
    if (irq < 0) {
      return 0;
    }
    chip.acknowledge(irq);
    update();
    return 0x80 | irq;
  }

  /** Propagates the slave's INT output to the master's IR2, then recomputes INTR. */
  private void update() {
    boolean slaveOut = slave.deliverable() >= 0;
    if (slaveOut != slave.intOut) {
      slave.intOut = slaveOut;
      master.input(CASCADE_IRQ, slaveOut);
    }
    master.intOut = master.deliverable() >= 0;
    intr = master.intOut;
  }

  private static void checkIrq(int irq) {
    if (irq < 0 || irq > 15) {
      throw new IllegalArgumentException("IRQ out of range: " + irq);
    }
  }

  // ------------------------------------------------------------------ inspection, for tests

  /** IRR of the master (bits 0-7) and slave (bits 8-15). */
  public int irr() {
    return master.irr | slave.irr << 8;
  }

  /** ISR of the master (bits 0-7) and slave (bits 8-15). */
  public int isr() {
    return master.isr | slave.isr << 8;
  }

  /** IMR of the master (bits 0-7) and slave (bits 8-15). */
  public int imr() {
    return master.imr | slave.imr << 8;
  }
}
