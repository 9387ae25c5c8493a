package org.hospes.dom0.devicemodel.virtio;

import org.hospes.dom0.devicemodel.GuestDma;

/**
 * One available buffer as the device walked it: the head's index and the guest-physical
 * segments of its descriptors, indirect tables flattened, the device-readable ones first (the
 * driver must put them first; {@link SplitVirtqueue} refuses a chain that does not). The device
 * sees the readable part and the writable part each as one byte stream and moves bytes with
 * {@link #read} and {@link #write}, whatever the driver's split into descriptors (legacy drivers
 * without VIRTIO_F_ANY_LAYOUT split headers from data; Linux does not always).
 *
 * <p>Reused for every pop of its queue: arrays sized to the longest chain the queue allows, so
 * the walk allocates nothing.
 */
public final class DescriptorChain {
  private final long[] addr;
  private final int[] len;
  private int head = -1;
  private int count;
  private int readable;
  private long readableBytes;
  private long writableBytes;

  DescriptorChain(int capacity) {
    addr = new long[capacity];
    len = new int[capacity];
  }

  void clear(int head) {
    this.head = head;
    count = 0;
    readable = 0;
    readableBytes = 0;
    writableBytes = 0;
  }

  void add(long a, int l, boolean writable) {
    addr[count] = a;
    len[count] = l;
    count++;
    long n = l & 0xFFFF_FFFFL;
    if (writable) {
      writableBytes += n;
    } else {
      readable++;
      readableBytes += n;
    }
  }

  /** The index of the chain's head descriptor: what goes into the used ring. */
  public int head() {
    return head;
  }

  /** Descriptors in the chain (indirect tables flattened; the indirect descriptor not counted). */
  public int count() {
    return count;
  }

  /** The first {@code readableCount()} segments are device-readable, the rest writable. */
  public int readableCount() {
    return readable;
  }

  public long address(int i) {
    return addr[i];
  }

  /** Segment {@code i}'s length in bytes (unsigned 32-bit, so up to 4 GiB - 1). */
  public long length(int i) {
    return len[i] & 0xFFFF_FFFFL;
  }

  public boolean writable(int i) {
    return i >= readable;
  }

  public long readableBytes() {
    return readableBytes;
  }

  public long writableBytes() {
    return writableBytes;
  }

  /**
   * Copies {@code n} bytes at {@code offset} of the readable stream into {@code dst}.
   * IllegalArgumentException if the stream is shorter or a segment lies outside the domain's
   * memory (the device fails that request).
   */
  public void read(GuestDma dma, long offset, byte[] dst, int off, int n) {
    move(dma, 0, readable, offset, dst, off, n, false);
  }

  /** Copies {@code n} bytes from {@code src} to {@code offset} of the writable stream. */
  public void write(GuestDma dma, long offset, byte[] src, int off, int n) {
    move(dma, readable, count, offset, src, off, n, true);
  }

  private void move(GuestDma dma, int from, int to, long offset, byte[] buf, int off, int n,
      boolean toGuest) {
    if (offset < 0 || n < 0) {
      throw new IllegalArgumentException("negative offset or length");
    }
    int i = from;
    long skip = offset;
    while (i < to && skip >= length(i)) {
      skip -= length(i);
      i++;
    }
    while (n > 0) {
      if (i >= to) {
        throw new IllegalArgumentException(String.format(
            "the chain's %s part ends before byte %d", toGuest ? "writable" : "readable",
            offset + n));
      }
      int k = (int) Math.min(n, length(i) - skip);
      if (toGuest) {
        dma.write(addr[i] + skip, buf, off, k);
      } else {
        dma.read(addr[i] + skip, buf, off, k);
      }
      off += k;
      n -= k;
      skip = 0;
      i++;
    }
  }
}
