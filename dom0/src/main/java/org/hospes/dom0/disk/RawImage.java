package org.hospes.dom0.disk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Objects;

/** A raw image: the file is the disk, byte for byte. Flush is {@code FileChannel.force}. */
public final class RawImage implements DiskImage {
  /** The raw format: it recognises anything, so it is probed last. */
  public static final DiskFormat FORMAT = new DiskFormat() {
    @Override
    public String name() {
      return "raw";
    }

    @Override
    public boolean probe(byte[] header) {
      return true;
    }

    @Override
    public DiskImage open(Path path, boolean readOnly) throws IOException {
      return RawImage.open(path, readOnly);
    }
  };

  private final Path path;
  private final FileChannel channel;
  private final boolean readOnly;
  private final long size;
  private final ImageLock.Hold hold;

  private RawImage(Path path, FileChannel channel, boolean readOnly, long size,
      ImageLock.Hold hold) {
    this.hold = hold;
    this.path = path;
    this.channel = channel;
    this.readOnly = readOnly;
    this.size = size;
  }

  public static RawImage open(Path path, boolean readOnly) throws IOException {
    return open(path, readOnly, ImageChannels::open0);
  }

  /** As {@link #open(Path, boolean)}, the file's channel made by {@code channels} (tests). */
  static RawImage open(Path path, boolean readOnly, ImageChannels channels) throws IOException {
    Objects.requireNonNull(path, "path");
    FileChannel ch = channels.open(path, readOnly);
    ImageLock.Hold hold = null;
    try {
      hold = ImageLock.hold(path, ch, readOnly);
      return new RawImage(path, ch, readOnly, ch.size(), hold);
    } catch (IOException | RuntimeException e) {
      ch.close();
      if (hold != null) {
        hold.release();
      }
      throw e;
    }
  }

  @Override
  public long sizeBytes() {
    return size;
  }

  @Override
  public boolean readOnly() {
    return readOnly;
  }

  @Override
  public void read(long offset, byte[] buf, int off, int len) throws IOException {
    checkRange(offset, len);
    ByteBuffer b = ByteBuffer.wrap(buf, off, len);
    long pos = offset;
    while (b.hasRemaining()) {
      int n = channel.read(b, pos);
      if (n < 0) {
        // A file shorter than its recorded size (truncated behind our back) reads as zeros.
        while (b.hasRemaining()) {
          b.put((byte) 0);
        }
        break;
      }
      pos += n;
    }
  }

  @Override
  public void write(long offset, byte[] buf, int off, int len) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(path.toString());
    }
    checkRange(offset, len);
    ByteBuffer b = ByteBuffer.wrap(buf, off, len);
    long pos = offset;
    while (b.hasRemaining()) {
      pos += channel.write(b, pos);
    }
  }

  @Override
  public void flush() throws IOException {
    if (!readOnly) {
      channel.force(false);
    }
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(path.toString());
    }
    checkRange(offset, length);
    // Raw files keep their bytes: blkif allows a discarded range to read back unchanged.
  }

  @Override
  public String format() {
    return "raw";
  }

  @Override
  public void close() throws IOException {
    // What a guest wrote reaches stable storage when the disk goes (end of a run, Ctrl-C),
    // whether or not the guest flushed.
    hold.closeFlushed(this, channel);
  }

  private void checkRange(long offset, long len) throws IOException {
    if (offset < 0 || len < 0 || offset + len > size) {
      throw new IOException(String.format("%s: access at %d (+%d) outside the %d-byte disk",
          path, offset, len, size));
    }
  }
}
