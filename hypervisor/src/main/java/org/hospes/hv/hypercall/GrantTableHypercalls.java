package org.hospes.hv.hypercall;

import static org.hospes.abi.GrantTableOp.GNTST_BAD_DOMAIN;
import static org.hospes.abi.GrantTableOp.GNTST_BAD_VIRT_ADDR;
import static org.hospes.abi.GrantTableOp.GNTST_GENERAL_ERROR;
import static org.hospes.abi.GrantTableOp.GNTST_OKAY;
import static org.hospes.abi.GrantTableOp.GNTST_PERMISSION_DENIED;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.grant.GrantTables;
import org.hospes.hv.stats.Counters;

/**
 * grant_table_op (hypercall 20: cmd, uop, count): copies each op's struct in, calls the
 * {@link GrantTables} mechanism, writes the OUT fields back. Each op reports a GNTST_* status in
 * its own status field; the hypercall returns 0, -EFAULT when an op struct cannot be read or
 * written (ops before it are done), -EINVAL for a bad count and -ENOSYS for ops not offered
 * (transfer, dump, unmap_and_replace, swap, get_status_frames, cache_flush: v1 HVM/PVH only).
 */
final class GrantTableHypercalls {
  /** Largest batch in one call (Xen continues longer ones; we ask the guest to split them). */
  static final int MAX_BATCH = 1024;

  private final Hypercalls hypercalls;
  private final CostModel cost;

  GrantTableHypercalls(Hypercalls hypercalls, CostModel cost) {
    this.hypercalls = hypercalls;
    this.cost = cost;
  }

  int grantTableOp(Vcpu v, int cmd, int uop, int count) {
    Domain d = v.domain();
    GrantTables gt = d.grantTables();
    if (gt == null) {
      return XenErrno.ENOSYS.negated();
    }
    if (cmd == GrantTableOp.SET_VERSION || cmd == GrantTableOp.GET_VERSION) {
      // Xen does not look at count for these two.
      return cmd == GrantTableOp.SET_VERSION ? setVersion(v, uop) : getVersion(v, uop);
    }
    int size;
    switch (cmd) {
      case GrantTableOp.MAP_GRANT_REF: size = GrantTableOp.MAP_SIZE; break;
      case GrantTableOp.UNMAP_GRANT_REF: size = GrantTableOp.UNMAP_SIZE; break;
      case GrantTableOp.COPY: size = GrantTableOp.COPY_SIZE; break;
      case GrantTableOp.SETUP_TABLE: size = GrantTableOp.SETUP_SIZE; break;
      case GrantTableOp.QUERY_SIZE: size = GrantTableOp.QUERY_SIZE_BYTES; break;
      default:
        return XenErrno.ENOSYS.negated();
    }
    boolean single = cmd == GrantTableOp.SETUP_TABLE || cmd == GrantTableOp.QUERY_SIZE;
    if (count < 0 || count > MAX_BATCH || (single && count != 1)) {
      return XenErrno.EINVAL.negated();
    }
    GuestAccess g = new GuestAccess(v);
    Counters c = v.counters();
    for (int i = 0; i < count; i++) {
      int va = uop + i * size;
      byte[] raw = g.read(va, size);
      // Writing the struct back unchanged proves the OUT fields are writable before acting.
      if (raw == null || !g.write(va, raw)) {
        return XenErrno.EFAULT.negated();
      }
      ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
      int r;
      switch (cmd) {
        case GrantTableOp.MAP_GRANT_REF: r = map(gt, b, c); break;
        case GrantTableOp.UNMAP_GRANT_REF: r = unmap(gt, b, c); break;
        case GrantTableOp.COPY: r = copy(gt, b, c); break;
        case GrantTableOp.SETUP_TABLE: r = setupTable(v, gt, b, g); break;
        default: r = querySize(v, gt, b); break;
      }
      if (r < 0) {
        c.grantErrors++;
      }
      if (!g.write(va, raw)) {
        return XenErrno.EFAULT.negated();
      }
    }
    return 0;
  }

  private void charge(Counters c, long cycles) {
    c.grantCycles += cycles;
    hypercalls.charge(cycles);
  }

  private int map(GrantTables gt, ByteBuffer b, Counters c) {
    long hostAddr = b.getLong(GrantTableOp.MAP_HOST_ADDR);
    int flags = b.getInt(GrantTableOp.MAP_FLAGS);
    int ref = b.getInt(GrantTableOp.MAP_REF);
    int dom = b.getShort(GrantTableOp.MAP_DOM) & 0xFFFF;
    int r = gt.map(hostAddr, flags, ref, dom);
    charge(c, cost.grantMap());
    b.putShort(GrantTableOp.MAP_STATUS, (short) (r < 0 ? r : GNTST_OKAY));
    b.putInt(GrantTableOp.MAP_HANDLE, r < 0 ? -1 : r);
    // No IOMMU: no bus address is handed out (and no machine address leaks).
    b.putLong(GrantTableOp.MAP_DEV_BUS_ADDR, 0);
    if (r >= 0) {
      c.grantMaps++;
    }
    return Math.min(r, 0);
  }

  private int unmap(GrantTables gt, ByteBuffer b, Counters c) {
    long hostAddr = b.getLong(GrantTableOp.UNMAP_HOST_ADDR);
    int handle = b.getInt(GrantTableOp.UNMAP_HANDLE);
    int r = gt.unmap(hostAddr, handle);
    charge(c, cost.grantMap());
    b.putShort(GrantTableOp.UNMAP_STATUS, (short) r);
    if (r == GNTST_OKAY) {
      c.grantUnmaps++;
    }
    return r;
  }

  private int copy(GrantTables gt, ByteBuffer b, Counters c) {
    int len = b.getShort(GrantTableOp.COPY_LEN) & 0xFFFF;
    int r = gt.copy(
        b.getInt(GrantTableOp.COPY_SOURCE + GrantTableOp.COPY_PTR_U),
        b.getShort(GrantTableOp.COPY_SOURCE + GrantTableOp.COPY_PTR_DOMID) & 0xFFFF,
        b.getShort(GrantTableOp.COPY_SOURCE + GrantTableOp.COPY_PTR_OFFSET) & 0xFFFF,
        b.getInt(GrantTableOp.COPY_DEST + GrantTableOp.COPY_PTR_U),
        b.getShort(GrantTableOp.COPY_DEST + GrantTableOp.COPY_PTR_DOMID) & 0xFFFF,
        b.getShort(GrantTableOp.COPY_DEST + GrantTableOp.COPY_PTR_OFFSET) & 0xFFFF,
        len, b.getShort(GrantTableOp.COPY_FLAGS) & 0xFFFF);
    b.putShort(GrantTableOp.COPY_STATUS, (short) r);
    if (r == GNTST_OKAY) {
      c.grantCopies++;
      c.grantCopyBytes += len;
      charge(c, cost.grantCopy(len));
    } else {
      charge(c, cost.grantCopy(0));
    }
    return r;
  }

  /**
   * setup_table on the caller's own table: grows it to nr_frames and reports, per frame, the GFN
   * it is mapped at in the caller's physmap (add_to_physmap), or INVALID_GFN if it is not mapped:
   * an auto-translated guest maps frames itself, and no machine frame number is revealed. A
   * classic PV guest gets the frames' MFNs (gnttab_shared_gfn of a PV domain), which it maps
   * with update_va_mapping: its frame numbers are machine frames anyway.
   */
  private int setupTable(Vcpu v, GrantTables gt, ByteBuffer b, GuestAccess g) {
    int dom = b.getShort(GrantTableOp.SETUP_DOM) & 0xFFFF;
    int nr = b.getInt(GrantTableOp.SETUP_NR_FRAMES);
    int list = b.getInt(GrantTableOp.SETUP_FRAME_LIST);
    int status;
    Domain target = hypercalls.lookupDomain(v, dom);
    if (target == null) {
      status = GNTST_BAD_DOMAIN;
    } else if (target != v.domain()) {
      status = GNTST_PERMISSION_DENIED;
    } else if (nr < 0 || nr > gt.maxFrames() || !gt.grow(nr)) {
      status = GNTST_GENERAL_ERROR;
    } else {
      ByteBuffer out = ByteBuffer.allocate(4 * nr).order(ByteOrder.LITTLE_ENDIAN);
      boolean pv = v.domain().pv() != null;
      for (int i = 0; i < nr; i++) {
        // A PV guest is not translated: it maps the frames itself, by machine frame number.
        long gfn = pv ? gt.frameMfn(i) : gt.frameGfn(i);
        out.putInt(gfn < 0 ? GrantTableOp.INVALID_GFN : (int) gfn);
      }
      status = g.write(list, out.array()) ? GNTST_OKAY : GNTST_BAD_VIRT_ADDR;
    }
    b.putShort(GrantTableOp.SETUP_STATUS, (short) status);
    return status;
  }

  private int querySize(Vcpu v, GrantTables gt, ByteBuffer b) {
    int dom = b.getShort(GrantTableOp.QUERY_DOM) & 0xFFFF;
    int status = GNTST_OKAY;
    Domain target = hypercalls.lookupDomain(v, dom);
    if (target == null) {
      status = GNTST_BAD_DOMAIN;
    } else if (target != v.domain()) {
      status = GNTST_PERMISSION_DENIED;
    } else {
      b.putInt(GrantTableOp.QUERY_NR_FRAMES, gt.nrFrames());
      b.putInt(GrantTableOp.QUERY_MAX_NR_FRAMES, gt.maxFrames());
    }
    b.putShort(GrantTableOp.QUERY_STATUS, (short) status);
    return status;
  }

  /**
   * GNTTABOP_set_version as Xen 4.17 built with opt_gnttab_max_version = 1 answers it
   * (gnttab_set_version): -EINVAL for a version other than 1 or 2, -ENOSYS for 2 ("behave as
   * before set_version was introduced"), 0 for 1; every path but a fault copies the version in
   * force (1) back.
   */
  private int setVersion(Vcpu v, int uop) {
    GuestAccess g = new GuestAccess(v);
    Integer version = g.readInt(uop);
    if (version == null) {
      return XenErrno.EFAULT.negated();
    }
    int res = version != 1 && version != 2 ? XenErrno.EINVAL.negated()
        : version == 2 ? XenErrno.ENOSYS.negated() : 0;
    return g.writeInt(uop, 1) ? res : XenErrno.EFAULT.negated();
  }

  /**
   * GNTTABOP_get_version (gnttab_get_version): -ESRCH for no such domain, -EPERM for another
   * domain's table (an unprivileged caller), else the version (1) in the OUT field.
   */
  private int getVersion(Vcpu v, int uop) {
    GuestAccess g = new GuestAccess(v);
    byte[] raw = g.read(uop, GrantTableOp.GET_VERSION_SIZE);
    if (raw == null) {
      return XenErrno.EFAULT.negated();
    }
    int dom = (raw[GrantTableOp.GET_VERSION_DOM] & 0xFF)
        | (raw[GrantTableOp.GET_VERSION_DOM + 1] & 0xFF) << 8;
    Domain target = hypercalls.lookupDomain(v, dom);
    if (target == null) {
      return XenErrno.ESRCH.negated();
    }
    if (target != v.domain()) {
      return XenErrno.EPERM.negated();
    }
    return g.writeInt(uop + GrantTableOp.GET_VERSION_VERSION, 1) ? 0 : XenErrno.EFAULT.negated();
  }
}
