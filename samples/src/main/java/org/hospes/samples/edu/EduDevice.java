package org.hospes.samples.edu;

import org.hospes.dom0.devicemodel.GuestDma;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.x86.MmioDevice;

/**
 * QEMU's educational PCI device ({@code -device edu}, QEMU's docs/specs/edu.rst), written from
 * its specification: PCI 1234:11e8, revision 0x10, class 0x00ff00, subsystem 1af4:1100, INTA#,
 * and BAR0, 1 MiB of 32-bit memory holding these registers:
 *
 * <pre>
 * 0x00 RO  identification 0x010000ed (major 1, minor 0)
 * 0x04 RW  liveness check: reads back the bitwise inverse of what was written
 * 0x08 RW  factorial: a write (while not computing) starts n!, read back when done
 * 0x20 RW  status: 0x01 computing (RO), 0x80 raise interrupt 0x1 when a factorial is done
 * 0x24 RO  interrupt status: the values that raised the interrupt, ORed
 * 0x60 WO  interrupt raise: ORed into the interrupt status, asserts INTA#
 * 0x64 WO  interrupt acknowledge: cleared from the interrupt status; INTA# drops at zero
 * 0x80 RW  DMA source address
 * 0x88 RW  DMA destination address
 * 0x90 RW  DMA count
 * 0x98 RW  DMA command: 0x1 start, 0x2 direction (0 RAM to device, 1 device to RAM),
 *          0x4 raise interrupt 0x100 when done
 * </pre>
 *
 * The device's side of a DMA is its 4 KiB buffer at bus address 0x40000; the RAM side is
 * masked to the DMA mask (28 bits by default, QEMU's {@code dma_mask}). Registers below 0x80
 * take 32-bit accesses only, the DMA registers 32 or 64; other accesses and offsets read all
 * ones and ignore writes. The DMA registers cannot be written while a transfer runs.
 *
 * <p>Where QEMU works asynchronously (a thread computes the factorial, a 100 ms timer runs the
 * DMA) this model finishes at once, on the write that starts the work: a driver that polls
 * the status or command register as the specification asks sees the same values, and the run
 * stays deterministic. A factorial is n! modulo 2^32, which is 0 from 34 up, so a hostile
 * n costs nothing. A transfer whose device side leaves the buffer, whose RAM side is outside
 * the domain, or that runs with bus mastering disabled moves nothing, raises no interrupt and
 * is counted; QEMU logs the first and stops the second. MSI is not offered (INTx only).
 */
public final class EduDevice implements MmioDevice {
  public static final int VENDOR = 0x1234;
  public static final int DEVICE = 0x11E8;
  public static final int REVISION = 0x10;
  /** Base class 0x00, subclass 0xff: QEMU's PCI_CLASS_OTHERS in the class word. */
  public static final int CLASS_CODE = 0x00_FF_00;
  public static final int SUBSYSTEM_VENDOR = 0x1AF4;
  public static final int SUBSYSTEM = 0x1100;
  public static final int BAR_SIZE = 1 << 20;

  public static final int REG_ID = 0x00;
  public static final int REG_LIVENESS = 0x04;
  public static final int REG_FACTORIAL = 0x08;
  public static final int REG_STATUS = 0x20;
  public static final int REG_IRQ_STATUS = 0x24;
  public static final int REG_IRQ_RAISE = 0x60;
  public static final int REG_IRQ_ACK = 0x64;
  public static final int REG_DMA_SRC = 0x80;
  public static final int REG_DMA_DST = 0x88;
  public static final int REG_DMA_COUNT = 0x90;
  public static final int REG_DMA_CMD = 0x98;

  public static final int ID = 0x010000ED;
  public static final int STATUS_COMPUTING = 0x01;
  public static final int STATUS_IRQ_FACT = 0x80;
  public static final int IRQ_FACT = 0x001;
  public static final int IRQ_DMA = 0x100;
  public static final int DMA_RUN = 0x1;
  public static final int DMA_TO_RAM = 0x2;
  public static final int DMA_IRQ = 0x4;
  public static final long DMA_BUFFER = 0x40000;
  public static final int DMA_BUFFER_SIZE = 4096;
  public static final long DEFAULT_DMA_MASK = (1L << 28) - 1;

  private final PciFunction function;
  private final GuestDma dma;
  private final long dmaMask;
  private final byte[] buffer = new byte[DMA_BUFFER_SIZE];

  private int liveness;
  private int factorial;
  private int status;
  private int irqStatus;
  private long dmaSrc;
  private long dmaDst;
  private long dmaCount;
  private long dmaCmd;

  private long mmioReads;
  private long mmioWrites;
  /** Accesses of the wrong size, and writes to read-only or unused offsets. */
  private long badAccesses;
  private long factorials;
  private long interrupts;
  private long transfers;
  private long bytesMoved;
  private long dmaErrors;

  /** A device doing DMA through {@code dma}, RAM addresses masked by {@code dmaMask}. */
  public EduDevice(GuestDma dma, long dmaMask) {
    this.dma = dma;
    this.dmaMask = dmaMask;
    this.function = new PciFunction("edu", VENDOR, DEVICE, REVISION, CLASS_CODE, 0x00)
        .memoryBar(0, BAR_SIZE, false, this)
        .interruptPin(1)
        .reset(PciFunction.SUBSYSTEM_VENDOR_ID, 2, SUBSYSTEM_VENDOR)
        .reset(PciFunction.SUBSYSTEM_VENDOR_ID + 2, 2, SUBSYSTEM);
  }

  public PciFunction function() {
    return function;
  }

  @Override
  public int read(long offset, int size) {
    mmioReads++;
    if (!sizeOk(offset, size)) {
      badAccesses++;
      return -1;
    }
    return switch ((int) offset) {
      case REG_ID -> ID;
      case REG_LIVENESS -> liveness;
      case REG_FACTORIAL -> factorial;
      case REG_STATUS -> status;
      case REG_IRQ_STATUS -> irqStatus;
      case REG_DMA_SRC -> (int) dmaSrc;
      case REG_DMA_DST -> (int) dmaDst;
      case REG_DMA_COUNT -> (int) dmaCount;
      case REG_DMA_CMD -> (int) dmaCmd;
      default -> -1;
    };
  }

  @Override
  public void write(long offset, int size, int value) {
    mmioWrites++;
    if (!sizeOk(offset, size)) {
      badAccesses++;
      return;
    }
    long v = value & 0xFFFF_FFFFL;
    switch ((int) offset) {
      case REG_LIVENESS -> liveness = ~value;
      case REG_FACTORIAL -> {
        if ((status & STATUS_COMPUTING) == 0) {
          computeFactorial(value);
        }
      }
      case REG_STATUS -> status = (status & ~STATUS_IRQ_FACT) | (value & STATUS_IRQ_FACT);
      case REG_IRQ_RAISE -> raise(value);
      case REG_IRQ_ACK -> acknowledge(value);
      case REG_DMA_SRC -> {
        if ((dmaCmd & DMA_RUN) == 0) {
          dmaSrc = v;
        }
      }
      case REG_DMA_DST -> {
        if ((dmaCmd & DMA_RUN) == 0) {
          dmaDst = v;
        }
      }
      case REG_DMA_COUNT -> {
        if ((dmaCmd & DMA_RUN) == 0) {
          dmaCount = v;
        }
      }
      case REG_DMA_CMD -> {
        // A command without the start bit is ignored, as is one while a transfer runs.
        if ((value & DMA_RUN) != 0 && (dmaCmd & DMA_RUN) == 0) {
          dmaCmd = v;
          runDma();
        }
      }
      default -> badAccesses++;
    }
  }

  /** 32-bit accesses below 0x80, 32 or 64 above; aligned ones, as the registers are. */
  private static boolean sizeOk(long offset, int size) {
    return offset < 0x80 ? size == 4 : size == 4 || size == 8;
  }

  private void computeFactorial(int n) {
    // n! mod 2^32 has at least 32 factors of two from 34 on: 0, with no loop to run.
    long un = n & 0xFFFF_FFFFL;
    int r = 1;
    if (un >= 34) {
      r = 0;
    } else {
      for (int i = 2; i <= un; i++) {
        r *= i;
      }
    }
    factorial = r;
    factorials++;
    // STATUS_COMPUTING would be set and cleared here: the work is done before the next read.
    if ((status & STATUS_IRQ_FACT) != 0) {
      raise(IRQ_FACT);
    }
  }

  private void raise(int value) {
    irqStatus |= value;
    interrupts++;
    function.setIrq(true);
  }

  private void acknowledge(int value) {
    irqStatus &= ~value;
    if (irqStatus == 0) {
      function.setIrq(false);
    }
  }

  private void runDma() {
    boolean toRam = (dmaCmd & DMA_TO_RAM) != 0;
    long deviceSide = toRam ? dmaSrc : dmaDst;
    long ramSide = (toRam ? dmaDst : dmaSrc) & dmaMask;
    long count = dmaCount;
    boolean ok = deviceSide >= DMA_BUFFER && count <= DMA_BUFFER_SIZE
        && deviceSide - DMA_BUFFER <= DMA_BUFFER_SIZE - count
        && (function.read(PciFunction.COMMAND, 2) & PciFunction.COMMAND_MASTER) != 0;
    if (ok) {
      int at = (int) (deviceSide - DMA_BUFFER);
      try {
        if (toRam) {
          dma.write(ramSide, buffer, at, (int) count);
        } else {
          dma.read(ramSide, buffer, at, (int) count);
        }
        transfers++;
        bytesMoved += count;
      } catch (IllegalArgumentException e) {
        ok = false; // RAM side outside the domain: a hostile or buggy driver
      }
    }
    dmaCmd &= ~DMA_RUN;
    if (!ok) {
      dmaErrors++;
      return;
    }
    if ((dmaCmd & DMA_IRQ) != 0) {
      raise(IRQ_DMA);
    }
  }

  /** The counters {@code --stats} and the tests read, in a fixed order. */
  public java.util.Map<String, Long> counters() {
    java.util.Map<String, Long> m = new java.util.LinkedHashMap<>();
    m.put("mmio_reads", mmioReads);
    m.put("mmio_writes", mmioWrites);
    m.put("bad_accesses", badAccesses);
    m.put("factorials", factorials);
    m.put("interrupts", interrupts);
    m.put("dma_transfers", transfers);
    m.put("dma_bytes", bytesMoved);
    m.put("dma_errors", dmaErrors);
    return m;
  }

  public int irqStatus() {
    return irqStatus;
  }
}
