package org.hospes.x86;

/** A device mapped into the physical address space. It sees offsets, never its own base. */
public interface MmioDevice {

  /** Reads {@code size} (1, 2 or 4) bytes at {@code offset} within the device's range. */
  int read(long offset, int size);

  /** Writes the low {@code size} bytes of {@code value} at {@code offset}. */
  void write(long offset, int size, int value);
}
