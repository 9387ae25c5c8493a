package org.hospes.dom0.backend.blk;

import static org.hospes.abi.Blkif.*;

import java.util.ArrayList;
import java.util.List;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.dom0.backend.GuestXenstore;
import org.hospes.dom0.xenstore.XsMessage;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.grant.GrantTables;

/**
 * A blkfront written in Java that acts as a guest domain: it writes the guest's memory (grant
 * entries, the shared ring, data pages), sends events from the guest's ports and talks to
 * xenstored with the guest's domid and permissions, exactly what a guest's driver would do, but
 * without running guest code. Tests (the protocol, hostile frontends, the fuzz) and the block
 * benchmark drive blkback through it; the protocol steps are Linux blkfront's.
 *
 * <p>Guest layout (guest-physical frames): the grant table at {@link #GNT_GFN}, the ring at
 * {@link #RING_GFN}, an indirect page at {@link #INDIRECT_GFN} and 256 data pages from
 * {@link #DATA_GFN}; the domain needs at least 2 MiB. Grant refs: ring {@link #RING_REF},
 * indirect {@link #INDIRECT_REF}, data page i is {@code DATA_REF + i}.
 */
public final class JavaBlkfront {
  public static final long GNT_GFN = 0x0F;
  public static final long RING_GFN = 0x10;
  public static final long INDIRECT_GFN = 0x11;
  public static final long DATA_GFN = 0x20;
  public static final int DATA_PAGES = 256;
  public static final int RING_REF = 8;
  public static final int INDIRECT_REF = 9;
  public static final int DATA_REF = 16;

  /** One response as read from the ring. */
  public record Response(long id, int op, int status) {}

  private final Hypervisor hv;
  private final Domain guest;
  private final int devid;
  private final String fe;
  private final String be;
  private final GuestXenstore store;
  private int port = -1;
  private int reqProdPvt;
  private int rspCons;
  private long nextId = 1;
  private boolean persistent;
  private int maxIndirect;
  private long sectors;
  private boolean readOnly;
  private long events;

  private final int backendId;

  public JavaBlkfront(Hypervisor hv, XenstoreService xs, Domain guest, int devid) {
    this.hv = hv;
    this.guest = guest;
    this.devid = devid;
    this.fe = VbdNodes.frontendPath(guest.domid(), devid);
    this.be = xs.read(fe + "/backend");
    if (be == null) {
      throw new IllegalStateException("no vbd " + devid + " for domain " + guest.domid());
    }
    // Grants and the event channel go to the backend's domain (dom0 or a driver domain).
    this.backendId = Integer.parseInt(xs.read(fe + "/backend-id"));
    // The guest's requests carry its domid (permissions apply); it polls instead of watching.
    this.store = new GuestXenstore(xs, guest.domid());
    GrantTables gt = guest.grantTables();
    if (gt.addToPhysmap(0, GNT_GFN) != 0) {
      throw new IllegalStateException("cannot map the grant table");
    }
  }

  /** A xenstore request as the guest; returns the reply (type ERROR on failure). */
  public XsMessage request(int type, String payload) {
    return store.request(type, payload);
  }

  public String read(String path) {
    return store.read(path);
  }

  /** Writes as the guest; returns null or the error name. */
  public String write(String path, String value) {
    return store.write(path, value);
  }

  public XenbusState backendState() {
    return XenbusState.parse(read(be + "/state"));
  }

  public XenbusState frontendState() {
    return XenbusState.parse(read(fe + "/state"));
  }

  /** Writes grant entry {@code ref}: frame {@code gfn} for the backend, read-only or not. */
  public void grant(int ref, long gfn, boolean readonly) {
    long a = (GNT_GFN << 12) + (long) ref * GrantTableOp.ENTRY_SIZE;
    guest.memory().write16(a + GrantTableOp.ENTRY_DOMID, backendId);
    guest.memory().write32(a + GrantTableOp.ENTRY_FRAME, (int) gfn);
    guest.memory().write16(a + GrantTableOp.ENTRY_FLAGS,
        GrantTableOp.GTF_PERMIT_ACCESS | (readonly ? GrantTableOp.GTF_READONLY : 0));
  }

  /** Writes a raw grant entry (hostile tests). */
  public void rawGrant(int ref, int flags, int domid, long gfn) {
    long a = (GNT_GFN << 12) + (long) ref * GrantTableOp.ENTRY_SIZE;
    guest.memory().write16(a + GrantTableOp.ENTRY_DOMID, domid);
    guest.memory().write32(a + GrantTableOp.ENTRY_FRAME, (int) gfn);
    guest.memory().write16(a + GrantTableOp.ENTRY_FLAGS, flags);
  }

  /**
   * blkfront's talk_to_blkback: a fresh ring, its grant, an unbound port for dom0, the keys,
   * then Initialised; dom0 answers within the same xenstore requests. Returns the backend's
   * state afterwards; on Connected the frontend reads the disk's keys and goes Connected.
   */
  public XenbusState connect(boolean offerPersistent) {
    long ring = RING_GFN << 12;
    for (int i = 0; i < 4096; i += 4) {
      guest.memory().write32(ring + i, 0);
    }
    // SHARED_RING_INIT: both event indices at 1.
    guest.memory().write32(ring + SRING_REQ_EVENT, 1);
    guest.memory().write32(ring + SRING_RSP_EVENT, 1);
    reqProdPvt = 0;
    rspCons = 0;
    grant(RING_REF, RING_GFN, false);
    grant(INDIRECT_REF, INDIRECT_GFN, false);
    for (int i = 0; i < DATA_PAGES; i++) {
      grant(DATA_REF + i, DATA_GFN + i, false);
    }
    if (port < 0) {
      port = guest.eventChannels().allocUnbound(guest.domid(), backendId);
    }
    write(fe + "/ring-ref", Integer.toString(RING_REF));
    write(fe + "/event-channel", Integer.toString(port));
    write(fe + "/protocol", PROTOCOL_X86_32);
    write(fe + "/feature-persistent", offerPersistent ? "1" : "0");
    write(fe + "/state", XenbusState.INITIALISED.text());
    XenbusState s = backendState();
    if (s == XenbusState.CONNECTED) {
      sectors = Long.parseLong(read(be + "/sectors"));
      readOnly = (Integer.parseInt(read(be + "/info")) & VDISK_READONLY) != 0;
      persistent = offerPersistent && "1".equals(read(be + "/feature-persistent"));
      String ind = read(be + "/feature-max-indirect-segments");
      maxIndirect = ind == null ? 0 : Integer.parseInt(ind);
      write(fe + "/state", XenbusState.CONNECTED.text());
    }
    return s;
  }

  /** The service domain that runs the backend (it serves the ring when kicked). */
  private org.hospes.hv.control.DomainControl backendControl() {
    for (org.hospes.hv.control.DomainControl c : hv.serviceDomains()) {
      if (c.domid() == backendId) {
        return c;
      }
    }
    throw new IllegalStateException("backend domain " + backendId + " is not a service domain");
  }

  /** blkfront_closing: Closing, then Closed; then the grants are ended (blkif_free). */
  public void close() {
    write(fe + "/state", XenbusState.CLOSING.text());
    write(fe + "/state", XenbusState.CLOSED.text());
    busyGrants = endForeignAccess();
  }

  private int busyGrants;

  /**
   * gnttab_end_foreign_access on the ring, indirect and data grants: an entry the backend still
   * maps (GTF_reading/GTF_writing set) cannot be ended; returns how many could not.
   */
  private int endForeignAccess() {
    int busy = 0;
    int[] refs = new int[2 + DATA_PAGES];
    refs[0] = RING_REF;
    refs[1] = INDIRECT_REF;
    for (int i = 0; i < DATA_PAGES; i++) {
      refs[2 + i] = DATA_REF + i;
    }
    for (int ref : refs) {
      long a = (GNT_GFN << 12) + (long) ref * GrantTableOp.ENTRY_SIZE;
      int flags = guest.memory().read16(a + GrantTableOp.ENTRY_FLAGS);
      if ((flags & (GrantTableOp.GTF_READING | GrantTableOp.GTF_WRITING)) != 0) {
        busy++;
      } else {
        guest.memory().write16(a + GrantTableOp.ENTRY_FLAGS, 0);
      }
    }
    return busy;
  }

  /** Grants the last {@link #close} could not end because the backend still mapped them. */
  public int busyGrantsAtClose() {
    return busyGrants;
  }

  /** The ring's grant entry flags (0 once access was ended). */
  public int ringGrantFlags() {
    return guest.memory().read16((GNT_GFN << 12) + (long) RING_REF * GrantTableOp.ENTRY_SIZE
        + GrantTableOp.ENTRY_FLAGS);
  }

  /** After the backend went away and came back: Initialising, then connect again. */
  public XenbusState reconnect(boolean offerPersistent) {
    write(fe + "/state", XenbusState.INITIALISING.text());
    return connect(offerPersistent);
  }

  public long sectors() {
    return sectors;
  }

  public boolean readOnly() {
    return readOnly;
  }

  public boolean persistent() {
    return persistent;
  }

  /** Segments one indirect request may carry (0 if the backend offers none). */
  public int maxIndirectSegments() {
    return maxIndirect;
  }

  public int port() {
    return port;
  }

  /** Events dom0 sent to the frontend's port. */
  public long events() {
    return events;
  }

  /** Guest-physical address of data page {@code i}. */
  public static long dataAddress(int i) {
    return (DATA_GFN + i) << 12;
  }

  public Domain guest() {
    return guest;
  }

  /** Free slots in the ring. */
  public int freeSlots() {
    return RING_SIZE - (reqProdPvt - rspCons);
  }

  /** Writes 108 raw bytes into the next request slot (not yet published). */
  public void putRaw(byte[] req) {
    guest.memory().write(RING_GFN * 4096 + slot(reqProdPvt), req, 0, ENTRY_SIZE);
    reqProdPvt++;
  }

  /** Sets the shared req_prod to any value (hostile tests); the private one follows. */
  public void setReqProd(int v) {
    reqProdPvt = v;
    guest.memory().write32((RING_GFN << 12) + SRING_REQ_PROD, v);
  }

  /**
   * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, an event to dom0 if needed, then dom0 runs; returns
   * the responses that arrived.
   */
  public List<Response> kick() {
    push();
    backendControl().serve(hv.now());
    return responses();
  }

  /**
   * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY and the event to dom0 if needed, without running dom0:
   * the scheduler runs its backend in dom0's turn.
   */
  public void push() {
    long ring = RING_GFN << 12;
    int old = guest.memory().read32(ring + SRING_REQ_PROD);
    guest.memory().write32(ring + SRING_REQ_PROD, reqProdPvt);
    int event = guest.memory().read32(ring + SRING_REQ_EVENT);
    if (reqProdPvt - event < reqProdPvt - old) {
      guest.eventChannels().send(port);
    }
  }

  /** Reads the responses dom0 published (RING_FINAL_CHECK_FOR_RESPONSES). */
  public List<Response> responses() {
    if (guest.eventChannels().ops().isPending(port)) {
      events++;
      guest.eventChannels().ops().clearPending(port);
    }
    long ring = RING_GFN << 12;
    List<Response> out = new ArrayList<>();
    int rp = guest.memory().read32(ring + SRING_RSP_PROD);
    while (rspCons != rp) {
      long off = ring + slot(rspCons);
      long id = (guest.memory().read32(off + RSP_ID) & 0xFFFF_FFFFL)
          | (long) guest.memory().read32(off + RSP_ID + 4) << 32;
      int op = guest.memory().read8(off + RSP_OPERATION);
      int status = (short) guest.memory().read16(off + RSP_STATUS);
      out.add(new Response(id, op, status));
      rspCons++;
    }
    guest.memory().write32(ring + SRING_RSP_EVENT, rspCons + 1);
    return out;
  }

  /**
   * Builds a READ/WRITE/FLUSH/BARRIER request for data pages 0..pages-1 (whole pages) at
   * {@code sector}: direct if it fits in 11 segments, else indirect. Returns its id.
   */
  public long queue(int op, long sector, int pages) {
    byte[] r = new byte[ENTRY_SIZE];
    long id = nextId++;
    putLong(r, REQ_ID, id);
    putLong(r, REQ_SECTOR, sector);
    if (pages <= MAX_SEGMENTS_PER_REQUEST || op > OP_WRITE) {
      r[REQ_OPERATION] = (byte) op;
      r[REQ_NR_SEGMENTS] = (byte) pages;
      r[REQ_HANDLE] = (byte) devid;
      r[REQ_HANDLE + 1] = (byte) (devid >> 8);
      for (int i = 0; i < pages; i++) {
        putSeg(r, REQ_SEG + i * SEG_SIZE, DATA_REF + i, 0, SECTORS_PER_PAGE - 1);
      }
    } else {
      r[REQ_OPERATION] = (byte) OP_INDIRECT;
      r[IND_OP] = (byte) op;
      r[IND_NR_SEGMENTS] = (byte) pages;
      r[IND_NR_SEGMENTS + 1] = (byte) (pages >> 8);
      r[IND_HANDLE] = (byte) devid;
      r[IND_HANDLE + 1] = (byte) (devid >> 8);
      putInt(r, IND_GREFS, INDIRECT_REF);
      byte[] segs = new byte[pages * SEG_SIZE];
      for (int i = 0; i < pages; i++) {
        putSeg(segs, i * SEG_SIZE, DATA_REF + i, 0, SECTORS_PER_PAGE - 1);
      }
      guest.memory().write(INDIRECT_GFN << 12, segs, 0, segs.length);
    }
    putRaw(r);
    return id;
  }

  /** One request and its answer: the status. */
  public int io(int op, long sector, int pages) {
    long id = queue(op, sector, pages);
    for (Response r : kick()) {
      if (r.id() == id) {
        return r.status();
      }
    }
    throw new IllegalStateException("no response to request " + id);
  }

  /** A DISCARD of {@code n} sectors at {@code sector}; returns the status. */
  public int discard(long sector, long n, boolean secure) {
    byte[] r = new byte[ENTRY_SIZE];
    r[REQ_OPERATION] = (byte) OP_DISCARD;
    r[DISCARD_FLAG] = (byte) (secure ? DISCARD_SECURE : 0);
    long id = nextId++;
    putLong(r, REQ_ID, id);
    putLong(r, REQ_SECTOR, sector);
    putLong(r, DISCARD_NR_SECTORS, n);
    putRaw(r);
    return kick().get(0).status();
  }

  /** Fills data page {@code i} from {@code src}. */
  public void fill(int page, byte[] src, int off) {
    guest.memory().write(dataAddress(page), src, off, 4096);
  }

  public void copyOut(int page, byte[] dst, int off) {
    guest.memory().read(dataAddress(page), dst, off, 4096);
  }

  static void putSeg(byte[] b, int off, int gref, int first, int last) {
    putInt(b, off + SEG_GREF, gref);
    b[off + SEG_FIRST_SECT] = (byte) first;
    b[off + SEG_LAST_SECT] = (byte) last;
  }

  static void putInt(byte[] b, int off, int v) {
    b[off] = (byte) v;
    b[off + 1] = (byte) (v >> 8);
    b[off + 2] = (byte) (v >> 16);
    b[off + 3] = (byte) (v >> 24);
  }

  static void putLong(byte[] b, int off, long v) {
    putInt(b, off, (int) v);
    putInt(b, off + 4, (int) (v >>> 32));
  }
}
