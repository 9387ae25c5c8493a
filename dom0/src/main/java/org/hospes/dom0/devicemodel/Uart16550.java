package org.hospes.dom0.devicemodel;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.Objects;
import org.hospes.x86.PortDevice;

/**
 * A PC16550D UART as found at the PC's COM ports: enough of it that polling and interrupt-driven
 * drivers (the Linux 8250 driver included) find it, print through it and read from it.
 *
 * <p>The serial line is infinitely fast: a byte written to THR is on the host stream at once, so
 * THRE and TEMT are always set. Bytes from the host wait in an unbounded backlog and move into the
 * receive FIFO (16 bytes, or 1 with the FIFO disabled) as the guest drains it, so host input is
 * never lost to overrun; loopback bytes go straight into the FIFO and can overrun it, as on the
 * chip.
 *
 * <p>The device is addressed by {@code port & 7}: the eight registers sit at 8-aligned bases on a
 * PC, so the device need not know which COM port it is. Wider accesses are split into byte
 * accesses at consecutive ports, as the ISA bus does.
 */
public final class Uart16550 implements PortDevice {

  public static final int COM1_BASE = 0x3F8;
  public static final int COM2_BASE = 0x2F8;
  /** Ports claimed per UART. */
  public static final int PORT_COUNT = 8;
  /**
   * One byte access on the bus a PC's UART sits on (ISA, later LPC), in nanoseconds: port
   * 0x80's, which is on the same bus, as Adams and Agesen measured it (3,209 cycles at
   * 3.8 GHz, ASPLOS'06, figure 4's native {@code in}). An 8-bit ISA I/O cycle takes six bus
   * clocks at 8.33 MHz (720 ns), the same order; the chip's own read cycle (tens of ns) is not
   * what limits it. Wider accesses are that many byte cycles, as the bus splits them.
   */
  public static final int BYTE_CYCLE_NS = 845;

  // Register offsets from the base port (16550D datasheet, table 2).
  /** Receiver buffer (read, DLAB=0). */
  public static final int RBR = 0;
  /** Transmitter holding register (write, DLAB=0). */
  public static final int THR = 0;
  /** Divisor latch, low byte (DLAB=1). */
  public static final int DLL = 0;
  /** Interrupt enable (DLAB=0). */
  public static final int IER = 1;
  /** Divisor latch, high byte (DLAB=1). */
  public static final int DLM = 1;
  /** Interrupt identification (read). */
  public static final int IIR = 2;
  /** FIFO control (write). */
  public static final int FCR = 2;
  public static final int LCR = 3;
  public static final int MCR = 4;
  public static final int LSR = 5;
  public static final int MSR = 6;
  public static final int SCR = 7;

  // IER bits.
  public static final int IER_RX_DATA = 0x01;
  public static final int IER_THR_EMPTY = 0x02;
  public static final int IER_LINE_STATUS = 0x04;
  public static final int IER_MODEM_STATUS = 0x08;
  private static final int IER_MASK = 0x0F;

  // IIR values: bit 0 clear means an interrupt is pending; bits 3:1 say which, highest first.
  public static final int IIR_NO_INTERRUPT = 0x01;
  public static final int IIR_LINE_STATUS = 0x06;
  public static final int IIR_RX_DATA = 0x04;
  public static final int IIR_RX_TIMEOUT = 0x0C;
  public static final int IIR_THR_EMPTY = 0x02;
  public static final int IIR_MODEM_STATUS = 0x00;
  /** Bits 7:6 both set when the FIFOs are enabled. */
  public static final int IIR_FIFO_ENABLED = 0xC0;

  // FCR bits.
  public static final int FCR_ENABLE_FIFO = 0x01;
  public static final int FCR_CLEAR_RX = 0x02;
  public static final int FCR_CLEAR_TX = 0x04;
  public static final int FCR_DMA_MODE = 0x08;
  public static final int FCR_TRIGGER_MASK = 0xC0;
  private static final int[] TRIGGER_LEVELS = {1, 4, 8, 14};

  // LCR bits.
  public static final int LCR_WORD_LENGTH_MASK = 0x03;
  public static final int LCR_TWO_STOP_BITS = 0x04;
  public static final int LCR_PARITY_ENABLE = 0x08;
  public static final int LCR_EVEN_PARITY = 0x10;
  public static final int LCR_STICK_PARITY = 0x20;
  public static final int LCR_BREAK = 0x40;
  /** Divisor latch access bit: offsets 0 and 1 address the divisor instead of RBR/THR/IER. */
  public static final int LCR_DLAB = 0x80;

  // MCR bits.
  public static final int MCR_DTR = 0x01;
  public static final int MCR_RTS = 0x02;
  public static final int MCR_OUT1 = 0x04;
  /** On a PC, OUT2 gates the UART's interrupt onto the ISA IRQ line. */
  public static final int MCR_OUT2 = 0x08;
  public static final int MCR_LOOPBACK = 0x10;
  private static final int MCR_MASK = 0x1F;

  // LSR bits.
  public static final int LSR_DATA_READY = 0x01;
  public static final int LSR_OVERRUN = 0x02;
  public static final int LSR_PARITY_ERROR = 0x04;
  public static final int LSR_FRAMING_ERROR = 0x08;
  public static final int LSR_BREAK = 0x10;
  public static final int LSR_THR_EMPTY = 0x20;
  public static final int LSR_TRANSMITTER_EMPTY = 0x40;
  public static final int LSR_FIFO_ERROR = 0x80;
  private static final int LSR_ERRORS = LSR_OVERRUN | LSR_PARITY_ERROR | LSR_FRAMING_ERROR
      | LSR_BREAK;

  // MSR bits: deltas in the low nibble, line states in the high one.
  public static final int MSR_DELTA_CTS = 0x01;
  public static final int MSR_DELTA_DSR = 0x02;
  public static final int MSR_TRAILING_EDGE_RI = 0x04;
  public static final int MSR_DELTA_DCD = 0x08;
  public static final int MSR_CTS = 0x10;
  public static final int MSR_DSR = 0x20;
  public static final int MSR_RI = 0x40;
  public static final int MSR_DCD = 0x80;
  /** A host terminal is always attached and ready. */
  private static final int MSR_LINES_CONNECTED = MSR_CTS | MSR_DSR | MSR_DCD;

  private static final int FIFO_SIZE = 16;
  private static final int OUTPUT_BUFFER = 4096;

  private final OutputStream sink;
  private final IrqLine irq;

  private int ier;
  private int lcr;
  private int mcr;
  private int scr;
  private int fcr;
  /** Reset value 12 is 9600 baud from the PC's 1.8432 MHz clock; nothing here depends on it. */
  private int divisor = 12;
  private int lineErrors;
  /** The current MSR: line states from the host (or from MCR in loopback) plus latched deltas. */
  private int msr = MSR_LINES_CONNECTED;
  /** Set when THR becomes empty; cleared by reading IIR while it is the reported cause. */
  private boolean thrEmptyInterrupt;
  private boolean irqAsserted;

  private final ArrayDeque<Byte> rxFifo = new ArrayDeque<>();
  private final ArrayDeque<Byte> hostBacklog = new ArrayDeque<>();

  private final byte[] outputBuffer = new byte[OUTPUT_BUFFER];
  private int outputLength;
  private boolean sinkFailed;
  private long transmitted;

  /** A UART whose transmitted bytes go to {@code sink} and whose interrupt goes nowhere. */
  public Uart16550(OutputStream sink) {
    this(sink, IrqLine.NONE);
  }

  public Uart16550(OutputStream sink, IrqLine irq) {
    this.sink = Objects.requireNonNull(sink, "sink");
    this.irq = Objects.requireNonNull(irq, "irq");
  }

  /** Queues bytes from the host as if they arrived on the line. */
  public void queueInput(byte[] bytes) {
    for (byte b : bytes) {
      hostBacklog.add(b);
    }
    refillFromHost();
    updateIrq();
  }

  /** Bytes the guest has transmitted (loopback excluded). */
  public long transmitted() {
    return transmitted;
  }

  /** Bytes queued from the host that the guest has not read yet. */
  public int pendingInput() {
    return rxFifo.size() + hostBacklog.size();
  }

  /**
   * Pushes buffered output to the sink. The UART flushes by itself at each newline and when its
   * buffer fills; the machine calls this between run slices so that prompts appear too.
   */
  public void flush() {
    if (outputLength == 0 || sinkFailed) {
      outputLength = 0;
      return;
    }
    try {
      sink.write(outputBuffer, 0, outputLength);
      sink.flush();
    } catch (IOException e) {
      // The host end went away (a closed pipe): behave like an unplugged cable, not a crash.
      sinkFailed = true;
    }
    outputLength = 0;
  }

  /** Master reset (MR pin): registers to their datasheet reset values; SCR and divisor keep. */
  public void reset() {
    ier = 0;
    lcr = 0;
    mcr = 0;
    fcr = 0;
    lineErrors = 0;
    msr = MSR_LINES_CONNECTED;
    thrEmptyInterrupt = false;
    rxFifo.clear();
    updateIrq();
  }

  @Override
  public int in(int port, int size) {
    int value = 0;
    for (int i = 0; i < size; i++) {
      int offset = (port & 7) + i;
      int b = offset < PORT_COUNT ? readRegister(offset) : 0xFF;
      value |= b << (8 * i);
    }
    return value;
  }

  @Override
  public void out(int port, int size, int value) {
    for (int i = 0; i < size; i++) {
      int offset = (port & 7) + i;
      if (offset < PORT_COUNT) {
        writeRegister(offset, (value >>> (8 * i)) & 0xFF);
      }
    }
  }

  @Override
  public int accessNanos(int port, int size) {
    return size * BYTE_CYCLE_NS;
  }

  private int readRegister(int offset) {
    boolean dlab = (lcr & LCR_DLAB) != 0;
    int value;
    switch (offset) {
      case RBR -> value = dlab ? divisor & 0xFF : readReceiveBuffer();
      case IER -> value = dlab ? divisor >>> 8 : ier;
      case IIR -> value = readInterruptIdentification();
      case LCR -> value = lcr;
      case MCR -> value = mcr;
      case LSR -> value = readLineStatus();
      case MSR -> {
        value = msr;
        msr &= ~(MSR_DELTA_CTS | MSR_DELTA_DSR | MSR_TRAILING_EDGE_RI | MSR_DELTA_DCD);
      }
      case SCR -> value = scr;
      default -> throw new AssertionError(offset);
    }
    updateIrq();
    return value;
  }

  private void writeRegister(int offset, int value) {
    boolean dlab = (lcr & LCR_DLAB) != 0;
    switch (offset) {
      case THR -> {
        if (dlab) {
          divisor = (divisor & 0xFF00) | value;
        } else {
          transmit(value);
        }
      }
      case IER -> {
        if (dlab) {
          divisor = (divisor & 0x00FF) | value << 8;
        } else {
          int enabled = value & IER_MASK & ~ier;
          ier = value & IER_MASK;
          // Enabling the THRE interrupt while THR is empty (always, here) raises it at once.
          if ((enabled & IER_THR_EMPTY) != 0) {
            thrEmptyInterrupt = true;
          }
        }
      }
      case FCR -> writeFifoControl(value);
      case LCR -> lcr = value;
      case MCR -> writeModemControl(value & MCR_MASK);
      case LSR, MSR -> {
        // Read-only on the 16550 (writable only in factory test modes); ignore.
      }
      case SCR -> scr = value;
      default -> throw new AssertionError(offset);
    }
    updateIrq();
  }

  private int readReceiveBuffer() {
    Byte b = rxFifo.poll();
    refillFromHost();
    return b == null ? 0 : b & 0xFF;
  }

  private int readInterruptIdentification() {
    int id = pendingInterrupt();
    if (id == IIR_THR_EMPTY) {
      // Reading IIR acknowledges a THRE interrupt (datasheet table 4).
      thrEmptyInterrupt = false;
    }
    return id | (fifoEnabled() ? IIR_FIFO_ENABLED : 0);
  }

  private int readLineStatus() {
    int value = LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY | lineErrors;
    if (!rxFifo.isEmpty()) {
      value |= LSR_DATA_READY;
    }
    // Errors are reported once: reading LSR clears them and their interrupt.
    lineErrors = 0;
    return value;
  }

  private void writeFifoControl(int value) {
    boolean toggled = ((value ^ fcr) & FCR_ENABLE_FIFO) != 0;
    if (toggled || (value & FCR_CLEAR_RX) != 0) {
      rxFifo.clear();
    }
    // Clear bits self-clear; the transmit side holds nothing to clear.
    fcr = value & (FCR_ENABLE_FIFO | FCR_DMA_MODE | FCR_TRIGGER_MASK);
    refillFromHost();
  }

  private void writeModemControl(int value) {
    mcr = value;
    int oldLines = msr & 0xF0;
    int lines;
    if ((mcr & MCR_LOOPBACK) != 0) {
      // Loopback wires the modem outputs back to the inputs: RTS->CTS, DTR->DSR, OUT1->RI,
      // OUT2->DCD. Drivers probe for a real 16550 this way.
      lines = ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0)
          | ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0)
          | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0)
          | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
    } else {
      lines = MSR_LINES_CONNECTED;
    }
    int changed = oldLines ^ lines;
    int deltas = ((changed & MSR_CTS) != 0 ? MSR_DELTA_CTS : 0)
        | ((changed & MSR_DSR) != 0 ? MSR_DELTA_DSR : 0)
        | ((changed & MSR_DCD) != 0 ? MSR_DELTA_DCD : 0)
        | ((oldLines & MSR_RI) != 0 && (lines & MSR_RI) == 0 ? MSR_TRAILING_EDGE_RI : 0);
    msr = lines | (msr & 0x0F) | deltas;
  }

  private void transmit(int value) {
    thrEmptyInterrupt = true;
    if ((mcr & MCR_LOOPBACK) != 0) {
      receive((byte) value);
      return;
    }
    transmitted++;
    outputBuffer[outputLength++] = (byte) value;
    if (value == '\n' || outputLength == outputBuffer.length) {
      flush();
    }
  }

  /** A byte arrives from the line (here only through loopback); a full FIFO overruns. */
  private void receive(byte b) {
    if (rxFifo.size() >= fifoCapacity()) {
      lineErrors |= LSR_OVERRUN;
      return;
    }
    rxFifo.add(b);
  }

  private void refillFromHost() {
    while (!hostBacklog.isEmpty() && rxFifo.size() < fifoCapacity()) {
      rxFifo.add(hostBacklog.poll());
    }
  }

  private boolean fifoEnabled() {
    return (fcr & FCR_ENABLE_FIFO) != 0;
  }

  private int fifoCapacity() {
    return fifoEnabled() ? FIFO_SIZE : 1;
  }

  /** The highest-priority enabled interrupt as an IIR value (datasheet table 4). */
  private int pendingInterrupt() {
    if ((ier & IER_LINE_STATUS) != 0 && lineErrors != 0) {
      return IIR_LINE_STATUS;
    }
    if ((ier & IER_RX_DATA) != 0 && !rxFifo.isEmpty()) {
      // There is no time here, so data below the trigger level is reported as the character
      // timeout it would become; drivers treat both the same way.
      int trigger = TRIGGER_LEVELS[(fcr & FCR_TRIGGER_MASK) >>> 6];
      return !fifoEnabled() || rxFifo.size() >= trigger ? IIR_RX_DATA : IIR_RX_TIMEOUT;
    }
    if ((ier & IER_THR_EMPTY) != 0 && thrEmptyInterrupt) {
      return IIR_THR_EMPTY;
    }
    if ((ier & IER_MODEM_STATUS) != 0 && (msr & 0x0F) != 0) {
      return IIR_MODEM_STATUS;
    }
    return IIR_NO_INTERRUPT;
  }

  private void updateIrq() {
    boolean level = (mcr & MCR_OUT2) != 0 && pendingInterrupt() != IIR_NO_INTERRUPT;
    if (level != irqAsserted) {
      irqAsserted = level;
      irq.set(level);
    }
  }
}
