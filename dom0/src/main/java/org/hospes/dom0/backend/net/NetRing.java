package org.hospes.dom0.backend.net;

import static org.hospes.abi.Netif.*;

import org.hospes.abi.GrantTableOp;
import org.hospes.dom0.net.L4Checksum;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.control.ForeignPage;
import org.hospes.hv.control.GrantMapException;
import org.hospes.hv.cost.CostModel;

/**
 * The two connected rings of one vif (x86_32 layouts, {@link org.hospes.abi.Netif}) and one
 * event channel for both (no {@code feature-split-event-channels}).
 *
 * <p><b>Transmit</b> (guest to switch): on each event, the requests between the private
 * tx req_cons and the shared req_prod are taken packet by packet (a first slot, its extra-info
 * slots, then its NETTXF_more_data chain, {@code feature-sg}), copied out of the guest's pages
 * by grant copy into one frame, answered slot by slot in ring order (NETIF_RSP_NULL for extra
 * slots) and handed to the {@link FrameOut}. With NETTXF_csum_blank the TCP/UDP checksum is
 * filled in first, because frames on the switch always carry whole checksums.
 *
 * <p><b>Receive</b> (switch to guest): a frame is queued (up to {@link #RX_QUEUE} frames) and
 * copied by grant copy into the buffers the frontend posted on the rx ring: one buffer, or with
 * {@code feature-sg} as many page-sized pieces as it needs, all but the last with
 * NETRXF_more_data. Responses carry no checksum flags, since the frame's checksums are whole.
 *
 * <p><b>Hostile frontends</b> follow Linux netback's rules (drivers/net/xen-netback/netback.c):
 * a bad grant, a first slot shorter than an Ethernet header, a slot larger than what is left of
 * the packet, more than {@link Netif#NR_SLOTS_MIN} slots, or a GSO packet (GSO is not offered)
 * get NETIF_RSP_ERROR on every slot of the packet; a producer index more than a ring ahead, a
 * chain that runs past the producer, a slot crossing its page, more than {@link #FATAL_SLOTS}
 * slots or an invalid extra-info type are fatal: the ring halts for good and {@code onHalt}
 * disconnects the device. Every slot is copied out of the shared page before it is checked.
 *
 * <p><b>Preemption.</b> dom0's vCPU is preempted at its next scheduling point whatever it runs,
 * and Linux's netback works in bounded NAPI polls and a receive thread: here both rings are
 * served packet by packet, and when dom0's slice ends between two packets (transmit) or two
 * frames (receive), after at least one in that leg, the ring stops there
 * ({@link DomainControl#preemptionDue}): the responses made so far are pushed (and notified),
 * and the rest is served first in dom0's next slice ({@link DomainControl#continueLater}), from
 * the same req_cons and the same receive queue, with no second event counted. A packet is
 * whole when it stops (its slots answered, its frame forwarded by the switch), so none is
 * half-sent, sent twice or lost, and the counters stay exact ({@link NetStats#preemptions}).
 * A frame the switch forwards while this ring waits for its continuation joins the receive
 * queue behind the others; the continuation delivers it in order.
 */
public final class NetRing {
  /** Linux netback's fatal_skb_slots default: a frontend using this many slots is malicious. */
  public static final int FATAL_SLOTS = 20;
  /** Frames waiting for receive buffers; more are dropped (a NIC's receive queue). */
  public static final int RX_QUEUE = 256;
  /** The largest frame taken from the switch: a 64 KiB packet. */
  public static final int MAX_FRAME = MAX_TX_SIZE;

  /** Where a transmitted frame goes (the switch port). */
  @FunctionalInterface
  public interface FrameOut {
    void send(byte[] frame, int off, int len);
  }

  private final DomainControl control;
  private final int domid;
  private final ForeignPage tx;
  private final ForeignPage rx;
  private final int localPort;
  private final boolean rxSg;
  private final CostModel cost;
  private final FrameOut out;
  private final Runnable onHalt;
  private final NetStats stats = new NetStats();

  private int txReqCons;
  private int txRspProdPvt;
  private int rxReqCons;
  private int rxRspProdPvt;
  private String haltReason;
  /** Modelled cycles of the work under way not yet charged to the service vCPU. */
  private long cycles;
  /** True while this ring's own work runs (an event or a continuation of one). */
  private boolean serving;
  /** Packets and frames handled in the current leg: a leg stops only after some progress. */
  private int legProgress;
  /** A continuation of this ring's work waits for dom0's next slice. */
  private boolean resumePending;
  /** ... and its transmit was cut, so it transmits before it receives. */
  private boolean resumeTx;

  // Transmit scratch: the slots of one packet copied out of the ring, and the frame.
  private final int[] slotGref = new int[FATAL_SLOTS + 1];
  private final int[] slotOffset = new int[FATAL_SLOTS + 1];
  private final int[] slotSize = new int[FATAL_SLOTS + 1];
  private final int[] slotId = new int[FATAL_SLOTS + 1];
  private final byte[] slot = new byte[TX_ENTRY_SIZE];
  private final byte[] frame = new byte[MAX_FRAME];

  // Receive queue: a ring of frame buffers, grown to the largest frame seen in each slot.
  private final byte[][] rxq = new byte[RX_QUEUE][];
  private final int[] rxqLen = new int[RX_QUEUE];
  private int rxqHead;
  private int rxqCount;

  private NetRing(DomainControl control, int domid, ForeignPage tx, ForeignPage rx,
      int localPort, boolean rxSg, CostModel cost, FrameOut out, Runnable onHalt) {
    this.control = control;
    this.domid = domid;
    this.tx = tx;
    this.rx = rx;
    this.localPort = localPort;
    this.rxSg = rxSg;
    this.cost = cost;
    this.out = out;
    this.onHalt = onHalt;
  }

  /**
   * Maps the frontend's two ring pages, binds to its event channel and starts serving.
   * {@code rxSg}: the frontend said {@code feature-sg}, so a frame may fill several receive
   * buffers. Throws IllegalArgumentException with the reason on a bad grant or port.
   */
  public static NetRing connect(DomainControl control, int domid, int txRef, int rxRef,
      int evtchn, boolean rxSg, CostModel cost, FrameOut out, Runnable onHalt) {
    ForeignPage txPage;
    ForeignPage rxPage;
    try {
      txPage = control.mapGrant(domid, txRef, false);
    } catch (GrantMapException e) {
      throw new IllegalArgumentException("cannot map tx-ring-ref " + txRef + ": "
          + e.getMessage());
    }
    try {
      rxPage = control.mapGrant(domid, rxRef, false);
    } catch (GrantMapException e) {
      txPage.unmap();
      throw new IllegalArgumentException("cannot map rx-ring-ref " + rxRef + ": "
          + e.getMessage());
    }
    int local = control.channels().bindInterdomain(domid, evtchn);
    if (local < 0) {
      txPage.unmap();
      rxPage.unmap();
      throw new IllegalArgumentException("cannot bind event-channel " + evtchn + ": " + local);
    }
    NetRing r = new NetRing(control, domid, txPage, rxPage, local, rxSg, cost, out, onHalt);
    // BACK_RING_ATTACH: pick up where the responses are (0 and 0 on a fresh ring).
    r.txRspProdPvt = txPage.read32(SRING_RSP_PROD);
    r.txReqCons = r.txRspProdPvt;
    r.rxRspProdPvt = rxPage.read32(SRING_RSP_PROD);
    r.rxReqCons = r.rxRspProdPvt;
    control.listen(local, (p, now) -> r.onEvent());
    return r;
  }

  public NetStats stats() {
    return stats;
  }

  public int localPort() {
    return localPort;
  }

  /** Why the ring was halted, or null while it runs. */
  public String haltReason() {
    return haltReason;
  }

  /** Frames waiting for receive buffers. */
  public int rxQueued() {
    return rxqCount;
  }

  /** Serves both rings after an event from the frontend; returns the modelled cycles. */
  public long onEvent() {
    cycles = cost.hypercall();
    stats.events++;
    return serve(true);
  }

  /**
   * One leg of this ring's work: transmit (unless {@code tx} is false: a continuation of a cut
   * receive), then receive, each stopping where dom0's slice ends. Returns the cycles not yet
   * charged.
   */
  private long serve(boolean tx) {
    serving = true;
    legProgress = 0;
    try {
      if (tx && running()) {
        transmit();
      }
      // A leg that was cut (in transmit, or in a receive a gateway's answer started) leaves the
      // receive queue to its continuation, which comes after the rest of the transmit.
      if (!resumePending && running()) {
        flushRx();
      }
    } finally {
      serving = false;
    }
    stats.cycles += cycles;
    long c = cycles;
    cycles = 0;
    return c;
  }

  /** The rest of a cut leg, first in dom0's next slice. */
  private long resume(long now) {
    boolean tx = resumeTx;
    resumePending = false;
    resumeTx = false;
    cycles = 0;
    if (!running()) {
      return 0; // disconnected or halted meanwhile: nothing is left to serve
    }
    return serve(tx);
  }

  /** True when dom0's slice has ended and this leg has handled something. */
  private boolean preemptionDue() {
    return legProgress > 0 && control.preemptionDue(cycles);
  }

  /**
   * The leg stops here: its rest (the transmit too if {@code tx}) is served first in dom0's
   * next slice. A leg cut twice (a receive a gateway's answer started, then the transmit) has
   * one continuation.
   */
  private void preempt(boolean tx) {
    resumeTx |= tx;
    if (!resumePending) {
      resumePending = true;
      stats.preemptions++;
      control.continueLater(this::resume);
    }
  }

  /**
   * Charges what the work under way has cost so far. Done before a frame goes to the switch:
   * what the switch does with it (another vif's receive, a gateway's answer) is part of this
   * item's time, and its own preemption checks see the time this packet has reached.
   */
  private void settle() {
    stats.cycles += cycles;
    control.work().charge(cycles);
    cycles = 0;
  }

  private boolean running() {
    return haltReason == null && tx.isMapped() && rx.isMapped();
  }

  /**
   * A frame from the switch for this guest: queued, then copied into posted buffers. Returns
   * false if it was dropped (queue full, too large, ring halted).
   */
  public boolean receive(byte[] f, int off, int len) {
    if (!running() || len > MAX_FRAME || len <= 0 || (!rxSg && len > PAGE_SIZE)
        || rxqCount == RX_QUEUE) {
      stats.rxDropped++;
      return false;
    }
    int i = (rxqHead + rxqCount) % RX_QUEUE;
    if (rxq[i] == null || rxq[i].length < len) {
      rxq[i] = new byte[Math.max(len, 2048)];
    }
    System.arraycopy(f, off, rxq[i], 0, len);
    rxqLen[i] = len;
    rxqCount++;
    if (resumePending) {
      // The ring's work was cut; its continuation delivers this frame behind the others.
      return true;
    }
    if (serving) {
      // A reply produced while this ring's own work runs (a gateway answering at once).
      flushRx();
      return true;
    }
    cycles = 0;
    legProgress = 0;
    flushRx();
    settle();
    return true;
  }

  // ---- transmit ------------------------------------------------------------------------------

  private void transmit() {
    boolean more;
    do {
      int rp = tx.read32(SRING_REQ_PROD);
      if (Integer.compareUnsigned(rp - txReqCons, RING_SIZE) > 0) {
        halt(String.format("Impossible number of requests: req_prod %d, req_cons %d", rp,
            txReqCons));
        return;
      }
      while (txReqCons != rp && running()) {
        if (preemptionDue()) {
          pushTx();
          preempt(true);
          return;
        }
        onePacket(rp);
        legProgress++;
      }
      if (!running()) {
        return;
      }
      pushTx();
      more = tx.read32(SRING_REQ_PROD) != txReqCons;
      if (!more) {
        tx.write32(SRING_REQ_EVENT, txReqCons + 1);
        more = tx.read32(SRING_REQ_PROD) != txReqCons;
      }
    } while (more && running());
  }

  private void readSlot(int i) {
    tx.read(txSlot(i), slot, 0, TX_ENTRY_SIZE);
  }

  /** Takes the packet starting at txReqCons (the producer is at {@code rp}). */
  private void onePacket(int rp) {
    int cons = txReqCons;
    readSlot(cons);
    int firstFlags = u16(slot, TXREQ_FLAGS);
    slotGref[0] = u32(slot, TXREQ_GREF);
    slotOffset[0] = u16(slot, TXREQ_OFFSET);
    slotId[0] = u16(slot, TXREQ_ID);
    int total = u16(slot, TXREQ_SIZE);
    int extras = 0;
    boolean gso = false;
    boolean mcast = false;
    // Extra-info slots follow the first request (xenvif_get_extras).
    boolean moreExtra = (firstFlags & NETTXF_EXTRA_INFO) != 0;
    while (moreExtra) {
      int at = cons + 1 + extras;
      if (at == rp) {
        halt("Missing extra info");
        return;
      }
      readSlot(at);
      int type = slot[EXTRA_TYPE] & 0xFF;
      if (type == EXTRA_TYPE_NONE || type >= EXTRA_TYPE_MAX) {
        halt("Bad extra info type " + type);
        return;
      }
      if (type == EXTRA_TYPE_GSO) {
        if (u16(slot, EXTRA_GSO_SIZE) == 0) {
          halt("GSO size must not be zero");
          return;
        }
        gso = true;
      } else if (type == EXTRA_TYPE_MCAST_ADD || type == EXTRA_TYPE_MCAST_DEL) {
        mcast = true;
      }
      moreExtra = (slot[EXTRA_FLAGS] & EXTRA_FLAG_MORE) != 0;
      extras++;
    }
    if (mcast) {
      // A multicast filter update, not a packet (the switch floods multicast: nothing to do).
      stats.mcastRequests++;
      respondTx(slotId[0], RSP_OKAY, extras);
      txReqCons = cons + 1 + extras;
      return;
    }
    // The chain of NETTXF_more_data slots (xenvif_count_requests).
    int nfrags = 0;
    boolean dropErr = false;
    boolean moreData = (firstFlags & NETTXF_MORE_DATA) != 0;
    int firstData = total;
    while (moreData) {
      int at = cons + 1 + extras + nfrags;
      if (at == rp) {
        halt("Asked for " + (nfrags + 1) + " slots but the producer stops before");
        return;
      }
      if (nfrags >= FATAL_SLOTS) {
        halt("Malicious frontend using " + (nfrags + 1) + " slots, threshold " + FATAL_SLOTS);
        return;
      }
      // Linux counts the slots after the first against XEN_NETBK_LEGACY_SLOTS_MAX.
      if (nfrags >= NR_SLOTS_MIN) {
        dropErr = true;
      }
      readSlot(at);
      int size = u16(slot, TXREQ_SIZE);
      int offset = u16(slot, TXREQ_OFFSET);
      if (!dropErr && size > firstData) {
        dropErr = true;
      }
      if (offset + size > PAGE_SIZE) {
        halt("Cross page boundary, offset " + offset + ", size " + size);
        return;
      }
      firstData -= size;
      slotGref[nfrags + 1] = u32(slot, TXREQ_GREF);
      slotOffset[nfrags + 1] = offset;
      slotSize[nfrags + 1] = size;
      slotId[nfrags + 1] = u16(slot, TXREQ_ID);
      moreData = (u16(slot, TXREQ_FLAGS) & NETTXF_MORE_DATA) != 0;
      nfrags++;
    }
    txReqCons = cons + 1 + extras + nfrags;
    if (!dropErr && firstData < ETH_HLEN) {
      dropErr = true;
    }
    if (!dropErr && slotOffset[0] + firstData > PAGE_SIZE) {
      halt("Cross page boundary, offset " + slotOffset[0] + ", size " + firstData);
      return;
    }
    if (dropErr || gso) {
      // GSO was not offered: the packet is refused as Linux refuses an unsupported GSO type.
      txError(extras, nfrags);
      return;
    }
    slotSize[0] = firstData;
    int pos = 0;
    for (int s = 0; s <= nfrags; s++) {
      int st = control.copyGrant(domid, slotGref[s], slotOffset[s], frame, pos, slotSize[s],
          false);
      stats.grantCopies++;
      if (st != GrantTableOp.GNTST_OKAY) {
        txError(extras, nfrags);
        return;
      }
      pos += slotSize[s];
      cycles += slotSize[s] / 8;
    }
    respondTx(slotId[0], RSP_OKAY, extras);
    for (int s = 1; s <= nfrags; s++) {
      respondTx(slotId[s], RSP_OKAY, 0);
    }
    if ((firstFlags & NETTXF_CSUM_BLANK) != 0) {
      if (!L4Checksum.fill(frame, 0, pos)) {
        // Linux answers OKAY, then drops the packet when checksum_setup fails.
        stats.txDropped++;
        return;
      }
      stats.csumFilled++;
    }
    stats.txPackets++;
    stats.txBytes += pos;
    settle();
    out.send(frame, 0, pos);
  }

  private void txError(int extras, int nfrags) {
    respondTx(slotId[0], RSP_ERROR, extras);
    stats.txErrors++;
    for (int s = 1; s <= nfrags; s++) {
      respondTx(slotId[s], RSP_ERROR, 0);
      stats.txErrors++;
    }
  }

  /** One response, then NETIF_RSP_NULL for each of {@code extras} extra-info slots. */
  private void respondTx(int id, int status, int extras) {
    int off = txSlot(txRspProdPvt++);
    tx.write32(off, (id & 0xFFFF) | (status & 0xFFFF) << 16);
    for (int i = 0; i < extras; i++) {
      tx.write32(txSlot(txRspProdPvt++), RSP_NULL << 16);
    }
  }

  private void pushTx() {
    push(tx, txRspProdPvt);
  }

  private void push(ForeignPage ring, int now) {
    int old = ring.read32(SRING_RSP_PROD);
    if (old == now) {
      return;
    }
    ring.write32(SRING_RSP_PROD, now);
    int event = ring.read32(SRING_RSP_EVENT);
    if (now - event < now - old) {
      control.channels().send(localPort);
      stats.notifications++;
      cycles += cost.hypercall();
    }
  }

  // ---- receive -------------------------------------------------------------------------------

  private void flushRx() {
    boolean pushed = false;
    while (rxqCount > 0 && running()) {
      if (preemptionDue()) {
        if (pushed) {
          push(rx, rxRspProdPvt);
        }
        preempt(false);
        return;
      }
      int i = rxqHead;
      int len = rxqLen[i];
      int need = (len + PAGE_SIZE - 1) / PAGE_SIZE;
      int rp = rx.read32(SRING_REQ_PROD);
      int avail = rp - rxReqCons;
      if (Integer.compareUnsigned(rp - rxRspProdPvt, RING_SIZE) > 0) {
        halt(String.format("Impossible number of rx requests: req_prod %d, rsp_prod %d", rp,
            rxRspProdPvt));
        return;
      }
      if (avail < need) {
        // Wait for buffers: ask for an event when the frontend has posted enough.
        rx.write32(SRING_REQ_EVENT, rxReqCons + need);
        if (rx.read32(SRING_REQ_PROD) - rxReqCons < need) {
          break;
        }
        continue;
      }
      deliver(rxq[i], len);
      rxqHead = (rxqHead + 1) % RX_QUEUE;
      rxqCount--;
      legProgress++;
      pushed = true;
    }
    if (pushed) {
      push(rx, rxRspProdPvt);
    }
  }

  private void deliver(byte[] f, int len) {
    int pos = 0;
    boolean bad = false;
    while (pos < len) {
      int chunk = Math.min(PAGE_SIZE, len - pos);
      int off = rxSlot(rxReqCons++);
      int w = rx.read32(off + RXREQ_ID);
      int id = w & 0xFFFF;
      int gref = rx.read32(off + RXREQ_GREF);
      int st = control.copyGrant(domid, gref, 0, f, pos, chunk, true);
      stats.grantCopies++;
      cycles += chunk / 8;
      int status = st == GrantTableOp.GNTST_OKAY ? chunk : RSP_ERROR;
      if (st != GrantTableOp.GNTST_OKAY) {
        stats.rxErrors++;
        bad = true;
      }
      pos += chunk;
      int flags = pos < len ? NETRXF_MORE_DATA : 0;
      int roff = rxSlot(rxRspProdPvt++);
      // id u16 @0, offset u16 @2 (0: data at the start of the buffer), flags u16 @4, status @6.
      rx.write32(roff + RXRSP_ID, id);
      rx.write32(roff + RXRSP_FLAGS, flags | (status & 0xFFFF) << 16);
    }
    if (!bad) {
      stats.rxPackets++;
      stats.rxBytes += len;
    }
  }

  // ---- common --------------------------------------------------------------------------------

  private void halt(String reason) {
    haltReason = reason;
    if (onHalt != null) {
      onHalt.run();
    }
  }

  private static int u16(byte[] b, int off) {
    return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8;
  }

  private static int u32(byte[] b, int off) {
    return u16(b, off) | u16(b, off + 2) << 16;
  }

  /** Stops serving: unbinds the port and unmaps both rings; queued frames are dropped. */
  public void disconnect() {
    control.unlisten(localPort);
    control.channels().close(localPort);
    tx.unmap();
    rx.unmap();
    stats.rxDropped += rxqCount;
    rxqCount = 0;
  }

  public int domid() {
    return domid;
  }
}
