package org.hospes.dom0.backend.blk;

import org.hospes.dom0.disk.DiskImage;

/**
 * A disk held in a byte array, for tests that send many requests: flushes are counted, not
 * forced to a host disk (the fuzz would otherwise spend its time in fsync).
 */
final class MemoryImage implements DiskImage {
  private final byte[] bytes;
  private long flushes;

  MemoryImage(int size) {
    bytes = new byte[size];
  }

  long flushes() {
    return flushes;
  }

  @Override
  public long sizeBytes() {
    return bytes.length;
  }

  @Override
  public boolean readOnly() {
    return false;
  }

  @Override
  public void read(long offset, byte[] buf, int off, int len) {
    System.arraycopy(bytes, (int) offset, buf, off, len);
  }

  @Override
  public void write(long offset, byte[] buf, int off, int len) {
    System.arraycopy(buf, off, bytes, (int) offset, len);
  }

  @Override
  public void flush() {
    flushes++;
  }

  @Override
  public void discard(long offset, long length) {
    // Contents may stay (blkif allows either).
  }

  @Override
  public String format() {
    return "memory";
  }

  @Override
  public void close() {}
}
