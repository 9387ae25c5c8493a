package org.hospes.dom0.xenstore;

import java.io.ByteArrayOutputStream;
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
 */
public final class RingConnection extends Xenstored.Connection {
  private final Xenstored store;
  private final DomainControl control;
  private final ForeignPage page;
  private final int localPort;
  private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
  private final ArrayDeque<byte[]> pendingOut = new ArrayDeque<>();
  private int pendingOffset;
  private boolean notify;
  private String dropReason;

  private RingConnection(Xenstored store, DomainControl control, int domid, ForeignPage page,
      int localPort, java.util.function.Consumer<XsMessage> sink) {
    super(domid, sink);
    this.store = store;
    this.control = control;
    this.page = page;
    this.localPort = localPort;
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
  public static RingConnection open(Xenstored store, DomainControl control, int domid,
      long gfn, int port, java.util.function.Consumer<RingConnection> queued) {
    ForeignPage page = control.mapForeign(domid, gfn);
    int local = control.channels().bindInterdomain(domid, port);
    if (local < 0) {
      page.unmap();
      throw new IllegalArgumentException("cannot bind to port " + port + " of domain " + domid
          + ": error " + local);
    }
    ArrayDeque<byte[]> q = new ArrayDeque<>();
    RingConnection[] self = new RingConnection[1];
    RingConnection c = new RingConnection(store, control, domid, page, local, m -> {
      q.add(m.encode());
      queued.accept(self[0]);
    });
    self[0] = c;
    c.outQueue = q;
    return c;
  }

  private ArrayDeque<byte[]> outQueue;

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

  @Override
  void shutdown() {
    if (!page.isMapped()) {
      return;
    }
    page.unmap();
    control.channels().close(localPort);
  }

  /** Reads every complete request, handles it, and writes what fits of the replies. */
  public void service() {
    if (closed || !page.isMapped()) {
      return;
    }
    int cons = page.read32(XsWire.REQ_CONS);
    int prod = page.read32(XsWire.REQ_PROD);
    int avail = prod - cons;
    if (avail < 0 || avail > XsWire.RING_SIZE) {
      fail(XsWire.ERROR_RINGIDX, "request ring indices " + cons + "/" + prod);
      return;
    }
    if (avail > 0) {
      byte[] buf = new byte[avail];
      for (int i = 0; i < avail; i++) {
        buf[i] = (byte) page.read8(XsWire.REQ + ((cons + i) & (XsWire.RING_SIZE - 1)));
      }
      page.write32(XsWire.REQ_CONS, cons + avail);
      partial.write(buf, 0, avail);
      notify = true;
    }
    byte[] data = partial.toByteArray();
    int off = 0;
    while (data.length - off >= XsWire.HEADER_SIZE) {
      ByteBuffer h = ByteBuffer.wrap(data, off, XsWire.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
      int type = h.getInt();
      int reqId = h.getInt();
      int txId = h.getInt();
      int len = h.getInt();
      if (len < 0 || len > XsWire.PAYLOAD_MAX) {
        fail(XsWire.ERROR_PROTO, "payload length " + (len & 0xFFFF_FFFFL));
        return;
      }
      if (data.length - off - XsWire.HEADER_SIZE < len) {
        break;
      }
      byte[] payload = new byte[len];
      System.arraycopy(data, off + XsWire.HEADER_SIZE, payload, 0, len);
      off += XsWire.HEADER_SIZE + len;
      store.handle(this, new XsMessage(type, reqId, txId, payload));
      if (closed) {
        return;
      }
    }
    partial.reset();
    partial.write(data, off, data.length - off);
    flush();
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
    control.channels().send(localPort);
  }
}
