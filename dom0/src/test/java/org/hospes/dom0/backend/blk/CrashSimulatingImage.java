package org.hospes.dom0.backend.blk;

import java.io.IOException;
import java.util.Arrays;
import org.hospes.dom0.disk.DiskImage;

/**
 * A disk that models a volatile write cache in front of stable storage: writes land in the
 * cache, {@link #flush()} moves everything written so far to stable storage, and
 * {@link #powerCut()} returns what stable storage holds, which is all that survives. Reads see
 * the latest writes, as a real drive's cache serves them.
 */
final class CrashSimulatingImage implements DiskImage {
  private final byte[] stable;
  private final byte[] current;
  private long flushes;

  CrashSimulatingImage(int bytes) {
    stable = new byte[bytes];
    current = new byte[bytes];
  }

  /** The contents after a power cut now: only what was flushed. */
  byte[] powerCut() {
    return stable.clone();
  }

  long flushes() {
    return flushes;
  }

  @Override
  public long sizeBytes() {
    return current.length;
  }

  @Override
  public boolean readOnly() {
    return false;
  }

  @Override
  public void read(long offset, byte[] buf, int off, int len) {
    System.arraycopy(current, (int) offset, buf, off, len);
  }

  @Override
  public void write(long offset, byte[] buf, int off, int len) {
    System.arraycopy(buf, off, current, (int) offset, len);
  }

  @Override
  public void flush() {
    flushes++;
    System.arraycopy(current, 0, stable, 0, current.length);
  }

  @Override
  public void discard(long offset, long length) {
    // Discarded ranges may keep their contents (blkif allows either).
  }

  @Override
  public String format() {
    return "crash-sim";
  }

  @Override
  public void close() throws IOException {
    Arrays.fill(current, (byte) 0);
  }
}
