package org.hospes.dom0.devicemodel;

/**
 * A bus-master device's view of its domain's memory: guest-physical reads and writes that may
 * cross pages. A range that the domain does not populate fails with IllegalArgumentException,
 * which a device turns into its own error status (a hostile guest's bad descriptor must not
 * stop the device model).
 */
public interface GuestDma {

  void read(long gpa, byte[] dst, int off, int len);

  void write(long gpa, byte[] src, int off, int len);

  default int read32(long gpa) {
    byte[] b = new byte[4];
    read(gpa, b, 0, 4);
    return (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
  }

  default void write32(long gpa, int v) {
    write(gpa, new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)},
        0, 4);
  }
}
