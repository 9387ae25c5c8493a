package org.hospes.dom0.xenstore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.control.ForeignPage;

/**
 * A guest's xenstore connection over its shared ring page (xenstore_domain_interface): requests
 * are read from req[] between req_cons and req_prod, replies and watch events written to rsp[]
 * up to rsp_cons + 1024, both with free-running indices masked by 1023, and dom0's end of the
 * interdomain event channel notified after each batch. A ring whose indices are impossible, or a
 * message header claiming more than 4096 bytes of payload, breaks the protocol: the error field
 * is set and the connection is dropped. dom0 itself never fails on anything in the page.
 *
 * <p>What dom0 holds for a guest is bounded whatever the guest does: while
 * {@value #MAX_OUTSTANDING} replies wait for room in its response ring, no more requests are
 * read (C xenstored's quota_req_outstanding; the requests stay in the guest's own ring), and at
 * most {@value #MAX_QUEUED_EVENTS} watch events wait, later ones being dropped (oxenstored's
 * quota-maxwatchevents), so a guest that never reads its ring cannot grow dom0's memory.
 */
public final class RingConnection extends Xenstored.Connection {
  /** Replies waiting for room in the response ring before no more requests are read. */
  public static final int MAX_OUTSTANDING = 20;
  /** Watch events waiting for room in the response ring before further ones are dropped. */
  public static final int MAX_QUEUED_EVENTS = 1024;

  /** What is read from req[] and not handled yet: part of a message, or whole ones. */
  private final byte[] partial = new byte[XsWire.HEADER_SIZE + XsWire.PAYLOAD_MAX
      + XsWire.RING_SIZE];
  private int partialLength;
  private final Xenstored store;
  private final DomainControl control;
  private final ForeignPage page;
  private final int localPort;
  private final ArrayDeque<byte[]> outQueue = new ArrayDeque<>();
  private final java.util.function.Consumer<RingConnection> queued;
  private int pendingOffset;
  private int queuedReplies;
  private int queuedEvents;
  private long droppedEvents;
  private boolean notify;
  private String dropReason;

  private RingConnection(Xenstored store, DomainControl control, int domid, ForeignPage page,
      int localPort, java.util.function.Consumer<RingConnection> queued,
      java.util.function.Consumer<XsMessage>[] sink) {
    super(domid, m -> sink[0].accept(m));
    this.store = store;
    this.control = control;
    this.page = page;
    this.localPort = localPort;
    this.queued = queued;
  }

  /**
   * Maps the ring page at {@code gfn} of {@code domid} and binds dom0's end of the event channel
   * the guest's {@code port} is; throws IllegalArgumentException if either fails.
   */
  public static RingConnection open(Xenstored store, DomainControl control, int domid,
      long gfn, int port) {
    return open(store, control, domid, gfn, port, c -> { });
  }

  /**
   * As above; {@code queued} is told each time xenstored queues a reply or watch event on the
   * connection, so that its owner can flush the connections with output rather than all.
   */
  @SuppressWarnings("unchecked")
  public static RingConnection open(Xenstored store, DomainControl control, int domid,
      long gfn, int port, java.util.function.Consumer<RingConnection> queued) {
    ForeignPage page = control.mapForeign(domid, gfn);
    int local = control.channels().bindInterdomain(domid, port);
    if (local < 0) {
      page.unmap();
      throw new IllegalArgumentException("cannot bind to port " + port + " of domain " + domid
          + ": error " + local);
    }
    // The sink needs the connection, which needs the sink: tied once both exist.
    java.util.function.Consumer<XsMessage>[] sink = new java.util.function.Consumer[1];
    RingConnection c = new RingConnection(store, control, domid, page, local, queued, sink);
    sink[0] = c::queue;
    return c;
  }

  /** Queues a reply or watch event from xenstored; events past the limit are dropped. */
  private void queue(XsMessage m) {
    boolean event = m.type() == XsWire.WATCH_EVENT;
    if (event && queuedEvents >= MAX_QUEUED_EVENTS) {
      droppedEvents++;
      return;
    }
    byte[] bytes = m.encode();
    outQueue.add(bytes);
    if (event) {
      queuedEvents++;
    } else {
      queuedReplies++;
    }
    queued.accept(this);
  }

  /**
   * Replies or events wait to be written (the ring was full, or they were just queued) to a
   * connection that is still up.
   */
  boolean hasOutput() {
    return !closed && page.isMapped() && !outQueue.isEmpty();
  }

  public int localPort() {
    return localPort;
  }

  /** Why the connection was dropped, or null. */
  public String dropReason() {
    return dropReason;
  }

  /** Messages waiting for room in the response ring (replies and watch events). */
  public int queuedMessages() {
    return outQueue.size();
  }

  /** Replies (not watch events) waiting for room in the response ring. */
  public int queuedReplies() {
    return queuedReplies;
  }

  /** Bytes dom0 holds for this guest: queued output and requests read but not handled. */
  public long heldBytes() {
    long n = partialLength;
    for (byte[] m : outQueue) {
      n += m.length;
    }
    return n - pendingOffset;
  }

  /** Watch events dropped because {@value #MAX_QUEUED_EVENTS} were already waiting. */
  public long droppedEvents() {
    return droppedEvents;
  }

  @Override
  void shutdown() {
    if (!page.isMapped()) {
      return;
    }
    page.unmap();
    control.channels().close(localPort);
  }

  /**
   * Writes what output fits, then handles complete requests while fewer than
   * {@value #MAX_OUTSTANDING} replies wait, then writes what fits of the new replies.
   */
  public void service() {
    service(() -> false);
  }

  /**
   * As {@link #service()}, but stops between two requests (after at least one) when {@code
   * preempt} says so, as dom0's vCPU is preempted at its next scheduling point: the replies made
   * so far are written and notified, and the requests left stay where they are (read into this
   * connection or still in req[]) for the next call. Returns true when it stopped so with a
   * request left to handle.
   */
  public boolean service(java.util.function.BooleanSupplier preempt) {
    if (closed || !page.isMapped()) {
      return false;
    }
    flush();
    int handled = 0;
    boolean cut = false;
    while (!closed && queuedReplies < MAX_OUTSTANDING) {
      if (handled > 0 && preempt.getAsBoolean()) {
        // Only a request that is there makes it a cut: nothing is left for a later leg else.
        cut = hasRequest();
        if (cut) {
          break;
        }
      }
      XsMessage m = nextRequest();
      if (m == null) {
        break;
      }
      store.handle(this, m);
      handled++;
    }
    flush();
    return cut && !closed;
  }

  /** True when a whole request, or bytes in req[], wait to be handled. */
  private boolean hasRequest() {
    if (partialLength >= XsWire.HEADER_SIZE) {
      int len = ByteBuffer.wrap(partial, 12, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
      if (len < 0 || len > XsWire.PAYLOAD_MAX || partialLength >= XsWire.HEADER_SIZE + len) {
        return true; // a whole request, or a bad header the next leg drops the ring for
      }
    }
    return page.read32(XsWire.REQ_PROD) != page.read32(XsWire.REQ_CONS);
  }

  /** True once xenstored has dropped this connection (a release, a broken ring). */
  public boolean isClosed() {
    return closed;
  }

  /**
   * The next whole request, reading req[] only when what was read before holds none; null if
   * there is none yet (or the ring broke the protocol, which drops the connection).
   */
  private XsMessage nextRequest() {
    int need = wholeMessage();
    if (need == 0) {
      if (!readRing() || closed) {
        return null;
      }
      need = wholeMessage();
      if (need <= 0) {
        return null;
      }
    } else if (need < 0) {
      return null;
    }
    ByteBuffer h = ByteBuffer.wrap(partial, 0, XsWire.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    int type = h.getInt();
    int reqId = h.getInt();
    int txId = h.getInt();
    byte[] payload = java.util.Arrays.copyOfRange(partial, XsWire.HEADER_SIZE, need);
    System.arraycopy(partial, need, partial, 0, partialLength - need);
    partialLength -= need;
    return new XsMessage(type, reqId, txId, payload);
  }

  /**
   * The length of the whole message at the start of {@link #partial}, 0 if it is not all there
   * yet, -1 if its header is over the limit (the connection is then dropped): xenstored judges
   * a header as soon as it has one, before any of its payload.
   */
  private int wholeMessage() {
    if (partialLength < XsWire.HEADER_SIZE) {
      return 0;
    }
    int len = ByteBuffer.wrap(partial, 12, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    if (len < 0 || len > XsWire.PAYLOAD_MAX) {
      fail(XsWire.ERROR_PROTO, "payload length " + (len & 0xFFFF_FFFFL));
      return -1;
    }
    return partialLength >= XsWire.HEADER_SIZE + len ? XsWire.HEADER_SIZE + len : 0;
  }

  /** Takes everything between req_cons and req_prod; false if there was nothing (or bad indices). */
  private boolean readRing() {
    int cons = page.read32(XsWire.REQ_CONS);
    int prod = page.read32(XsWire.REQ_PROD);
    int avail = prod - cons;
    if (avail < 0 || avail > XsWire.RING_SIZE) {
      fail(XsWire.ERROR_RINGIDX, "request ring indices " + cons + "/" + prod);
      return false;
    }
    if (avail == 0) {
      return false;
    }
    // At most one incomplete message (under HEADER_SIZE + PAYLOAD_MAX) is held when reading.
    for (int i = 0; i < avail; i++) {
      partial[partialLength++] =
          (byte) page.read8(XsWire.REQ + ((cons + i) & (XsWire.RING_SIZE - 1)));
    }
    page.write32(XsWire.REQ_CONS, cons + avail);
    notify = true;
    return true;
  }

  /** Writes queued output into the response ring as space allows. */
  public void flush() {
    if (closed || !page.isMapped()) {
      return;
    }
    int cons = page.read32(XsWire.RSP_CONS);
    int prod = page.read32(XsWire.RSP_PROD);
    int used = prod - cons;
    if (used < 0 || used > XsWire.RING_SIZE) {
      fail(XsWire.ERROR_RINGIDX, "response ring indices " + cons + "/" + prod);
      return;
    }
    int room = XsWire.RING_SIZE - used;
    while (room > 0 && !outQueue.isEmpty()) {
      byte[] m = outQueue.peek();
      int n = Math.min(room, m.length - pendingOffset);
      for (int i = 0; i < n; i++) {
        page.write8(XsWire.RSP + ((prod + i) & (XsWire.RING_SIZE - 1)), m[pendingOffset + i]);
      }
      prod += n;
      room -= n;
      pendingOffset += n;
      if (pendingOffset == m.length) {
        outQueue.poll();
        pendingOffset = 0;
        // The type is the header's first word.
        if ((m[0] & 0xFF | (m[1] & 0xFF) << 8) == XsWire.WATCH_EVENT && m[2] == 0 && m[3] == 0) {
          queuedEvents--;
        } else {
          queuedReplies--;
        }
      }
      page.write32(XsWire.RSP_PROD, prod);
      notify = true;
    }
    if (notify) {
      notify = false;
      control.channels().send(localPort);
    }
  }

  private void fail(int error, String why) {
    dropReason = why;
    page.write32(XsWire.ERROR_FIELD, error);
    store.drop(this);
    outQueue.clear();
    pendingOffset = 0;
    queuedReplies = 0;
    queuedEvents = 0;
    partialLength = 0;
    control.channels().send(localPort);
  }
}
