package org.hospes.dom0.devicemodel.virtio;

import java.util.ArrayList;
import java.util.List;

/**
 * An independent model of a legacy virtio PCI device's transport and split virtqueues (virtio
 * 1.x, 2.7 and 4.1.4.8) over a mirror of guest RAM, for the fuzzers: it takes the same register
 * writes and notifications as the device and does to its mirror what the device must do to RAM,
 * access by access, so that after every step the two memories must be equal byte for byte. A
 * driver's breach of the virtqueue rules (an index past a table, a chain longer than the queue,
 * an indirect table where none was negotiated, nested or with NEXT, a readable descriptor after
 * a writable one, an available index more than a queue ahead, ring memory outside RAM) puts
 * the model in NEEDS_RESET, as the device must; buffers outside RAM fail only their request.
 */
class VirtioModel {
  /** The mirror refused an access: what the device's DMA refuses too. */
  static final class Fault extends Exception {
    Fault() {
      super(null, null, false, false);
    }
  }

  /** A queue breach: the device must set NEEDS_RESET. */
  static final class Breach extends Exception {
    Breach(String why) {
      super(why, null, false, false);
    }
  }

  static final int STATUS_DRIVER_OK = 4;
  static final int STATUS_NEEDS_RESET = 64;

  final byte[] ram;
  final int queueSize;
  final int features;
  final Queue[] queues;
  int status;
  int driverFeatures;
  int queueSelect;
  boolean broken;
  String breach;

  static final class Queue {
    int pfn;
    boolean ready;
    boolean indirect;
    long desc;
    long avail;
    long used;
    int lastAvail;
    int usedIdx;
  }

  /** One walked chain: segments (address, unsigned length), readable ones first. */
  static final class Chain {
    int head;
    final List<long[]> segs = new ArrayList<>();
    int readable;

    long bytes(boolean writable) {
      long n = 0;
      for (int i = writable ? readable : 0; i < (writable ? segs.size() : readable); i++) {
        n += segs.get(i)[1];
      }
      return n;
    }
  }

  VirtioModel(int ramBytes, int queues, int queueSize, int features) {
    this.ram = new byte[ramBytes];
    this.queueSize = queueSize;
    this.features = features;
    this.queues = new Queue[queues];
    for (int i = 0; i < queues; i++) {
      this.queues[i] = new Queue();
    }
  }

  boolean driverOk() {
    return !broken && (status & STATUS_DRIVER_OK) != 0;
  }

  // ---- memory --------------------------------------------------------------------------

  boolean inRam(long gpa, long len) {
    return gpa >= 0 && len >= 0 && (len == 0 || gpa <= ram.length - len);
  }

  void read(long gpa, byte[] dst, int off, int len) throws Fault {
    if (!inRam(gpa, len)) {
      throw new Fault();
    }
    if (len > 0) {
      System.arraycopy(ram, (int) gpa, dst, off, len);
    }
  }

  void write(long gpa, byte[] src, int off, int len) throws Fault {
    if (!inRam(gpa, len)) {
      throw new Fault();
    }
    if (len > 0) {
      System.arraycopy(src, off, ram, (int) gpa, len);
    }
  }

  int u16(long gpa) throws Fault {
    byte[] b = new byte[2];
    read(gpa, b, 0, 2);
    return (b[0] & 0xFF) | (b[1] & 0xFF) << 8;
  }

  /** A ring access: refused memory is a breach of the queue. */
  private int ring16(long gpa) throws Breach {
    try {
      return u16(gpa);
    } catch (Fault f) {
      throw new Breach("ring memory");
    }
  }

  // ---- registers (the legacy header) ---------------------------------------------------

  /** A write to the legacy header's register {@code port}, as the device takes it. */
  void out(int port, int value) {
    switch (port) {
      case VirtioPciLegacy.DRIVER_FEATURES -> {
        driverFeatures = value & features;
        for (Queue q : queues) {
          q.indirect = (driverFeatures & 1 << VirtioConstants.F_RING_INDIRECT_DESC) != 0;
        }
      }
      case VirtioPciLegacy.QUEUE_ADDRESS -> {
        if (queueSelect < queues.length) {
          Queue q = queues[queueSelect];
          q.pfn = value;
          if (value == 0) {
            q.ready = false;
            q.desc = q.avail = q.used = 0;
            q.lastAvail = q.usedIdx = 0;
            q.indirect = false;
          } else {
            q.desc = (value & 0xFFFF_FFFFL) * 4096;
            q.avail = q.desc + 16L * queueSize;
            q.used = (q.avail + 6 + 2L * queueSize + 4095) & -4096L;
            q.lastAvail = q.usedIdx = 0;
            q.ready = true;
            q.indirect = (driverFeatures & 1 << VirtioConstants.F_RING_INDIRECT_DESC) != 0;
          }
        }
      }
      case VirtioPciLegacy.QUEUE_SELECT -> queueSelect = value & 0xFFFF;
      case VirtioPciLegacy.DEVICE_STATUS -> {
        int v = value & 0xFF;
        if (v == 0) {
          status = 0;
          driverFeatures = 0;
          queueSelect = 0;
          broken = false;
          breach = null;
          for (Queue q : queues) {
            q.pfn = 0;
            q.ready = false;
            q.desc = q.avail = q.used = 0;
            q.lastAvail = q.usedIdx = 0;
            q.indirect = false;
          }
          resetDevice();
        } else {
          status = v | (status & STATUS_NEEDS_RESET);
        }
      }
      default -> { }
    }
  }

  /** The device-specific part of a reset. */
  void resetDevice() {}

  void needsReset(String why) {
    broken = true;
    breach = why;
    status |= STATUS_NEEDS_RESET;
  }

  // ---- the split virtqueue -------------------------------------------------------------

  /** The next available chain, or null; Breach for a broken queue. */
  Chain pop(Queue q) throws Breach {
    if (!q.ready) {
      return null;
    }
    int avail = ring16(q.avail + 2);
    if (((avail - q.lastAvail) & 0xFFFF) > queueSize) {
      throw new Breach("available index " + avail + " more than a queue ahead of "
          + q.lastAvail);
    }
    if (avail == q.lastAvail) {
      return null;
    }
    int head = ring16(q.avail + 4 + 2L * (q.lastAvail & (queueSize - 1)));
    if (head >= queueSize) {
      throw new Breach("head " + head);
    }
    Chain c = walk(q, head);
    q.lastAvail = (q.lastAvail + 1) & 0xFFFF;
    return c;
  }

  private Chain walk(Queue q, int head) throws Breach {
    Chain c = new Chain();
    c.head = head;
    long table = q.desc;
    long tableSize = queueSize;
    boolean inIndirect = false;
    boolean seenWritable = false;
    int i = head;
    byte[] d = new byte[16];
    while (true) {
      if (i >= tableSize) {
        throw new Breach("descriptor " + i + " past its table");
      }
      try {
        read(table + 16L * i, d, 0, 16);
      } catch (Fault f) {
        throw new Breach("descriptor memory");
      }
      long addr = le32(d, 0) & 0xFFFF_FFFFL | (long) le32(d, 4) << 32;
      long len = le32(d, 8) & 0xFFFF_FFFFL;
      int flags = (d[12] & 0xFF) | (d[13] & 0xFF) << 8;
      int next = (d[14] & 0xFF) | (d[15] & 0xFF) << 8;
      if ((flags & VirtioConstants.VIRTQ_DESC_F_INDIRECT) != 0) {
        if (!q.indirect || inIndirect || (flags & VirtioConstants.VIRTQ_DESC_F_NEXT) != 0
            || len == 0 || len % 16 != 0) {
          throw new Breach("bad indirect descriptor");
        }
        table = addr;
        tableSize = len / 16;
        inIndirect = true;
        i = 0;
        continue;
      }
      if (c.segs.size() == queueSize) {
        throw new Breach("chain longer than the queue");
      }
      boolean w = (flags & VirtioConstants.VIRTQ_DESC_F_WRITE) != 0;
      if (!w && seenWritable) {
        throw new Breach("readable after writable");
      }
      seenWritable |= w;
      c.segs.add(new long[] {addr, len});
      if (!w) {
        c.readable++;
      }
      if ((flags & VirtioConstants.VIRTQ_DESC_F_NEXT) == 0) {
        return c;
      }
      i = next;
    }
  }

  void pushUsed(Queue q, int head, int written) throws Breach {
    byte[] e = new byte[8];
    le32(e, 0, head);
    le32(e, 4, written);
    int slot = q.usedIdx & (queueSize - 1);
    try {
      write(q.used + 4 + 8L * slot, e, 0, 8);
      q.usedIdx = (q.usedIdx + 1) & 0xFFFF;
      write(q.used + 2, new byte[] {(byte) q.usedIdx, (byte) (q.usedIdx >>> 8)}, 0, 2);
    } catch (Fault f) {
      throw new Breach("used ring memory");
    }
  }

  /** After buffers were used: the device reads the available flags (a breach if it cannot). */
  void usedBuffers(Queue q) {
    try {
      ring16(q.avail);
    } catch (Breach b) {
      needsReset(b.getMessage());
    }
  }

  /**
   * Moves {@code n} bytes between {@code buf} and the chain's readable (or writable) byte
   * stream from {@code offset}, segment piece by segment piece; the first refused piece ends
   * it (the pieces before it stay done).
   */
  void move(Chain c, boolean writable, long offset, byte[] buf, int off, int n) throws Fault {
    int from = writable ? c.readable : 0;
    int to = writable ? c.segs.size() : c.readable;
    int i = from;
    long skip = offset;
    while (i < to && skip >= c.segs.get(i)[1]) {
      skip -= c.segs.get(i)[1];
      i++;
    }
    while (n > 0) {
      if (i >= to) {
        throw new Fault();
      }
      int k = (int) Math.min(n, c.segs.get(i)[1] - skip);
      long at = c.segs.get(i)[0] + skip;
      if (writable) {
        write(at, buf, off, k);
      } else {
        read(at, buf, off, k);
      }
      off += k;
      n -= k;
      skip = 0;
      i++;
    }
  }

  static int le32(byte[] b, int o) {
    return (b[o] & 0xFF) | (b[o + 1] & 0xFF) << 8 | (b[o + 2] & 0xFF) << 16
        | (b[o + 3] & 0xFF) << 24;
  }

  static void le32(byte[] b, int o, int v) {
    b[o] = (byte) v;
    b[o + 1] = (byte) (v >>> 8);
    b[o + 2] = (byte) (v >>> 16);
    b[o + 3] = (byte) (v >>> 24);
  }
}
