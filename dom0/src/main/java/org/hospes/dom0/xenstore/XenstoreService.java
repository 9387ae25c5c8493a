package org.hospes.dom0.xenstore;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.cost.CostModel;

/**
 * xenstored as a dom0 service: its rings are served when their event channels fire, and the
 * toolstack's own requests go through {@link #request}. Each request handled is charged one
 * hypercall's worth of modelled cycles to dom0.
 */
public final class XenstoreService {
  private final Xenstored store = new Xenstored();
  private final DomainControl control;
  private final CostModel cost;
  private final Map<Integer, RingConnection> byPort = new HashMap<>();
  /** Ring connections with replies or events queued and not yet written. */
  private final java.util.Set<RingConnection> withOutput = new java.util.LinkedHashSet<>();
  private final ArrayDeque<XsMessage> dom0Replies = new ArrayDeque<>();
  private final Xenstored.Connection dom0;
  private int reqId;

  public XenstoreService(DomainControl control, CostModel cost) {
    this.control = control;
    this.cost = cost;
    this.dom0 = store.connectDom0(dom0Replies::add);
    control.onDomainDeath(domid -> {
      if (store.isIntroduced(domid)) {
        release(domid);
      }
    });
    store.setIntroducer((s, domid, gfn, port) -> {
      RingConnection c = RingConnection.open(s, control, domid, gfn, port, withOutput::add);
      byPort.put(c.localPort(), c);
      control.listen(c.localPort(), (p, now) -> serveRing(c));
      return c;
    });
    initDom0();
  }

  /**
   * One leg of a ring's requests: from the event, or the rest of a leg that dom0's slice cut.
   * dom0's vCPU is preempted at its next scheduling point whatever it runs (C xenstored is a
   * process): the connection stops between two requests when the slice has ended, its replies
   * so far written and notified, and the rest is handled first in dom0's next slice. A
   * transaction's requests may so fall in several legs; each request is handled once, so its
   * watch events fire once, sent to the other rings at the end of the leg that raised them.
   * A leg costs one hypercall (its notification) and one per request handled.
   */
  private long serveRing(RingConnection c) {
    long before = store.requests();
    boolean cut = c.service(
        () -> control.preemptionDue((1 + store.requests() - before) * cost.hypercall()));
    // Watch events this request raised for other domains go out now too.
    flushOthers(c);
    if (cut) {
      preemptions++;
      control.continueLater(now -> c.isClosed() ? 0 : serveRing(c));
    }
    return (1 + store.requests() - before) * cost.hypercall();
  }

  /** Times dom0's slice ended between two of a ring's requests and the rest waited. */
  public long preemptions() {
    return preemptions;
  }

  private long preemptions;

  /**
   * What Xen's xen-init-dom0 writes once xenstored is up, before any domain is made: dom0's
   * {@code domid} and {@code name} ("Domain-0"), in that order, as dom0, so with the
   * permissions they inherit from the root (owner 0, no one else). Tools find a domain's name
   * there for every domain, dom0 too.
   */
  private void initDom0() {
    String dom = "/local/domain/" + control.domid();
    write(dom + "/domid", Integer.toString(control.domid()));
    write(dom + "/name", control.domain().name());
  }

  public Xenstored store() {
    return store;
  }

  /** dom0's request: returns the reply (type ERROR with the errno name on failure). */
  public XsMessage request(int type, String payload) {
    return request(type, 0, payload);
  }

  public XsMessage request(int type, int txId, String payload) {
    int id = ++reqId;
    store.handle(dom0, XsMessage.of(type, id, txId, payload));
    return flushAndTakeReply(dom0Replies, id);
  }

  /**
   * A request from service domain {@code domid}'s Java services (a backend in a driver domain),
   * made with that domain's permissions; returns the reply (ERROR with the errno name when
   * refused: e.g. EACCES for INTRODUCE, which only dom0 may send).
   */
  public XsMessage requestAs(int domid, int type, String payload) {
    if (domid == 0) {
      return request(type, payload);
    }
    ArrayDeque<XsMessage> replies = serviceReplies.computeIfAbsent(domid,
        id -> new ArrayDeque<>());
    Xenstored.Connection c = services.computeIfAbsent(domid,
        id -> store.connectService(id, replies::add));
    int id = ++reqId;
    store.handle(c, XsMessage.of(type, id, 0, payload));
    return flushAndTakeReply(replies, id);
  }

  /** Service domains' in-process connections and their pending replies. */
  private final Map<Integer, Xenstored.Connection> services = new HashMap<>();
  private final Map<Integer, ArrayDeque<XsMessage>> serviceReplies = new HashMap<>();

  /**
   * Sends the watch events a request raised for ring clients, then takes the reply to request
   * {@code id} from {@code replies} (watch events for the requester itself are dropped). By
   * its id, not as the first reply queued: a backend's watch fires inside the write that
   * raised it, and its handler's own request (reading the frontend's state) ran while the
   * write's reply was queued, took that reply and dropped the rest, and the write got none
   * (a NullPointerException: 'xenstore-write' of a frontend's state as dom0, two disks on
   * one vdev). A reply of an outer request stays queued for it.
   */
  private XsMessage flushAndTakeReply(ArrayDeque<XsMessage> replies, int id) {
    flushOthers(null);
    XsMessage reply = null;
    for (java.util.Iterator<XsMessage> it = replies.iterator(); it.hasNext(); ) {
      XsMessage m = it.next();
      if (m.type() == XsWire.WATCH_EVENT) {
        it.remove();
      } else if (reply == null && m.reqId() == id) {
        reply = m;
        it.remove();
      }
    }
    return reply;
  }

  /**
   * Flushes the ring connections other than {@code except} that have output queued. Only those
   * can write or notify anything, and with a thousand guests flushing every connection after
   * each of dom0's requests made building a domain cost time in proportion to the domains
   * already running. When more than one has output they are flushed in the order of
   * {@link #byPort}, as all of them were, so that their events go out in the same order.
   */
  private void flushOthers(RingConnection except) {
    if (withOutput.isEmpty()) {
      return;
    }
    if (withOutput.size() == 1) {
      RingConnection only = withOutput.iterator().next();
      if (only != except) {
        withOutput.clear();
        only.flush();
        if (only.hasOutput()) {
          withOutput.add(only);
        }
      }
      return;
    }
    java.util.Set<RingConnection> waiting = new java.util.HashSet<>(withOutput);
    withOutput.clear();
    for (RingConnection other : byPort.values()) {
      if (waiting.remove(other) && other != except) {
        other.flush();
      }
      if (other.hasOutput()) {
        withOutput.add(other);
      }
    }
    // Connections dropped meanwhile (no longer by port) have nothing left to write to.
  }

  /** Writes {@code path} = {@code value} as dom0; throws if xenstored refuses. */
  public void write(String path, String value) {
    expectOk(request(XsWire.WRITE, path + "\0" + value));
  }

  /** Sets the permissions of {@code path}: e.g. "n3", "r0" (owner 3, others none, dom0 read). */
  public void setPerms(String path, String... perms) {
    expectOk(request(XsWire.SET_PERMS, path + "\0" + String.join("\0", perms) + "\0"));
  }

  /**
   * Writes the directory {@code dir} and its nodes ({@code keys}: name, value, name, value...),
   * each with the permissions {@code owner}, {@code reader} (as libxl writes a device's
   * frontend and backend directories), as dom0.
   */
  public void writeDir(String dir, String[] keys, String owner, String reader) {
    write(dir, "");
    setPerms(dir, owner, reader);
    for (int i = 0; i < keys.length; i += 2) {
      write(dir + "/" + keys[i], keys[i + 1]);
      setPerms(dir + "/" + keys[i], owner, reader);
    }
  }

  private static void expectOk(XsMessage m) {
    if (m.type() == XsWire.ERROR) {
      throw new IllegalStateException("xenstored: " + m.text().trim());
    }
  }

  public String read(String path) {
    XsMessage m = request(XsWire.READ, path + "\0");
    return m.type() == XsWire.ERROR ? null : m.text();
  }

  /** Introduces {@code domid}'s ring (gfn) and event port through the protocol. */
  public void introduce(int domid, long gfn, int port) {
    expectOk(request(XsWire.INTRODUCE, domid + "\0" + gfn + "\0" + port + "\0"));
  }

  public void release(int domid) {
    RingConnection c = (RingConnection) store.connection(domid);
    expectOk(request(XsWire.RELEASE, domid + "\0"));
    if (c != null) {
      byPort.remove(c.localPort());
      withOutput.remove(c);
      control.unlisten(c.localPort());
    }
  }

  public RingConnection connection(int domid) {
    return (RingConnection) store.connection(domid);
  }
}
