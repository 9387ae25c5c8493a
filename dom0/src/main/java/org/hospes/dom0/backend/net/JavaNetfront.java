package org.hospes.dom0.backend.net;

import static org.hospes.abi.Netif.*;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.dom0.backend.GuestXenstore;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;

/**
 * A netfront written in Java that acts as a guest domain: it writes the guest's memory (grant
 * entries, both shared rings, packet pages), sends events from the guest's port and talks to
 * xenstored with the guest's domid, as Linux's xen-netfront does, without running guest code.
 * Tests (the protocol, hostile frontends, the fuzz, the switch) drive netback through it.
 *
 * <p>Guest layout (frames): the grant table at {@link #GNT_GFN}, the tx ring at
 * {@link #TX_RING_GFN}, the rx ring at {@link #RX_RING_GFN}, {@link #TX_PAGES} transmit pages
 * from {@link #TX_GFN} and {@link #RX_PAGES} receive buffers from {@link #RX_GFN}; the domain
 * needs 2 MiB. Grant refs: tx ring {@link #TX_RING_REF}, rx ring {@link #RX_RING_REF}, tx page i
 * is {@code TX_REF + i}, rx buffer i is {@code RX_REF + i} (its rx request id is i).
 */
public final class JavaNetfront {
  public static final long GNT_GFN = 0x0F;
  public static final long TX_RING_GFN = 0x10;
  public static final long RX_RING_GFN = 0x11;
  public static final long TX_GFN = 0x20;
  public static final int TX_PAGES = 64;
  public static final long RX_GFN = 0x100;
  public static final int RX_PAGES = RING_SIZE;
  public static final int TX_RING_REF = 8;
  public static final int RX_RING_REF = 9;
  public static final int TX_REF = 16;
  public static final int RX_REF = 128;

  /** One transmit response. */
  public record TxResponse(int id, int status) {}

  /** One received packet: its bytes (null if a slot had an error), the first slot's flags. */
  public record RxPacket(byte[] data, int flags, int slots) {}

  private final Hypervisor hv;
  private final Domain guest;
  private final String fe;
  private final String be;
  private final GuestXenstore store;
  private final List<TxResponse> txResponses = new ArrayList<>();
  private final List<RxPacket> received = new ArrayList<>();
  private int port = -1;
  private int txReqProdPvt;
  private int txRspCons;
  private int rxReqProdPvt;
  private int rxRspCons;
  private int nextTxId;
  private ByteArrayOutputStream partial;
  private int partialFlags;
  private int partialSlots;
  private boolean partialBad;

  public JavaNetfront(Hypervisor hv, XenstoreService xs, Domain guest, int devid) {
    this.hv = hv;
    this.guest = guest;
    this.fe = VifNodes.frontendPath(guest.domid(), devid);
    this.be = xs.read(fe + "/backend");
    if (be == null) {
      throw new IllegalStateException("no vif " + devid + " for domain " + guest.domid());
    }
    this.store = new GuestXenstore(xs, guest.domid());
    if (guest.grantTables().addToPhysmap(0, GNT_GFN) != 0) {
      throw new IllegalStateException("cannot map the grant table");
    }
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

  public String frontendPath() {
    return fe;
  }

  public String backendPath() {
    return be;
  }

  public Domain guest() {
    return guest;
  }

  /** Writes grant entry {@code ref}: frame {@code gfn} for dom0. */
  public void grant(int ref, long gfn, boolean readonly) {
    rawGrant(ref, GrantTableOp.GTF_PERMIT_ACCESS | (readonly ? GrantTableOp.GTF_READONLY : 0),
        0, gfn);
  }

  /** Writes a raw grant entry (hostile tests). */
  public void rawGrant(int ref, int flags, int domid, long gfn) {
    long a = (GNT_GFN << 12) + (long) ref * GrantTableOp.ENTRY_SIZE;
    guest.memory().write16(a + GrantTableOp.ENTRY_DOMID, domid);
    guest.memory().write32(a + GrantTableOp.ENTRY_FRAME, (int) gfn);
    guest.memory().write16(a + GrantTableOp.ENTRY_FLAGS, flags);
  }

  /**
   * netfront's talk_to_netback and xennet_connect: fresh rings and their grants, an unbound
   * port for dom0, the keys, the receive ring filled with buffers, then Connected. Returns the
   * backend's state afterwards.
   */
  public XenbusState connect() {
    return connect(true);
  }

  /** As {@link #connect()}; {@code sg}: whether to write {@code feature-sg} = 1. */
  public XenbusState connect(boolean sg) {
    for (long ring : new long[] {TX_RING_GFN << 12, RX_RING_GFN << 12}) {
      for (int i = 0; i < 4096; i += 4) {
        guest.memory().write32(ring + i, 0);
      }
      guest.memory().write32(ring + SRING_REQ_EVENT, 1);
      guest.memory().write32(ring + SRING_RSP_EVENT, 1);
    }
    txReqProdPvt = txRspCons = rxReqProdPvt = rxRspCons = 0;
    grant(TX_RING_REF, TX_RING_GFN, false);
    grant(RX_RING_REF, RX_RING_GFN, false);
    for (int i = 0; i < TX_PAGES; i++) {
      grant(TX_REF + i, TX_GFN + i, true);
    }
    for (int i = 0; i < RX_PAGES; i++) {
      grant(RX_REF + i, RX_GFN + i, false);
    }
    if (port < 0) {
      port = guest.eventChannels().allocUnbound(guest.domid(), 0);
    }
    write(fe + "/tx-ring-ref", Integer.toString(TX_RING_REF));
    write(fe + "/rx-ring-ref", Integer.toString(RX_RING_REF));
    write(fe + "/event-channel", Integer.toString(port));
    write(fe + "/request-rx-copy", "1");
    write(fe + "/feature-rx-notify", "1");
    write(fe + "/feature-sg", sg ? "1" : "0");
    for (int i = 0; i < RX_PAGES; i++) {
      postRx(i, RX_REF + i);
    }
    guest.memory().write32((RX_RING_GFN << 12) + SRING_REQ_PROD, rxReqProdPvt);
    write(fe + "/state", XenbusState.CONNECTED.text());
    return backendState();
  }

  /** xennet_close and the xenbus close: Closing, then Closed. */
  public void close() {
    write(fe + "/state", XenbusState.CLOSING.text());
    write(fe + "/state", XenbusState.CLOSED.text());
  }

  /** After the backend went away and came back: Initialising, then connect again. */
  public XenbusState reconnect() {
    write(fe + "/state", XenbusState.INITIALISING.text());
    return connect();
  }

  public int port() {
    return port;
  }

  /** Posts one receive buffer (rx request {@code id}, grant {@code gref}); not yet published. */
  public void postRx(int id, int gref) {
    long off = (RX_RING_GFN << 12) + rxSlot(rxReqProdPvt++);
    guest.memory().write32(off + RXREQ_ID, id & 0xFFFF);
    guest.memory().write32(off + RXREQ_GREF, gref);
  }

  /** Sets the shared rx req_prod to any value (hostile tests). */
  public void setRxReqProd(int v) {
    rxReqProdPvt = v;
    guest.memory().write32((RX_RING_GFN << 12) + SRING_REQ_PROD, v);
  }

  /** Writes one raw tx request into the next slot (not yet published). */
  public void putTx(int gref, int offset, int flags, int id, int size) {
    long off = (TX_RING_GFN << 12) + txSlot(txReqProdPvt++);
    guest.memory().write32(off + TXREQ_GREF, gref);
    guest.memory().write32(off + TXREQ_OFFSET, (offset & 0xFFFF) | (flags & 0xFFFF) << 16);
    guest.memory().write32(off + TXREQ_ID, (id & 0xFFFF) | (size & 0xFFFF) << 16);
  }

  /** Writes one extra-info slot (type, flags, then 6 bytes of the union). */
  public void putExtra(int type, int flags, byte[] u) {
    long off = (TX_RING_GFN << 12) + txSlot(txReqProdPvt++);
    guest.memory().write8(off + EXTRA_TYPE, type);
    guest.memory().write8(off + EXTRA_FLAGS, flags);
    for (int i = 0; i < 6; i++) {
      guest.memory().write8(off + 2 + i, i < u.length ? u[i] : 0);
    }
  }

  /** Sets the shared tx req_prod to any value (hostile tests). */
  public void setTxReqProd(int v) {
    txReqProdPvt = v;
    guest.memory().write32((TX_RING_GFN << 12) + SRING_REQ_PROD, v);
  }

  /** The private tx producer index (requests written so far). */
  public int txReqProd() {
    return txReqProdPvt;
  }

  /** Free tx slots. */
  public int txFree() {
    return RING_SIZE - (txReqProdPvt - txRspCons);
  }

  /**
   * Queues {@code frame} as netfront's xennet_start_xmit does with feature-sg: the data put in
   * tx pages from page {@code firstPage} at {@code offset}, one slot per page piece, the first
   * slot's size being the whole packet's. Returns the slots used.
   */
  public int queueFrame(byte[] frame, int flags, int firstPage, int offset) {
    int pos = 0;
    int page = firstPage;
    int off = offset;
    int slots = 0;
    while (pos < frame.length || slots == 0) {
      int chunk = Math.min(frame.length - pos, PAGE_SIZE - off);
      guest.memory().write(((TX_GFN + page) << 12) + off, frame, pos, chunk);
      boolean last = pos + chunk >= frame.length;
      int f = (slots == 0 ? flags : 0) | (last ? 0 : NETTXF_MORE_DATA);
      putTx(TX_REF + page, off, f, nextTxId++ & 0xFFFF, slots == 0 ? frame.length : chunk);
      pos += chunk;
      page = (page + 1) % TX_PAGES;
      off = 0;
      slots++;
    }
    return slots;
  }

  /** Sends one frame and runs dom0; returns the tx responses that came back. */
  public List<TxResponse> send(byte[] frame, int flags) {
    queueFrame(frame, flags, 0, 0);
    return kick();
  }

  /**
   * Publishes both rings (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY), sends an event if either asks
   * for one, lets dom0 run, and collects what came back.
   */
  public List<TxResponse> kick() {
    publish();
    hv.control().serve(hv.now());
    return poll();
  }

  /**
   * Publishes both rings and sends an event if either asks for one, without running dom0: the
   * scheduler runs netback in dom0's turn.
   */
  public void publish() {
    boolean notify = push(TX_RING_GFN << 12, txReqProdPvt);
    notify |= push(RX_RING_GFN << 12, rxReqProdPvt);
    if (notify) {
      guest.eventChannels().send(port);
    }
  }

  private boolean push(long ring, int now) {
    int old = guest.memory().read32(ring + SRING_REQ_PROD);
    guest.memory().write32(ring + SRING_REQ_PROD, now);
    int event = guest.memory().read32(ring + SRING_REQ_EVENT);
    return now - event < now - old;
  }

  /** Sends an event to dom0 whatever the rings say, and lets it run. */
  public List<TxResponse> forceEvent() {
    guest.eventChannels().send(port);
    hv.control().serve(hv.now());
    return poll();
  }

  /**
   * Reads tx responses and received packets (re-posting each used buffer with its own id and
   * grant, as netfront refills); returns the tx responses since the last call.
   */
  public List<TxResponse> poll() {
    if (port >= 0 && guest.eventChannels().ops().isPending(port)) {
      guest.eventChannels().ops().clearPending(port);
    }
    long tx = TX_RING_GFN << 12;
    List<TxResponse> out = new ArrayList<>();
    int rp = guest.memory().read32(tx + SRING_RSP_PROD);
    while (txRspCons != rp) {
      long off = tx + txSlot(txRspCons++);
      out.add(new TxResponse(guest.memory().read16(off + TXRSP_ID),
          (short) guest.memory().read16(off + TXRSP_STATUS)));
    }
    guest.memory().write32(tx + SRING_RSP_EVENT, txRspCons + 1);
    txResponses.addAll(out);
    long rx = RX_RING_GFN << 12;
    rp = guest.memory().read32(rx + SRING_RSP_PROD);
    int refill = 0;
    while (rxRspCons != rp) {
      long off = rx + rxSlot(rxRspCons++);
      int id = guest.memory().read16(off + RXRSP_ID);
      int roff = guest.memory().read16(off + RXRSP_OFFSET);
      int flags = guest.memory().read16(off + RXRSP_FLAGS);
      int status = (short) guest.memory().read16(off + RXRSP_STATUS);
      if (partial == null) {
        partial = new ByteArrayOutputStream();
        partialFlags = flags;
        partialSlots = 0;
        partialBad = false;
      }
      partialSlots++;
      if (status < 0 || id >= RX_PAGES || roff + status > PAGE_SIZE) {
        partialBad = true;
      } else {
        byte[] b = new byte[status];
        guest.memory().read(((RX_GFN + id) << 12) + roff, b, 0, status);
        partial.write(b, 0, status);
      }
      if ((flags & NETRXF_MORE_DATA) == 0) {
        received.add(new RxPacket(partialBad ? null : partial.toByteArray(), partialFlags,
            partialSlots));
        partial = null;
      }
      if (id < RX_PAGES) {
        postRx(id, RX_REF + id);
        refill++;
      }
    }
    guest.memory().write32(rx + SRING_RSP_EVENT, rxRspCons + 1);
    if (refill > 0 && push(rx, rxReqProdPvt)) {
      guest.eventChannels().send(port);
    }
    return out;
  }

  /** Packets received so far, taken (the list is emptied). */
  public List<RxPacket> takeReceived() {
    List<RxPacket> r = new ArrayList<>(received);
    received.clear();
    return r;
  }
}
