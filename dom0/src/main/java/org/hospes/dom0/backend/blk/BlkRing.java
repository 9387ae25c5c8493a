package org.hospes.dom0.backend.blk;

import static org.hospes.abi.Blkif.*;

import java.io.IOException;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.control.GrantMapException;
import org.hospes.hv.control.ForeignPage;
import org.hospes.hv.cost.CostModel;

/**
 * One connected blkif ring (x86_32 layouts, {@link org.hospes.abi.Blkif}): on each event from
 * the frontend it consumes the requests between its private req_cons and the shared req_prod,
 * performs them on the {@link DiskImage}, answers each in order and notifies the frontend as
 * ring.h's RING_PUSH_RESPONSES_AND_CHECK_NOTIFY says, then re-arms req_event
 * (RING_FINAL_CHECK_FOR_REQUESTS).
 *
 * <p>Data moves by grant <em>map</em>, not grant copy: each segment's page is mapped (read-only
 * for a WRITE, writable for a READ) through dom0's counted {@link DomainControl#mapGrant}, and
 * with {@code feature-persistent} the mappings are kept across requests, which only maps allow.
 * That is what Linux's blkback does and what Linux's blkfront expects when it offers persistent
 * grants.
 *
 * <p>Answers follow Linux's blkback (drivers/block/xen-blkback/blkback.c): an unknown operation
 * gets BLKIF_RSP_EOPNOTSUPP; a bad segment count, a segment outside its page, a sector range
 * past the disk's end or wrapping, a write to a read-only disk, an indirect request whose inner
 * operation is not READ or WRITE, a grant that cannot be mapped (bad, foreign, read-only for a
 * read) or an I/O error get BLKIF_RSP_ERROR; a secure DISCARD gets EOPNOTSUPP
 * ({@code discard-secure} is not offered). Every request is copied out of the shared page
 * before it is checked, so the frontend cannot change it under the checks. A req_prod more than
 * a ring ahead of the responses halts the ring for good (Linux: "Frontend provided bogus ring
 * requests ... Halting ring processing") and the {@code onHalt} hook disconnects the device.
 *
 * <p>FLUSH_DISKCACHE and WRITE_BARRIER write their segments, if any, then call
 * {@link DiskImage#flush()} before they are answered: once the frontend sees the response, every
 * write acknowledged before it is on stable storage.
 *
 * <p>Modelled cycles: one hypercall's worth per event and per notification and a cycle per 8
 * bytes of data moved, returned by {@link #onEvent}; grant maps and unmaps are charged by
 * {@link DomainControl} itself. Image I/O takes no virtual time.
 */
public final class BlkRing {
  /** Segments of one indirect request Hospes accepts (Linux blkback's MAX_INDIRECT_SEGMENTS). */
  public static final int MAX_INDIRECT_SEGMENTS = 256;

  private final DomainControl control;
  private final int domid;
  private final ForeignPage ring;
  private final int localPort;
  private final DiskImage disk;
  private final long sectors;
  private final boolean persistent;
  private final PersistentGrants pgrants = new PersistentGrants();
  private final CostModel cost;
  private final Runnable onHalt;
  private final BlkStats stats = new BlkStats();

  private int reqCons;
  private int rspProdPvt;
  private String haltReason;

  // Per-request scratch, reused: the request copied out of the ring, its segments, the pages.
  private final byte[] req = new byte[ENTRY_SIZE];
  private final byte[] segs = new byte[MAX_INDIRECT_SEGMENTS * SEG_SIZE];
  private final ForeignPage[] pages = new ForeignPage[MAX_INDIRECT_SEGMENTS];
  private final boolean[] transientPage = new boolean[MAX_INDIRECT_SEGMENTS];
  private final byte[] data = new byte[4096];
  private long cycles;

  private BlkRing(DomainControl control, int domid, ForeignPage ring, int localPort,
      DiskImage disk, boolean persistent, CostModel cost, Runnable onHalt) {
    this.control = control;
    this.domid = domid;
    this.ring = ring;
    this.localPort = localPort;
    this.disk = disk;
    this.sectors = disk.sizeBytes() >>> SECTOR_SHIFT;
    this.persistent = persistent;
    this.cost = cost;
    this.onHalt = onHalt;
  }

  /**
   * Maps the frontend's ring page (grant {@code ringRef}), binds to its {@code evtchn} and
   * starts serving. The ring's indices are taken as they are (a reconnect after a backend
   * restart picks up where the frontend is). Throws IllegalArgumentException (with the reason)
   * if the grant or the port is bad.
   */
  public static BlkRing connect(DomainControl control, int domid, int ringRef, int evtchn,
      DiskImage disk, boolean persistent, CostModel cost, Runnable onHalt) {
    ForeignPage page;
    try {
      page = control.mapGrant(domid, ringRef, false);
    } catch (GrantMapException e) {
      throw new IllegalArgumentException("cannot map ring-ref " + ringRef + ": " + e.getMessage());
    }
    int local = control.channels().bindInterdomain(domid, evtchn);
    if (local < 0) {
      page.unmap();
      throw new IllegalArgumentException("cannot bind event-channel " + evtchn + ": " + local);
    }
    BlkRing r = new BlkRing(control, domid, page, local, disk, persistent, cost, onHalt);
    // BACK_RING_ATTACH: start where the responses are (a fresh ring has both at 0).
    r.rspProdPvt = page.read32(SRING_RSP_PROD);
    r.reqCons = r.rspProdPvt;
    control.listen(local, (p, now) -> r.onEvent());
    return r;
  }

  public BlkStats stats() {
    return stats;
  }

  public int localPort() {
    return localPort;
  }

  public boolean persistent() {
    return persistent;
  }

  /** Why the ring was halted, or null while it runs. */
  public String haltReason() {
    return haltReason;
  }

  /** Grants kept mapped for later requests. */
  public int persistentGrants() {
    return pgrants.size();
  }

  /** Serves everything the frontend queued; returns the modelled cycles. */
  public long onEvent() {
    cycles = cost.hypercall();
    stats.events++;
    return serve();
  }

  /**
   * Serves the ring from req_cons on. When dom0's slice ends between two requests (after at
   * least one in this leg, so every leg makes progress) it stops there, as Linux's blkback
   * thread is preempted between requests: the responses made so far are pushed (and notified)
   * and the rest is served first in dom0's next slice, from the same req_cons, with no second
   * event counted.
   */
  private long serve() {
    if (haltReason != null || !ring.isMapped()) {
      return account();
    }
    int legStart = reqCons;
    boolean more;
    do {
      int rp = ring.read32(SRING_REQ_PROD);
      // RING_REQUEST_PROD_OVERFLOW, unsigned as in ring.h: a producer behind us counts too.
      if (Integer.compareUnsigned(rp - rspProdPvt, RING_SIZE) > 0) {
        halt(String.format("frontend provided bogus ring requests (req_prod %d, req_cons %d,"
            + " rsp_prod %d)", rp, reqCons, rspProdPvt));
        return account();
      }
      while (reqCons != rp && reqCons - rspProdPvt < RING_SIZE) {
        if (reqCons != legStart && control.preemptionDue(cycles)) {
          pushResponses();
          stats.preemptions++;
          control.continueLater(now -> {
            cycles = 0;
            return serve();
          });
          return account();
        }
        ring.read(slot(reqCons), req, 0, ENTRY_SIZE);
        reqCons++;
        dispatch();
      }
      pushResponses();
      more = ring.read32(SRING_REQ_PROD) != reqCons;
      if (!more) {
        ring.write32(SRING_REQ_EVENT, reqCons + 1);
        more = ring.read32(SRING_REQ_PROD) != reqCons;
      }
    } while (more && haltReason == null && ring.isMapped());
    return account();
  }

  private long account() {
    stats.cycles += cycles;
    return cycles;
  }

  private void halt(String reason) {
    haltReason = reason;
    if (onHalt != null) {
      onHalt.run();
    }
  }

  private void pushResponses() {
    int old = ring.read32(SRING_RSP_PROD);
    int now = rspProdPvt;
    ring.write32(SRING_RSP_PROD, now);
    int event = ring.read32(SRING_RSP_EVENT);
    if (now - event < now - old) {
      control.channels().send(localPort);
      stats.notifications++;
      cycles += cost.hypercall();
    }
  }

  private void respond(long id, int op, int status) {
    int off = slot(rspProdPvt);
    rspProdPvt++;
    ring.write32(off + RSP_ID, (int) id);
    ring.write32(off + RSP_ID + 4, (int) (id >>> 32));
    // operation u8 @8, a pad byte, status s16 @10: one 32-bit store writes all three.
    ring.write32(off + RSP_OPERATION, (op & 0xFF) | ((status & 0xFFFF) << 16));
    if (status == RSP_ERROR) {
      stats.errors++;
    } else if (status == RSP_EOPNOTSUPP) {
      stats.notSupported++;
    }
  }

  private static int u8(byte[] b, int off) {
    return b[off] & 0xFF;
  }

  private static int u16(byte[] b, int off) {
    return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8;
  }

  private static int u32(byte[] b, int off) {
    return u16(b, off) | u16(b, off + 2) << 16;
  }

  private static long u64(byte[] b, int off) {
    return (u32(b, off) & 0xFFFF_FFFFL) | (long) u32(b, off + 4) << 32;
  }

  private void dispatch() {
    stats.requests++;
    int op = u8(req, REQ_OPERATION);
    long id = u64(req, REQ_ID);
    switch (op) {
      case OP_READ, OP_WRITE, OP_WRITE_BARRIER, OP_FLUSH_DISKCACHE -> {
        int nseg = u8(req, REQ_NR_SEGMENTS);
        if (nseg > MAX_SEGMENTS_PER_REQUEST) {
          respond(id, op, RSP_ERROR);
          return;
        }
        System.arraycopy(req, REQ_SEG, segs, 0, nseg * SEG_SIZE);
        respond(id, op, readWrite(op, nseg, u64(req, REQ_SECTOR)));
      }
      case OP_INDIRECT -> {
        stats.indirectRequests++;
        int inner = u8(req, IND_OP);
        int nseg = u16(req, IND_NR_SEGMENTS);
        if (inner != OP_READ && inner != OP_WRITE) {
          respond(id, inner, RSP_ERROR);
          return;
        }
        if (nseg == 0 || nseg > MAX_INDIRECT_SEGMENTS || !readIndirectSegments(nseg)) {
          respond(id, inner, RSP_ERROR);
          return;
        }
        respond(id, inner, readWrite(inner, nseg, u64(req, REQ_SECTOR)));
      }
      case OP_DISCARD -> respond(id, op, discard());
      default -> respond(id, op, RSP_EOPNOTSUPP);
    }
  }

  /** Copies the segments of an indirect request out of its indirect pages; false on failure. */
  private boolean readIndirectSegments(int nseg) {
    int npages = (nseg + SEGS_PER_INDIRECT_FRAME - 1) / SEGS_PER_INDIRECT_FRAME;
    for (int i = 0; i < npages; i++) {
      int gref = u32(req, IND_GREFS + 4 * i);
      ForeignPage p = page(gref, true, 0);
      if (p == null) {
        return false;
      }
      int n = Math.min(nseg - i * SEGS_PER_INDIRECT_FRAME, SEGS_PER_INDIRECT_FRAME);
      p.read(0, segs, i * SEGS_PER_INDIRECT_FRAME * SEG_SIZE, n * SEG_SIZE);
      release(0);
    }
    return true;
  }

  /**
   * The page of grant {@code gref}, into {@code pages[i]}: from the persistent pool, or mapped
   * now (read-only if {@code readonly} and grants are not persistent). Null if it cannot be
   * mapped.
   */
  private ForeignPage page(int gref, boolean readonly, int i) {
    ForeignPage p = persistent ? pgrants.get(gref) : null;
    if (p != null) {
      stats.persistentHits++;
      transientPage[i] = false;
      pages[i] = p;
      return p;
    }
    try {
      // Persistent grants are mapped writable: the same page serves reads and writes later.
      p = control.mapGrant(domid, gref, readonly && !persistent);
    } catch (GrantMapException e) {
      return null;
    } finally {
      // Counted here per device; DomainControl charges the map to the service vCPU.
      stats.grantMaps++;
    }
    transientPage[i] = !(persistent && pgrants.offer(gref, p));
    pages[i] = p;
    return p;
  }

  private void release(int i) {
    if (pages[i] != null && transientPage[i]) {
      pages[i].unmap();
      stats.grantUnmaps++;
    }
    pages[i] = null;
  }

  /** READ, WRITE, FLUSH_DISKCACHE or WRITE_BARRIER with {@code nseg} segments in segs[]. */
  private int readWrite(int op, int nseg, long sector) {
    boolean write = op != OP_READ;
    boolean flush = op == OP_FLUSH_DISKCACHE || op == OP_WRITE_BARRIER;
    if (nseg == 0 && !flush) {
      return RSP_ERROR;
    }
    long nsec = 0;
    for (int i = 0; i < nseg; i++) {
      int first = u8(segs, i * SEG_SIZE + SEG_FIRST_SECT);
      int last = u8(segs, i * SEG_SIZE + SEG_LAST_SECT);
      if (last >= SECTORS_PER_PAGE || last < first) {
        return RSP_ERROR;
      }
      nsec += last - first + 1;
    }
    if (write && disk.readOnly()) {
      return RSP_ERROR;
    }
    if (nsec > 0) {
      long end = sector + nsec;
      if (Long.compareUnsigned(end, sector) < 0 || Long.compareUnsigned(end, sectors) > 0) {
        return RSP_ERROR;
      }
    }
    if (op == OP_READ) {
      stats.reads++;
    } else if (flush) {
      stats.flushes++;
    } else {
      stats.writes++;
    }
    stats.segments += nseg;
    int mapped = 0;
    int status = RSP_OKAY;
    try {
      for (; mapped < nseg; mapped++) {
        if (page(u32(segs, mapped * SEG_SIZE + SEG_GREF), write, mapped) == null) {
          return RSP_ERROR;
        }
      }
      long pos = sector << SECTOR_SHIFT;
      for (int i = 0; i < nseg; i++) {
        int first = u8(segs, i * SEG_SIZE + SEG_FIRST_SECT);
        int len = (u8(segs, i * SEG_SIZE + SEG_LAST_SECT) - first + 1) << SECTOR_SHIFT;
        int off = first << SECTOR_SHIFT;
        if (write) {
          pages[i].read(off, data, 0, len);
          disk.write(pos, data, 0, len);
          stats.bytesWritten += len;
        } else {
          disk.read(pos, data, 0, len);
          pages[i].write(off, data, 0, len);
          stats.bytesRead += len;
        }
        cycles += len / 8;
        pos += len;
      }
      if (flush) {
        disk.flush();
      }
    } catch (IOException e) {
      status = RSP_ERROR;
    } finally {
      for (int i = 0; i < mapped; i++) {
        release(i);
      }
    }
    return status;
  }

  private int discard() {
    stats.discards++;
    long sector = u64(req, REQ_SECTOR);
    long nr = u64(req, DISCARD_NR_SECTORS);
    if ((u8(req, DISCARD_FLAG) & DISCARD_SECURE) != 0) {
      return RSP_EOPNOTSUPP;
    }
    if (disk.readOnly()) {
      return RSP_ERROR;
    }
    long end = sector + nr;
    if (nr != 0 && (Long.compareUnsigned(end, sector) < 0
        || Long.compareUnsigned(end, sectors) > 0)) {
      return RSP_ERROR;
    }
    try {
      if (nr != 0) {
        disk.discard(sector << SECTOR_SHIFT, nr << SECTOR_SHIFT);
      }
      return RSP_OKAY;
    } catch (IOException e) {
      return RSP_ERROR;
    }
  }

  /** Stops serving: unbinds the port and unmaps the ring and every persistent grant. */
  public void disconnect() {
    control.unlisten(localPort);
    control.channels().close(localPort);
    int n = pgrants.unmapAll();
    stats.grantUnmaps += n;
    ring.unmap();
  }

  /** The frontend's domain. */
  public int domid() {
    return domid;
  }
}
