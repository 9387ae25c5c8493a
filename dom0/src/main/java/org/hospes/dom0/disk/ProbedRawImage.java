package org.hospes.dom0.disk;

import java.io.IOException;
import java.util.Arrays;
import java.util.Collection;

/**
 * A raw image that was recognised by probing rather than named with {@code format=raw}. A guest
 * owns every byte of a raw disk, so it could write another format's header into sector 0 and,
 * at the next probe, have dom0 open the disk as that format, with a backing file of the guest's
 * choosing (any host file). As QEMU does, writes that would make sector 0 probe as another
 * format are refused; naming the format lifts the restriction.
 */
final class ProbedRawImage implements DiskImage {
  private static final int SECTOR = 512;

  private final DiskImage raw;
  private final Collection<DiskFormat> others;

  ProbedRawImage(DiskImage raw, Collection<DiskFormat> others) {
    this.raw = raw;
    this.others = others;
  }

  @Override
  public long sizeBytes() {
    return raw.sizeBytes();
  }

  @Override
  public boolean readOnly() {
    return raw.readOnly();
  }

  @Override
  public void read(long offset, byte[] buf, int off, int len) throws IOException {
    raw.read(offset, buf, off, len);
  }

  @Override
  public void write(long offset, byte[] buf, int off, int len) throws IOException {
    if (offset < SECTOR && len > 0) {
      byte[] first = new byte[(int) Math.min(SECTOR, raw.sizeBytes())];
      raw.read(0, first, 0, first.length);
      int from = (int) offset;
      int n = Math.min(len, first.length - from);
      System.arraycopy(buf, off, first, from, n);
      for (DiskFormat f : others) {
        if (f.probe(Arrays.copyOf(first, first.length))) {
          throw new IOException("refused a write that would make the probed raw disk look like"
              + " a " + f.name() + " image; give format=raw to allow it");
        }
      }
    }
    raw.write(offset, buf, off, len);
  }

  @Override
  public void flush() throws IOException {
    raw.flush();
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    raw.discard(offset, length);
  }

  @Override
  public String format() {
    return raw.format();
  }

  @Override
  public void close() throws IOException {
    raw.close();
  }
}
