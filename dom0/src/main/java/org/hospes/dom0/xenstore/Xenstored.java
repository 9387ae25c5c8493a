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
 * per-domain quotas, SET_TARGET (a device model acting with its target's privileges on the
 * target's nodes) and CONTROL (check, log, logfile, memreport, print, quota, quota-soft,
 * help). It speaks in {@link XsMessage}s; {@link RingConnection} carries them over a guest's
 * shared ring page, and dom0's toolstack talks to it through an in-process connection
 * ({@link #connectDom0}). Every request gets one reply (the result or an ERROR), and watch
 * events go to the connection that set the watch.
 *
 * <p>Errors use the names of xs_wire.h's list, chosen and checked in the order C xenstored
 * (tools/xenstore/xenstored_core.c) uses: ENOSYS for a type it has no handler for, EACCES for a
 * privileged type from a guest, ENOENT for an unknown transaction, EINVAL for malformed
 * arguments and paths (over-long ones too); quotas give ENOSPC (nodes, transactions, value size,
 * permissions per node) or E2BIG (watches, over-long replies). A missing node reads as EACCES,
 * not ENOENT, where the caller may not see its parent.
 */
public final class Xenstored {
  /** Per-domain limits (dom0 has none). */
  public static final class Quota {
    public int nodes = 1000;
    public int watches = 128;
    public int transactions = 10;
    public int entrySize = 2048;
    /** Entries in one node's permission list (C xenstored's quota_nb_perms_per_node). */
    public int permissions = 5;
    /**
     * quota_memory_per_domain_soft, CONTROL quota-soft's one setting (bytes): in C xenstored a
     * warning level for a domain's memory in the store. Hospes keeps and reports the setting but
     * does not account xenstore memory per domain, so nothing is warned about.
     */
    public int memorySoft = 2 * 1024 * 1024;
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
  /**
   * SET_TARGET's relation: a domain (a device model's) to the domain whose privileges it has
   * on that domain's nodes. C xenstored keeps it on the connection (conn->target); here a
   * domain's ring and its services' in-process connections all speak for it, so it is kept by
   * domid, and goes with the domain's RELEASE as C's goes with its connection.
   */
  private final Map<Integer, Integer> targets = new HashMap<>();
  /** dom0's and service domains' in-process connections (a few), for CONTROL's quota report. */
  private final List<Connection> inProcess = new ArrayList<>();
  /** Where the daemon's log goes (xenstored's trace file and xprintf): CONTROL log and print. */
  private Consumer<String> log = line -> {};
  /** CONTROL "log on": every request and reply is written to the log. */
  private boolean tracing;
  /** C's tracefile: the file CONTROL logfile names, or null. */
  private String traceFile;
  /** C's tracefd: the trace file while open (log on or logfile), else null. */
  private java.io.Writer traceOut;
  private final Quota quota;
  private Introducer introducer;
  private long generation;
  private int nextTx = 1;
  private long requests;
  private long errors;
  private long watchEvents;
  private long conflicts;
  private long oversizeEvents;
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

  /** Sets where the daemon's log lines go (CONTROL "print", and traffic after "log on"). */
  public void setLog(Consumer<String> log) {
    this.log = log;
  }

  /** Whether CONTROL "log on" is in force. */
  public boolean tracing() {
    return tracing;
  }

  /** The domain whose privileges {@code domid} has on that domain's nodes (SET_TARGET), or -1. */
  public int target(int domid) {
    Integer t = targets.get(domid);
    return t == null ? -1 : t;
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

  /** Watch events not sent because path and token would not fit in one payload. */
  public long oversizeEvents() {
    return oversizeEvents;
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
    Connection c = new Connection(0, out);
    inProcess.add(c);
    return c;
  }

  /**
   * An in-process connection for a service domain's Java services (a backend in a driver
   * domain): an ordinary client with {@code domid}'s permissions and quotas.
   */
  public Connection connectService(int domid, Consumer<XsMessage> out) {
    Connection c = new Connection(domid, out);
    inProcess.add(c);
    return c;
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
    trace("IN ", c, m);
    XsMessage reply;
    try {
      byte[] r = dispatch(c, m);
      reply = new XsMessage(m.type(), m.reqId(), m.txId(), r);
    } catch (XsError e) {
      errors++;
      reply = XsMessage.of(XsWire.ERROR, m.reqId(), m.txId(), e.getMessage() + "\0");
    }
    trace("OUT", c, reply);
    c.out.accept(reply);
    if (m.type() == XsWire.WATCH && reply.type() == XsWire.WATCH) {
      // A new watch fires once at once, after its reply, with the path as the client gave it.
      Watch w = c.watches.get(c.watches.size() - 1);
      sendEvent(c, w, w.relative ? strings(m.payload()).get(0) : w.path);
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

  /**
   * Whether C xenstored has a handler for message type {@code type} (its wire_funcs table):
   * anything else, the reply types WATCH_EVENT and ERROR included, is answered ENOSYS.
   */
  private static boolean known(int type) {
    return type >= XsWire.CONTROL && type <= XsWire.DIRECTORY_PART
        && type != XsWire.WATCH_EVENT && type != XsWire.ERROR && type != 20;
  }

  /** Types only the control domain may send (XS_FLAG_PRIV): anyone else gets EACCES. */
  private static boolean privilegedOnly(int type) {
    return switch (type) {
      case XsWire.CONTROL, XsWire.INTRODUCE, XsWire.RELEASE, XsWire.IS_DOMAIN_INTRODUCED,
          XsWire.RESUME, XsWire.SET_TARGET -> true;
      default -> false;
    };
  }

  /**
   * Checks in C xenstored's order (process_message): an unknown type (ENOSYS), a privileged one
   * from an ordinary client (EACCES), then the transaction id (ENOENT), which WATCH and UNWATCH
   * ignore (XS_FLAG_NOTID); then the request itself. Arguments are NUL-terminated strings: a
   * request that takes one path wants exactly one string ending the payload (onearg), so a path
   * without its NUL, or with more after it, is EINVAL.
   */
  private byte[] dispatch(Connection c, XsMessage m) throws XsError {
    if (m.payload().length > XsWire.PAYLOAD_MAX) {
      throw new XsError("E2BIG");
    }
    int type = m.type();
    if (!known(type)) {
      throw new XsError("ENOSYS");
    }
    if (privilegedOnly(type) && !privileged(c)) {
      privilegeRefusals++;
      throw new XsError("EACCES");
    }
    Txn tx = null;
    if (m.txId() != 0 && type != XsWire.WATCH && type != XsWire.UNWATCH) {
      tx = c.txns.get(m.txId());
      if (tx == null) {
        throw new XsError("ENOENT");
      }
    }
    byte[] payload = m.payload();
    Map<String, Node> t = tx == null ? tree : tx.tree;
    switch (type) {
      case XsWire.READ: {
        return getNode(c, t, tx, path(c, onearg(payload)), 'r').value;
      }
      case XsWire.WRITE: {
        int nul = indexOfNul(payload);
        if (nul < 0) {
          throw new XsError("EINVAL");
        }
        String p = path(c, new String(payload, 0, nul, StandardCharsets.ISO_8859_1));
        byte[] value = java.util.Arrays.copyOfRange(payload, nul + 1, payload.length);
        // Permission first, then the size (do_write: get_node, then write_node's quota).
        Node n = get(t, tx, p);
        if (n != null) {
          if (!canWrite(n, c)) {
            throw new XsError("EACCES");
          }
          checkEntrySize(c, value);
        } else {
          // May it create the node at all (EACCES)? Only then is the size looked at.
          try {
            getNode(c, t, tx, p, 'w');
          } catch (XsError e) {
            if (!e.getMessage().equals("ENOENT")) {
              throw e;
            }
          }
          checkEntrySize(c, value);
          n = create(c, t, tx, p);
        }
        Node before = tx == null ? n.copy() : null;
        record(t, tx, p);
        n.value = value;
        touched(t, tx, p);
        fire(tx, p, before);
        return ok();
      }
      case XsWire.MKDIR: {
        String p = path(c, onearg(payload));
        if (get(t, tx, p) == null) {
          create(c, t, tx, p);
          fire(tx, p, null);
        } else {
          getNode(c, t, tx, p, 'w'); // an existing node is fine, if the caller may write it
        }
        return ok();
      }
      case XsWire.RM: {
        String p = path(c, onearg(payload));
        Node n;
        try {
          n = getNode(c, t, tx, p, 'w');
        } catch (XsError e) {
          // Removing what is not there is fine if its parent is (do_rm).
          if (e.getMessage().equals("ENOENT") && get(t, tx, parentOf(p)) != null) {
            return ok();
          }
          throw e;
        }
        // Only after the permission check: a guest removing "/" is refused for access.
        if (p.equals("/")) {
          throw new XsError("EINVAL");
        }
        Node before = n.copy();
        remove(t, tx, p);
        String parent = parentOf(p);
        Node pn = get(t, tx, parent);
        if (pn != null) {
          record(t, tx, parent);
          pn.children.remove(p.substring(p.lastIndexOf('/') + 1));
          touched(t, tx, parent);
        }
        fire(tx, p, before);
        return ok();
      }
      case XsWire.DIRECTORY: {
        Node n = getNode(c, t, tx, path(c, onearg(payload)), 'r');
        byte[] list = childList(n);
        if (list.length > XsWire.PAYLOAD_MAX) {
          throw new XsError("E2BIG");
        }
        return list;
      }
      case XsWire.DIRECTORY_PART: {
        List<String> f = strings(payload);
        if (nulCount(payload) != 2) {
          throw new XsError("EINVAL");
        }
        Node n = getNode(c, t, tx, path(c, f.get(0)), 'r');
        return directoryPart(n, leadingNumber(f.get(1)));
      }
      case XsWire.GET_PERMS: {
        Node n = getNode(c, t, tx, path(c, onearg(payload)), 'r');
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n.permDom.length; i++) {
          sb.append(n.permKind[i]).append(n.permDom[i]).append('\0');
        }
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
      }
      case XsWire.SET_PERMS:
        return setPerms(c, t, tx, payload);
      case XsWire.WATCH: {
        List<String> f = strings(payload);
        if (nulCount(payload) != 2) {
          throw new XsError("EINVAL");
        }
        String raw = f.get(0);
        String p;
        if (raw.startsWith("@")) {
          // A special watch may name anything; only @introduceDomain and @releaseDomain fire.
          if (raw.length() > XsWire.REL_PATH_MAX) {
            throw new XsError("EINVAL");
          }
          p = raw;
        } else {
          p = path(c, raw);
        }
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
        List<String> f = strings(payload);
        if (nulCount(payload) != 2) {
          throw new XsError("EINVAL");
        }
        // Canonicalized only, not checked: a path no watch can have is simply not found.
        String raw = f.get(0);
        String p = raw.startsWith("/") || raw.startsWith("@") ? raw
            : "/local/domain/" + c.domid + "/" + raw;
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
        // xenstore.txt: "Reset all watches and transactions of the caller".
        c.watches.clear();
        c.txns.clear();
        return ok();
      case XsWire.TRANSACTION_START: {
        if (tx != null) {
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
        return (Integer.toUnsignedString(id) + "\0").getBytes(StandardCharsets.ISO_8859_1);
      }
      case XsWire.TRANSACTION_END: {
        // The argument is checked before the transaction (do_transaction_end).
        String how = onearg(payload);
        if (!how.equals("T") && !how.equals("F")) {
          throw new XsError("EINVAL");
        }
        if (tx == null) {
          throw new XsError("ENOENT");
        }
        c.txns.remove(m.txId());
        if (how.equals("T")) {
          commit(tx);
        }
        return ok();
      }
      case XsWire.GET_DOMAIN_PATH:
        return ("/local/domain/" + parseId(onearg(payload)) + "\0")
            .getBytes(StandardCharsets.ISO_8859_1);
      case XsWire.IS_DOMAIN_INTRODUCED:
        return ((domains.containsKey(parseId(onearg(payload))) ? "T" : "F") + "\0")
            .getBytes(StandardCharsets.ISO_8859_1);
      case XsWire.INTRODUCE: {
        List<String> f = strings(payload);
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
        int domid = parseId(onearg(payload));
        Connection dc = domains.remove(domid);
        if (dc == null) {
          throw new XsError("ENOENT");
        }
        dc.closed = true;
        dc.shutdown();
        // Its connection, and the target relation kept with it, is gone (a new introduction
        // of the same domid starts without one).
        targets.remove(domid);
        fireSpecial("@releaseDomain");
        return ok();
      }
      case XsWire.RESUME: {
        // No shutdown is tracked here, so there is nothing to re-arm: a known domain is OK.
        if (!domains.containsKey(parseId(onearg(payload)))) {
          throw new XsError("ENOENT");
        }
        return ok();
      }
      case XsWire.SET_TARGET:
        return setTarget(payload);
      case XsWire.CONTROL:
        return control(strings(payload));
      default:
        throw new XsError("ENOSYS");
    }
  }

  /**
   * SET_TARGET(domid, target) as do_set_target: two strings (EINVAL), each read with atoi,
   * each a domain xenstored knows (ENOENT); from then on {@code domid} has the target's
   * privileges on the target's nodes (see {@link #has}). dom0 is a domain here as in C
   * xenstored; a driver domain known only by its services' connections counts too.
   */
  private byte[] setTarget(byte[] payload) throws XsError {
    List<String> f = strings(payload);
    if (f.size() < 2) {
      throw new XsError("EINVAL");
    }
    long domid = atoi(f.get(0));
    long tdomid = atoi(f.get(1));
    if (!known(domid) || !known(tdomid)) {
      throw new XsError("ENOENT");
    }
    targets.put((int) domid, (int) tdomid);
    return ok();
  }

  /** Whether {@code domid} names a domain with a connection (find_connected_domain). */
  private boolean known(long domid) {
    if (domid < 0 || domid > 0xFFFF) {
      return false;
    }
    if (domid == 0 || domains.containsKey((int) domid)) {
      return true;
    }
    for (Connection c : inProcess) {
      if (c.domid == domid) {
        return true;
      }
    }
    return false;
  }

  /** CONTROL's commands (xenstored_control.c's cmds[], in its order) and their usage. */
  private static final String[][] CONTROL_COMMANDS = {
      {"check", ""},
      {"log", "on|off"},
      {"logfile", "<file>"},
      {"memreport", "[<file>]"},
      {"print", "<string>"},
      {"quota", "[set <name> <val>|<domid>]"},
      {"quota-soft", "[set <name> <val>]"},
      {"help", ""}};

  /**
   * CONTROL (the type xs_wire.h also calls DEBUG), as do_control: only dom0 (EACCES, checked
   * with the other privileged types before the transaction); a command word (EINVAL without
   * one), one of the commands offered (EINVAL otherwise), then that command's own arguments
   * (EINVAL when wrong). Not offered, as by a xenstored built without it: live-update (it
   * replaces the C daemon's binary).
   */
  private byte[] control(List<String> argv) throws XsError {
    if (argv.isEmpty()) {
      throw new XsError("EINVAL");
    }
    List<String> args = argv.subList(1, argv.size());
    switch (argv.get(0)) {
      case "check":
        if (!args.isEmpty()) {
          throw new XsError("EINVAL");
        }
        checkStore();
        return ok();
      case "log":
        if (args.size() != 1) {
          throw new XsError("EINVAL");
        }
        if (args.get(0).equals("on")) {
          tracing = true;
          reopenLog();
        } else if (args.get(0).equals("off")) {
          tracing = false;
          closeLog();
        } else {
          throw new XsError("EINVAL");
        }
        return ok();
      case "logfile":
        // close_log, the new name, reopen_log: tracing goes on to the file if it opens.
        if (args.size() != 1) {
          throw new XsError("EINVAL");
        }
        closeLog();
        traceFile = args.get(0);
        reopenLog();
        tracing = traceOut != null;
        return ok();
      case "memreport":
        return memreport(args);
      case "quota-soft":
        if (args.isEmpty()) {
          return text(String.format("Quota settings:\n%-17s: %8d %s\n", "memory",
              quota.memorySoft, "Total Xenstore memory per domain (warning level)"));
        }
        if (!args.get(0).equals("set") || args.size() != 3) {
          throw new XsError("EINVAL");
        }
        long soft = atoi(args.get(2));
        if (soft < 1 || soft > Integer.MAX_VALUE || !args.get(1).equals("memory")) {
          throw new XsError("EINVAL");
        }
        quota.memorySoft = (int) soft;
        return ok();
      case "print":
        if (args.size() != 1) {
          throw new XsError("EINVAL");
        }
        log.accept("control: " + args.get(0));
        return ok();
      case "quota":
        return quotaControl(args);
      case "help": {
        if (!args.isEmpty()) {
          throw new XsError("EINVAL");
        }
        // "name<TAB>usage<NL>" per command; C's do_control_help sends it without its NUL.
        StringBuilder sb = new StringBuilder();
        for (String[] cmd : CONTROL_COMMANDS) {
          sb.append(cmd[0]).append('\t').append(cmd[1]).append('\n');
        }
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
      }
      default:
        throw new XsError("EINVAL");
    }
  }

  /**
   * check_store: walks the tree from the root as C's does, and repairs what does not hold
   * (a child named by its parent but missing is dropped from the list; a node its parent does
   * not name, and all below it, are removed), logging each repair. The tree is kept whole by
   * every request, so normally there is nothing to do.
   */
  private void checkStore() {
    java.util.Set<String> reached = new java.util.HashSet<>();
    java.util.ArrayDeque<String> unvisited = new java.util.ArrayDeque<>(List.of("/"));
    while (!unvisited.isEmpty()) {
      String p = unvisited.pop();
      reached.add(p);
      Node n = tree.get(p);
      for (Iterator<String> it = n.children.iterator(); it.hasNext(); ) {
        String child = (p.equals("/") ? "" : p) + "/" + it.next();
        if (tree.containsKey(child)) {
          unvisited.push(child);
        } else {
          log.accept("check_store: " + p + " names missing child " + child + ", dropped");
          it.remove();
        }
      }
    }
    for (Iterator<String> it = tree.keySet().iterator(); it.hasNext(); ) {
      String p = it.next();
      if (!reached.contains(p)) {
        log.accept("check_store: orphan " + p + " removed");
        it.remove();
      }
    }
  }

  /** C's reopen_log: with a trace file named, (re)opens it for appending and marks the start. */
  private void reopenLog() {
    if (traceFile == null) {
      return;
    }
    closeLog();
    try {
      traceOut = java.nio.file.Files.newBufferedWriter(java.nio.file.Path.of(traceFile),
          StandardCharsets.ISO_8859_1, java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND, java.nio.file.StandardOpenOption.WRITE);
      traceOut.write("\n***\n");
      traceOut.flush();
    } catch (java.io.IOException | RuntimeException e) {
      log.accept("Could not open tracefile " + traceFile + ": " + e.getMessage());
      traceOut = null;
    }
  }

  /** C's close_log. */
  private void closeLog() {
    if (traceOut != null) {
      try {
        traceOut.close();
      } catch (java.io.IOException e) {
        // The file is gone either way, as after C's close().
      }
      traceOut = null;
    }
  }

  /**
   * CONTROL "memreport [FILE]": C's talloc_report_full of the daemon's memory, here a report of
   * what the store holds (nodes and their bytes, per owner; connections, watches,
   * transactions), appended to FILE, or without one to the trace file. More than one argument
   * is EINVAL; no trace file named, or a file that cannot be opened for appending, EBADF.
   */
  private byte[] memreport(List<String> args) throws XsError {
    if (args.size() > 1) {
      throw new XsError("EINVAL");
    }
    String file = args.isEmpty() ? traceFile : args.get(0);
    if (file == null) {
      throw new XsError("EBADF");
    }
    StringBuilder sb = new StringBuilder("xenstored memory report\n");
    long bytes = 0;
    Map<Integer, int[]> byOwner = new TreeMap<>();
    for (Map.Entry<String, Node> e : tree.entrySet()) {
      Node n = e.getValue();
      int size = e.getKey().length() + 1 + n.value.length + 4 * n.permDom.length;
      bytes += size;
      int[] acc = byOwner.computeIfAbsent(n.owner(), k -> new int[2]);
      acc[0]++;
      acc[1] += size;
    }
    sb.append(String.format("nodes: %d, %d bytes%n", tree.size(), bytes));
    for (Map.Entry<Integer, int[]> e : byOwner.entrySet()) {
      sb.append(String.format("  domain %d: %d nodes, %d bytes%n", e.getKey(), e.getValue()[0],
          e.getValue()[1]));
    }
    List<Connection> conns = new ArrayList<>(inProcess);
    conns.addAll(domains.values());
    for (Connection c : conns) {
      sb.append(String.format("connection dom%d: %d watches, %d transactions%n", c.domid,
          c.watches.size(), c.txns.size()));
    }
    if (traceOut != null && args.isEmpty()) {
      try {
        traceOut.write(sb.toString());
        traceOut.flush();
      } catch (java.io.IOException e) {
        throw new XsError("EBADF");
      }
      return ok();
    }
    try {
      java.nio.file.Files.writeString(java.nio.file.Path.of(file), sb,
          StandardCharsets.ISO_8859_1, java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND, java.nio.file.StandardOpenOption.WRITE);
    } catch (java.io.IOException | RuntimeException e) {
      throw new XsError("EBADF");
    }
    return ok();
  }

  /** The quotas CONTROL "quota" shows and sets: xenstored's names, and what each limits. */
  private String[][] quotaNames() {
    return new String[][] {
        {"nodes", Integer.toString(quota.nodes), "Nodes per domain"},
        {"watches", Integer.toString(quota.watches), "Watches per domain"},
        {"transactions", Integer.toString(quota.transactions), "Transactions per domain"},
        {"node-size", Integer.toString(quota.entrySize), "Max. size of a node"},
        {"permissions", Integer.toString(quota.permissions),
            "Max. number of permissions per node"}};
  }

  /**
   * CONTROL "quota": no argument lists the settings; "set NAME VALUE" changes one (VALUE by
   * atoi, at least 1; an unknown name is EINVAL); "DOMID" shows what a known domain uses
   * (ENOENT for one xenstored does not know); anything else is EINVAL.
   */
  private byte[] quotaControl(List<String> args) throws XsError {
    if (args.isEmpty()) {
      StringBuilder sb = new StringBuilder("Quota settings:\n");
      for (String[] q : quotaNames()) {
        sb.append(String.format("%-17s: %8s %s\n", q[0], q[1], q[2]));
      }
      return text(sb);
    }
    if (args.get(0).equals("set")) {
      if (args.size() != 3) {
        throw new XsError("EINVAL");
      }
      long val = atoi(args.get(2));
      if (val < 1 || val > Integer.MAX_VALUE) {
        throw new XsError("EINVAL");
      }
      switch (args.get(1)) {
        case "nodes" -> quota.nodes = (int) val;
        case "watches" -> quota.watches = (int) val;
        case "transactions" -> quota.transactions = (int) val;
        case "node-size" -> quota.entrySize = (int) val;
        case "permissions" -> quota.permissions = (int) val;
        default -> throw new XsError("EINVAL");
      }
      return ok();
    }
    if (args.size() != 1) {
      throw new XsError("EINVAL");
    }
    long domid = atoi(args.get(0));
    if (!known(domid)) {
      throw new XsError("ENOENT");
    }
    int watches = 0;
    int txns = 0;
    List<Connection> conns = new ArrayList<>(inProcess);
    Connection ring = domains.get((int) domid);
    if (ring != null) {
      conns.add(ring);
    }
    for (Connection c : conns) {
      if (c.domid == domid) {
        watches += c.watches.size();
        txns += c.txns.size();
      }
    }
    StringBuilder sb = new StringBuilder("Domain " + domid + ":\n");
    sb.append(String.format("%-16s: %8d\n", "nodes", owned(tree, (int) domid)));
    sb.append(String.format("%-16s: %8d\n", "watches", watches));
    sb.append(String.format("%-16s: %8d\n", "transactions", txns));
    return text(sb);
  }

  /** A text reply: the string and its NUL (send_reply with strlen + 1). */
  private static byte[] text(CharSequence s) {
    return (s + "\0").getBytes(StandardCharsets.ISO_8859_1);
  }

  /**
   * C's atoi on the string as unsigned int: leading white space, a sign, the leading decimal
   * digits (none: 0); -1 stands for a value no domid can have (negative or too large).
   */
  static long atoi(String s) {
    int i = 0;
    while (i < s.length() && " \t\n\u000B\f\r".indexOf(s.charAt(i)) >= 0) {
      i++;
    }
    boolean negative = false;
    if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
      negative = s.charAt(i) == '-';
      i++;
    }
    long v = 0;
    for (; i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9'; i++) {
      v = Math.min(v * 10 + (s.charAt(i) - '0'), 1L << 40);
    }
    return negative && v != 0 || v > 0xFFFF_FFFFL ? -1 : v;
  }

  /** The traffic trace after CONTROL "log on": direction, client, type and payload. */
  private void trace(String dir, Connection c, XsMessage m) {
    if (!tracing) {
      return;
    }
    String payload = new String(m.payload(), StandardCharsets.ISO_8859_1).replace('\0', ' ');
    String line = dir + " dom" + c.domid + " " + XsWire.name(m.type()) + " (" + payload + ")";
    log.accept(line);
    if (traceOut != null) {
      try {
        traceOut.write(line + "\n");
        traceOut.flush();
      } catch (java.io.IOException e) {
        closeLog(); // as a failed write to C's tracefd: tracing to the file ends
      }
    }
  }

  /**
   * SET_PERMS in do_set_perms's order: at least a path and one permission (EINVAL), no more
   * than five permissions for an ordinary client (ENOSPC), each one well formed (EINVAL); the
   * special paths are dom0's (EACCES); the node must exist and belong to the caller (ENOENT or
   * EACCES as for any access), and its owner cannot be given away (EPERM).
   */
  private byte[] setPerms(Connection c, Map<String, Node> t, Txn tx, byte[] payload)
      throws XsError {
    List<String> f = strings(payload);
    if (f.size() < 2) {
      throw new XsError("EINVAL");
    }
    int n = f.size() - 1;
    if (c.domid != 0 && n > quota.permissions) {
      throw new XsError("ENOSPC");
    }
    int[] dom = new int[n];
    char[] kind = new char[n];
    for (int i = 0; i < n; i++) {
      String s = f.get(i + 1);
      if (s.length() < 2 || "rwbn".indexOf(s.charAt(0)) < 0) {
        throw new XsError("EINVAL");
      }
      kind[i] = s.charAt(0);
      dom[i] = parseId(s.substring(1));
    }
    String name = f.get(0);
    if (name.startsWith("@")) {
      if (!name.equals("@introduceDomain") && !name.equals("@releaseDomain")) {
        throw new XsError("EINVAL");
      }
      if (!privileged(c)) {
        throw new XsError("EACCES");
      }
      return ok(); // who may watch them is not modelled: dom0's change is accepted
    }
    String p = path(c, name);
    Node node = getNode(c, t, tx, p, 'o');
    if (c.domid != 0 && dom[0] != node.owner()) {
      throw new XsError("EPERM");
    }
    Node before = node.copy();
    record(t, tx, p);
    node.permDom = dom;
    node.permKind = kind;
    touched(t, tx, p);
    // The old permissions count too: a watcher who just lost access still hears of it.
    fire(tx, p, before);
    return ok();
  }

  private void checkEntrySize(Connection c, byte[] value) throws XsError {
    if (value.length > quota.entrySize && c.domid != 0) {
      throw new XsError("ENOSPC");
    }
  }

  private static byte[] childList(Node n) {
    StringBuilder sb = new StringBuilder();
    for (String child : n.children) {
      sb.append(child).append('\0');
    }
    return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  /**
   * DIRECTORY_PART's answer (send_directory_part): the node's generation and a NUL, then the
   * children list from byte {@code off} as far as whole names fit in a payload, with an extra
   * NUL (an empty name) once the list's end is in it.
   */
  private static byte[] directoryPart(Node n, long off) {
    byte[] gen = (Long.toUnsignedString(Math.max(n.gen, 0)) + "\0")
        .getBytes(StandardCharsets.ISO_8859_1);
    byte[] list = childList(n);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.write(gen, 0, gen.length);
    if (off >= list.length) {
      out.write(0);
      return out.toByteArray();
    }
    int start = (int) off;
    int max = XsWire.PAYLOAD_MAX - gen.length - 1;
    int len = 0;
    while (true) {
      int name = 0;
      while (list[start + len + name] != 0) {
        name++;
      }
      if (len + name >= max) {
        break;
      }
      len += name + 1;
      if (start + len == list.length) {
        break;
      }
    }
    out.write(list, start, len);
    if (start + len == list.length) {
      out.write(0);
    }
    return out.toByteArray();
  }

  /** What atoi makes of {@code s}: its leading decimal digits, 0 if none. */
  private static long leadingNumber(String s) {
    long v = 0;
    for (int i = 0; i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9'; i++) {
      v = Math.min(v * 10 + (s.charAt(i) - '0'), Integer.MAX_VALUE);
    }
    return v;
  }

  /** Drops a connection that broke the protocol: its watches and transactions go. */
  public void drop(Connection c) {
    c.closed = true;
    c.watches.clear();
    c.txns.clear();
  }

  // ---- tree ----------------------------------------------------------------------------

  /** The NUL-terminated strings of a payload, in order; bytes after the last NUL are not one. */
  static List<String> strings(byte[] b) {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < b.length; i++) {
      if (b[i] == 0) {
        out.add(new String(b, start, i - start, StandardCharsets.ISO_8859_1));
        start = i + 1;
      }
    }
    return out;
  }

  private static int nulCount(byte[] b) {
    int n = 0;
    for (byte x : b) {
      if (x == 0) {
        n++;
      }
    }
    return n;
  }

  /** xenstored's onearg: the payload is one string and its NUL, nothing else (else EINVAL). */
  private static String onearg(byte[] b) throws XsError {
    int nul = indexOfNul(b);
    if (b.length == 0 || nul != b.length - 1) {
      throw new XsError("EINVAL");
    }
    return new String(b, 0, nul, StandardCharsets.ISO_8859_1);
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

  /**
   * Canonical absolute path of {@code raw} for domain {@code c}, or EINVAL: xenstored's
   * is_valid_nodename refuses bad characters, doubled or trailing slashes and paths longer than
   * xenstore.txt allows (3072 bytes, 2048 for a relative one) alike, with EINVAL.
   */
  static String path(Connection c, String raw) throws XsError {
    if (raw.isEmpty()) {
      throw new XsError("EINVAL");
    }
    boolean abs = raw.startsWith("/");
    if (raw.length() > (abs ? XsWire.ABS_PATH_MAX : XsWire.REL_PATH_MAX)) {
      throw new XsError("EINVAL");
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
      throw new XsError("EINVAL");
    }
    return p;
  }

  private static String parentOf(String p) {
    int i = p.lastIndexOf('/');
    return i == 0 ? "/" : p.substring(0, i);
  }

  /**
   * xenstored's perm_for_conn: {@code want} is 'r', 'w' or 'o' (owner: only the owner and dom0).
   * A domain with a target (SET_TARGET) acts as that domain too: a node the target owns is
   * wholly its, and an entry naming the target counts as one naming it (the first entry naming
   * either decides).
   */
  private boolean has(Node n, Connection c, char want) {
    int domid = c.domid;
    Integer target = targets.isEmpty() ? null : targets.get(domid);
    if (domid == 0 || n.owner() == domid || target != null && n.owner() == target) {
      return true;
    }
    if (want == 'o') {
      return false;
    }
    char k = n.permKind[0];
    for (int i = 1; i < n.permDom.length; i++) {
      if (n.permDom[i] == domid || target != null && n.permDom[i] == target) {
        k = n.permKind[i];
        break;
      }
    }
    return k == 'b' || k == want;
  }

  private boolean canRead(Node n, Connection c) {
    return has(n, c, 'r');
  }

  private boolean canWrite(Node n, Connection c) {
    return has(n, c, 'w');
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

  /**
   * xenstored's get_node: the node at {@code p} if the caller has {@code perm} ('r', 'w', 'o')
   * on it, else EACCES. A missing node is ENOENT only if the caller has that permission on its
   * nearest existing ancestor; otherwise EACCES too (errno_from_parents), so that nobody learns
   * which nodes exist in a directory they may not see.
   */
  private Node getNode(Connection c, Map<String, Node> t, Txn tx, String p, char perm)
      throws XsError {
    Node n = get(t, tx, p);
    if (n != null) {
      if (!has(n, c, perm)) {
        throw new XsError("EACCES");
      }
      return n;
    }
    Node ancestor = null;
    for (String q = p; ancestor == null && !q.equals("/"); ) {
      q = parentOf(q);
      ancestor = get(t, tx, q);
    }
    // As xenstored: any of the wanted rights there will do (an owner may write).
    boolean allowed = ancestor != null && (has(ancestor, c, perm)
        || perm == 'o' && has(ancestor, c, 'w'));
    throw new XsError(allowed ? "ENOENT" : "EACCES");
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
      if (!canWrite(n, c)) {
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
    if (!canWrite(ancestor, c)) {
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
    // What the fired nodes were before the commit: a watcher that could read one that the
    // transaction removed still hears of it, one that could not does not.
    Map<String, Node> before = new HashMap<>();
    for (String p : tx.fired) {
      before.putIfAbsent(p, tree.get(p));
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
      fire(null, p, before.get(p));
    }
  }

  // ---- watches -------------------------------------------------------------------------

  /**
   * Raises watch events for a change at {@code p} ({@code before}: the node as it was, or null
   * if it is new), or queues the path in the transaction until it commits.
   */
  private void fire(Txn tx, String p, Node before) {
    if (tx != null) {
      tx.fired.add(p);
      return;
    }
    for (Connection c : watchers()) {
      if (c.closed || !watchPermitted(c, p, before)) {
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

  /**
   * xenstored's watch_permitted: a watcher hears of a change only if it can read the node (as
   * it is now, or as it was: a removed node's own permissions decide), or its parent. Telling
   * everyone about a node that no longer exists would name other domains' private nodes to
   * anybody watching "/".
   */
  private boolean watchPermitted(Connection c, String p, Node before) {
    if (c.domid == 0) {
      return true;
    }
    Node now = tree.get(p);
    if (now != null && canRead(now, c) || before != null && canRead(before, c)) {
      return true;
    }
    Node parent = null;
    for (String q = p; parent == null && !q.equals("/"); ) {
      q = parentOf(q);
      parent = tree.get(q);
    }
    return parent != null && canRead(parent, c);
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
    if (path.length() + w.token.length() + 2 > XsWire.PAYLOAD_MAX) {
      // A message over the limit would break the client's side of the protocol: xenstored
      // drops such events (a long token on a watch near the top of a deep tree).
      oversizeEvents++;
      return;
    }
    watchEvents++;
    XsMessage m = XsMessage.of(XsWire.WATCH_EVENT, 0, 0, path + "\0" + w.token + "\0");
    deferred.add(() -> c.out.accept(m));
  }
}
