package org.hospes.dom0.devicemodel.virtio;

import static org.hospes.dom0.devicemodel.virtio.VirtioConstants.DESC_SIZE;
import static org.hospes.dom0.devicemodel.virtio.VirtioConstants.VIRTQ_AVAIL_F_NO_INTERRUPT;
import static org.hospes.dom0.devicemodel.virtio.VirtioConstants.VIRTQ_DESC_F_INDIRECT;
import static org.hospes.dom0.devicemodel.virtio.VirtioConstants.VIRTQ_DESC_F_NEXT;
import static org.hospes.dom0.devicemodel.virtio.VirtioConstants.VIRTQ_DESC_F_WRITE;

import org.hospes.dom0.devicemodel.GuestDma;

/**
 * The device's side of one split virtqueue (virtio 1.x, 2.7): the descriptor table, the
 * available ring the driver fills and the used ring the device returns buffers on, all in the
 * domain's memory and reached only through {@link GuestDma}.
 *
 * <ul>
 *   <li>{@link #pop} takes the next available head and walks its chain: NEXT links, an
 *       INDIRECT descriptor's table (only if VIRTIO_RING_F_INDIRECT_DESC was negotiated; one
 *       level, never with NEXT, a whole number of descriptors), readable before writable.
 *   <li>{@link #pushUsed} writes the used element, then the used index (the driver reads the
 *       index first, so the element must be visible before it).
 *   <li>{@link #wantsInterrupt} honours VIRTQ_AVAIL_F_NO_INTERRUPT (no EVENT_IDX is offered).
 * </ul>
 *
 * <p>A driver that breaks the rules (an index past the table, more than the queue size of
 * descriptors in a chain, which is also how a loop ends, nested indirect tables, an available
 * index more than the queue size ahead, ring memory the domain does not populate) gets a
 * {@link VirtqueueException}; the device then stops using the queue. Nothing here allocates
 * after construction.
 */
public final class SplitVirtqueue {
  /** Legacy interface: the used ring starts at the next multiple of this (VIRTIO_PCI_VRING_ALIGN). */
  public static final int LEGACY_ALIGN = 4096;

  private final GuestDma dma;
  private final int size;
  private final DescriptorChain chain;
  private final byte[] scratch = new byte[DESC_SIZE];
  private boolean indirect;
  private long descTable;
  private long availRing;
  private long usedRing;
  private boolean ready;
  private int lastAvail;
  private int usedIdx;
  private long popped;

  /** A queue of {@code size} entries (a power of two, 1 to 32768). */
  public SplitVirtqueue(GuestDma dma, int size) {
    if (size < 1 || size > VirtioConstants.MAX_QUEUE_SIZE || Integer.bitCount(size) != 1) {
      throw new IllegalArgumentException("queue size " + size
          + " is not a power of two from 1 to 32768");
    }
    this.dma = dma;
    this.size = size;
    this.chain = new DescriptorChain(size);
  }

  public int size() {
    return size;
  }

  /** Whether the driver negotiated VIRTIO_RING_F_INDIRECT_DESC. */
  public void setIndirect(boolean enabled) {
    indirect = enabled;
  }

  /** Places the three parts (modern interface: the driver gives each address). */
  public void configure(long desc, long avail, long used) {
    descTable = desc;
    availRing = avail;
    usedRing = used;
    lastAvail = 0;
    usedIdx = 0;
    ready = true;
  }

  /**
   * Places the queue as the legacy interface lays it out from one page frame number: the
   * descriptor table, the available ring right after it, the used ring at the next 4096 bytes.
   */
  public void configureLegacy(long pfn) {
    long desc = pfn * LEGACY_ALIGN;
    long avail = desc + (long) DESC_SIZE * size;
    long used = (avail + 6 + 2L * size + LEGACY_ALIGN - 1) & -(long) LEGACY_ALIGN;
    configure(desc, avail, used);
  }

  /** Bytes the legacy layout takes (what the driver must have allocated). */
  public static long legacyBytes(int size) {
    long availEnd = (long) DESC_SIZE * size + 6 + 2L * size;
    long used = (availEnd + LEGACY_ALIGN - 1) & -(long) LEGACY_ALIGN;
    return used + 6 + 8L * size;
  }

  public void reset() {
    ready = false;
    descTable = availRing = usedRing = 0;
    lastAvail = usedIdx = 0;
    indirect = false;
  }

  public boolean ready() {
    return ready;
  }

  public long descAddress() {
    return descTable;
  }

  public long availAddress() {
    return availRing;
  }

  public long usedAddress() {
    return usedRing;
  }

  /** Chains taken so far. */
  public long popped() {
    return popped;
  }

  /** True if the driver made a buffer available that the device has not taken. */
  public boolean hasAvailable() {
    return ready && availIdx() != lastAvail;
  }

  /**
   * Takes the next available chain; null if there is none. The chain object is the queue's own
   * and valid until the next pop.
   */
  public DescriptorChain pop() {
    if (!ready) {
      return null;
    }
    int avail = availIdx();
    if (avail == lastAvail) {
      return null;
    }
    int head = read16(availRing + 4 + 2L * (lastAvail & (size - 1)));
    if (head >= size) {
      throw new VirtqueueException("available ring entry " + lastAvail + " names descriptor "
          + head + " of a queue of " + size);
    }
    walk(head);
    lastAvail = (lastAvail + 1) & 0xFFFF;
    popped++;
    return chain;
  }

  private int availIdx() {
    int avail = read16(availRing + 2);
    if (((avail - lastAvail) & 0xFFFF) > size) {
      throw new VirtqueueException("available index " + avail + " is more than the queue size"
          + " (" + size + ") ahead of " + lastAvail);
    }
    return avail;
  }

  private void walk(int head) {
    chain.clear(head);
    long table = descTable;
    long tableSize = size;
    boolean inIndirect = false;
    boolean seenWritable = false;
    int i = head;
    while (true) {
      if (i >= tableSize) {
        throw new VirtqueueException("descriptor " + i + " is past its table of " + tableSize);
      }
      read(table + (long) DESC_SIZE * i, scratch, DESC_SIZE);
      long addr = le64(scratch, 0);
      int len = le32(scratch, 8);
      int flags = le16(scratch, 12);
      int next = le16(scratch, 14);
      if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
        if (!indirect) {
          throw new VirtqueueException("indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
        }
        if (inIndirect) {
          throw new VirtqueueException("indirect descriptor inside an indirect table");
        }
        if ((flags & VIRTQ_DESC_F_NEXT) != 0) {
          throw new VirtqueueException("indirect descriptor with NEXT set");
        }
        long bytes = len & 0xFFFF_FFFFL;
        if (bytes == 0 || bytes % DESC_SIZE != 0) {
          throw new VirtqueueException("indirect table of " + bytes
              + " bytes is not a whole number of descriptors");
        }
        table = addr;
        tableSize = bytes / DESC_SIZE;
        inIndirect = true;
        i = 0;
        continue;
      }
      if (chain.count() == size) {
        throw new VirtqueueException("descriptor chain from head " + head
            + " is longer than the queue size " + size + " (a loop?)");
      }
      boolean w = (flags & VIRTQ_DESC_F_WRITE) != 0;
      if (!w && seenWritable) {
        throw new VirtqueueException("device-readable descriptor after a writable one in the"
            + " chain from head " + head);
      }
      seenWritable |= w;
      chain.add(addr, len, w);
      if ((flags & VIRTQ_DESC_F_NEXT) == 0) {
        return;
      }
      i = next;
    }
  }

  /** Returns chain {@code head} to the driver, {@code written} bytes written into it. */
  public void pushUsed(int head, int written) {
    int slot = usedIdx & (size - 1);
    le32(scratch, 0, head);
    le32(scratch, 4, written);
    write(usedRing + 4 + 8L * slot, scratch, 8);
    usedIdx = (usedIdx + 1) & 0xFFFF;
    scratch[0] = (byte) usedIdx;
    scratch[1] = (byte) (usedIdx >>> 8);
    write(usedRing + 2, scratch, 2);
  }

  /** False while the driver has set VIRTQ_AVAIL_F_NO_INTERRUPT. */
  public boolean wantsInterrupt() {
    return (read16(availRing) & VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
  }

  private int read16(long gpa) {
    read(gpa, scratch, 2);
    return le16(scratch, 0);
  }

  private void read(long gpa, byte[] b, int n) {
    try {
      dma.read(gpa, b, 0, n);
    } catch (IllegalArgumentException e) {
      throw new VirtqueueException("ring memory: " + e.getMessage());
    }
  }

  private void write(long gpa, byte[] b, int n) {
    try {
      dma.write(gpa, b, 0, n);
    } catch (IllegalArgumentException e) {
      throw new VirtqueueException("ring memory: " + e.getMessage());
    }
  }

  static int le16(byte[] b, int o) {
    return (b[o] & 0xFF) | (b[o + 1] & 0xFF) << 8;
  }

  static int le32(byte[] b, int o) {
    return le16(b, o) | le16(b, o + 2) << 16;
  }

  static long le64(byte[] b, int o) {
    return (le32(b, o) & 0xFFFF_FFFFL) | (long) le32(b, o + 4) << 32;
  }

  static void le32(byte[] b, int o, int v) {
    b[o] = (byte) v;
    b[o + 1] = (byte) (v >>> 8);
    b[o + 2] = (byte) (v >>> 16);
    b[o + 3] = (byte) (v >>> 24);
  }
}
