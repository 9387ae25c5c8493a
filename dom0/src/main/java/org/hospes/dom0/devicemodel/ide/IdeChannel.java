package org.hospes.dom0.devicemodel.ide;

import java.io.IOException;
import org.hospes.dom0.devicemodel.GuestDma;
import org.hospes.dom0.devicemodel.IrqLine;

/**
 * One IDE channel (cable) with up to two ATA disks, as software sees it through the command
 * block (eight registers), the control block (alternate status / device control) and the
 * channel's eight bus-master IDE registers. Register semantics follow ATA/ATAPI-6 (T13/1410D):
 *
 * <ul>
 *   <li>The command block registers are latches both devices share; the 48-bit registers keep
 *       their previous value, which reads back while device control's HOB bit is set (a write
 *       to any command block register clears HOB).
 *   <li>Status and error belong to the selected device. With device 1 absent, device 0 answers
 *       for it and its status reads 00h (how software sees that device 1 is missing); a channel
 *       without devices floats (FFh).
 *   <li>A completion or a PIO block sets the device's interrupt pending: INTRQ (ISA IRQ 14 or
 *       15) follows it unless nIEN is set; reading Status or writing Command clears it, reading
 *       Alternate Status does not.
 *   <li>SRST in device control holds both devices busy; clearing it completes the reset: the
 *       ATA signature (count 1, LBA 1/0/0), diagnostic code 01h in error, DRDY.
 * </ul>
 *
 * <p>Bus-master DMA (PIIX, 82371SB datasheet 2.7.1 and 2.7.9): the host writes the physical
 * region descriptor table's address, the direction and then the start bit; the controller walks
 * the table (8 bytes each: base, byte count with 0 meaning 64 KiB, EOT in bit 31) through
 * {@link GuestDma}. Here the whole transfer happens at once when both the command and the start
 * bit are there; the table is read before any data moves. A descriptor or buffer outside the
 * domain's memory stops the transfer with the bus-master Error bit and ABRT. A table shorter
 * than the transfer moves nothing and ends the command with Active clear and no interrupt, as
 * SFF-8038i and QEMU have it. Hostile values never reach the image: addresses are checked
 * against the capacity first (IDNF), and no more than one 4 KiB table (512 descriptors) is read
 * per command.
 */
public final class IdeChannel {
  // Command block register offsets.
  public static final int DATA = 0;
  public static final int ERROR = 1;
  public static final int FEATURES = 1;
  public static final int SECTOR_COUNT = 2;
  public static final int LBA_LOW = 3;
  public static final int LBA_MID = 4;
  public static final int LBA_HIGH = 5;
  public static final int DEVICE = 6;
  public static final int STATUS = 7;
  public static final int COMMAND = 7;

  // Status register bits.
  public static final int BSY = 0x80;
  public static final int DRDY = 0x40;
  public static final int DF = 0x20;
  public static final int DSC = 0x10;
  public static final int DRQ = 0x08;
  public static final int ERR = 0x01;
  /** What a ready device shows between commands. */
  static final int READY = DRDY | DSC;

  // Error register bits.
  public static final int ABRT = 0x04;
  public static final int IDNF = 0x10;
  public static final int UNC = 0x40;
  /** Diagnostic code: device 0 passed, device 1 passed or absent. */
  static final int DIAGNOSTIC_PASSED = 0x01;

  // Device register bits.
  public static final int DEVICE_DEV = 0x10;
  public static final int DEVICE_LBA = 0x40;

  // Device control bits.
  public static final int NIEN = 0x02;
  public static final int SRST = 0x04;
  public static final int HOB = 0x80;

  // Bus-master IDE registers (offsets within the channel's eight) and bits.
  public static final int BM_COMMAND = 0;
  public static final int BM_STATUS = 2;
  public static final int BM_PRD = 4;
  public static final int BM_START = 0x01;
  /** Bus master writes memory (a device-to-host transfer, READ DMA). */
  public static final int BM_WRITE_MEMORY = 0x08;
  public static final int BM_ACTIVE = 0x01;
  public static final int BM_ERROR = 0x02;
  public static final int BM_INTERRUPT = 0x04;
  public static final int BM_DMA_CAPABLE = 0x60;

  /**
   * The most PRD entries read for one command: a 4 KiB table (the 82371SB's descriptor table
   * must not cross a 4 KiB boundary; QEMU's bus master stops reading at 4 KiB past the start).
   */
  private static final int MAX_PRDS = 4096 / 8;
  private static final int CHUNK = 65536;

  private enum Transfer { NONE, PIO_IN, PIO_OUT, DMA_IN, DMA_OUT }

  private final AtaDrive[] drives = new AtaDrive[2];
  private final IrqLine irq;
  private final GuestDma dma;
  private final IdeStats stats = new IdeStats();
  private final byte[] buf = new byte[CHUNK];

  // Task file latches and the previous values of the 48-bit registers.
  private int features;
  private int count;
  private int countPrev;
  private int lbaLow;
  private int lbaLowPrev;
  private int lbaMid;
  private int lbaMidPrev;
  private int lbaHigh;
  private int lbaHighPrev;
  private int device;
  private int control;
  private final int[] status = {READY, READY};
  private final int[] error = {DIAGNOSTIC_PASSED, DIAGNOSTIC_PASSED};
  private boolean interruptPending;
  private boolean irqDriven;

  private Transfer transfer = Transfer.NONE;
  private int transferDrive;
  private long transferLba;
  private int transferLeft;
  private int blockSectors;
  private int bufPos;
  private int bufLen;

  private int bmCommand;
  private int bmStatus;
  private int bmPrd;
  /** The PRD table of the running command, as read before any data moves. */
  private final long[] prdBase = new long[MAX_PRDS];
  private final int[] prdLength = new int[MAX_PRDS];

  public IdeChannel(IrqLine irq, GuestDma dma) {
    this.irq = irq;
    this.dma = dma;
  }

  /** Connects {@code drive} as device {@code devno} (0 master, 1 slave), or removes it (null). */
  public void attach(int devno, AtaDrive drive) {
    drives[devno] = drive;
    if (drive != null) {
      signature();
      status[devno] = READY;
      error[devno] = DIAGNOSTIC_PASSED;
    }
    if (selected() == devno) {
      endTransfer();
    }
  }

  public AtaDrive drive(int devno) {
    return drives[devno];
  }

  public IdeStats stats() {
    return stats;
  }

  private int selected() {
    return (device & DEVICE_DEV) != 0 ? 1 : 0;
  }

  private boolean empty() {
    return drives[0] == null && drives[1] == null;
  }

  // ---- command block ----

  /** Reads command block register {@code reg} (0-7); the data register moves PIO data. */
  public int readRegister(int reg, int size) {
    if (empty()) {
      return size == 1 ? 0xFF : size == 2 ? 0xFFFF : -1;
    }
    if (reg == DATA) {
      return readData(size);
    }
    boolean hob = (control & HOB) != 0;
    int dev = selected();
    return switch (reg) {
      case ERROR -> drives[dev] == null ? 0 : error[dev];
      case SECTOR_COUNT -> hob ? countPrev : count;
      case LBA_LOW -> hob ? lbaLowPrev : lbaLow;
      case LBA_MID -> hob ? lbaMidPrev : lbaMid;
      case LBA_HIGH -> hob ? lbaHighPrev : lbaHigh;
      case DEVICE -> device | 0xA0; // bits 7 and 5 are obsolete and read as one
      default -> {
        if (drives[dev] == null) {
          yield 0;
        }
        interruptPending = false;
        updateIrq();
        yield status[dev];
      }
    };
  }

  /** Writes command block register {@code reg}; writing {@link #COMMAND} runs a command. */
  public void writeRegister(int reg, int size, int value) {
    if (empty()) {
      return;
    }
    if (reg == DATA) {
      writeData(size, value);
      return;
    }
    value &= 0xFF;
    if ((status[selected()] & BSY) != 0 && reg != COMMAND) {
      return; // registers are not written while the device is busy
    }
    control &= ~HOB;
    switch (reg) {
      case FEATURES -> features = value;
      case SECTOR_COUNT -> {
        countPrev = count;
        count = value;
      }
      case LBA_LOW -> {
        lbaLowPrev = lbaLow;
        lbaLow = value;
      }
      case LBA_MID -> {
        lbaMidPrev = lbaMid;
        lbaMid = value;
      }
      case LBA_HIGH -> {
        lbaHighPrev = lbaHigh;
        lbaHigh = value;
      }
      case DEVICE -> device = value;
      default -> command(value);
    }
  }

  /** The alternate status register: status without clearing the pending interrupt. */
  public int readAltStatus() {
    if (empty()) {
      return 0xFF;
    }
    int dev = selected();
    return drives[dev] == null ? 0 : status[dev];
  }

  /** The device control register: nIEN, SRST and HOB. */
  public void writeControl(int value) {
    int old = control;
    control = value & (NIEN | SRST | HOB);
    if ((value & SRST) != 0 && (old & SRST) == 0) {
      endTransfer();
      status[0] = BSY;
      status[1] = BSY;
      interruptPending = false;
    } else if ((value & SRST) == 0 && (old & SRST) != 0) {
      for (int d = 0; d < 2; d++) {
        status[d] = READY;
        error[d] = DIAGNOSTIC_PASSED;
        if (drives[d] != null) {
          drives[d].reset();
        }
      }
      signature();
    }
    updateIrq();
  }

  /** The signature an ATA device leaves after reset and diagnostics (ATA-6 9.12). */
  private void signature() {
    count = 1;
    lbaLow = 1;
    lbaMid = 0;
    lbaHigh = 0;
    device = 0;
  }

  // ---- PIO data ----

  private int readData(int size) {
    int words = size == 4 ? 2 : 1;
    int v = 0;
    for (int i = 0; i < words; i++) {
      v |= readWord() << (16 * i);
    }
    stats.dataAccesses++;
    return size == 1 ? v & 0xFF : v;
  }

  private int readWord() {
    if (transfer != Transfer.PIO_IN || bufPos >= bufLen) {
      return 0xFFFF; // no DRQ: nothing drives the data lines
    }
    int v = (buf[bufPos] & 0xFF) | (buf[bufPos + 1] & 0xFF) << 8;
    bufPos += 2;
    if (bufPos == bufLen) {
      if (transferLeft > 0) {
        nextInBlock();
      } else {
        endTransfer();
        status[transferDrive] = READY;
      }
    }
    return v;
  }

  private void writeData(int size, int value) {
    stats.dataAccesses++;
    int words = size == 4 ? 2 : 1;
    for (int i = 0; i < words; i++) {
      writeWord(value >>> (16 * i));
    }
  }

  private void writeWord(int v) {
    if (transfer != Transfer.PIO_OUT || bufPos >= bufLen) {
      return;
    }
    buf[bufPos] = (byte) v;
    buf[bufPos + 1] = (byte) (v >>> 8);
    bufPos += 2;
    if (bufPos < bufLen) {
      return;
    }
    AtaDrive d = drives[transferDrive];
    int sectors = bufLen / AtaDrive.SECTOR;
    try {
      d.image().write(transferLba * AtaDrive.SECTOR, buf, 0, bufLen);
    } catch (IOException | RuntimeException e) {
      stats.mediaErrors++;
      fail(transferDrive, ABRT);
      return;
    }
    stats.pioSectorsWritten += sectors;
    transferLba += sectors;
    if (transferLeft > 0) {
      startOutBlock();
      raiseInterrupt();
    } else {
      endTransfer();
      complete(transferDrive);
    }
  }

  /** Loads the next PIO-in block from the image and asks the host to read it. */
  private void nextInBlock() {
    int sectors = Math.min(blockSectors, transferLeft);
    AtaDrive d = drives[transferDrive];
    try {
      d.image().read(transferLba * AtaDrive.SECTOR, buf, 0, sectors * AtaDrive.SECTOR);
    } catch (IOException | RuntimeException e) {
      stats.mediaErrors++;
      fail(transferDrive, UNC);
      return;
    }
    stats.pioSectorsRead += sectors;
    transferLba += sectors;
    transferLeft -= sectors;
    bufPos = 0;
    bufLen = sectors * AtaDrive.SECTOR;
    status[transferDrive] = READY | DRQ;
    raiseInterrupt();
  }

  private void startOutBlock() {
    int sectors = Math.min(blockSectors, transferLeft);
    transferLeft -= sectors;
    bufPos = 0;
    bufLen = sectors * AtaDrive.SECTOR;
    status[transferDrive] = READY | DRQ;
  }

  private void endTransfer() {
    transfer = Transfer.NONE;
    bufPos = 0;
    bufLen = 0;
  }

  // ---- commands ----

  private void command(int opcode) {
    int dev = selected();
    AtaCommand c = AtaCommand.of(opcode);
    if (drives[dev] == null) {
      if (c == AtaCommand.EXECUTE_DEVICE_DIAGNOSTIC && drives[0] != null) {
        dev = 0; // device 0 runs diagnostics for both
      } else {
        return; // an absent device ignores its commands
      }
    }
    if ((status[dev] & BSY) != 0) {
      return;
    }
    stats.commands++;
    interruptPending = false;
    updateIrq();
    endTransfer();
    error[dev] = 0;
    AtaDrive d = drives[dev];
    if (c == null || d.asleep() && c != AtaCommand.EXECUTE_DEVICE_DIAGNOSTIC) {
      abort(dev);
      return;
    }
    switch (c) {
      case READ_SECTORS, READ_SECTORS_NO_RETRY, READ_SECTORS_EXT ->
          startPio(dev, c, Transfer.PIO_IN, 1);
      case READ_MULTIPLE, READ_MULTIPLE_EXT -> startPio(dev, c, Transfer.PIO_IN, d.multiple());
      case WRITE_SECTORS, WRITE_SECTORS_NO_RETRY, WRITE_SECTORS_EXT ->
          startPio(dev, c, Transfer.PIO_OUT, 1);
      case WRITE_MULTIPLE, WRITE_MULTIPLE_EXT ->
          startPio(dev, c, Transfer.PIO_OUT, d.multiple());
      case READ_DMA, READ_DMA_NO_RETRY, READ_DMA_EXT -> startDma(dev, c, Transfer.DMA_IN);
      case WRITE_DMA, WRITE_DMA_NO_RETRY, WRITE_DMA_EXT -> startDma(dev, c, Transfer.DMA_OUT);
      case IDENTIFY_DEVICE -> identify(dev);
      case IDENTIFY_PACKET_DEVICE -> abort(dev); // an ATA device aborts it
      case SET_MULTIPLE_MODE -> {
        // 0 disables multiple mode; otherwise a power of two up to the drive's maximum.
        if (count > AtaDrive.MAX_MULTIPLE || Integer.bitCount(count) > 1) {
          abort(dev);
        } else {
          d.setMultiple(count);
          complete(dev);
        }
      }
      case SET_FEATURES -> setFeatures(dev, d);
      case FLUSH_CACHE, FLUSH_CACHE_EXT -> {
        stats.flushes++;
        try {
          d.image().flush();
          complete(dev);
        } catch (IOException | RuntimeException e) {
          stats.mediaErrors++;
          abort(dev);
        }
      }
      case IDLE, IDLE_IMMEDIATE -> {
        d.setStandby(false);
        complete(dev);
      }
      case STANDBY, STANDBY_IMMEDIATE -> {
        d.setStandby(true);
        complete(dev);
      }
      case SLEEP -> {
        d.setAsleep(true);
        complete(dev);
      }
      case CHECK_POWER_MODE -> {
        count = d.standby() ? 0x00 : 0xFF;
        complete(dev);
      }
      case EXECUTE_DEVICE_DIAGNOSTIC -> {
        for (int i = 0; i < 2; i++) {
          if (drives[i] != null) {
            drives[i].reset();
          }
          status[i] = READY;
          error[i] = DIAGNOSTIC_PASSED;
        }
        signature();
        raiseInterrupt();
      }
    }
  }

  private void setFeatures(int dev, AtaDrive d) {
    switch (features) {
      case 0x03 -> {
        int mode = count & 7;
        switch (count >>> 3) {
          case 0 -> {
            if (mode > 1) {
              abort(dev);
              return;
            }
            d.setMode(AtaDrive.ModeKind.PIO, 4); // the PIO default mode (00h or 01h)
          }
          case 1 -> {
            if (mode > 4) {
              abort(dev);
              return;
            }
            d.setMode(AtaDrive.ModeKind.PIO, mode);
          }
          case 4 -> {
            if (mode > 2) {
              abort(dev);
              return;
            }
            d.setMode(AtaDrive.ModeKind.MWDMA, mode);
          }
          case 8 -> {
            if (mode > 5) {
              abort(dev);
              return;
            }
            d.setMode(AtaDrive.ModeKind.UDMA, mode);
          }
          default -> {
            abort(dev);
            return;
          }
        }
        complete(dev);
      }
      case 0x02 -> {
        d.setWriteCache(true);
        complete(dev);
      }
      case 0x82 -> {
        d.setWriteCache(false);
        complete(dev);
      }
      default -> abort(dev);
    }
  }

  private void identify(int dev) {
    short[] w = drives[dev].identify(dev);
    for (int i = 0; i < 256; i++) {
      buf[2 * i] = (byte) w[i];
      buf[2 * i + 1] = (byte) (w[i] >>> 8);
    }
    transfer = Transfer.PIO_IN;
    transferDrive = dev;
    transferLeft = 0;
    bufPos = 0;
    bufLen = AtaDrive.SECTOR;
    status[dev] = READY | DRQ;
    raiseInterrupt();
  }

  /**
   * The command's first sector, from the task file: LBA (28 or 48 bits) or CHS through the
   * default translation; -1 for a CHS address that does not exist.
   */
  private long startLba(AtaCommand c) {
    if (c.lba48()) {
      return (long) lbaHighPrev << 40 | (long) lbaMidPrev << 32 | (long) lbaLowPrev << 24
          | lbaHigh << 16 | lbaMid << 8 | lbaLow;
    }
    if ((device & DEVICE_LBA) != 0) {
      return (long) (device & 0x0F) << 24 | lbaHigh << 16 | lbaMid << 8 | lbaLow;
    }
    int cylinder = lbaHigh << 8 | lbaMid;
    int head = device & 0x0F;
    int sector = lbaLow;
    if (sector == 0 || sector > AtaDrive.SECTORS_PER_TRACK) {
      return -1;
    }
    return ((long) cylinder * AtaDrive.HEADS + head) * AtaDrive.SECTORS_PER_TRACK + sector - 1;
  }

  private int sectorCount(AtaCommand c) {
    if (c.lba48()) {
      int n = countPrev << 8 | count;
      return n == 0 ? 65536 : n;
    }
    return count == 0 ? 256 : count;
  }

  /** Checks the address range (IDNF) and, for writes, that the image is writable (ABRT). */
  private boolean addressable(int dev, AtaCommand c, boolean write) {
    long lba = startLba(c);
    int n = sectorCount(c);
    if (lba < 0 || lba + n > drives[dev].sectors()) {
      stats.idNotFound++;
      fail(dev, IDNF);
      return false;
    }
    if (write && drives[dev].image().readOnly()) {
      abort(dev);
      return false;
    }
    transferDrive = dev;
    transferLba = lba;
    transferLeft = n;
    return true;
  }

  private void startPio(int dev, AtaCommand c, Transfer kind, int block) {
    if (block == 0) {
      abort(dev); // READ/WRITE MULTIPLE before SET MULTIPLE MODE
      return;
    }
    if (!addressable(dev, c, kind == Transfer.PIO_OUT)) {
      return;
    }
    transfer = kind;
    blockSectors = block;
    if (kind == Transfer.PIO_IN) {
      nextInBlock();
    } else {
      startOutBlock(); // the first block is asked for without an interrupt
    }
  }

  private void startDma(int dev, AtaCommand c, Transfer kind) {
    if (!addressable(dev, c, kind == Transfer.DMA_OUT)) {
      return;
    }
    transfer = kind;
    status[dev] = READY | DRQ;
    if ((bmCommand & BM_START) != 0) {
      runDma();
    }
  }

  /**
   * Moves the whole DMA command's data through the PRD table, then completes the command. The
   * table is read first, up to its EOT entry or the data's end (at most {@link #MAX_PRDS}
   * entries): a table that describes less than the transfer moves nothing and ends the command
   * without an interrupt, Active clear and Status DRDY|DSC (SFF-8038i's "PRD smaller than the
   * transfer": Interrupt 0, Active 0; QEMU's ide_dma_cb does the same).
   */
  private void runDma() {
    int dev = transferDrive;
    boolean toMemory = transfer == Transfer.DMA_IN;
    endTransfer();
    stats.dmaTransfers++;
    if (toMemory != ((bmCommand & BM_WRITE_MEMORY) != 0)) {
      // The bus master moves data the other way than the command: nothing sensible to do.
      bmStatus = (bmStatus & ~BM_ACTIVE) | BM_ERROR;
      abort(dev);
      return;
    }
    long total = (long) transferLeft * AtaDrive.SECTOR;
    long prd = bmPrd & 0xFFFF_FFFCL;
    long covered = 0;
    boolean eot = false;
    int entries = 0;
    while (covered < total && !eot && entries < MAX_PRDS) {
      int control;
      try {
        prdBase[entries] = dma.read32(prd) & 0xFFFF_FFFEL;
        control = dma.read32(prd + 4);
      } catch (IllegalArgumentException e) {
        dmaFault(dev);
        return;
      }
      stats.prdEntries++;
      prd += 8;
      eot = control < 0;
      int bytes = control & 0xFFFE;
      prdLength[entries++] = bytes == 0 ? 0x10000 : bytes;
      covered += prdLength[entries - 1];
    }
    if (covered < total) {
      // The table ended before the data did.
      stats.shortTables++;
      bmStatus &= ~BM_ACTIVE;
      status[dev] = READY;
      return;
    }
    AtaDrive d = drives[dev];
    long left = total;
    long offset = transferLba * AtaDrive.SECTOR;
    for (int k = 0; k < entries; k++) {
      long base = prdBase[k];
      long region = Math.min(prdLength[k], left);
      while (region > 0) {
        int n = (int) Math.min(region, CHUNK);
        try {
          if (toMemory) {
            d.image().read(offset, buf, 0, n);
            dma.write(base, buf, 0, n);
          } else {
            dma.read(base, buf, 0, n);
            d.image().write(offset, buf, 0, n);
          }
        } catch (IllegalArgumentException e) {
          dmaFault(dev);
          return;
        } catch (IOException | RuntimeException e) {
          stats.mediaErrors++;
          bmStatus &= ~BM_ACTIVE;
          fail(dev, toMemory ? UNC : ABRT);
          return;
        }
        offset += n;
        base += n;
        region -= n;
        left -= n;
        int sectors = n / AtaDrive.SECTOR;
        if (toMemory) {
          stats.dmaSectorsRead += sectors;
        } else {
          stats.dmaSectorsWritten += sectors;
        }
      }
    }
    if (eot && covered == total) {
      bmStatus &= ~BM_ACTIVE; // a table larger than the transfer leaves Active set
    }
    complete(dev);
  }

  private void dmaFault(int dev) {
    stats.dmaFaults++;
    bmStatus = (bmStatus & ~BM_ACTIVE) | BM_ERROR;
    abort(dev);
  }

  private void complete(int dev) {
    status[dev] = READY;
    raiseInterrupt();
  }

  private void abort(int dev) {
    stats.aborted++;
    fail(dev, ABRT);
  }

  private void fail(int dev, int errorBits) {
    endTransfer();
    error[dev] = errorBits;
    status[dev] = READY | ERR;
    raiseInterrupt();
  }

  private void raiseInterrupt() {
    interruptPending = true;
    bmStatus |= BM_INTERRUPT;
    updateIrq();
  }

  private void updateIrq() {
    boolean level = interruptPending && (control & NIEN) == 0;
    if (level != irqDriven) {
      irqDriven = level;
      irq.set(level);
    }
  }

  /** True while the channel drives its interrupt request. */
  public boolean irqAsserted() {
    return irqDriven;
  }

  // ---- bus master ----

  /** Reads the channel's bus-master register bytes at {@code offset} (0-7). */
  public int readBusMaster(int offset, int size) {
    int v = 0;
    for (int i = 0; i < size && offset + i < 8; i++) {
      v |= busMasterByte(offset + i) << (8 * i);
    }
    return v;
  }

  private int busMasterByte(int offset) {
    return switch (offset) {
      case BM_COMMAND -> bmCommand;
      case BM_STATUS -> bmStatus;
      case BM_PRD, BM_PRD + 1, BM_PRD + 2, BM_PRD + 3 -> (bmPrd >>> (8 * (offset - BM_PRD))) & 0xFF;
      default -> 0;
    };
  }

  /** Writes bus-master register bytes at {@code offset} (0-7). */
  public void writeBusMaster(int offset, int size, int value) {
    for (int i = 0; i < size && offset + i < 8; i++) {
      writeBusMasterByte(offset + i, (value >>> (8 * i)) & 0xFF);
    }
  }

  private void writeBusMasterByte(int offset, int v) {
    switch (offset) {
      case BM_COMMAND -> {
        int old = bmCommand;
        bmCommand = v & (BM_START | BM_WRITE_MEMORY);
        if ((v & BM_START) != 0 && (old & BM_START) == 0) {
          bmStatus |= BM_ACTIVE;
          if (transfer == Transfer.DMA_IN || transfer == Transfer.DMA_OUT) {
            runDma();
          }
        } else if ((v & BM_START) == 0 && (old & BM_START) != 0) {
          bmStatus &= ~BM_ACTIVE; // stopping aborts what was not transferred
        }
      }
      case BM_STATUS -> bmStatus = (bmStatus & ~BM_DMA_CAPABLE & ~(v & (BM_ERROR | BM_INTERRUPT)))
          | (v & BM_DMA_CAPABLE);
      case BM_PRD, BM_PRD + 1, BM_PRD + 2, BM_PRD + 3 -> {
        int shift = 8 * (offset - BM_PRD);
        int mask = offset == BM_PRD ? 0xFC : 0xFF;
        bmPrd = (bmPrd & ~(0xFF << shift)) | ((v & mask) << shift);
      }
      default -> { }
    }
  }
}
