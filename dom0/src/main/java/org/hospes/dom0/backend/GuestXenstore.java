package org.hospes.dom0.backend;

import java.util.ArrayDeque;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.dom0.xenstore.Xenstored;
import org.hospes.dom0.xenstore.XsMessage;
import org.hospes.dom0.xenstore.XsWire;

/**
 * xenstored as one guest sees it, for the frontends written in Java: every request carries the
 * guest's domid, so its permissions apply as to a guest's own driver. It sets no watches (the
 * frontends poll), and the watch events the store sends it are passed over.
 */
public final class GuestXenstore {
  private final XenstoreService xs;
  private final Xenstored.Connection conn;
  private final ArrayDeque<XsMessage> inbox = new ArrayDeque<>();

  public GuestXenstore(XenstoreService xs, int domid) {
    this.xs = xs;
    this.conn = new Xenstored.Connection(domid, inbox::add);
  }

  /** A request as the guest; the reply (type ERROR on failure), or null if there was none. */
  public XsMessage request(int type, String payload) {
    inbox.clear();
    xs.store().handle(conn, XsMessage.of(type, 1, 0, payload));
    for (XsMessage m : inbox) {
      if (m.type() != XsWire.WATCH_EVENT) {
        return m;
      }
    }
    return null;
  }

  /** The node's value, or null if the guest cannot read it. */
  public String read(String path) {
    XsMessage m = request(XsWire.READ, path + "\0");
    return m == null || m.type() == XsWire.ERROR ? null : m.text();
  }

  /** Writes as the guest; returns null or the error name. */
  public String write(String path, String value) {
    XsMessage m = request(XsWire.WRITE, path + "\0" + value);
    return m.type() == XsWire.ERROR ? m.text().trim() : null;
  }
}
