package org.hospes.dom0.devicemodel.ide;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.hospes.dom0.devicemodel.GuestDma;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.PlatformInterrupts;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.disk.RawImage;
import org.hospes.hv.ioreq.Ioreq;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PIIX3 IDE function driven as a guest drives it: port ioreqs through the device model
 * (legacy task-file ports, the bus-master registers in BAR4), PRD tables in a fake guest memory,
 * IRQ 14 seen at the platform's ISA inputs, data compared with the image file.
 */
class Piix3IdeTest {
  private static final int CMD = 0x1F0;
  private static final int CTL = 0x3F6;
  private static final int BM = 0xC000;
  private static final int SECTORS = 4096; // a 2 MiB disk
  private static final int RAM = 1 << 20;

  @TempDir
  Path tmp;

  private final List<String> irqs = new ArrayList<>();
  private final boolean[] isa = new boolean[16];
  private final byte[] ram = new byte[RAM];
  private HvmDeviceModel model;
  private Piix3Ide ide;
  private Path file;
  private DiskImage image;
  private int flushes;

  private final GuestDma dma = new GuestDma() {
    @Override
    public void read(long gpa, byte[] dst, int off, int len) {
      check(gpa, len);
      System.arraycopy(ram, (int) gpa, dst, off, len);
    }

    @Override
    public void write(long gpa, byte[] src, int off, int len) {
      check(gpa, len);
      System.arraycopy(src, off, ram, (int) gpa, len);
    }

    private void check(long gpa, int len) {
      if (gpa < 0 || gpa + len > RAM) {
        throw new IllegalArgumentException("outside RAM: " + gpa);
      }
    }
  };

  @BeforeEach
  void machine() throws IOException {
    PlatformInterrupts platform = new PlatformInterrupts() {
      @Override
      public void setIsaIrqLevel(int irq, boolean high) {
        isa[irq] = high;
        irqs.add(irq + (high ? "+" : "-"));
      }

      @Override
      public void setPciIntxLevel(int device, int intx, boolean high) {}

      @Override
      public void setPciLinkRoute(int link, int isaIrq) {}

      @Override
      public void injectMsi(long address, int data) {}
    };
    model = new HvmDeviceModel(OutputStream.nullOutputStream(), platform, (v, s) -> { },
        RAM);
    ide = new Piix3Ide(model, dma);
    ide.attach(model);
    file = tmp.resolve("disk.img");
    byte[] contents = new byte[SECTORS * 512];
    new Random(7).nextBytes(contents);
    Files.write(file, contents);
    image = counting(RawImage.open(file, false));
    ide.attachDisk(0, new AtaDrive(image, "HOSPES0001", "Hospes ATA disk"));
    // What firmware does: BAR4 at 0xC000, I/O decoding; the guest driver enables bus mastering.
    PciFunction f = ide.function();
    f.write(PciFunction.BAR0 + 16, 4, BM);
    f.write(PciFunction.COMMAND, 2, PciFunction.COMMAND_IO | PciFunction.COMMAND_MASTER);
  }

  @AfterEach
  void close() throws IOException {
    image.close();
  }

  private DiskImage counting(DiskImage inner) {
    return new DiskImage() {
      public long sizeBytes() {
        return inner.sizeBytes();
      }

      public boolean readOnly() {
        return inner.readOnly();
      }

      public void read(long offset, byte[] buf, int off, int len) throws IOException {
        inner.read(offset, buf, off, len);
      }

      public void write(long offset, byte[] buf, int off, int len) throws IOException {
        inner.write(offset, buf, off, len);
      }

      public void flush() throws IOException {
        flushes++;
        inner.flush();
      }

      public void discard(long offset, long length) throws IOException {
        inner.discard(offset, length);
      }

      public String format() {
        return inner.format();
      }

      public void close() throws IOException {
        inner.close();
      }
    };
  }

  private int in(int port, int size) {
    return (int) model.handle(1, new Ioreq(Ioreq.Type.PIO, port, size, false, 0));
  }

  private void out(int port, int size, int value) {
    model.handle(1, new Ioreq(Ioreq.Type.PIO, port, size, true, value & 0xFFFF_FFFFL));
  }

  private void lba28(int dev, long lba, int count) {
    out(CMD + 2, 1, count);
    out(CMD + 3, 1, (int) lba);
    out(CMD + 4, 1, (int) (lba >>> 8));
    out(CMD + 5, 1, (int) (lba >>> 16));
    out(CMD + 6, 1, 0xE0 | dev << 4 | (int) (lba >>> 24) & 0x0F);
  }

  private void lba48(int dev, long lba, int count) {
    out(CMD + 2, 1, count >>> 8);
    out(CMD + 3, 1, (int) (lba >>> 24));
    out(CMD + 4, 1, (int) (lba >>> 32));
    out(CMD + 5, 1, (int) (lba >>> 40));
    out(CMD + 2, 1, count);
    out(CMD + 3, 1, (int) lba);
    out(CMD + 4, 1, (int) (lba >>> 8));
    out(CMD + 5, 1, (int) (lba >>> 16));
    out(CMD + 6, 1, 0x40 | dev << 4);
  }

  private short[] identify() {
    out(CMD + 6, 1, 0xA0);
    out(CMD + 7, 1, 0xEC);
    assertThat(in(CMD + 7, 1)).isEqualTo(0x58);
    short[] w = new short[256];
    for (int i = 0; i < 256; i++) {
      w[i] = (short) in(CMD, 2);
    }
    assertThat(in(CTL, 1)).isEqualTo(0x50);
    return w;
  }

  private static String string(short[] w, int from, int words) {
    StringBuilder b = new StringBuilder();
    for (int i = from; i < from + words; i++) {
      b.append((char) ((w[i] >>> 8) & 0xFF)).append((char) (w[i] & 0xFF));
    }
    return b.toString().strip();
  }

  @Test
  void theFunctionIsAPiix3IdeControllerInCompatibilityMode() {
    PciFunction f = ide.function();
    assertThat(f.read(PciFunction.VENDOR_ID, 4)).isEqualTo(0x7010_8086);
    assertThat(f.read(PciFunction.CLASS_PROG, 1)).isEqualTo(0x80);
    assertThat(f.read(PciFunction.CLASS_PROG + 1, 2)).isEqualTo(0x0101);
    assertThat(f.barSize(4)).isEqualTo(16);
    assertThat(f.barSize(0)).isZero();
    assertThat(f.read(PciFunction.INTERRUPT_PIN, 1)).isZero();
    assertThat(model.pci().function(1, 1)).isSameAs(f);
  }

  @Test
  void identifyDeviceDescribesTheDiskAsAtaSixSaysWithAValidChecksum() {
    short[] w = identify();
    assertThat(string(w, 27, 20)).isEqualTo("Hospes ATA disk");
    assertThat(string(w, 10, 10)).isEqualTo("HOSPES0001");
    assertThat(w[0] & 0x8000).isZero();
    assertThat(w[49] & 0x0300).isEqualTo(0x0300); // LBA and DMA
    assertThat((w[60] & 0xFFFF) | (w[61] & 0xFFFF) << 16).isEqualTo(SECTORS);
    assertThat(w[83] & 0x0400).isNotZero(); // 48-bit addresses
    assertThat(w[86] & 0x0400).isNotZero();
    assertThat((w[100] & 0xFFFF) | (w[101] & 0xFFFF) << 16).isEqualTo(SECTORS);
    assertThat(w[88] & 0x3F).isEqualTo(0x3F); // UDMA 0-5
    assertThat(w[63] & 0x07).isEqualTo(0x07); // multiword DMA 0-2
    assertThat(w[255] & 0xFF).isEqualTo(0xA5);
    int sum = 0;
    for (short x : w) {
      sum += (x & 0xFF) + ((x >>> 8) & 0xFF);
    }
    assertThat(sum & 0xFF).as("checksum").isZero();
  }

  @Test
  void setFeaturesSelectsTheTransferModeIdentifyThenReports() {
    out(CMD + 1, 1, 0x03);
    out(CMD + 2, 1, 0x22); // multiword DMA 2
    out(CMD + 6, 1, 0xA0);
    out(CMD + 7, 1, 0xEF);
    assertThat(in(CMD + 7, 1)).isEqualTo(0x50);
    short[] w = identify();
    assertThat(w[63] & 0x0700).isEqualTo(0x0400);
    assertThat(w[88] & 0x3F00).isZero();
    out(CMD + 1, 1, 0x03);
    out(CMD + 2, 1, 0x46); // UDMA 6 is beyond the drive
    out(CMD + 7, 1, 0xEF);
    assertThat(in(CMD + 7, 1)).isEqualTo(0x51);
    assertThat(in(CMD + 1, 1)).isEqualTo(IdeChannel.ABRT);
  }

  @Test
  void anUnknownCommandAbortsAndInterruptsUntilStatusIsRead() {
    out(CMD + 6, 1, 0xA0);
    out(CMD + 7, 1, 0xFF);
    assertThat(isa[14]).isTrue();
    assertThat(in(CTL, 1)).as("alternate status").isEqualTo(0x51);
    assertThat(isa[14]).as("alternate status leaves INTRQ").isTrue();
    assertThat(in(BM + 2, 1) & IdeChannel.BM_INTERRUPT).isNotZero();
    assertThat(in(CMD + 1, 1)).isEqualTo(IdeChannel.ABRT);
    assertThat(in(CMD + 7, 1)).isEqualTo(0x51);
    assertThat(isa[14]).isFalse();
    assertThat(ide.stats().aborted).isEqualTo(1);
  }

  @Test
  void nienKeepsTheInterruptOffTheLine() {
    out(CTL, 1, IdeChannel.NIEN);
    out(CMD + 6, 1, 0xA0);
    out(CMD + 7, 1, 0xE7); // FLUSH CACHE
    assertThat(isa[14]).isFalse();
    out(CTL, 1, 0);
    assertThat(isa[14]).as("still pending").isTrue();
    assertThat(in(CMD + 7, 1)).isEqualTo(0x50);
    assertThat(isa[14]).isFalse();
    assertThat(flushes).isEqualTo(1);
  }

  @Test
  void anAbsentSlaveReadsStatusZeroAndAnEmptyChannelFloats() {
    out(CMD + 6, 1, 0xB0);
    assertThat(in(CMD + 7, 1)).isZero();
    assertThat(in(CTL, 1)).isZero();
    out(CMD + 7, 1, 0xEC);
    assertThat(isa[14]).as("absent device ignores commands").isFalse();
    assertThat(in(0x177, 1)).isEqualTo(0xFF);
    assertThat(in(0x376, 1)).isEqualTo(0xFF);
  }

  @Test
  void softResetHoldsBusyThenLeavesTheAtaSignature() {
    lba28(0, 0x123456, 9);
    out(CTL, 1, IdeChannel.SRST | IdeChannel.NIEN);
    assertThat(in(CTL, 1) & IdeChannel.BSY).isNotZero();
    out(CTL, 1, IdeChannel.NIEN);
    assertThat(in(CMD + 7, 1)).isEqualTo(0x50);
    assertThat(in(CMD + 1, 1)).isEqualTo(0x01);
    assertThat(in(CMD + 2, 1)).isEqualTo(1);
    assertThat(in(CMD + 3, 1)).isEqualTo(1);
    assertThat(in(CMD + 4, 1)).isZero();
    assertThat(in(CMD + 5, 1)).isZero();
    out(CMD + 7, 1, 0xA1); // IDENTIFY PACKET DEVICE: not an ATAPI device
    assertThat(in(CMD + 1, 1)).isEqualTo(IdeChannel.ABRT);
  }

  @Test
  void hobReadsThePreviousValuesOfTheFortyEightBitRegisters() {
    lba48(0, 0x0000_1234_5678_9AL, 0x0102);
    out(CTL, 1, IdeChannel.HOB);
    assertThat(in(CMD + 2, 1)).isEqualTo(0x01);
    assertThat(in(CMD + 3, 1)).isEqualTo(0x34);
    out(CTL, 1, 0);
    assertThat(in(CMD + 2, 1)).isEqualTo(0x02);
    assertThat(in(CMD + 3, 1)).isEqualTo(0x9A);
  }

  @Test
  void anAddressBeyondTheCapacityIsIdnf() {
    lba48(0, SECTORS - 1, 2);
    out(CMD + 7, 1, 0x24);
    assertThat(in(CMD + 7, 1)).isEqualTo(0x51);
    assertThat(in(CMD + 1, 1)).isEqualTo(IdeChannel.IDNF);
    lba28(0, SECTORS - 1, 1);
    out(CMD + 7, 1, 0x20);
    assertThat(in(CMD + 7, 1)).isEqualTo(0x58);
    assertThat(ide.stats().idNotFound).isEqualTo(1);
  }

  @Test
  void readMultipleNeedsSetMultipleModeFirst() {
    lba28(0, 0, 4);
    out(CMD + 7, 1, 0xC4);
    assertThat(in(CMD + 1, 1)).isEqualTo(IdeChannel.ABRT);
    out(CMD + 2, 1, 3); // not a power of two
    out(CMD + 7, 1, 0xC6);
    assertThat(in(CMD + 1, 1)).isEqualTo(IdeChannel.ABRT);
    out(CMD + 2, 1, 8);
    out(CMD + 7, 1, 0xC6);
    assertThat(in(CMD + 7, 1)).isEqualTo(0x50);
    assertThat(identify()[59] & 0x1FF).isEqualTo(0x108);
  }

  @Test
  void aReadOnlyImageAbortsWritesAndStillReads() throws IOException {
    ide.unplugDisks();
    Path ro = tmp.resolve("ro.img");
    Files.write(ro, new byte[64 * 512]);
    try (DiskImage img = RawImage.open(ro, true)) {
      ide.attachDisk(1, new AtaDrive(img, "RO", "read-only"));
      ide.attachDisk(0, new AtaDrive(image, "RW", "rw"));
      lba28(1, 0, 1);
      out(CMD + 7, 1, 0x30);
      assertThat(in(CMD + 7, 1)).isEqualTo(0x51);
      assertThat(in(CMD + 1, 1)).isEqualTo(IdeChannel.ABRT);
      out(CMD + 7, 1, 0x20);
      assertThat(in(CMD + 7, 1)).isEqualTo(0x58);
    }
  }

  @Test
  void moreThanFourDisksOrTwoOnOnePositionAreRefused() {
    assertThatThrownBy(() -> ide.attachDisk(4, new AtaDrive(image, "x", "x")))
        .hasMessageContaining("four");
    assertThatThrownBy(() -> ide.attachDisk(0, new AtaDrive(image, "x", "x")))
        .hasMessageContaining("hda");
  }

  @Test
  void unplugRemovesTheDisksAndTheChannelsFloat() {
    ide.unplugDisks();
    assertThat(in(CMD + 7, 1)).isEqualTo(0xFF);
    assertThat(ide.channel(0).drive(0)).isNull();
  }

  @Test
  void withoutIoDecodingOrIdeDecodeEnableThePortsFloat() {
    ide.function().write(Piix3Ide.IDETIM, 2, 0);
    assertThat(in(CMD + 7, 1)).isEqualTo(0xFF);
    ide.function().write(Piix3Ide.IDETIM, 2, Piix3Ide.IDE_DECODE_ENABLE);
    assertThat(in(CMD + 7, 1)).isEqualTo(0x50);
    ide.function().write(PciFunction.COMMAND, 2, 0);
    assertThat(in(CMD + 7, 1)).isEqualTo(0xFF);
  }

  // ---- DMA ----

  /** Writes a PRD table at {@code table} for {@code regions} (address, bytes) pairs. */
  private void prds(int table, int... regions) {
    for (int i = 0; i < regions.length; i += 2) {
      put32(table + 4 * i, regions[i]);
      int eot = i + 2 == regions.length ? 0x8000_0000 : 0;
      put32(table + 4 * i + 4, (regions[i + 1] & 0xFFFF) | eot);
    }
  }

  private void put32(int at, int v) {
    ram[at] = (byte) v;
    ram[at + 1] = (byte) (v >>> 8);
    ram[at + 2] = (byte) (v >>> 16);
    ram[at + 3] = (byte) (v >>> 24);
  }

  /** Runs a DMA command as Linux's ata_bmdma does: PRD, direction, command, start; then IRQ. */
  private int dmaCommand(int table, boolean read, int opcode) {
    out(BM + 4, 4, table);
    out(BM, 1, read ? IdeChannel.BM_WRITE_MEMORY : 0);
    out(BM + 2, 1, IdeChannel.BM_INTERRUPT | IdeChannel.BM_ERROR);
    out(CMD + 7, 1, opcode);
    out(BM, 1, (read ? IdeChannel.BM_WRITE_MEMORY : 0) | IdeChannel.BM_START);
    assertThat(isa[14]).isTrue();
    int bmStatus = in(BM + 2, 1);
    out(BM, 1, 0);
    int status = in(CMD + 7, 1);
    return bmStatus << 8 | status;
  }

  @Test
  void readDmaScattersThroughThePrdTableAndInterrupts() throws IOException {
    prds(0x1000, 0x20000, 512, 0x30000, 1024);
    lba28(0, 100, 3);
    assertThat(dmaCommand(0x1000, true, 0xC8)).isEqualTo(IdeChannel.BM_INTERRUPT << 8 | 0x50);
    byte[] want = new byte[1536];
    image.read(100 * 512, want, 0, 1536);
    assertThat(Arrays.copyOfRange(ram, 0x20000, 0x20200))
        .isEqualTo(Arrays.copyOfRange(want, 0, 512));
    assertThat(Arrays.copyOfRange(ram, 0x30000, 0x30400))
        .isEqualTo(Arrays.copyOfRange(want, 512, 1536));
    assertThat(isa[14]).isFalse();
  }

  @Test
  void aPrdTableLargerThanTheTransferLeavesActiveSet() {
    prds(0x1000, 0x20000, 0); // 64 KiB
    lba28(0, 0, 1);
    assertThat(dmaCommand(0x1000, true, 0xC8) >>> 8)
        .isEqualTo(IdeChannel.BM_INTERRUPT | IdeChannel.BM_ACTIVE);
  }

  /**
   * SFF-8038i's "PRD smaller than the transfer" (Interrupt 0, Active 0), as QEMU's ide_dma_cb
   * answers it: the table is read before any data moves, so nothing moves; Status is DRDY|DSC
   * with no error, and no interrupt comes (Linux's ata_bmdma times the command out).
   */
  @Test
  void aPrdTableShorterThanTheTransferMovesNothingAndRaisesNoInterrupt() throws IOException {
    Arrays.fill(ram, 0x20000, 0x20400, (byte) 0xA5);
    prds(0x1000, 0x20000, 512);
    lba28(0, 100, 2);
    out(BM + 4, 4, 0x1000);
    out(BM, 1, IdeChannel.BM_WRITE_MEMORY);
    out(CMD + 7, 1, 0xC8);
    out(BM, 1, IdeChannel.BM_WRITE_MEMORY | IdeChannel.BM_START);
    assertThat(isa[14]).as("interrupt").isFalse();
    assertThat(in(BM + 2, 1) & 7).as("bus-master status").isZero();
    assertThat(in(CMD + 7, 1)).as("status").isEqualTo(0x50);
    assertThat(in(CMD + 1, 1)).as("error").isZero();
    for (int i = 0x20000; i < 0x20400; i++) {
      assertThat(ram[i]).as("RAM at 0x%x", i).isEqualTo((byte) 0xA5);
    }
    assertThat(ide.stats().shortTables).isEqualTo(1);
    assertThat(ide.stats().dmaSectorsRead).isZero();

    // A write whose table never ends (no EOT): 4 KiB of it is read, 512 entries of 2 bytes,
    // 1 KiB for a 4 KiB transfer.
    for (int i = 0; i < 600; i++) {
      put32(0x40000 + 8 * i, 0x20000);
      put32(0x40000 + 8 * i + 4, 2);
    }
    byte[] before = new byte[4096];
    image.read(0, before, 0, 4096);
    lba28(0, 0, 8);
    long prdsBefore = ide.stats().prdEntries;
    out(BM + 4, 4, 0x40000);
    out(BM, 1, 0);
    out(CMD + 7, 1, 0xCA);
    out(BM, 1, IdeChannel.BM_START);
    assertThat(isa[14]).isFalse();
    assertThat(in(CMD + 7, 1)).isEqualTo(0x50);
    assertThat(ide.stats().prdEntries - prdsBefore).isEqualTo(512);
    assertThat(ide.stats().shortTables).isEqualTo(2);
    byte[] after = new byte[4096];
    image.read(0, after, 0, 4096);
    assertThat(after).isEqualTo(before);
    // The device still works afterwards.
    assertThat(identify()[0]).isEqualTo((short) 0x0040);
  }

  @Test
  void aHostilePrdTableGetsAnErrorStatusNotACrash() {
    // Descriptor table outside RAM.
    lba28(0, 0, 1);
    assertThat(dmaCommand(0x7FFF_0000, true, 0xC8))
        .isEqualTo((IdeChannel.BM_INTERRUPT | IdeChannel.BM_ERROR) << 8 | 0x51);
    // Buffer outside RAM, for a write.
    prds(0x1000, 0xFFFF_F000, 512);
    lba28(0, 0, 1);
    assertThat(dmaCommand(0x1000, false, 0xCA))
        .isEqualTo((IdeChannel.BM_INTERRUPT | IdeChannel.BM_ERROR) << 8 | 0x51);
    // Direction bit against the command.
    prds(0x1000, 0x20000, 512);
    lba28(0, 0, 1);
    out(BM + 4, 4, 0x1000);
    out(BM, 1, 0);
    out(CMD + 7, 1, 0xC8);
    out(BM, 1, IdeChannel.BM_START);
    assertThat(in(CMD + 7, 1)).isEqualTo(0x51);
    assertThat(ide.stats().dmaFaults).isEqualTo(2);
    // The device still works afterwards.
    assertThat(identify()[0]).isEqualTo((short) 0x0040);
  }

  /**
   * Random reads and writes of every transfer kind against a copy of the disk kept here; at the
   * end the image file holds that copy. Seed printed on failure.
   */
  @Test
  void randomReadsAndWritesAgreeWithTheImageFile() throws IOException {
    long seed = 0x1DE_2026L;
    Random rnd = new Random(seed);
    byte[] disk = Files.readAllBytes(file);
    out(CMD + 2, 1, 16);
    out(CMD + 6, 1, 0xA0);
    out(CMD + 7, 1, 0xC6);
    assertThat(in(CMD + 7, 1)).isEqualTo(0x50);
    for (int op = 0; op < 300; op++) {
      int kind = rnd.nextInt(6);
      boolean ext = rnd.nextBoolean();
      int count = 1 + rnd.nextInt(ext ? 300 : 100);
      long lba = rnd.nextInt(SECTORS - count + 1);
      String what = "seed " + seed + " op " + op + " kind " + kind + " lba " + lba + " count "
          + count;
      if (ext) {
        lba48(0, lba, count);
      } else {
        lba28(0, lba, count);
      }
      int bytes = count * 512;
      int from = (int) lba * 512;
      switch (kind) {
        case 0, 1 -> { // READ SECTOR(S) (EXT) / READ MULTIPLE (EXT)
          out(CMD + 7, 1, kind == 0 ? (ext ? 0x24 : 0x20) : (ext ? 0x29 : 0xC4));
          byte[] got = new byte[bytes];
          int block = kind == 0 ? 1 : 16;
          for (int s = 0; s < count; s += block) {
            assertThat(isa[14]).as(what).isTrue();
            assertThat(in(CMD + 7, 1)).as(what).isEqualTo(0x58);
            int n = Math.min(block, count - s) * 512;
            for (int i = 0; i < n; i += 4) {
              int v = in(CMD, 4); // 32-bit PIO
              int at = s * 512 + i;
              got[at] = (byte) v;
              got[at + 1] = (byte) (v >>> 8);
              got[at + 2] = (byte) (v >>> 16);
              got[at + 3] = (byte) (v >>> 24);
            }
          }
          assertThat(in(CTL, 1)).as(what).isEqualTo(0x50);
          assertThat(got).as(what).isEqualTo(Arrays.copyOfRange(disk, from, from + bytes));
        }
        case 2, 3 -> { // WRITE SECTOR(S) (EXT) / WRITE MULTIPLE (EXT)
          out(CMD + 7, 1, kind == 2 ? (ext ? 0x34 : 0x30) : (ext ? 0x39 : 0xC5));
          byte[] data = new byte[bytes];
          rnd.nextBytes(data);
          int block = kind == 2 ? 1 : 16;
          for (int s = 0; s < count; s += block) {
            assertThat(in(CMD + 7, 1)).as(what).isEqualTo(0x58);
            int n = Math.min(block, count - s) * 512;
            for (int i = 0; i < n; i += 2) {
              int at = s * 512 + i;
              out(CMD, 2, (data[at] & 0xFF) | (data[at + 1] & 0xFF) << 8);
            }
          }
          assertThat(isa[14]).as(what).isTrue();
          assertThat(in(CMD + 7, 1)).as(what).isEqualTo(0x50);
          System.arraycopy(data, 0, disk, from, bytes);
        }
        default -> { // READ / WRITE DMA (EXT), random scatter of even-sized regions
          boolean read = kind == 4;
          List<Integer> regions = new ArrayList<>();
          int left = bytes;
          int at = 0x10000;
          while (left > 0) {
            int n = Math.min(left, 2 * (1 + rnd.nextInt(0x8000)));
            regions.add(at);
            regions.add(n);
            at += n + 2 * rnd.nextInt(64);
            left -= n;
          }
          prds(0x1000, regions.stream().mapToInt(Integer::intValue).toArray());
          byte[] data = new byte[bytes];
          if (!read) {
            rnd.nextBytes(data);
            scatter(regions, data, true);
          }
          int opcode = read ? (ext ? 0x25 : 0xC8) : (ext ? 0x35 : 0xCA);
          assertThat(dmaCommand(0x1000, read, opcode)).as(what)
              .isEqualTo(IdeChannel.BM_INTERRUPT << 8 | 0x50);
          if (read) {
            scatter(regions, data, false);
            assertThat(data).as(what).isEqualTo(Arrays.copyOfRange(disk, from, from + bytes));
          } else {
            System.arraycopy(data, 0, disk, from, bytes);
          }
        }
      }
    }
    out(CMD + 7, 1, 0xEA); // FLUSH CACHE EXT
    assertThat(in(CMD + 7, 1)).isEqualTo(0x50);
    assertThat(flushes).isEqualTo(1);
    assertThat(Files.readAllBytes(file)).as("seed " + seed).isEqualTo(disk);
    IdeStats s = ide.stats();
    assertThat(s.pioSectorsRead + s.pioSectorsWritten + s.dmaSectorsRead + s.dmaSectorsWritten)
        .isPositive();
    assertThat(s.aborted + s.idNotFound + s.mediaErrors + s.dmaFaults).isZero();
  }

  /** Copies between {@code data} and guest memory at the PRD regions. */
  private void scatter(List<Integer> regions, byte[] data, boolean toRam) {
    int off = 0;
    for (int i = 0; i < regions.size(); i += 2) {
      int at = regions.get(i);
      int n = regions.get(i + 1);
      if (toRam) {
        System.arraycopy(data, off, ram, at, n);
      } else {
        System.arraycopy(ram, at, data, off, n);
      }
      off += n;
    }
  }
}
