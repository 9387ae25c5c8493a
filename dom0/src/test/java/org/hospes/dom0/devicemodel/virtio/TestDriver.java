package org.hospes.dom0.devicemodel.virtio;

import org.hospes.dom0.devicemodel.ArrayGuestDma;

import static org.hospes.dom0.devicemodel.virtio.VirtioConstants.VIRTQ_DESC_F_INDIRECT;
import static org.hospes.dom0.devicemodel.virtio.VirtioConstants.VIRTQ_DESC_F_NEXT;
import static org.hospes.dom0.devicemodel.virtio.VirtioConstants.VIRTQ_DESC_F_WRITE;

/**
 * The driver's side of one legacy-layout split virtqueue in an {@link ArrayGuestDma}, as a
 * guest's virtio_ring would keep it: free descriptors, chains (direct or through an indirect
 * table) made available, used entries read back.
 */
final class TestDriver {
  final ArrayGuestDma mem;
  final int size;
  final long desc;
  final long avail;
  final long used;
  private final boolean[] busy;
  private int availIdx;
  private int lastUsed;
  private long indirectNext;
  private final long indirectEnd;

  /** The queue at page frame {@code pfn}; indirect tables from {@code indirectArea} on. */
  TestDriver(ArrayGuestDma mem, int size, long pfn, long indirectArea, long indirectBytes) {
    this.mem = mem;
    this.size = size;
    this.desc = pfn * 4096;
    this.avail = desc + 16L * size;
    this.used = (avail + 6 + 2L * size + 4095) & -4096L;
    this.busy = new boolean[size];
    this.indirectNext = indirectArea;
    this.indirectEnd = indirectArea + indirectBytes;
  }

  /** One buffer: guest address, length, device-writable. */
  record Seg(long addr, int len, boolean write) {}

  int free() {
    int n = 0;
    for (boolean b : busy) {
      n += b ? 0 : 1;
    }
    return n;
  }

  /** Adds a direct chain over free descriptors (in random free order); returns its head. */
  int add(Seg[] segs, java.util.Random rnd) {
    int[] idx = new int[segs.length];
    for (int i = 0; i < segs.length; i++) {
      int d;
      do {
        d = rnd.nextInt(size);
      } while (busy[d] || contains(idx, i, d));
      idx[i] = d;
    }
    for (int i = 0; i < segs.length; i++) {
      busy[idx[i]] = true;
      writeDesc(desc + 16L * idx[i], segs[i], i + 1 < segs.length ? idx[i + 1] : -1);
    }
    publish(idx[0]);
    return idx[0];
  }

  /** Adds a chain through one indirect table (one descriptor of the ring); returns its head. */
  int addIndirect(Seg[] segs, java.util.Random rnd) {
    long table = indirectNext;
    if (table + 16L * segs.length > indirectEnd) {
      indirectNext = indirectEnd - (indirectEnd - table); // no wrap in tests: caller sizes area
      throw new IllegalStateException("indirect area full");
    }
    indirectNext += 16L * segs.length;
    for (int i = 0; i < segs.length; i++) {
      writeDesc(table + 16L * i, segs[i], i + 1 < segs.length ? i + 1 : -1);
    }
    int d;
    do {
      d = rnd.nextInt(size);
    } while (busy[d]);
    busy[d] = true;
    mem.put64(desc + 16L * d, table);
    mem.put32(desc + 16L * d + 8, 16 * segs.length);
    mem.put16(desc + 16L * d + 12, VIRTQ_DESC_F_INDIRECT);
    mem.put16(desc + 16L * d + 14, 0);
    publish(d);
    return d;
  }

  void resetIndirectArea(long area) {
    indirectNext = area;
  }

  private static boolean contains(int[] a, int n, int v) {
    for (int i = 0; i < n; i++) {
      if (a[i] == v) {
        return true;
      }
    }
    return false;
  }

  private void writeDesc(long at, Seg s, int next) {
    mem.put64(at, s.addr());
    mem.put32(at + 8, s.len());
    int flags = (s.write() ? VIRTQ_DESC_F_WRITE : 0) | (next >= 0 ? VIRTQ_DESC_F_NEXT : 0);
    mem.put16(at + 12, flags);
    mem.put16(at + 14, Math.max(next, 0));
  }

  void publish(int head) {
    mem.put16(avail + 4 + 2L * (availIdx % size), head);
    availIdx = (availIdx + 1) & 0xFFFF;
    mem.put16(avail + 2, availIdx);
  }

  void setNoInterrupt(boolean on) {
    mem.put16(avail, on ? 1 : 0);
  }

  /** Used entries not yet taken: {head, len} pairs; frees the heads' descriptors. */
  java.util.List<int[]> takeUsed() {
    java.util.List<int[]> out = new java.util.ArrayList<>();
    int idx = mem.u16(used + 2);
    while (lastUsed != idx) {
      long e = used + 4 + 8L * (lastUsed % size);
      int head = mem.u32(e);
      out.add(new int[] {head, mem.u32(e + 4)});
      freeChain(head);
      lastUsed = (lastUsed + 1) & 0xFFFF;
    }
    return out;
  }

  private void freeChain(int head) {
    int d = head;
    while (true) {
      busy[d] = false;
      int flags = mem.u16(desc + 16L * d + 12);
      if ((flags & VIRTQ_DESC_F_NEXT) == 0) {
        return;
      }
      d = mem.u16(desc + 16L * d + 14);
    }
  }
}
