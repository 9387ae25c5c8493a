package org.hospes.dom0.devicemodel.ide;

import org.hospes.dom0.disk.DiskImage;

/**
 * One ATA disk on an IDE channel: the image behind it and the settings the host changes with
 * commands (multiple count, transfer mode, write cache, power mode). Its IDENTIFY DEVICE data
 * ({@link #identify}) follow ATA/ATAPI-6 section 8.15 word by word.
 */
public final class AtaDrive {
  public static final int SECTOR = 512;
  /** Largest READ/WRITE MULTIPLE block (IDENTIFY word 47), as common drives have it. */
  public static final int MAX_MULTIPLE = 16;
  /** The default translation's heads and sectors per track (IDENTIFY words 3 and 6). */
  static final int HEADS = 16;
  static final int SECTORS_PER_TRACK = 63;

  /** The transfer mode SET FEATURES 03h selected: PIO, multiword DMA or Ultra DMA and its number. */
  enum ModeKind { PIO, MWDMA, UDMA }

  private final DiskImage image;
  private final long sectors;
  private final String serial;
  private final String model;
  private int multiple;
  private ModeKind modeKind = ModeKind.PIO;
  private int modeNumber = 4;
  private boolean writeCache = true;
  private boolean standby;
  private boolean asleep;

  /** {@code serial} is at most 20 characters, {@code model} at most 40 (ASCII). */
  public AtaDrive(DiskImage image, String serial, String model) {
    if (serial.length() > 20 || model.length() > 40) {
      throw new IllegalArgumentException("ATA serial is 20 characters and model 40 at most");
    }
    this.image = image;
    this.sectors = image.sizeBytes() / SECTOR;
    this.serial = serial;
    this.model = model;
  }

  public DiskImage image() {
    return image;
  }

  /** Capacity in 512-byte sectors (a partial last sector of the image is not addressable). */
  public long sectors() {
    return sectors;
  }

  int multiple() {
    return multiple;
  }

  void setMultiple(int count) {
    multiple = count;
  }

  void setMode(ModeKind kind, int number) {
    modeKind = kind;
    modeNumber = number;
  }

  ModeKind modeKind() {
    return modeKind;
  }

  int modeNumber() {
    return modeNumber;
  }

  void setWriteCache(boolean on) {
    writeCache = on;
  }

  boolean standby() {
    return standby;
  }

  void setStandby(boolean s) {
    standby = s;
  }

  boolean asleep() {
    return asleep;
  }

  void setAsleep(boolean s) {
    asleep = s;
  }

  /** A hardware or software reset: SLEEP ends; SET FEATURES settings stay (word 85 kept). */
  void reset() {
    asleep = false;
    standby = false;
  }

  /** Cylinders of the default CHS translation (IDENTIFY word 1), at most 16383. */
  int cylinders() {
    return (int) Math.min(16383, sectors / (HEADS * SECTORS_PER_TRACK));
  }

  /**
   * The 256 words of IDENTIFY DEVICE as the drive returns them for device {@code devno} (0 or
   * 1), with the integrity word (255) last. The strings are ATA strings: space-padded, two
   * characters per word, the first in the high byte.
   */
  public short[] identify(int devno) {
    short[] w = new short[256];
    int cyl = cylinders();
    w[0] = 0x0040; // ATA device, not removable
    w[1] = (short) cyl;
    w[3] = HEADS;
    w[6] = SECTORS_PER_TRACK;
    string(w, 10, 20, serial);
    string(w, 23, 8, "1.0");
    string(w, 27, 40, model);
    w[47] = (short) (0x8000 | MAX_MULTIPLE);
    // Capabilities: IORDY supported (11), LBA (9), DMA (8).
    w[49] = 0x0B00;
    w[50] = 0x4000;
    w[51] = 0x0200;
    // Words 54-58, 64-70 and 88 are valid.
    w[53] = 0x0007;
    w[54] = (short) cyl;
    w[55] = HEADS;
    w[56] = SECTORS_PER_TRACK;
    long chs = (long) cyl * HEADS * SECTORS_PER_TRACK;
    w[57] = (short) chs;
    w[58] = (short) (chs >>> 16);
    w[59] = (short) (multiple == 0 ? 0 : 0x0100 | multiple);
    long lba28 = Math.min(sectors, 0x0FFF_FFFFL);
    w[60] = (short) lba28;
    w[61] = (short) (lba28 >>> 16);
    w[63] = (short) (0x0007 | (modeKind == ModeKind.MWDMA ? 0x0100 << modeNumber : 0));
    w[64] = 0x0003; // PIO modes 3 and 4
    w[65] = 120;
    w[66] = 120;
    w[67] = 120;
    w[68] = 120;
    w[80] = 0x007E; // ATA-1 to ATA/ATAPI-6
    // Supported: write cache (5), power management (3); FLUSH CACHE (12), its EXT form (13)
    // and 48-bit addresses (10); bit 14 of words 83/84/87 says the word is valid.
    w[82] = 0x0028;
    w[83] = 0x7400;
    w[84] = 0x4000;
    w[85] = (short) (0x0008 | (writeCache ? 0x0020 : 0));
    w[86] = 0x3400;
    w[87] = 0x4000;
    w[88] = (short) (0x003F | (modeKind == ModeKind.UDMA ? 0x0100 << modeNumber : 0));
    // Hardware reset result: bit 14 valid, CBLID above VIH (13), this device passed its
    // diagnostics and was numbered by jumper (device 0: bits 3-0; device 1: bits 11-8).
    w[93] = (short) (0x6000 | (devno == 0 ? 0x000B : 0x0B00));
    w[100] = (short) sectors;
    w[101] = (short) (sectors >>> 16);
    w[102] = (short) (sectors >>> 32);
    w[103] = (short) (sectors >>> 48);
    w[106] = 0x4000; // word valid, one 512-byte logical sector per physical sector
    int sum = 0xA5;
    for (int i = 0; i < 255; i++) {
      sum += (w[i] & 0xFF) + ((w[i] >>> 8) & 0xFF);
    }
    w[255] = (short) (((-sum & 0xFF) << 8) | 0xA5);
    return w;
  }

  private static void string(short[] w, int word, int chars, String s) {
    for (int i = 0; i < chars; i += 2) {
      int hi = i < s.length() ? s.charAt(i) : ' ';
      int lo = i + 1 < s.length() ? s.charAt(i + 1) : ' ';
      w[word + i / 2] = (short) (hi << 8 | lo);
    }
  }
}
