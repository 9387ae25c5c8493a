package org.hospes.hv.control;

import org.hospes.x86.MemoryBus;

/**
 * One page of another domain mapped by a privileged domain (Xen's foreign mapping: the frame
 * is resolved through the owner's P2M once, when mapped). Offsets are within the page and are
 * checked; once the owner is gone or the mapping is dropped, reads give zeros and writes are
 * ignored, so a dying guest can never hand dom0 a frame that belongs to someone else.
 */
public final class ForeignPage {
  private final DomainControl control;
  private final int domid;
  private final long gfn;
  private final long machineBase;
  private final MemoryBus machine;
  private boolean mapped = true;

  ForeignPage(DomainControl control, int domid, long gfn, long mfn, MemoryBus machine) {
    this.control = control;
    this.domid = domid;
    this.gfn = gfn;
    this.machineBase = mfn << 12;
    this.machine = machine;
  }

  public int domid() {
    return domid;
  }

  public long gfn() {
    return gfn;
  }

  private boolean live(int off, int len) {
    if (off < 0 || len < 0 || off + len > 4096) {
      throw new IndexOutOfBoundsException("offset " + off + "+" + len + " outside the page");
    }
    return mapped && control.ownerAlive(domid);
  }

  public int read8(int off) {
    return live(off, 1) ? machine.read8(machineBase + off) : 0;
  }

  public int read32(int off) {
    return live(off, 4) ? machine.read32(machineBase + off) : 0;
  }

  public void write8(int off, int v) {
    if (live(off, 1)) {
      machine.write8(machineBase + off, v);
    }
  }

  public void write32(int off, int v) {
    if (live(off, 4)) {
      machine.write32(machineBase + off, v);
    }
  }

  public void read(int off, byte[] dst, int dstOff, int len) {
    if (live(off, len)) {
      machine.read(machineBase + off, dst, dstOff, len);
    } else {
      java.util.Arrays.fill(dst, dstOff, dstOff + len, (byte) 0);
    }
  }

  public void write(int off, byte[] src, int srcOff, int len) {
    if (live(off, len)) {
      machine.write(machineBase + off, src, srcOff, len);
    }
  }

  public boolean isMapped() {
    return mapped;
  }

  /** Drops the mapping (counted). */
  public void unmap() {
    if (mapped) {
      mapped = false;
      control.unmapped();
    }
  }
}
