package org.hospes.dom0.devicemodel.ide;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import org.hospes.dom0.devicemodel.FuzzDma;
import org.hospes.dom0.disk.MemoryDisk;
import org.hospes.hv.testing.TestProperties;
import org.junit.jupiter.api.Test;

/**
 * A hostile IDE driver on one PIIX3 channel with two disks: bus-master DMA commands whose PRD
 * tables never end, are shorter than the transfer, lie past guest RAM or across its end, name
 * buffers past RAM or across its end, or run the other way than the command; addresses past
 * the disk; PIO reads and writes; and bursts of random accesses to every task-file, control and
 * bus-master register with random commands. The structured commands are replayed on an
 * independent model of the ATA/ATAPI-6 and PIIX bus-master rules over a mirror of RAM and of the
 * disks: RAM, both disks, Status, Error and the bus-master status must then be exactly the
 * model's. Throughout, every write to RAM must lie in a region a PRD entry names, no exception
 * may leave the channel, and no access may take more than a bounded number of memory accesses.
 * The seed and step are printed on failure.
 */
class IdeFuzzTest {
  private static final long SEED = TestProperties.longValue("hospes.idefuzz.seed", 0x5EED_1DEL);
  private static final int STEPS = TestProperties.count("hospes.idefuzz.steps", 20_000);
  private static final int RAM = 512 << 10;
  private static final int SECTORS = 512;

  private static final int ERR = IdeChannel.ERR;
  private static final int READY = IdeChannel.DRDY | IdeChannel.DSC;

  private Random rnd;
  private FuzzDma dma;
  private IdeChannel ch;
  private final MemoryDisk[] disks = {
    new MemoryDisk(SECTORS * 512), new MemoryDisk(SECTORS * 512)};
  private final byte[][] shadow = new byte[2][];
  private byte[] mirror;
  private int step;
  private String what = "";
  private int dmaOk;
  private int dmaFailed;
  private int dmaShort;
  private int lastEntry;
  /** The PRD table as the running command read it (see checkWrite). */
  private long tableOfTransfer = -1;
  private final long[] tableBase = new long[512];
  private final long[] tableRegion = new long[512];

  private int le32(byte[] b, long at) {
    int o = (int) at;
    return (b[o] & 0xFF) | (b[o + 1] & 0xFF) << 8 | (b[o + 2] & 0xFF) << 16
        | (b[o + 3] & 0xFF) << 24;
  }

  /**
   * Vets each write: it must lie in the region of one of the 512 entries a PRD table can have,
   * from where the bus-master registers point, as the entries were when the command's first
   * write came (the controller reads its table before it moves data, so a transfer that
   * overwrites its own table changes nothing it does).
   */
  private void checkWrite(long gpa, int len) {
    if (ch.stats().dmaTransfers != tableOfTransfer) {
      tableOfTransfer = ch.stats().dmaTransfers;
      long prd = ch.readBusMaster(IdeChannel.BM_PRD, 4) & 0xFFFF_FFFCL;
      for (int i = 0; i < 512; i++) {
        if (!dma.inRam(prd + 8L * i, 8)) {
          tableRegion[i] = 0;
          continue;
        }
        tableBase[i] = le32(dma.ram, prd + 8L * i) & 0xFFFF_FFFEL;
        int bytes = le32(dma.ram, prd + 8L * i + 4) & 0xFFFE;
        tableRegion[i] = bytes == 0 ? 0x10000 : bytes;
      }
    }
    // The controller walks the table in order: look from the entry that named the last write.
    for (int j = 0; j < 512; j++) {
      int i = (lastEntry + j) % 512;
      if (gpa >= tableBase[i] && gpa + len <= tableBase[i] + tableRegion[i]) {
        lastEntry = i;
        return;
      }
    }
    throw new AssertionError(String.format("the controller wrote %d bytes at 0x%x, which no PRD"
        + " entry names", len, gpa));
  }

  @Test
  void aHostileIdeDriverGetsTheModelsAnswersAndTouchesOnlyWhatItsPrdsName() {
    long t0 = System.nanoTime();
    rnd = new Random(SEED);
    dma = new FuzzDma(RAM);
    rnd.nextBytes(dma.ram);
    mirror = dma.ram.clone();
    ch = new IdeChannel(level -> { }, dma);
    for (int d = 0; d < 2; d++) {
      rnd.nextBytes(disks[d].data());
      shadow[d] = disks[d].data().clone();
      ch.attach(d, new AtaDrive(disks[d], "FUZZ" + d, "Hospes fuzz disk"));
    }
    dma.onWrite(this::checkWrite);
    try {
      for (step = 0; step < STEPS; step++) {
        dma.resetBudget();
        int k = rnd.nextInt(100);
        if (k < 55) {
          structuredDma();
        } else if (k < 70) {
          pio();
        } else {
          chaos();
          // What random commands did is not modelled: the mirrors follow.
          System.arraycopy(dma.ram, 0, mirror, 0, RAM);
          for (int d = 0; d < 2; d++) {
            System.arraycopy(disks[d].data(), 0, shadow[d], 0, shadow[d].length);
          }
        }
        if (!Arrays.equals(dma.ram, mirror)) {
          int at = Arrays.mismatch(dma.ram, mirror);
          throw new AssertionError(String.format("RAM at 0x%x differs from the model", at));
        }
        for (int d = 0; d < 2; d++) {
          assertThat(Arrays.mismatch(disks[d].data(), shadow[d])).as("disk %d differs at", d)
              .isEqualTo(-1);
        }
      }
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError("IdeFuzzTest seed 0x" + Long.toHexString(SEED) + ", step " + step
          + " (" + what + "): " + e, e);
    }
    assertThat(dmaOk).isGreaterThan(STEPS / 20);
    assertThat(dmaFailed).isGreaterThan(STEPS / 20);
    assertThat(dmaShort).isGreaterThan(STEPS / 100);
    System.out.printf("IDE fuzz: %d steps in %.1f s, %d DMA commands done, %d refused, %d on"
        + " short tables, %s%n", STEPS, (System.nanoTime() - t0) / 1e9, dmaOk, dmaFailed,
        dmaShort, ch.stats());
  }

  // ---- a clean start for the structured steps -----------------------------------------

  /** A software reset, the bus master stopped and its status bits cleared. */
  private void quiesce() {
    ch.writeControl(IdeChannel.SRST);
    ch.writeControl(0);
    ch.writeBusMaster(IdeChannel.BM_COMMAND, 1, 0);
    ch.writeBusMaster(IdeChannel.BM_STATUS, 1, IdeChannel.BM_ERROR | IdeChannel.BM_INTERRUPT);
    ch.readRegister(IdeChannel.STATUS, 1);
  }

  private void taskFile(int dev, boolean lba48, long lba, int count) {
    if (lba48) {
      ch.writeRegister(IdeChannel.SECTOR_COUNT, 1, count >>> 8);
      ch.writeRegister(IdeChannel.LBA_LOW, 1, (int) (lba >>> 24));
      ch.writeRegister(IdeChannel.LBA_MID, 1, (int) (lba >>> 32));
      ch.writeRegister(IdeChannel.LBA_HIGH, 1, (int) (lba >>> 40));
      ch.writeRegister(IdeChannel.SECTOR_COUNT, 1, count);
      ch.writeRegister(IdeChannel.LBA_LOW, 1, (int) lba);
      ch.writeRegister(IdeChannel.LBA_MID, 1, (int) (lba >>> 8));
      ch.writeRegister(IdeChannel.LBA_HIGH, 1, (int) (lba >>> 16));
      ch.writeRegister(IdeChannel.DEVICE, 1, IdeChannel.DEVICE_LBA | dev << 4);
    } else {
      ch.writeRegister(IdeChannel.SECTOR_COUNT, 1, count);
      ch.writeRegister(IdeChannel.LBA_LOW, 1, (int) lba);
      ch.writeRegister(IdeChannel.LBA_MID, 1, (int) (lba >>> 8));
      ch.writeRegister(IdeChannel.LBA_HIGH, 1, (int) (lba >>> 16));
      ch.writeRegister(IdeChannel.DEVICE, 1, IdeChannel.DEVICE_LBA | dev << 4
          | (int) (lba >>> 24) & 0x0F);
    }
  }

  private void poke(long at, int v) {
    if (dma.inRam(at, 4)) {
      for (int i = 0; i < 4; i++) {
        dma.ram[(int) at + i] = (byte) (v >>> (8 * i));
        mirror[(int) at + i] = (byte) (v >>> (8 * i));
      }
    }
  }

  private long hostileAddress(int len) {
    return switch (rnd.nextInt(8)) {
      case 0 -> RAM - len / 2 & ~1L;
      case 1 -> RAM + 2L * rnd.nextInt(1 << 20);
      case 2 -> 0xFFFF_FFFEL - 2L * rnd.nextInt(100);
      default -> 2L * rnd.nextInt((RAM - len) / 2);
    };
  }

  // ---- structured DMA, replayed on the model ------------------------------------------

  private void structuredDma() {
    quiesce();
    int dev = rnd.nextInt(2);
    boolean write = rnd.nextBoolean();
    boolean lba48 = rnd.nextBoolean();
    // The sector count register: 0 means 256 sectors (65536 for a 48-bit command).
    int n = rnd.nextInt(20) == 0 ? (lba48 ? 65536 : 256)
        : 1 + rnd.nextInt(rnd.nextInt(8) == 0 ? (lba48 ? 512 : 256) : 16);
    int count = n & (lba48 ? 0xFFFF : 0xFF);
    long lba = rnd.nextInt(15) == 0 ? SECTORS - rnd.nextInt(4) : rnd.nextInt(SECTORS);
    boolean wrongWay = rnd.nextInt(20) == 0;
    long bytes = (long) n * 512;
    // The PRD table: entries of random even sizes covering the transfer, EOT on the last;
    // or hostile: no EOT, ending early, far away, naming memory past RAM.
    long table = rnd.nextInt(25) == 0 ? hostileAddress(64) & ~3L : 0x70000 + 8L * rnd.nextInt(64);
    int kind = rnd.nextInt(12);
    // Some tables name buffers past RAM: not the endless ones, which must reach their end.
    boolean hostileBuffers = kind != 0 && rnd.nextInt(6) == 0;
    long left = bytes;
    int entries = 0;
    long buf = 4L * rnd.nextInt(0x4000);
    while (entries < 9000 && (kind == 0 || left > 0)) {
      int size = kind == 0 ? 2 * (1 + rnd.nextInt(8)) : 2 * (1 + rnd.nextInt(0x8000));
      long chunk = Math.min(size == 0x10000 ? 0x10000 : size, left);
      int field = kind == 0 ? size : (int) chunk & 0xFFFE;
      if (field == 0 && chunk > 0 && chunk < 0x10000) {
        field = 2;
        chunk = 2;
      }
      long base = hostileBuffers && rnd.nextInt(8) == 0 ? hostileAddress((int) chunk) : buf;
      boolean last = kind != 0 && left - chunk <= 0 || kind == 1 && rnd.nextInt(3) == 0;
      poke(table + 8L * entries, (int) base);
      poke(table + 8L * entries + 4, field | (last ? 1 << 31 : 0));
      entries++;
      buf = (buf + chunk + 2) % (RAM - 0x20000) & ~1L;
      left -= chunk;
      if (last) {
        break;
      }
    }
    what = String.format("%s DMA of %d sectors at %d on disk %d, %d PRD entries at 0x%x%s",
        write ? "write" : "read", n, lba, dev, entries, table, wrongWay ? ", the other way" : "");
    ch.writeBusMaster(IdeChannel.BM_PRD, 4, (int) table);
    int bmCommand = (write ? 0 : IdeChannel.BM_WRITE_MEMORY) ^ (wrongWay
        ? IdeChannel.BM_WRITE_MEMORY : 0);
    boolean startFirst = rnd.nextBoolean();
    int bmStatus = 0;
    ch.writeBusMaster(IdeChannel.BM_COMMAND, 1, bmCommand);
    if (startFirst) {
      ch.writeBusMaster(IdeChannel.BM_COMMAND, 1, bmCommand | IdeChannel.BM_START);
      bmStatus |= IdeChannel.BM_ACTIVE;
    }
    taskFile(dev, lba48, lba, count);
    int opcode = write ? (lba48 ? 0x35 : 0xCA) : (lba48 ? 0x25 : 0xC8);
    ch.writeRegister(IdeChannel.COMMAND, 1, opcode);
    int status;
    int error;
    if (lba + n > SECTORS) {
      status = READY | ERR;
      error = IdeChannel.IDNF;
      bmStatus |= IdeChannel.BM_INTERRUPT;
      if (!startFirst) {
        ch.writeBusMaster(IdeChannel.BM_COMMAND, 1, bmCommand | IdeChannel.BM_START);
        bmStatus |= IdeChannel.BM_ACTIVE;
      }
      dmaFailed++;
    } else {
      if (!startFirst) {
        ch.writeBusMaster(IdeChannel.BM_COMMAND, 1, bmCommand | IdeChannel.BM_START);
        bmStatus |= IdeChannel.BM_ACTIVE;
      }
      int[] out = modelDma(dev, !write, (bmCommand & IdeChannel.BM_WRITE_MEMORY) != 0,
          lba * 512, bytes, table, bmStatus);
      status = out[0];
      error = out[1];
      bmStatus = out[2];
      if ((status & ERR) != 0) {
        dmaFailed++;
      } else if ((bmStatus & IdeChannel.BM_INTERRUPT) == 0) {
        dmaShort++;
      } else {
        dmaOk++;
      }
    }
    assertThat(ch.readAltStatus()).as("status").isEqualTo(status);
    assertThat(ch.readRegister(IdeChannel.ERROR, 1)).as("error").isEqualTo(error);
    assertThat(ch.readBusMaster(IdeChannel.BM_STATUS, 1) & 7).as("bus-master status")
        .isEqualTo(bmStatus);
  }

  /**
   * The PIIX bus master's transfer (82371SB 2.7.9) as the model does it: returns Status,
   * Error and the bus-master status bits afterwards.
   */
  private int[] modelDma(int dev, boolean toMemory, boolean bmWritesMemory, long offset,
      long bytes, long table, int bm) {
    int abort = READY | ERR;
    if (toMemory != bmWritesMemory) {
      return new int[] {abort, IdeChannel.ABRT, (bm & ~IdeChannel.BM_ACTIVE)
          | IdeChannel.BM_ERROR | IdeChannel.BM_INTERRUPT};
    }
    // The table is read first (at most 512 entries, one 4 KiB table), then the data moves.
    long prd = table & 0xFFFF_FFFCL;
    long[] bases = new long[512];
    long[] lengths = new long[512];
    int entries = 0;
    long covered = 0;
    boolean eot = false;
    while (covered < bytes && !eot && entries < 512) {
      if (!dma.inRam(prd, 8)) {
        return new int[] {abort, IdeChannel.ABRT, (bm & ~IdeChannel.BM_ACTIVE)
            | IdeChannel.BM_ERROR | IdeChannel.BM_INTERRUPT};
      }
      bases[entries] = le32(mirror, prd) & 0xFFFF_FFFEL;
      int control = le32(mirror, prd + 4);
      prd += 8;
      eot = control < 0;
      int b = control & 0xFFFE;
      lengths[entries++] = b == 0 ? 0x10000 : b;
      covered += lengths[entries - 1];
    }
    if (covered < bytes) {
      // Shorter than the transfer: nothing moves, Active clears, no interrupt.
      return new int[] {READY, 0, bm & ~IdeChannel.BM_ACTIVE};
    }
    long left = bytes;
    for (int k = 0; k < entries; k++) {
      long base = bases[k];
      long region = Math.min(lengths[k], left);
      while (region > 0) {
        int n = (int) Math.min(region, 65536);
        if (!dma.inRam(base, n)) {
          return new int[] {abort, IdeChannel.ABRT, (bm & ~IdeChannel.BM_ACTIVE)
              | IdeChannel.BM_ERROR | IdeChannel.BM_INTERRUPT};
        }
        if (toMemory) {
          System.arraycopy(shadow[dev], (int) offset, mirror, (int) base, n);
        } else {
          System.arraycopy(mirror, (int) base, shadow[dev], (int) offset, n);
        }
        offset += n;
        base += n;
        region -= n;
        left -= n;
      }
    }
    if (eot && covered == bytes) {
      bm &= ~IdeChannel.BM_ACTIVE;
    }
    return new int[] {READY, 0, bm | IdeChannel.BM_INTERRUPT};
  }

  // ---- PIO ---------------------------------------------------------------------------

  private void pio() {
    quiesce();
    int dev = rnd.nextInt(2);
    boolean write = rnd.nextBoolean();
    int count = 1 + rnd.nextInt(8);
    long lba = rnd.nextInt(10) == 0 ? SECTORS - rnd.nextInt(4) : rnd.nextInt(SECTORS - 8);
    what = (write ? "PIO write" : "PIO read") + " of " + count + " at " + lba + " on " + dev;
    taskFile(dev, false, lba, count);
    ch.writeRegister(IdeChannel.COMMAND, 1, write ? 0x30 : 0x20);
    if (lba + count > SECTORS) {
      assertThat(ch.readAltStatus()).isEqualTo(READY | ERR);
      assertThat(ch.readRegister(IdeChannel.ERROR, 1)).isEqualTo(IdeChannel.IDNF);
      return;
    }
    for (int s = 0; s < count; s++) {
      assertThat(ch.readAltStatus() & IdeChannel.DRQ).as("DRQ for sector %d", s).isNotZero();
      for (int i = 0; i < 256; i++) {
        int at = (int) ((lba + s) * 512 + 2 * i);
        if (write) {
          int v = rnd.nextInt(0x10000);
          shadow[dev][at] = (byte) v;
          shadow[dev][at + 1] = (byte) (v >>> 8);
          ch.writeRegister(IdeChannel.DATA, 2, v);
        } else {
          int v = ch.readRegister(IdeChannel.DATA, 2);
          assertThat(v).isEqualTo((shadow[dev][at] & 0xFF) | (shadow[dev][at + 1] & 0xFF) << 8);
        }
      }
    }
    assertThat(ch.readAltStatus()).isEqualTo(READY);
  }

  // ---- random accesses ------------------------------------------------------------------

  private void chaos() {
    what = "random register accesses";
    for (int i = 0; i < 16; i++) {
      int size = new int[] {1, 2, 4}[rnd.nextInt(3)];
      switch (rnd.nextInt(8)) {
        case 0 -> ch.readRegister(rnd.nextInt(8), size);
        case 1, 2 -> {
          int reg = rnd.nextInt(8);
          int value = reg == IdeChannel.COMMAND && rnd.nextBoolean()
              ? new int[] {0x20, 0x24, 0x25, 0x29, 0x30, 0x34, 0x35, 0x39, 0xC4, 0xC5, 0xC6,
                  0xC8, 0xCA, 0xEC, 0xEF, 0xE7, 0xE6, 0x90, 0xA1, 0xE5}[rnd.nextInt(20)]
              : rnd.nextInt();
          ch.writeRegister(reg, size, value);
        }
        case 3 -> ch.writeControl(rnd.nextInt(256));
        case 4 -> ch.readAltStatus();
        case 5 -> ch.readBusMaster(rnd.nextInt(8), size);
        case 6 -> {
          int off = rnd.nextInt(8);
          int value = off == IdeChannel.BM_PRD ? (int) hostileAddress(64) : rnd.nextInt();
          ch.writeBusMaster(off, size, value);
        }
        default -> {
          // PRD entries somewhere, for a DMA the random bytes may start.
          long at = 0x70000 + 8L * rnd.nextInt(64);
          poke(at, (int) hostileAddress(4096));
          poke(at + 4, rnd.nextInt());
        }
      }
    }
  }
}
