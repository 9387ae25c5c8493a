package org.hospes.x86;

/**
 * The one interface through which loaders, devices and the hypervisor touch guest-physical memory.
 *
 * <p>It accesses memory; it never creates or removes it. Addresses are guest-physical, unsigned,
 * and may exceed 4 GiB under PAE. Multi-byte values are little-endian. Reads of unbacked addresses
 * return all ones and writes to them are dropped, as on a PC bus.
 */
public interface PhysicalMemory {

  int read8(long pa);

  int read16(long pa);

  int read32(long pa);

  default long read64(long pa) {
    return (read32(pa) & 0xFFFF_FFFFL) | ((long) read32(pa + 4) << 32);
  }

  void write8(long pa, int value);

  void write16(long pa, int value);

  void write32(long pa, int value);

  default void write64(long pa, long value) {
    write32(pa, (int) value);
    write32(pa + 4, (int) (value >>> 32));
  }

  /** Copies {@code len} bytes from guest-physical {@code pa} into {@code dst}. */
  default void read(long pa, byte[] dst, int off, int len) {
    for (int i = 0; i < len; i++) {
      dst[off + i] = (byte) read8(pa + i);
    }
  }

  /** Copies {@code len} bytes from {@code src} to guest-physical {@code pa}. */
  default void write(long pa, byte[] src, int off, int len) {
    for (int i = 0; i < len; i++) {
      write8(pa + i, src[off + i]);
    }
  }

  /**
   * Writes {@code len} zero bytes from guest-physical {@code pa}, as {@link #write} of zeros
   * would: a loader's bss. An implementation may skip storage that already reads as zeros.
   */
  default void zero(long pa, long len) {
    byte[] zeros = new byte[(int) Math.min(len, 64 * 1024)];
    for (long done = 0; done < len; done += zeros.length) {
      write(pa + done, zeros, 0, (int) Math.min(zeros.length, len - done));
    }
  }
}
