package org.hospes.dom0.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * The Multiboot header a kernel embeds in its image (Multiboot spec 0.6.96, section 3.1).
 *
 * <pre>
 * offset  field          present when
 *   0     magic          always (0x1BADB002)
 *   4     flags          always
 *   8     checksum       always (magic + flags + checksum == 0 mod 2^32)
 *  12     header_addr    flags bit 16 (the "a.out kludge")
 *  16     load_addr      flags bit 16
 *  20     load_end_addr  flags bit 16
 *  24     bss_end_addr   flags bit 16
 *  28     entry_addr     flags bit 16
 *  32     mode_type      flags bit 2
 *  36     width          flags bit 2
 *  40     height         flags bit 2
 *  44     depth          flags bit 2
 * </pre>
 *
 * @param fileOffset where the magic sits in the image
 */
public record MultibootHeader(
    int fileOffset, int flags, long headerAddr, long loadAddr, long loadEndAddr, long bssEndAddr,
    long entryAddr) {

  public static final int MAGIC = 0x1BADB002;
  /** The header must lie entirely within this many bytes from the start of the image. */
  public static final int SEARCH_LIMIT = 8192;
  /** ... and start at a 32-bit aligned offset. */
  public static final int ALIGNMENT = 4;

  public static final int OFFSET_MAGIC = 0;
  public static final int OFFSET_FLAGS = 4;
  public static final int OFFSET_CHECKSUM = 8;
  public static final int OFFSET_HEADER_ADDR = 12;
  public static final int OFFSET_LOAD_ADDR = 16;
  public static final int OFFSET_LOAD_END_ADDR = 20;
  public static final int OFFSET_BSS_END_ADDR = 24;
  public static final int OFFSET_ENTRY_ADDR = 28;
  /** Size of the mandatory part. */
  public static final int BASE_SIZE = 12;
  /** Size with the a.out kludge address fields. */
  public static final int ADDRESS_FIELDS_SIZE = 32;

  // Flags 0-15 are requirements: a loader that cannot meet one must refuse the kernel.
  /** Boot modules must be page aligned. */
  public static final int FLAG_PAGE_ALIGN = 1 << 0;
  /** mem_lower/mem_upper (and the memory map if available) must be provided. */
  public static final int FLAG_MEMORY_INFO = 1 << 1;
  /** A video mode table must be provided. */
  public static final int FLAG_VIDEO_MODE = 1 << 2;
  /** Bits 16-31 are optional features; bit 16 says the address fields are valid. */
  public static final int FLAG_ADDRESS_FIELDS = 1 << 16;
  public static final int REQUIRED_FLAGS_MASK = 0xFFFF;

  public boolean hasAddressFields() {
    return (flags & FLAG_ADDRESS_FIELDS) != 0;
  }

  /**
   * Finds the first valid header. A magic with a wrong checksum is skipped, since the magic can
   * occur in code or data by chance; only if no valid header follows is the bad one reported.
   *
   * @return empty if the image has no Multiboot magic in its first {@link #SEARCH_LIMIT} bytes
   */
  public static Optional<MultibootHeader> find(byte[] image) throws BootException {
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    int limit = Math.min(image.length, SEARCH_LIMIT);
    int badChecksumAt = -1;
    for (int at = 0; at + BASE_SIZE <= limit; at += ALIGNMENT) {
      if (b.getInt(at + OFFSET_MAGIC) != MAGIC) {
        continue;
      }
      int flags = b.getInt(at + OFFSET_FLAGS);
      if (MAGIC + flags + b.getInt(at + OFFSET_CHECKSUM) != 0) {
        if (badChecksumAt < 0) {
          badChecksumAt = at;
        }
        continue;
      }
      if ((flags & FLAG_ADDRESS_FIELDS) == 0) {
        return Optional.of(new MultibootHeader(at, flags, 0, 0, 0, 0, 0));
      }
      if (at + ADDRESS_FIELDS_SIZE > limit) {
        throw BootException.format("truncated Multiboot header at offset 0x%x: its address"
            + " fields (flag bit 16) lie past the first %d bytes of the image", at, limit);
      }
      return Optional.of(new MultibootHeader(at, flags, u32(b, at + OFFSET_HEADER_ADDR),
          u32(b, at + OFFSET_LOAD_ADDR), u32(b, at + OFFSET_LOAD_END_ADDR),
          u32(b, at + OFFSET_BSS_END_ADDR), u32(b, at + OFFSET_ENTRY_ADDR)));
    }
    if (badChecksumAt >= 0) {
      throw BootException.format("Multiboot header at offset 0x%x has a bad checksum",
          badChecksumAt);
    }
    return Optional.empty();
  }

  private static long u32(ByteBuffer b, int offset) {
    return b.getInt(offset) & 0xFFFF_FFFFL;
  }
}
