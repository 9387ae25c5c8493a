package org.hospes.hv.control;

import org.hospes.x86.MemoryBus;

/**
 * One page of another domain mapped by a privileged domain: a foreign mapping (privcmd; the
 * frame is resolved through the owner's P2M once, when mapped) or a grant mapping (the owner's
 * grant entry names the frame and stays pinned, GTF_reading/GTF_writing set, until unmapped). Offsets are within the page and are
 * checked; once the owner is gone or the mapping is dropped, reads give zeros and writes are
 * ignored, so a dying guest can never hand dom0 a frame that belongs to someone else.
 */
public final class ForeignPage {
  private final DomainControl control;
  private final int domid;
  private final long gfn;
  private final long machineBase;
  private final MemoryBus machine;
  /** The grant reference this page was mapped through, or -1 for a foreign mapping. */
  private final int ref;
  private final boolean readonly;
  private final org.hospes.hv.grant.GrantTables granter;
  private boolean mapped = true;

  ForeignPage(DomainControl control, int domid, long gfn, long mfn, MemoryBus machine) {
    this(control, domid, gfn, mfn, machine, -1, false, null);
  }

  ForeignPage(DomainControl control, int domid, long gfn, long mfn, MemoryBus machine, int ref,
      boolean readonly, org.hospes.hv.grant.GrantTables granter) {
    this.control = control;
    this.domid = domid;
    this.gfn = gfn;
    this.machineBase = mfn << 12;
    this.machine = machine;
    this.ref = ref;
    this.readonly = readonly;
    this.granter = granter;
  }

  /** The grant reference, or -1 for a foreign (privcmd) mapping. */
  public int ref() {
    return ref;
  }

  public boolean readonly() {
    return readonly;
  }

  private boolean writable(int off, int len) {
    if (readonly) {
      // A backend bug, not a guest's doing: the backend chose to map it read-only.
      throw new IllegalStateException("write to read-only grant " + ref + " of domain " + domid);
    }
    return live(off, len);
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

  /** Drops the mapping (counted); a grant mapping's pin on the owner's entry goes with it. */
  public void unmap() {
    if (mapped) {
      mapped = false;
      if (granter != null) {
        granter.unpinForService(ref, !readonly);
        control.grantUnmapped();
      } else {
        control.unmapped();
      }
    }
  }
}
