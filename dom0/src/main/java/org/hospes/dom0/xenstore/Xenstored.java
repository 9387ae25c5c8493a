package org.hospes.dom0.xenstore;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The xenstore daemon's logic (docs/misc/xenstore.txt): a tree of nodes with values and
 * per-node permissions, watches, transactions with conflict detection, domain introduction and
 * per-domain quotas. It speaks in {@link XsMessage}s; {@link RingConnection} carries them over a
 * guest's shared ring page, and dom0's toolstack talks to it through an in-process connection
 * ({@link #connectDom0}). Every request gets one reply (the result or an ERROR), and watch events
 * go to the connection that set the watch.
 *
 * <p>Errors use the names of xs_wire.h's list: quotas give ENOSPC (nodes, transactions, value
 * size) or E2BIG (watches, over-long paths or payloads), as C xenstored does.
 */
public final class Xenstored {
  /** Per-domain limits (dom0 has none). */
  public static final class Quota {
    public int nodes = 1000;
    public int watches = 128;
    public int transactions = 10;
    public int entrySize = 2048;
  }

  /** Hooks the daemon needs from the toolstack: connecting an introduced domain's ring. */
  public interface Introducer {
    /** Connects domain {@code domid}'s ring at {@code gfn} with event port {@code port}. */
    Connection connect(Xenstored store, int domid, long gfn, int port);
  }

  /** A client: a domain (through its ring) or dom0's toolstack. */
  public static class Connection {
    final int domid;
    final Consumer<XsMessage> out;
    final List<Watch> watches = new ArrayList<>();
    final Map<Integer, Txn> txns = new HashMap<>();
    boolean closed;

    public Connection(int domid, Consumer<XsMessage> out) {
      this.domid = domid;
      this.out = out;
    }

    public int domid() {
      return domid;
    }

    /** Closes the connection's transport (rings override this). */
    void shutdown() {}
  }

  record Watch(String path, String token, boolean relative) {}

  static final class Node {
    byte[] value = new byte[0];
    int[] permDom;
    char[] permKind;
    long gen;
    TreeSet<String> children = new TreeSet<>();

    Node copy() {
      Node n = new Node();
      n.value = value;
      n.permDom = permDom;
      n.permKind = permKind;
      n.gen = gen;
      n.children = new TreeSet<>(children);
      return n;
    }

    int owner() {
      return permDom[0];
    }
  }

  static final class Txn {
    final Map<String, Node> tree;
    final Map<String, Long> base = new HashMap<>();
    final TreeSet<String> changed = new TreeSet<>();
    final List<String> fired = new ArrayList<>();

    Txn(Map<String, Node> tree) {
      this.tree = tree;
    }
  }

  /** An error reply. */
  static final class XsError extends Exception {
    XsError(String name) {
      super(name, null, false, false);
    }
  }

  private final Map<String, Node> tree = new TreeMap<>();
  private final Map<Integer, Connection> domains = new LinkedHashMap<>();
  private final Quota quota;
  private Introducer introducer;
  private long generation;
  private int nextTx = 1;
  private long requests;
  private long errors;
  private long watchEvents;
  private long conflicts;
  private long privilegeRefusals;

  public Xenstored(Quota quota) {
    this.quota = quota;
    Node root = new Node();
    root.permDom = new int[] {0};
    root.permKind = new char[] {'n'};
    tree.put("/", root);
  }

  public Xenstored() {
    this(new Quota());
  }

  public void setIntroducer(Introducer introducer) {
    this.introducer = introducer;
  }

  public Quota quota() {
    return quota;
  }

  public long requests() {
    return requests;
  }

  public long errors() {
    return errors;
  }

  public long watchEvents() {
    return watchEvents;
  }

  public long conflicts() {
    return conflicts;
  }

  /** INTRODUCE and RELEASE refused (EACCES) because the client is not the control domain. */
  public long privilegeRefusals() {
    return privilegeRefusals;
  }

  /**
   * C xenstored's {@code domain_is_unprivileged} negated: only dom0's connections may introduce
   * and release domains; a driver domain is an ordinary client.
   */
  private static boolean privileged(Connection c) {
    return c.domid == 0;
  }

  public int nodeCount() {
    return tree.size();
  }

  /** The toolstack's own connection (privileged, domid 0). */
  public Connection connectDom0(Consumer<XsMessage> out) {
    return new Connection(0, out);
  }

  /**
   * An in-process connection for a service domain's Java services (a backend in a driver
   * domain): an ordinary client with {@code domid}'s permissions and quotas.
   */
  public Connection connectService(int domid, Consumer<XsMessage> out) {
    return new Connection(domid, out);
  }

  /** Registers a domain's connection (done by INTRODUCE). */
  public void attach(Connection c) {
    domains.put(c.domid, c);
  }

  public boolean isIntroduced(int domid) {
    return domains.containsKey(domid);
  }

  public Connection connection(int domid) {
    return domains.get(domid);
  }

  // ---- requests ------------------------------------------------------------------------

  /** Handles one request from {@code c}; the reply (and any watch events) go to its sinks. */
  public void handle(Connection c, XsMessage m) {
    requests++;
    XsMessage reply;
    try {
      byte[] r = dispatch(c, m);
      reply = new XsMessage(m.type(), m.reqId(), m.txId(), r);
    } catch (XsError e) {
      errors++;
      reply = XsMessage.of(XsWire.ERROR, m.reqId(), m.txId(), e.getMessage() + "\0");
    }
    c.out.accept(reply);
    if (m.type() == XsWire.WATCH && reply.type() == XsWire.WATCH) {
      // A new watch fires once at once, after its reply.
      List<String> f = m.fields();
      Watch w = c.watches.get(c.watches.size() - 1);
      sendEvent(c, w, w.relative ? f.get(0) : w.path);
    }
    // Watch events the request caused follow its reply.
    List<Runnable> events = new ArrayList<>(deferred);
    deferred.clear();
    events.forEach(Runnable::run);
  }

  private final List<Runnable> deferred = new ArrayList<>();

  private static byte[] ok() {
    return "OK\0".getBytes(StandardCharsets.ISO_8859_1);
  }

  private byte[] dispatch(Connection c, XsMessage m) throws XsError {
    if (m.payload().length > XsWire.PAYLOAD_MAX) {
      throw new XsError("E2BIG");
    }
    List<String> f = m.fields();
    Txn tx = null;
    if (m.txId() != 0) {
      tx = c.txns.get(m.txId());
      if (tx == null) {
        throw new XsError("ENOENT");
      }
    }
    Map<String, Node> t = tx == null ? tree : tx.tree;
    switch (m.type()) {
      case XsWire.READ: {
        String p = path(c, arg(f, 0));
        Node n = get(t, tx, p);
        if (n == null) {
          throw new XsError("ENOENT");
        }
        if (!canRead(n, c.domid)) {
          throw new XsError("EACCES");
        }
        return n.value;
      }
      case XsWire.WRITE: {
        int nul = indexOfNul(m.payload());
        if (nul < 0) {
          throw new XsError("EINVAL");
        }
        String p = path(c, new String(m.payload(), 0, nul, StandardCharsets.ISO_8859_1));
        byte[] value = java.util.Arrays.copyOfRange(m.payload(), nul + 1, m.payload().length);
        if (value.length > quota.entrySize && c.domid != 0) {
          throw new XsError("ENOSPC");
        }
        Node n = create(c, t, tx, p);
        n.value = value;
        touched(t, tx, p);
        fire(tx, p);
        return ok();
      }
      case XsWire.MKDIR: {
        String p = path(c, arg(f, 0));
        create(c, t, tx, p);
        return ok();
      }
      case XsWire.RM: {
        String p = path(c, arg(f, 0));
        if (p.equals("/")) {
          throw new XsError("EINVAL");
        }
        Node n = get(t, tx, p);
        if (n == null) {
          throw new XsError("ENOENT");
        }
        if (!canWrite(n, c.domid)) {
          throw new XsError("EACCES");
        }
        remove(t, tx, p);
        String parent = parentOf(p);
        Node pn = get(t, tx, parent);
        if (pn != null) {
          record(t, tx, parent);
          pn.children.remove(p.substring(p.lastIndexOf('/') + 1));
          touched(t, tx, parent);
        }
        fire(tx, p);
        return ok();
      }
      case XsWire.DIRECTORY: {
        String p = path(c, arg(f, 0));
        Node n = get(t, tx, p);
        if (n == null) {
          throw new XsError("ENOENT");
        }
        if (!canRead(n, c.domid)) {
          throw new XsError("EACCES");
        }
        StringBuilder sb = new StringBuilder();
        for (String child : n.children) {
          sb.append(child).append('\0');
        }
        if (sb.length() > XsWire.PAYLOAD_MAX) {
          throw new XsError("E2BIG");
        }
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
      }
      case XsWire.GET_PERMS: {
        String p = path(c, arg(f, 0));
        Node n = get(t, tx, p);
        if (n == null) {
          throw new XsError("ENOENT");
        }
        if (!canRead(n, c.domid)) {
          throw new XsError("EACCES");
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n.permDom.length; i++) {
          sb.append(n.permKind[i]).append(n.permDom[i]).append('\0');
        }
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
      }
      case XsWire.SET_PERMS: {
        String p = path(c, arg(f, 0));
        if (f.size() < 2) {
          throw new XsError("EINVAL");
        }
        int[] dom = new int[f.size() - 1];
        char[] kind = new char[f.size() - 1];
        for (int i = 1; i < f.size(); i++) {
          String s = f.get(i);
          if (s.length() < 2 || "rwbn".indexOf(s.charAt(0)) < 0) {
            throw new XsError("EINVAL");
          }
          kind[i - 1] = s.charAt(0);
          dom[i - 1] = parseId(s.substring(1));
        }
        Node n = get(t, tx, p);
        if (n == null) {
          throw new XsError("ENOENT");
        }
        // Only the owner (or dom0) may change permissions (EACCES); the owner of a node
        // cannot give it away (EPERM), in xenstored's order (do_set_perms).
        if (c.domid != 0 && n.owner() != c.domid) {
          throw new XsError("EACCES");
        }
        if (c.domid != 0 && dom[0] != n.owner()) {
          throw new XsError("EPERM");
        }
        record(t, tx, p);
        n.permDom = dom;
        n.permKind = kind;
        touched(t, tx, p);
        fire(tx, p);
        return ok();
      }
      case XsWire.WATCH: {
        if (f.size() < 2) {
          throw new XsError("EINVAL");
        }
        String raw = f.get(0);
        String p = raw.startsWith("@") ? checkSpecial(raw) : path(c, raw);
        String token = f.get(1);
        for (Watch w : c.watches) {
          if (w.path.equals(p) && w.token.equals(token)) {
            throw new XsError("EEXIST");
          }
        }
        if (c.domid != 0 && c.watches.size() >= quota.watches) {
          throw new XsError("E2BIG");
        }
        c.watches.add(new Watch(p, token, !raw.startsWith("/") && !raw.startsWith("@")));
        return ok();
      }
      case XsWire.UNWATCH: {
        if (f.size() < 2) {
          throw new XsError("EINVAL");
        }
        String raw = f.get(0);
        String p = raw.startsWith("@") ? checkSpecial(raw) : path(c, raw);
        for (Iterator<Watch> it = c.watches.iterator(); it.hasNext();) {
          Watch w = it.next();
          if (w.path.equals(p) && w.token.equals(f.get(1))) {
            it.remove();
            return ok();
          }
        }
        throw new XsError("ENOENT");
      }
      case XsWire.RESET_WATCHES:
        c.watches.clear();
        return ok();
      case XsWire.TRANSACTION_START: {
        if (m.txId() != 0) {
          throw new XsError("EBUSY");
        }
        if (c.domid != 0 && c.txns.size() >= quota.transactions) {
          throw new XsError("ENOSPC");
        }
        Map<String, Node> copy = new TreeMap<>();
        for (Map.Entry<String, Node> e : tree.entrySet()) {
          copy.put(e.getKey(), e.getValue().copy());
        }
        int id = nextTx++;
        if (nextTx <= 0) {
          nextTx = 1;
        }
        c.txns.put(id, new Txn(copy));
        return (id + "\0").getBytes(StandardCharsets.ISO_8859_1);
      }
      case XsWire.TRANSACTION_END: {
        if (tx == null) {
          throw new XsError("ENOENT");
        }
        String how = arg(f, 0);
        if (!how.equals("T") && !how.equals("F")) {
          throw new XsError("EINVAL");
        }
        c.txns.remove(m.txId());
        if (how.equals("T")) {
          commit(tx);
        }
        return ok();
      }
      case XsWire.GET_DOMAIN_PATH:
        return ("/local/domain/" + parseId(arg(f, 0)) + "\0")
            .getBytes(StandardCharsets.ISO_8859_1);
      case XsWire.IS_DOMAIN_INTRODUCED:
        return ((domains.containsKey(parseId(arg(f, 0))) ? "T" : "F") + "\0")
            .getBytes(StandardCharsets.ISO_8859_1);
      case XsWire.INTRODUCE: {
        if (!privileged(c)) {
          privilegeRefusals++;
          throw new XsError("EACCES");
        }
        if (f.size() < 3) {
          throw new XsError("EINVAL");
        }
        int domid = parseId(f.get(0));
        long gfn = parseLong(f.get(1));
        int port = parseId(f.get(2));
        if (domid == 0 || introducer == null) {
          throw new XsError("EINVAL");
        }
        if (domains.containsKey(domid)) {
          throw new XsError("EEXIST");
        }
        Connection dc;
        try {
          dc = introducer.connect(this, domid, gfn, port);
        } catch (IllegalArgumentException e) {
          throw new XsError("EINVAL");
        }
        attach(dc);
        fireSpecial("@introduceDomain");
        return ok();
      }
      case XsWire.RELEASE: {
        if (!privileged(c)) {
          privilegeRefusals++;
          throw new XsError("EACCES");
        }
        int domid = parseId(arg(f, 0));
        Connection dc = domains.remove(domid);
        if (dc == null) {
          throw new XsError("ENOENT");
        }
        dc.closed = true;
        dc.shutdown();
        fireSpecial("@releaseDomain");
        return ok();
      }
      default:
        throw new XsError("EINVAL");
    }
  }

  /** Drops a connection that broke the protocol: its watches and transactions go. */
  public void drop(Connection c) {
    c.closed = true;
    c.watches.clear();
    c.txns.clear();
  }

  // ---- tree ----------------------------------------------------------------------------

  private static String arg(List<String> f, int i) throws XsError {
    if (f.size() <= i) {
      throw new XsError("EINVAL");
    }
    return f.get(i);
  }

  private static int indexOfNul(byte[] b) {
    for (int i = 0; i < b.length; i++) {
      if (b[i] == 0) {
        return i;
      }
    }
    return -1;
  }

  private static int parseId(String s) throws XsError {
    long v = parseLong(s);
    if (v > 0x7FEF) {
      throw new XsError("EINVAL");
    }
    return (int) v;
  }

  private static long parseLong(String s) throws XsError {
    if (s.isEmpty() || s.length() > 18) {
      throw new XsError("EINVAL");
    }
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        throw new XsError("EINVAL");
      }
    }
    return Long.parseLong(s);
  }

  private static String checkSpecial(String p) throws XsError {
    if (!p.equals("@introduceDomain") && !p.equals("@releaseDomain")) {
      throw new XsError("EINVAL");
    }
    return p;
  }

  /** Canonical absolute path of {@code raw} for domain {@code c}, or EINVAL / E2BIG. */
  static String path(Connection c, String raw) throws XsError {
    if (raw.isEmpty()) {
      throw new XsError("EINVAL");
    }
    boolean abs = raw.startsWith("/");
    if (raw.length() > (abs ? XsWire.ABS_PATH_MAX : XsWire.REL_PATH_MAX)) {
      throw new XsError("E2BIG");
    }
    for (int i = 0; i < raw.length(); i++) {
      char ch = raw.charAt(i);
      boolean okChar = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
          || (ch >= '0' && ch <= '9') || ch == '-' || ch == '/' || ch == '_' || ch == '@';
      if (!okChar) {
        throw new XsError("EINVAL");
      }
    }
    if (raw.contains("//") || (raw.endsWith("/") && raw.length() > 1)) {
      throw new XsError("EINVAL");
    }
    String p = abs ? raw : "/local/domain/" + c.domid + "/" + raw;
    if (p.length() > XsWire.ABS_PATH_MAX) {
      throw new XsError("E2BIG");
    }
    return p;
  }

  private static String parentOf(String p) {
    int i = p.lastIndexOf('/');
    return i == 0 ? "/" : p.substring(0, i);
  }

  private static boolean has(Node n, int domid, char want) {
    if (domid == 0 || n.owner() == domid) {
      return true;
    }
    char k = n.permKind[0];
    for (int i = 1; i < n.permDom.length; i++) {
      if (n.permDom[i] == domid) {
        k = n.permKind[i];
        break;
      }
    }
    return k == 'b' || k == want;
  }

  static boolean canRead(Node n, int domid) {
    return has(n, domid, 'r');
  }

  static boolean canWrite(Node n, int domid) {
    return has(n, domid, 'w');
  }

  /** Remembers the generation a transaction first saw at {@code p} (-1: absent). */
  private void record(Map<String, Node> t, Txn tx, String p) {
    if (tx != null && !tx.base.containsKey(p)) {
      Node n = t.get(p);
      tx.base.put(p, n == null ? -1L : n.gen);
    }
  }

  private Node get(Map<String, Node> t, Txn tx, String p) {
    record(t, tx, p);
    return t.get(p);
  }

  private void touched(Map<String, Node> t, Txn tx, String p) {
    Node n = t.get(p);
    if (tx != null) {
      tx.changed.add(p);
      if (n != null) {
        n.gen = -2; // changed inside the transaction; its real generation comes at commit
      }
    } else if (n != null) {
      n.gen = ++generation;
    }
  }

  private int owned(Map<String, Node> t, int domid) {
    int n = 0;
    for (Node x : t.values()) {
      if (x.owner() == domid) {
        n++;
      }
    }
    return n;
  }

  /** Finds or creates {@code p} (and missing ancestors) with write permission checked. */
  private Node create(Connection c, Map<String, Node> t, Txn tx, String p) throws XsError {
    Node n = get(t, tx, p);
    if (n != null) {
      if (!canWrite(n, c.domid)) {
        throw new XsError("EACCES");
      }
      record(t, tx, p);
      return n;
    }
    List<String> missing = new ArrayList<>();
    String q = p;
    Node ancestor;
    while (true) {
      missing.add(q);
      q = parentOf(q);
      ancestor = get(t, tx, q);
      if (ancestor != null) {
        break;
      }
    }
    if (!canWrite(ancestor, c.domid)) {
      throw new XsError("EACCES");
    }
    if (c.domid != 0 && owned(t, c.domid) + missing.size() > quota.nodes) {
      throw new XsError("ENOSPC");
    }
    Node parent = ancestor;
    String parentPath = q;
    for (int i = missing.size() - 1; i >= 0; i--) {
      String path = missing.get(i);
      Node child = new Node();
      child.permDom = parent.permDom.clone();
      child.permKind = parent.permKind.clone();
      if (c.domid != 0) {
        child.permDom[0] = c.domid;
      }
      t.put(path, child);
      parent.children.add(path.substring(path.lastIndexOf('/') + 1));
      touched(t, tx, parentPath);
      touched(t, tx, path);
      parent = child;
      parentPath = path;
    }
    return parent;
  }

  private void remove(Map<String, Node> t, Txn tx, String p) {
    Node n = t.get(p);
    if (n == null) {
      return;
    }
    for (String child : new ArrayList<>(n.children)) {
      remove(t, tx, p + "/" + child);
    }
    record(t, tx, p);
    t.remove(p);
    if (tx != null) {
      tx.changed.add(p);
    }
  }

  private void commit(Txn tx) throws XsError {
    for (Map.Entry<String, Long> e : tx.base.entrySet()) {
      Node now = tree.get(e.getKey());
      long g = now == null ? -1 : now.gen;
      if (g != e.getValue()) {
        conflicts++;
        throw new XsError("EAGAIN");
      }
    }
    for (String p : tx.changed) {
      Node n = tx.tree.get(p);
      if (n == null) {
        tree.remove(p);
      } else {
        Node c = n.copy();
        c.gen = ++generation;
        tree.put(p, c);
      }
    }
    for (String p : tx.fired) {
      fire(null, p);
    }
  }

  // ---- watches -------------------------------------------------------------------------

  private void fire(Txn tx, String p) {
    if (tx != null) {
      tx.fired.add(p);
      return;
    }
    for (Connection c : watchers()) {
      if (c.closed) {
        continue;
      }
      Node n = tree.get(p);
      if (n != null && !canRead(n, c.domid)) {
        continue;
      }
      for (Watch w : new ArrayList<>(c.watches)) {
        if (w.path.startsWith("@")) {
          continue;
        }
        boolean under = p.equals(w.path) || w.path.equals("/")
            || p.startsWith(w.path + "/") || w.path.startsWith(p + "/");
        if (under) {
          String reported = w.path.startsWith(p + "/") ? w.path : p;
          sendEvent(c, w, w.relative ? relative(c, reported) : reported);
        }
      }
    }
  }

  private final List<Connection> dom0Watchers = new ArrayList<>();

  /** Lets a dom0 connection receive watch events (domain connections do via INTRODUCE). */
  public void watchFrom(Connection dom0) {
    if (!dom0Watchers.contains(dom0)) {
      dom0Watchers.add(dom0);
    }
  }

  private static String relative(Connection c, String p) {
    String prefix = "/local/domain/" + c.domid + "/";
    return p.startsWith(prefix) ? p.substring(prefix.length()) : p;
  }

  /**
   * The connections that have watches, domains in their order and then dom0's: a write is
   * checked against these alone (most guests watch nothing, and a host has a thousand of them).
   */
  private List<Connection> watchers() {
    List<Connection> all = new ArrayList<>();
    for (Connection c : domains.values()) {
      if (!c.watches.isEmpty()) {
        all.add(c);
      }
    }
    for (Connection c : dom0Watchers) {
      if (!c.watches.isEmpty()) {
        all.add(c);
      }
    }
    return all;
  }

  private void fireSpecial(String name) {
    for (Connection c : watchers()) {
      for (Watch w : new ArrayList<>(c.watches)) {
        if (w.path.equals(name)) {
          sendEvent(c, w, name);
        }
      }
    }
  }

  private void sendEvent(Connection c, Watch w, String path) {
    watchEvents++;
    XsMessage m = XsMessage.of(XsWire.WATCH_EVENT, 0, 0, path + "\0" + w.token + "\0");
    deferred.add(() -> c.out.accept(m));
  }
}
