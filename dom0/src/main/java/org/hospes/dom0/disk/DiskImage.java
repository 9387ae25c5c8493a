package org.hospes.dom0.disk;

import java.io.Closeable;
import java.io.IOException;

/**
 * A virtual disk as a device backend sees it: a byte-addressed virtual size, reads, writes, a
 * flush that makes every earlier acknowledged write durable, and discard. blkback, and later the
 * emulated IDE and virtio disks, serve guests from one of these; the format (raw, qcow2, a
 * plugin's) is hidden behind it.
 *
 * <p>Offsets and lengths are in bytes; backends convert from sectors. Reads of ranges that were
 * never written (holes, unallocated clusters) return zeros. Implementations need not be
 * thread-safe: each disk is driven by one backend.
 */
public interface DiskImage extends Closeable {

  /** The guest-visible size in bytes. */
  long sizeBytes();

  /** True if the disk was opened read-only; writes then throw {@link ReadOnlyDiskException}. */
  boolean readOnly();

  /** Fills {@code buf[off, off+len)} from the disk at {@code offset}. */
  void read(long offset, byte[] buf, int off, int len) throws IOException;

  /** Writes {@code buf[off, off+len)} at {@code offset}; durable only after {@link #flush()}. */
  void write(long offset, byte[] buf, int off, int len) throws IOException;

  /** Forces every write acknowledged so far onto stable storage before returning. */
  void flush() throws IOException;

  /**
   * Tells the image that the range's contents no longer matter. Afterwards the range reads as
   * zeros or as its old contents (both are allowed by blkif's DISCARD, with
   * {@code discard-secure} absent); formats free space where they can.
   */
  void discard(long offset, long length) throws IOException;

  /** The format's name, as in {@code format=} ("raw", "qcow2"). */
  String format();
}
