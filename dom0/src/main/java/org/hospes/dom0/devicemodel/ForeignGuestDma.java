package org.hospes.dom0.devicemodel;

import org.hospes.hv.control.DomainControl;
import org.hospes.hv.control.ForeignPage;

/**
 * {@link GuestDma} through dom0's foreign mappings (privcmd, as QEMU maps guest memory on Xen):
 * each page of a transfer is mapped, copied and unmapped. Nothing is cached, so a frame the
 * guest gives back (balloon) is never written after it left the domain; each map is charged to
 * dom0 like any other foreign mapping.
 */
public final class ForeignGuestDma implements GuestDma {
  private static final int PAGE = 4096;

  private final DomainControl dom0;
  private final int domid;

  public ForeignGuestDma(DomainControl dom0, int domid) {
    this.dom0 = dom0;
    this.domid = domid;
  }

  @Override
  public void read(long gpa, byte[] dst, int off, int len) {
    copy(gpa, dst, off, len, false);
  }

  @Override
  public void write(long gpa, byte[] src, int off, int len) {
    copy(gpa, src, off, len, true);
  }

  private void copy(long gpa, byte[] buf, int off, int len, boolean toGuest) {
    if (gpa < 0 || len < 0) {
      throw new IllegalArgumentException(String.format("DMA of %d bytes at 0x%x", len, gpa));
    }
    while (len > 0) {
      int pageOff = (int) (gpa & (PAGE - 1));
      int n = Math.min(len, PAGE - pageOff);
      ForeignPage page = dom0.mapForeign(domid, gpa >>> 12);
      try {
        if (toGuest) {
          page.write(pageOff, buf, off, n);
        } else {
          page.read(pageOff, buf, off, n);
        }
      } finally {
        page.unmap();
      }
      gpa += n;
      off += n;
      len -= n;
    }
  }
}
