package org.hospes.dom0.devicemodel;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.control.ForeignPage;

/**
 * {@link GuestDma} through dom0's foreign mappings (privcmd), kept in a map cache as QEMU keeps
 * guest memory mapped on Xen (hw/xen/xen-mapcache.c): a page is mapped (and that map charged
 * to dom0) the first time a transfer touches it and stays mapped, so a virtqueue's index and
 * descriptor reads or an e1000 descriptor write-back cost a memory access, not a map and unmap.
 * The cache is dropped whenever the domain's P2M has changed since it was filled (QEMU
 * invalidates its map cache on Xen's IOREQ_TYPE_INVALIDATE, sent after a decrease_reservation),
 * checked before every access, so a frame the guest gives back (balloon) is never written after
 * it left the domain. At most {@link #MAX_PAGES} pages are kept (least recently used go first),
 * and none once the domain ends.
 */
public final class ForeignGuestDma implements GuestDma {
  private static final int PAGE = 4096;
  /** 16 MiB of guest memory mapped at most. */
  static final int MAX_PAGES = 4096;

  private final DomainControl dom0;
  private final int domid;
  private final LinkedHashMap<Long, ForeignPage> cache = new LinkedHashMap<>(256, 0.75f, true);
  private long physmapSeen = -1;

  public ForeignGuestDma(DomainControl dom0, int domid) {
    this.dom0 = dom0;
    this.domid = domid;
    // Each cached page holds a reference on the guest's frame, which keeps a destroyed guest
    // dying: the cache goes when the guest ends, as QEMU's does when the toolstack stops it.
    dom0.onDeathOf(domid, this::invalidate);
  }

  @Override
  public void read(long gpa, byte[] dst, int off, int len) {
    copy(gpa, dst, off, len, false);
  }

  @Override
  public void write(long gpa, byte[] src, int off, int len) {
    copy(gpa, src, off, len, true);
  }

  /** Pages mapped now. */
  public int mappedPages() {
    return cache.size();
  }

  /** Unmaps everything (the device goes away, or the guest's P2M changed). */
  public void invalidate() {
    for (ForeignPage p : cache.values()) {
      p.unmap();
    }
    cache.clear();
  }

  private void copy(long gpa, byte[] buf, int off, int len, boolean toGuest) {
    if (gpa < 0 || len < 0) {
      throw new IllegalArgumentException(String.format("DMA of %d bytes at 0x%x", len, gpa));
    }
    long changes = dom0.physmapChanges(domid);
    if (changes != physmapSeen) {
      invalidate();
      physmapSeen = changes;
    }
    while (len > 0) {
      int pageOff = (int) (gpa & (PAGE - 1));
      int n = Math.min(len, PAGE - pageOff);
      ForeignPage page = page(gpa >>> 12);
      if (toGuest) {
        page.write(pageOff, buf, off, n);
      } else {
        page.read(pageOff, buf, off, n);
      }
      gpa += n;
      off += n;
      len -= n;
    }
  }

  private ForeignPage page(long gfn) {
    ForeignPage page = cache.get(gfn);
    if (page != null) {
      return page;
    }
    page = dom0.mapForeign(domid, gfn);
    cache.put(gfn, page);
    if (cache.size() > MAX_PAGES) {
      Iterator<Map.Entry<Long, ForeignPage>> it = cache.entrySet().iterator();
      it.next().getValue().unmap();
      it.remove();
    }
    return page;
  }
}
