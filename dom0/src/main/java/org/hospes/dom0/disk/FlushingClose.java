package org.hospes.dom0.disk;

import java.io.IOException;
import java.util.Objects;

/**
 * A plugin format's image, closed as the built-in ones are: a writable one is flushed first, so
 * that what the guest wrote reaches stable storage when the disk goes (end of a run, Ctrl-C),
 * as QEMU's bdrv_close does, whether or not the plugin's own close forces it; and it is counted
 * among the process's open images ({@link ImageLock}) until closed, so that it is not opened
 * for writing and read-only at once. A second close does nothing.
 */
final class FlushingClose implements DiskImage {
  private final DiskImage image;
  private final ImageLock.Hold hold;
  private boolean closed;

  FlushingClose(DiskImage image, ImageLock.Hold hold) {
    this.image = Objects.requireNonNull(image, "image");
    this.hold = Objects.requireNonNull(hold, "hold");
  }

  @Override
  public long sizeBytes() {
    return image.sizeBytes();
  }

  @Override
  public boolean readOnly() {
    return image.readOnly();
  }

  @Override
  public void read(long offset, byte[] buf, int off, int len) throws IOException {
    image.read(offset, buf, off, len);
  }

  @Override
  public void write(long offset, byte[] buf, int off, int len) throws IOException {
    image.write(offset, buf, off, len);
  }

  @Override
  public void flush() throws IOException {
    image.flush();
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    image.discard(offset, length);
  }

  @Override
  public String format() {
    return image.format();
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (!image.readOnly()) {
        image.flush();
      }
    } finally {
      try {
        image.close();
      } finally {
        hold.release();
      }
    }
  }
}
