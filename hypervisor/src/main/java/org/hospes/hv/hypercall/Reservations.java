package org.hospes.hv.hypercall;

import org.hospes.abi.EventChannelOp;
import org.hospes.abi.MemoryOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.memory.P2m;

/**
 * Ballooning for translated (HVM/PVH) guests: XENMEM_decrease_reservation gives guest frames
 * back to the hypervisor, XENMEM_populate_physmap fills guest frames again, up to the domain's
 * maximum reservation. Both return how many extents they completed; they stop at the first
 * extent they cannot do. Frames still in use elsewhere (shared_info, a registered vcpu_info, a
 * grant mapping in either direction) are never released.
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

  static int handle(Hypervisor hv, Vcpu v, int op, int arg) {
    Domain d = v.domain();
    GuestAccess g = new GuestAccess(v);
    Integer list = g.readInt(arg + MemoryOp.RES_EXTENT_START);
    Integer count = g.readInt(arg + MemoryOp.RES_NR_EXTENTS);
    Integer order = g.readInt(arg + MemoryOp.RES_EXTENT_ORDER);
    byte[] dom = g.read(arg + MemoryOp.RES_DOMID, 2);
    if (list == null || count == null || order == null || dom == null) {
      return XenErrno.EFAULT.negated();
    }
    int domid = (dom[0] & 0xFF) | (dom[1] & 0xFF) << 8;
    if (domid != EventChannelOp.DOMID_SELF && domid != d.domid()) {
      return XenErrno.EPERM.negated();
    }
    if (count < 0 || order < 0 || order > MAX_ORDER) {
      return XenErrno.EINVAL.negated();
    }
    int done = 0;
    for (; done < count; done++) {
      Integer first = g.readInt(list + 4 * done);
      if (first == null) {
        return done == 0 ? XenErrno.EFAULT.negated() : done;
      }
      long gfn = first & 0xFFFF_FFFFL;
      boolean ok = op == MemoryOp.DECREASE_RESERVATION ? release(hv, d, gfn, 1 << order)
          : populate(hv, d, gfn, 1 << order);
      if (!ok) {
        break;
      }
    }
    return done;
  }

  private static boolean releasable(Domain d, long gfn) {
    long mfn = d.p2m().lookup(gfn);
    if (mfn == P2m.INVALID || mfn == d.sharedInfoMfn() || !d.p2m().isWritable(gfn)) {
      return false;
    }
    if (d.grantTables() != null
        && (d.grantTables().isGrantMapped(gfn) || d.grantTables().framePinned(mfn))) {
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
    if (gfn + pages > d.p2m().size()) {
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
      hv.frames().free(mfn);
    }
    return true;
  }

  private static boolean populate(Hypervisor hv, Domain d, long gfn, int pages) {
    if (gfn + pages > d.p2m().size()) {
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
      hv.setPhysmap(d, p, mfn, true);
    }
    return true;
  }
}
