package org.hospes.dom0.boot;

import java.nio.file.Path;
import org.hospes.x86.MmioDevice;

/**
 * A raw system ROM (a BIOS image) of 64 or 128 KiB, as a PC maps it: its last byte at 0xFFFFF,
 * below 1 MiB (0xF0000 or 0xE0000 up), and again at the top of the 4 GiB space (0xFFFF0000 or
 * 0xFFFE0000 up), where the processor fetches its first instruction after RESET (F000:FFF0 with
 * CS base 0xFFFF0000). The alias at the top is this read-only window; the copy below 1 MiB is
 * put in RAM by the machine, writable, as chipsets let firmware shadow itself (the i440FX's PAM
 * registers are not modelled).
 */
public final class BiosRom implements MmioDevice {
  public static final int SMALL = 64 << 10;
  public static final int LARGE = 128 << 10;
  /** The first address above the low copy: 1 MiB. */
  public static final long LOW_END = 0x10_0000L;
  /** The first address above the high alias: 4 GiB. */
  public static final long HIGH_END = 0x1_0000_0000L;

  private final byte[] image;

  private BiosRom(byte[] image) {
    this.image = image;
  }

  /** Reads and checks a ROM image file; one-line BootException if unusable. */
  public static BiosRom read(Path file) throws BootException {
    return of(KernelFiles.read(file));
  }

  public static BiosRom of(byte[] image) throws BootException {
    if (image.length != SMALL && image.length != LARGE) {
      throw new BootException(String.format(
          "a BIOS ROM must be 64 KiB or 128 KiB (65536 or 131072 bytes), this one is %d bytes",
          image.length));
    }
    return new BiosRom(image.clone());
  }

  public int size() {
    return image.length;
  }

  /** Where the copy below 1 MiB starts: 0xF0000 or 0xE0000. */
  public long lowBase() {
    return LOW_END - image.length;
  }

  /** Where the alias below 4 GiB starts: 0xFFFF0000 or 0xFFFE0000. */
  public long highBase() {
    return HIGH_END - image.length;
  }

  public byte[] bytes() {
    return image.clone();
  }

  @Override
  public int read(long offset, int size) {
    int v = 0;
    for (int i = 0; i < size; i++) {
      v |= (image[(int) offset + i] & 0xFF) << (8 * i);
    }
    return v;
  }

  @Override
  public void write(long offset, int size, int value) {
    // ROM: writes go nowhere.
  }
}
