package org.hospes.dom0.boot;

import org.hospes.x86.PhysicalMemory;

/**
 * One entry of the Multiboot memory map (spec 0.6.96, section 3.3, "mmap_*"). Written by the
 * loader. The leading size field counts the bytes after itself, so a kernel steps to the next
 * entry with {@code addr += size + 4}.
 *
 * <pre>
 * offset  field
 *   0     size    (20: the bytes that follow)
 *   4     base_addr   (64-bit)
 *  12     length      (64-bit)
 *  20     type        (1 = available RAM, anything else reserved)
 * </pre>
 */
public record MemoryMapEntry(long base, long length, int type) {

  public static final int SIZE = 24;
  public static final int OFFSET_SIZE = 0;
  public static final int OFFSET_BASE = 4;
  public static final int OFFSET_LENGTH = 12;
  public static final int OFFSET_TYPE = 20;
  /** The value of the size field: the entry without the size field itself. */
  public static final int SIZE_FIELD_VALUE = SIZE - 4;

  public static final int TYPE_AVAILABLE = 1;
  public static final int TYPE_RESERVED = 2;

  public long end() {
    return base + length;
  }

  public void writeTo(PhysicalMemory memory, long pa) {
    memory.write32(pa + OFFSET_SIZE, SIZE_FIELD_VALUE);
    memory.write64(pa + OFFSET_BASE, base);
    memory.write64(pa + OFFSET_LENGTH, length);
    memory.write32(pa + OFFSET_TYPE, type);
  }

  public static MemoryMapEntry readFrom(PhysicalMemory memory, long pa) {
    return new MemoryMapEntry(memory.read64(pa + OFFSET_BASE), memory.read64(pa + OFFSET_LENGTH),
        memory.read32(pa + OFFSET_TYPE));
  }
}
