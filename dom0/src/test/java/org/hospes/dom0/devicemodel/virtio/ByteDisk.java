package org.hospes.dom0.devicemodel.virtio;

import java.io.IOException;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.disk.ReadOnlyDiskException;

/** A disk in a byte array; flushes counted. */
final class ByteDisk implements DiskImage {
  final byte[] data;
  final boolean ro;
  long flushes;

  ByteDisk(int bytes, boolean ro) {
    data = new byte[bytes];
    this.ro = ro;
  }

  @Override
  public long sizeBytes() {
    return data.length;
  }

  @Override
  public boolean readOnly() {
    return ro;
  }

  @Override
  public void read(long offset, byte[] buf, int off, int len) {
    System.arraycopy(data, (int) offset, buf, off, len);
  }

  @Override
  public void write(long offset, byte[] buf, int off, int len) throws IOException {
    if (ro) {
      throw new ReadOnlyDiskException("read-only");
    }
    System.arraycopy(buf, off, data, (int) offset, len);
  }

  @Override
  public void flush() {
    flushes++;
  }

  @Override
  public void discard(long offset, long length) {}

  @Override
  public String format() {
    return "bytes";
  }

  @Override
  public void close() {}
}
