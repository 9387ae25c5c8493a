package org.hospes.hv.control;

import org.hospes.hv.domain.Domain;
import org.hospes.x86.MemoryBus;

/**
 * One page of another domain mapped by a service domain: either a foreign mapping (privcmd: the
 * frame is resolved through the owner's P2M once, when mapped, and held by a page reference
 * until unmapped) or a grant mapping (gntdev: the granter's entry is pinned and the frame sits
 * in the mapper's grant window). Offsets are within the page and are checked. Both keep their
 * frame the owner's while mapped, a destroyed owner's too (it stays dying until they go), so a
 * stale mapping never reaches a frame given to another domain; an owner that shut down or
 * crashed keeps its memory until it is destroyed, so its mappings stay valid until then. Once
 * the mapping is revoked (the grant was revoked, its mapper ended) or dropped, reads give zeros
 * and writes are ignored. A read-only grant mapping refuses writes.
 */
public final class ForeignPage {
  private final DomainControl control;
  private final int domid;
  /** Foreign mappings: the domain whose frame this mapping holds; else null. */
  private final Domain owner;
  private final long gfn;
  private final long mfn;
  private final long machineBase;
  private final MemoryBus machine;
  /** Grant mappings: the frame in the mapper's window and the maptrack handle; else -1. */
  private final long windowGfn;
  private final int handle;
  private final boolean writable;
  private boolean mapped = true;

  private ForeignPage(DomainControl control, int domid, Domain owner, long gfn, long mfn,
      MemoryBus machine, long windowGfn, int handle, boolean writable) {
    this.control = control;
    this.domid = domid;
    this.owner = owner;
    this.gfn = gfn;
    this.mfn = mfn;
    this.machineBase = mfn << 12;
    this.machine = machine;
    this.windowGfn = windowGfn;
    this.handle = handle;
    this.writable = writable;
  }

  static ForeignPage foreign(DomainControl control, Domain owner, long gfn, long mfn,
      MemoryBus machine) {
    return new ForeignPage(control, owner.domid(), owner, gfn, mfn, machine, -1, -1, true);
  }

  static ForeignPage grant(DomainControl control, int domid, long windowGfn, long mfn,
      int handle, boolean writable, MemoryBus machine) {
    return new ForeignPage(control, domid, null, -1, mfn, machine, windowGfn, handle,
        writable);
  }

  /** The domain whose page this is. */
  public int domid() {
    return domid;
  }

  /** Its guest frame (foreign mappings; -1 for a grant mapping). */
  public long gfn() {
    return gfn;
  }

  public boolean isGrant() {
    return handle >= 0;
  }

  public boolean isWritable() {
    return writable;
  }

  private boolean live(int off, int len) {
    if (off < 0 || len < 0 || off + len > 4096) {
      throw new IndexOutOfBoundsException("offset " + off + "+" + len + " outside the page");
    }
    if (!mapped) {
      return false;
    }
    return isGrant() ? control.windowHolds(windowGfn, mfn) : control.foreignLive(owner);
  }

  private boolean writable(int off, int len) {
    boolean live = live(off, len);
    if (!writable) {
      throw new IllegalStateException("write to a read-only grant mapping of domain " + domid);
    }
    return live;
  }

  public int read8(int off) {
    return live(off, 1) ? machine.read8(machineBase + off) : 0;
  }

  public int read32(int off) {
    return live(off, 4) ? machine.read32(machineBase + off) : 0;
  }

  public void write8(int off, int v) {
    if (writable(off, 1)) {
      machine.write8(machineBase + off, v);
    }
  }

  public void write32(int off, int v) {
    if (writable(off, 4)) {
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
    if (writable(off, len)) {
      machine.write(machineBase + off, src, srcOff, len);
    }
  }

  public boolean isMapped() {
    return mapped;
  }

  /** Drops the mapping (counted; a grant's pin or a foreign mapping's reference is released). */
  public void unmap() {
    if (mapped) {
      mapped = false;
      if (isGrant()) {
        control.unmapGrant(windowGfn, handle);
      } else {
        control.unmapped(this, owner, mfn);
      }
    }
  }
}
