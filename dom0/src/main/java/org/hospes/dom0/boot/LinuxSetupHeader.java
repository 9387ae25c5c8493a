package org.hospes.dom0.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The fields of a bzImage's setup header (Linux's boot protocol, Documentation/arch/x86/boot.rst)
 * that a 32-bit boot loader reads. The header sits at offset 0x1F1 of the image and, from
 * there, at the same offsets of the {@code boot_params} zero page ({@link LinuxBootParams}).
 *
 * @param setupSects real-mode setup sectors after the boot sector (0 means 4)
 * @param syssize the protected-mode kernel's size in 16-byte paragraphs
 * @param version the boot protocol version, major in the high byte (0x20F is 2.15)
 * @param loadflags bit 0 LOADED_HIGH: the protected-mode kernel runs at 1 MiB or above
 * @param code32Start where a non-relocatable kernel's 32-bit entry must be loaded
 * @param initrdAddrMax the highest address the initrd's last byte may have (2.03+)
 * @param kernelAlignment the alignment a relocatable kernel must be loaded at (2.05+)
 * @param relocatable the kernel may be loaded at any kernelAlignment-aligned address (2.05+)
 * @param cmdlineSize the longest command line, without its NUL (2.06+; 255 before)
 * @param prefAddress where a relocatable kernel prefers to run (2.10+)
 * @param initSize the bytes from the load address the kernel needs to decompress itself (2.10+)
 * @param headerEnd one past the header's last byte in the image: 0x202 plus the jump's
 *     displacement at 0x201, the span a loader copies into the zero page
 */
public record LinuxSetupHeader(int setupSects, long syssize, int version, int loadflags,
    long code32Start, long initrdAddrMax, long kernelAlignment, boolean relocatable,
    long cmdlineSize, long prefAddress, long initSize, int headerEnd) {

  // Offsets in the image (and in boot_params), named as struct setup_header names them.
  public static final int SETUP_SECTS = 0x1F1;
  public static final int SYSSIZE = 0x1F4;
  public static final int BOOT_FLAG = 0x1FE;
  public static final int JUMP = 0x200;
  public static final int HEADER = 0x202;
  public static final int VERSION = 0x206;
  public static final int TYPE_OF_LOADER = 0x210;
  public static final int LOADFLAGS = 0x211;
  public static final int CODE32_START = 0x214;
  public static final int RAMDISK_IMAGE = 0x218;
  public static final int RAMDISK_SIZE = 0x21C;
  public static final int HEAP_END_PTR = 0x224;
  public static final int CMD_LINE_PTR = 0x228;
  public static final int INITRD_ADDR_MAX = 0x22C;
  public static final int KERNEL_ALIGNMENT = 0x230;
  public static final int RELOCATABLE_KERNEL = 0x234;
  public static final int CMDLINE_SIZE = 0x238;
  public static final int PREF_ADDRESS = 0x258;
  public static final int INIT_SIZE = 0x260;

  /** "HdrS" read as a little-endian u32. */
  public static final int MAGIC = 0x5372_6448;
  public static final int BOOT_FLAG_MAGIC = 0xAA55;
  /** loadflags bit 0: the protected-mode code is loaded at 0x100000. */
  public static final int LOADED_HIGH = 0x01;
  /** The oldest protocol this loader speaks: 2.02 put the command line anywhere below 0xA0000. */
  public static final int MIN_VERSION = 0x202;
  /** Where a zImage-era kernel's initrd had to end (before 2.03 initrd_addr_max). */
  static final long OLD_INITRD_ADDR_MAX = 0x37FF_FFFFL;

  /** Parses the header of {@code image}, or says in one line why it is not a bootable bzImage. */
  public static LinuxSetupHeader parse(byte[] image) throws BootException {
    if (image.length < 0x264 || le(image).getInt(HEADER) != MAGIC) {
      throw new BootException("not a Linux bzImage (no HdrS setup header at 0x202)");
    }
    ByteBuffer b = le(image);
    int version = b.getShort(VERSION) & 0xFFFF;
    if (version < MIN_VERSION) {
      throw BootException.format("Linux boot protocol %d.%02d is too old (2.02 or later needed)",
          version >> 8, version & 0xFF);
    }
    int loadflags = image[LOADFLAGS] & 0xFF;
    if ((loadflags & LOADED_HIGH) == 0) {
      throw new BootException("a zImage (loadflags LOADED_HIGH clear) must be loaded at 0x10000"
          + " by real-mode code; only bzImages are booted");
    }
    int setupSects = image[SETUP_SECTS] & 0xFF;
    int headerEnd = HEADER + image[JUMP + 1];
    if (image[JUMP] != (byte) 0xEB || headerEnd <= VERSION || headerEnd > 0x290
        || headerEnd > image.length) {
      throw BootException.format("bad setup header: the jump at 0x200 (%02x %02x) does not end"
          + " it between 0x208 and 0x290", image[JUMP], image[JUMP + 1]);
    }
    boolean v203 = version >= 0x203;
    boolean v205 = version >= 0x205;
    boolean v210 = version >= 0x20A;
    return new LinuxSetupHeader(setupSects == 0 ? 4 : setupSects, u32(b, SYSSIZE), version,
        loadflags, u32(b, CODE32_START),
        v203 ? u32(b, INITRD_ADDR_MAX) : OLD_INITRD_ADDR_MAX,
        v205 ? u32(b, KERNEL_ALIGNMENT) : 0,
        v205 && image[RELOCATABLE_KERNEL] != 0,
        version >= 0x206 ? u32(b, CMDLINE_SIZE) : 255,
        v210 ? b.getLong(PREF_ADDRESS) : 0,
        v210 ? u32(b, INIT_SIZE) : 0,
        headerEnd);
  }

  /** The protected-mode kernel's offset in the file: after the boot sector and the setup. */
  public long kernelOffset() {
    return (setupSects + 1L) * 512;
  }

  /** "2.15". */
  public String versionName() {
    return String.format("%d.%02d", version >> 8, version & 0xFF);
  }

  private static long u32(ByteBuffer b, int offset) {
    return b.getInt(offset) & 0xFFFF_FFFFL;
  }

  private static ByteBuffer le(byte[] image) {
    return ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
  }
}
