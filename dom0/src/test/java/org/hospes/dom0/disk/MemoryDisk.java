package org.hospes.dom0.disk;

import java.io.IOException;

/**
 * A disk held in a byte array, for tests that send many requests: flushes are counted, not
 * forced to a host disk (a fuzz would otherwise spend its time in fsync), and the bytes are
 * open to the test so that it can compare them with a model.
 */
public final class MemoryDisk implements DiskImage {
  private final byte[] data;
  private final boolean readOnly;
  private long flushes;

  /** A writable disk of {@code bytes} zero bytes. */
  public MemoryDisk(int bytes) {
    this(bytes, false);
  }

  public MemoryDisk(int bytes, boolean readOnly) {
    data = new byte[bytes];
    this.readOnly = readOnly;
  }

  /** The disk's contents, live: a test fills or checks them directly. */
  public byte[] data() {
    return data;
  }

  public long flushes() {
    return flushes;
  }

  @Override
  public long sizeBytes() {
    return data.length;
  }

  @Override
  public boolean readOnly() {
    return readOnly;
  }

  @Override
  public void read(long offset, byte[] buf, int off, int len) {
    System.arraycopy(data, (int) offset, buf, off, len);
  }

  @Override
  public void write(long offset, byte[] buf, int off, int len) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException("read-only");
    }
    System.arraycopy(buf, off, data, (int) offset, len);
  }

  @Override
  public void flush() {
    flushes++;
  }

  @Override
  public void discard(long offset, long length) {
    // Contents may stay: blkif, virtio and ATA TRIM all allow either.
  }

  @Override
  public String format() {
    return "memory";
  }

  @Override
  public void close() {}
}
