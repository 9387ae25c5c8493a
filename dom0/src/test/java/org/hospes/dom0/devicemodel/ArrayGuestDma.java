package org.hospes.dom0.devicemodel;

/**
 * A domain's memory for device tests: {@code bytes} of RAM from address 0. DMA outside it fails
 * as ForeignGuestDma does for an unpopulated frame; every access is counted and checked. The
 * virtio and e1000 tests drive their devices over it.
 */
public final class ArrayGuestDma implements GuestDma {
  public final byte[] ram;
  public long reads;
  public long writes;
  public long refused;

  public ArrayGuestDma(int bytes) {
    ram = new byte[bytes];
  }

  @Override
  public void read(long gpa, byte[] dst, int off, int len) {
    check(gpa, len);
    reads++;
    System.arraycopy(ram, (int) gpa, dst, off, len);
  }

  @Override
  public void write(long gpa, byte[] src, int off, int len) {
    check(gpa, len);
    writes++;
    System.arraycopy(src, off, ram, (int) gpa, len);
  }

  private void check(long gpa, int len) {
    if (gpa < 0 || len < 0 || gpa + len > ram.length) {
      refused++;
      throw new IllegalArgumentException(String.format("no frame at 0x%x (+%d)", gpa, len));
    }
  }

  public int u16(long a) {
    return (ram[(int) a] & 0xFF) | (ram[(int) a + 1] & 0xFF) << 8;
  }

  public int u32(long a) {
    return u16(a) | u16(a + 2) << 16;
  }

  public void put16(long a, int v) {
    ram[(int) a] = (byte) v;
    ram[(int) a + 1] = (byte) (v >>> 8);
  }

  public void put32(long a, int v) {
    put16(a, v);
    put16(a + 2, v >>> 16);
  }

  public void put64(long a, long v) {
    put32(a, (int) v);
    put32(a + 4, (int) (v >>> 32));
  }
}
