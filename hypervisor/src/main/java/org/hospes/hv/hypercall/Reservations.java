package org.hospes.hv.hypercall;

import org.hospes.abi.MemoryOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.memory.P2m;

/**
 * Ballooning for translated (HVM/PVH) guests: XENMEM_decrease_reservation gives guest frames
 * back to the hypervisor, XENMEM_populate_physmap fills guest frames again, each extent taking
 * its whole size from the room below the domain's maximum reservation. Both return how many
 * extents they completed; they stop at the first extent they cannot do. Frames still in use elsewhere (shared_info, a registered vcpu_info, a
 * grant mapping in either direction, a frame of the grant table itself) are never released.
 */
final class Reservations {
  /** Largest extent accepted (2^9 pages = 2 MiB). */
  static final int MAX_ORDER = 9;
  private static final byte[] ZERO_PAGE = new byte[4096];

  private Reservations() {}

  static int populatedFrames(Domain d) {
    int n = 0;
    for (long gfn = 0; gfn < d.p2m().size(); gfn++) {
      if (d.p2m().lookup(gfn) != P2m.INVALID) {
        n++;
      }
    }
    return n;
  }

  /**
   * decrease_reservation / populate_physmap as Xen 4.17's do_memory_op answers them: every
   * refusal before the first extent (a struct it cannot read, no such domain, a domain other
   * than the caller, an extent order past the domU limit) returns the start extent, 0, not an
   * errno; the guest sees that nothing was done.
   */
  static int handle(Hypervisor hv, Hypercalls calls, Vcpu v, int op, int arg) {
    Domain d = v.domain();
    GuestAccess g = new GuestAccess(v);
    byte[] raw = g.read(arg, MemoryOp.RES_SIZE);
    if (raw == null) {
      return 0;
    }
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int list = b.getInt(MemoryOp.RES_EXTENT_START);
    long count = b.getInt(MemoryOp.RES_NR_EXTENTS) & 0xFFFF_FFFFL;
    long order = b.getInt(MemoryOp.RES_EXTENT_ORDER) & 0xFFFF_FFFFL;
    int domid = b.getShort(MemoryOp.RES_DOMID) & 0xFFFF;
    // nr_extents must leave room for the continuation's extent count in cmd's upper bits.
    if (count > (0xFFFF_FFFFL >>> MemoryOp.EXTENT_SHIFT)) {
      return 0;
    }
    Domain target = calls.lookupDomain(v, domid);
    if (target == null || target != d || order > MAX_ORDER) {
      return 0;
    }
    if (d.pv() != null) {
      // A PV guest names machine frames here, and Xen frees such a frame only when its last
      // reference (a page-table use, a mapping) goes. Not offered: nothing is done, so no
      // frame still in the guest's tables can ever reach another domain.
      return 0;
    }
    // Every extent populate_physmap completes is a fresh allocation of 2^order frames, which
    // Xen refuses once the domain would pass its maximum reservation (assign_pages: tot_pages
    // + 2^order > max_pages), frames already at the extent's GFNs or not. So the extents it
    // can complete are bounded by the room left below the maximum however long the list, and
    // a list of the same populated GFN is not an endless run of free successes.
    long room = d.p2m().ramFrames() - populatedRam(d);
    int done = 0;
    for (; done < count; done++) {
      Integer first = g.readInt(list + 4 * done);
      if (first == null) {
        break;
      }
      long gfn = first & 0xFFFF_FFFFL;
      boolean ok;
      if (op == MemoryOp.DECREASE_RESERVATION) {
        ok = release(hv, d, gfn, 1 << order);
      } else {
        ok = (1L << order) <= room && populate(hv, d, gfn, 1 << order);
        room -= 1L << order;
      }
      if (!ok) {
        break;
      }
    }
    return done;
  }

  /** Populated frames of the domain's RAM (its tot_pages, as far as the maximum goes). */
  private static int populatedRam(Domain d) {
    int n = 0;
    for (long gfn = 0; gfn < d.p2m().ramFrames(); gfn++) {
      if (d.p2m().lookup(gfn) != P2m.INVALID) {
        n++;
      }
    }
    return n;
  }

  private static boolean releasable(Domain d, long gfn) {
    long mfn = d.p2m().lookup(gfn);
    if (mfn == P2m.INVALID || mfn == d.sharedInfoMfn() || !d.p2m().isWritable(gfn)) {
      return false;
    }
    if (d.grantTables() != null && (d.grantTables().isGrantMapped(gfn)
        || d.grantTables().framePinned(mfn) || d.grantTables().isTableFrame(mfn))) {
      return false;
    }
    for (int k = 0; k < d.vcpus().size(); k++) {
      long info = d.eventChannels().ops().vcpuInfo(k);
      if (info >= 0 && (info >>> 12) == mfn) {
        return false;
      }
    }
    return true;
  }

  private static boolean release(Hypervisor hv, Domain d, long gfn, int pages) {
    if (gfn + pages > d.p2m().ramFrames()) {
      // RAM only: above it lie grant frames in a PCI BAR, not the guest's to balloon.
      return false;
    }
    for (long p = gfn; p < gfn + pages; p++) {
      if (!releasable(d, p)) {
        return false;
      }
    }
    for (long p = gfn; p < gfn + pages; p++) {
      long mfn = d.p2m().lookup(p);
      hv.setPhysmap(d, p, P2m.INVALID, true);
      // Out of the P2M and every TLB of the domain: the frame and its storage go back, at
      // once or when the last foreign mapping that holds it goes.
      hv.giveBack(d, mfn);
    }
    return true;
  }

  private static boolean populate(Hypervisor hv, Domain d, long gfn, int pages) {
    if (gfn + pages > d.p2m().ramFrames()) {
      // RAM only: above it lie grant frames in a PCI BAR, not the guest's to balloon.
      return false;
    }
    int missing = 0;
    for (long p = gfn; p < gfn + pages; p++) {
      if (d.p2m().lookup(p) == P2m.INVALID) {
        missing++;
      }
    }
    if (missing > hv.frames().freeFrames()) {
      return false;
    }
    for (long p = gfn; p < gfn + pages; p++) {
      if (d.p2m().lookup(p) != P2m.INVALID) {
        continue;
      }
      long mfn = hv.frames().allocate(d.domid());
      // Fresh frames are zeroed: nothing of a previous owner leaks.
      hv.machineMemory().write(mfn << 12, ZERO_PAGE, 0, ZERO_PAGE.length);
      if (!hv.setPhysmap(d, p, mfn, true)) {
        // RAM's EPT tables are never freed, so this cannot happen; if it did, the frame goes
        // back and the extent is not done.
        hv.frames().free(mfn);
        return false;
      }
    }
    return true;
  }
}
