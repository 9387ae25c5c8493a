package org.hospes.dom0.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.hospes.abi.HvmOp;
import org.hospes.hv.testing.TestProperties;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;

/**
 * A hostile guest on its xenstore ring: tens of thousands of requests, valid and malformed, in
 * batches, each checked against what C xenstored answers (an independent model of
 * xenstored_core.c's checks and their order): unknown types (ENOSYS), privileged types
 * (EACCES), unknown transaction ids (ENOENT, ignored by WATCH and UNWATCH), arguments without
 * their NUL or with extra strings, paths escaping the domain's home or with bad characters,
 * over-long paths (EINVAL), reads, writes, removals and permission changes of another domain's
 * nodes (EACCES, never ENOENT where the parent is not readable), its own nodes' permissions
 * (EPERM, ENOSPC past five entries), watch floods to the quota (E2BIG), transactions to their
 * quota (ENOSPC, EBUSY), and unstructured garbage (any well-formed reply). Messages are split
 * across ring wraps and across notifications, and the indices start near 2^32.
 *
 * <p>Now and then the guest breaks the ring protocol (a header over XENSTORE_PAYLOAD_MAX,
 * request indices moved backwards or more than a ring ahead, response indices moved, random
 * bytes): its connection must be dropped with the error field set, and serve nothing more,
 * until the toolstack reintroduces it. Now and then it stops reading replies while it keeps
 * sending and another domain keeps raising its watch events: dom0 must hold no more than its
 * bounds for it, and answer every request once it reads again.
 *
 * <p>Throughout, a bystander domain uses its own ring and private nodes: its answers must be
 * right, the hostile guest must never see a watch event naming one of its private nodes, and at
 * the end its nodes and the hostile guest's own are exactly what the model says. dom0 must never
 * fail. The seed and the request are printed on failure.
 */
class XenstoreRingFuzzTest {
  private static final long SEED = TestProperties.longValue("hospes.xsfuzz.seed", 0x5EED_0C5L);
  private static final int REQUESTS = TestProperties.count("hospes.xsfuzz.requests", 40_000);
  private static final List<String> ERRNOS = List.of("EINVAL", "EACCES", "EEXIST", "EISDIR",
      "ENOENT", "ENOMEM", "ENOSPC", "EIO", "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN",
      "EISCONN", "E2BIG", "EPERM");
  private static final int KEYS = 16;
  private static final int WATCH_QUOTA = new Xenstored.Quota().watches;
  private static final int TX_QUOTA = new Xenstored.Quota().transactions;

  private Random rnd;
  private Hypervisor hv;
  private XenstoreService xs;
  private Domain hostile;
  private Domain bystander;
  private GuestXsRing h;
  private GuestXsRing b;
  private int hid;
  private int bid;
  private String home;
  private String bhome;
  private int reqId;
  /** How often each answer came (OK or the errno), to show what the run covered. */
  private final Map<String, Integer> outcomes = new TreeMap<>();
  /** The last requests answered, newest last, for the failure message. */
  private final java.util.ArrayDeque<String> trail = new java.util.ArrayDeque<>();
  private long eventsSeen;
  private long droppedEvents;

  // The model of the hostile guest's state.
  private final Map<Integer, byte[]> data = new TreeMap<>();
  private final Map<Integer, String> dataPerms = new HashMap<>();
  private final Set<String> watches = new LinkedHashSet<>();
  private final Set<Integer> txns = new HashSet<>();
  /** Initial watch events still to come: the only events that may name a private path. */
  private final List<String> initialEvents = new ArrayList<>();

  // The model of the bystander's nodes.
  private final Map<Integer, String> secrets = new TreeMap<>();
  private String shared = "pub";

  /** One request and what xenstored must answer. */
  private record Req(String what, int type, int txId, byte[] payload, Expect expect) {}

  /**
   * OK: a reply of the request's type (with exactly {@code payload} if given); ERR: an ERROR
   * with {@code errno}; ONE_OF: either, as listed ("OK" or errno names); ANY: any well-formed
   * answer.
   */
  private record Expect(Kind kind, byte[] payload, List<String> outcomes) {}

  private enum Kind { OK, ERR, ONE_OF, ANY }

  private static Expect ok() {
    return new Expect(Kind.OK, null, null);
  }

  private static Expect ok(String exact) {
    return new Expect(Kind.OK, bytes(exact), null);
  }

  private static Expect ok(byte[] exact) {
    return new Expect(Kind.OK, exact, null);
  }

  private static Expect err(String errno) {
    return new Expect(Kind.ERR, null, List.of(errno));
  }

  private static Expect oneOf(String... outcomes) {
    return new Expect(Kind.ONE_OF, null, List.of(outcomes));
  }

  private static Expect any() {
    return new Expect(Kind.ANY, null, null);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void aHostileGuestOnItsRingGetsXenstoredsAnswersAndNeverReachesAnotherDomain() {
    long t0 = System.nanoTime();
    try {
      run();
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError("XenstoreRingFuzzTest seed 0x" + Long.toHexString(SEED)
          + ", request " + reqId + ": " + e.getMessage() + "\nthe requests before it:\n"
          + String.join("\n", trail), e);
    }
    System.out.printf("xenstore fuzz: %d requests in %.1f s, answers %s, %d watch events,"
        + " %d too long to send, %d dropped by the queue limit%n", reqId,
        (System.nanoTime() - t0) / 1e9, outcomes, eventsSeen, xs.store().oversizeEvents(),
        droppedEvents);
  }

  private void run() {
    rnd = new Random(SEED);
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    xs = new XenstoreService(hv.control(), hv.costModel());
    bystander = hv.createHvmDomain("bystander", DomainMode.PVH, 4);
    hostile = hv.createHvmDomain("hostile", DomainMode.PVH, 4);
    hid = hostile.domid();
    bid = bystander.domid();
    home = "/local/domain/" + hid;
    bhome = "/local/domain/" + bid;
    b = introduce(bystander);
    h = introduce(hostile);
    xs.write(bhome + "/name", "bystander");
    xs.setPerms(bhome, "n" + bid);
    xs.write(bhome + "/private", "");
    xs.setPerms(bhome + "/private", "n" + bid);
    xs.write(bhome + "/shared", shared);
    xs.setPerms(bhome + "/shared", "r" + bid);
    xs.write(home + "/data", "");
    xs.setPerms(home, "n" + hid);
    xs.setPerms(home + "/data", "n" + hid);
    // The bystander watches its home, as a frontend watches its device directories.
    bystanderCall(XsWire.WATCH, bhome + "\0b\0", "OK\0");

    int batches = 0;
    int drops = 0;
    int deaf = 0;
    while (reqId < REQUESTS) {
      batches++;
      if (batches % 150 == 0) {
        deafPhase();
        deaf++;
      }
      batch();
      bystanderStep();
      if (batches % 100 == 0) {
        sweepGarbage();
      }
      if (rnd.nextInt(60) == 0) {
        breakTheRing();
        drops++;
      }
      assertThat(hv.control().handlerFailures()).as(hv.control().lastHandlerFailure()).isZero();
    }
    assertThat(drops).isGreaterThan(5);
    assertThat(deaf).isGreaterThan(2);
    // Every kind of answer the model predicts came up.
    assertThat(outcomes.keySet()).contains("OK", "ENOSYS", "EACCES", "ENOENT", "EINVAL",
        "EEXIST", "E2BIG", "ENOSPC", "EPERM", "EBUSY");
    assertThat(eventsSeen).isPositive();
    assertThat(xs.store().oversizeEvents()).isPositive();
    checkFinalState();
  }

  // ---- set-up --------------------------------------------------------------------------

  private long ringGfn(Domain d) {
    return d.p2m().size() - 2;
  }

  private int port(Domain d) {
    return (int) d.hvmParam(HvmOp.PARAM_STORE_EVTCHN);
  }

  /** Introduces {@code d} with a fresh ring whose indices start just below 2^32. */
  private GuestXsRing introduce(Domain d) {
    DomainControl ctl = hv.control();
    int port = port(d) != 0 ? port(d) : ctl.allocUnboundFor(d.domid(), 0);
    ctl.setHvmParam(d.domid(), HvmOp.PARAM_STORE_EVTCHN, port);
    GuestXsRing r = new GuestXsRing(hv, d, ringGfn(d) << 12, port);
    r.reset(-1 - rnd.nextInt(3000));
    xs.introduce(d.domid(), ringGfn(d), port);
    return r;
  }

  /** The toolstack releases the hostile guest and introduces it again: its session is new. */
  private void reintroduceHostile() {
    droppedEvents += xs.connection(hid).droppedEvents();
    xs.release(hid);
    h = introduce(hostile);
    watches.clear();
    txns.clear();
    initialEvents.clear();
  }

  // ---- the hostile guest's batches -----------------------------------------------------

  private void batch() {
    // Now and then a watch flood, past the quota.
    boolean flood = rnd.nextInt(120) == 0;
    int n = flood ? WATCH_QUOTA + 10 - watches.size() : 1 + rnd.nextInt(8);
    List<Req> sent = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Req r = flood ? floodWatch() : request();
      sent.add(r);
      byte[] msg = GuestXsRing.message(r.type, ++reqId, r.txId, r.payload, r.payload.length);
      int split = rnd.nextInt(8) == 0 ? 1 + rnd.nextInt(msg.length) : 0;
      assertThat(h.put(msg, split)).as("dom0 stopped reading %s", r.what).isTrue();
    }
    h.kick();
    collect(sent, reqId - n + 1);
  }

  /** Takes the replies to {@code sent} (numbered from {@code firstId}) and checks each. */
  private void collect(List<Req> sent, int firstId) {
    for (int guard = 0; h.replies.size() < sent.size(); guard++) {
      if (guard > 200_000) {
        throw new AssertionError("no reply to " + sent.get(h.replies.size()).what
            + " (dom0 hangs)");
      }
      if (h.drain() == 0) {
        h.kick();
      }
    }
    for (int i = 0; i < sent.size(); i++) {
      check(sent.get(i), firstId + i, h.replies.poll());
    }
    assertThat(h.replies).as("replies nobody asked for").isEmpty();
    checkEvents();
  }

  private void check(Req r, int id, GuestXsRing.Msg m) {
    String where = r.what + " (type " + r.type + ", tx " + Integer.toUnsignedString(r.txId)
        + ")";
    if (m.reqId() != id || m.txId() != r.txId) {
      throw new AssertionError(where + ": reply " + m.reqId() + "/" + m.txId()
          + " answers another request");
    }
    boolean error = m.type() == XsWire.ERROR;
    String errno = error ? m.text() : null;
    if (error && (!errno.endsWith("\0") || !ERRNOS.contains(errno.substring(0,
        errno.length() - 1)))) {
      throw new AssertionError(where + ": error reply " + errno);
    }
    if (!error && m.type() != r.type) {
      throw new AssertionError(where + ": reply of type " + m.type());
    }
    String got = error ? errno.substring(0, errno.length() - 1) : "OK";
    outcomes.merge(got, 1, Integer::sum);
    if (trail.size() == 20) {
      trail.poll();
    }
    trail.add("  " + id + " " + where + ": " + got + " '" + printable(m.text()) + "'");
    Expect e = r.expect;
    boolean right = switch (e.kind) {
      case OK -> !error && (e.payload == null || Arrays.equals(e.payload, m.payload()));
      case ERR -> got.equals(e.outcomes.get(0));
      case ONE_OF -> e.outcomes.contains(got);
      case ANY -> true;
    };
    if (!right) {
      throw new AssertionError(where + ": got " + (error ? got : "OK '" + printable(m.text())
          + "'") + ", expected " + (e.kind == Kind.OK ? "OK" + (e.payload == null ? ""
          : " '" + printable(new String(e.payload, StandardCharsets.ISO_8859_1)) + "'")
          : e.outcomes));
    }
    learn(r, got, m);
  }

  private static String printable(String s) {
    String t = s.length() > 80 ? s.substring(0, 80) + "..." : s;
    return t.replace('\0', '|');
  }

  /** Updates the model from what a request with an open-ended answer did. */
  private void learn(Req r, String got, GuestXsRing.Msg m) {
    if (!got.equals("OK")) {
      return;
    }
    if (r.type == XsWire.RESET_WATCHES) {
      // Transactions this batch started before the reset were learned only now: gone too.
      txns.clear();
    }
    if (r.type == XsWire.TRANSACTION_START) {
      String id = m.text();
      assertThat(id).matches("[0-9]+\0");
      int tx = Integer.parseUnsignedInt(id.substring(0, id.length() - 1));
      assertThat(txns).as("transaction id %s reused", tx).doesNotContain(tx);
      txns.add(tx);
    }
  }

  /** Watch events to the hostile guest: never one about a node it may not read. */
  private void checkEvents() {
    while (!h.events.isEmpty()) {
      GuestXsRing.Msg e = h.events.poll();
      eventsSeen++;
      List<String> f = Xenstored.strings(e.payload());
      assertThat(f).as("watch event '%s'", printable(e.text())).hasSize(2);
      String path = f.get(0);
      if (initialEvents.remove(path + "\0" + f.get(1))) {
        continue;
      }
      if (path.startsWith(bhome + "/private") || path.startsWith(bhome + "/name")
          || path.equals(bhome)) {
        throw new AssertionError("the hostile guest heard of " + path
            + ", a node of the bystander's it cannot read");
      }
    }
  }

  // ---- requests ------------------------------------------------------------------------

  private int key() {
    return rnd.nextInt(KEYS);
  }

  private byte[] randomValue(int max) {
    byte[] v = new byte[rnd.nextInt(max + 1)];
    for (int i = 0; i < v.length; i++) {
      v[i] = (byte) (rnd.nextInt(10) == 0 ? rnd.nextInt(256) : 'a' + rnd.nextInt(26));
    }
    return v;
  }

  private static byte[] concat(String a, byte[] b) {
    byte[] x = bytes(a);
    byte[] out = Arrays.copyOf(x, x.length + b.length);
    System.arraycopy(b, 0, out, x.length, b.length);
    return out;
  }

  /** A transaction id no open transaction has (never 0). */
  private int badTx() {
    while (true) {
      int t = rnd.nextBoolean() ? 1 + rnd.nextInt(64) : rnd.nextInt();
      if (t != 0 && !txns.contains(t)) {
        return t;
      }
    }
  }

  private Req request() {
    int k = rnd.nextInt(100);
    if (k < 22) {
      return ownData();
    } else if (k < 28) {
      return unknownType();
    } else if (k < 33) {
      return privilegedType();
    } else if (k < 38) {
      return badTransaction();
    } else if (k < 48) {
      return malformed();
    } else if (k < 55) {
      return escaping();
    } else if (k < 59) {
      return overlong();
    } else if (k < 71) {
      return crossDomain();
    } else if (k < 77) {
      return ownPerms();
    } else if (k < 87) {
      return watch();
    } else if (k < 93) {
      return transaction();
    }
    return garbage();
  }

  /** Reads and writes of its own data/<k>, against the model. */
  private Req ownData() {
    int key = key();
    String p = rnd.nextBoolean() ? "data/" + key : home + "/data/" + key;
    byte[] have = data.get(key);
    switch (rnd.nextInt(9)) {
      case 0, 1: {
        byte[] v = rnd.nextInt(15) == 0 ? randomValue(4000 - p.length()) : randomValue(64);
        if (v.length > 2048) {
          return new Req("write of " + v.length + " bytes", XsWire.WRITE, 0,
              concat(p + "\0", v), err("ENOSPC"));
        }
        data.put(key, v);
        dataPerms.putIfAbsent(key, "n" + hid + "\0");
        return new Req("write " + p, XsWire.WRITE, 0, concat(p + "\0", v), ok("OK\0"));
      }
      case 2:
        return new Req("read " + p, XsWire.READ, 0, bytes(p + "\0"),
            have == null ? err("ENOENT") : ok(have));
      case 3:
        data.remove(key);
        dataPerms.remove(key);
        // Removing what is not there is fine: data/ is.
        return new Req("rm " + p, XsWire.RM, 0, bytes(p + "\0"), ok("OK\0"));
      case 4: {
        if (have == null) {
          data.put(key, new byte[0]);
          dataPerms.put(key, "n" + hid + "\0");
        }
        return new Req("mkdir " + p, XsWire.MKDIR, 0, bytes(p + "\0"), ok("OK\0"));
      }
      case 5: {
        StringBuilder list = new StringBuilder();
        new java.util.TreeSet<>(data.keySet().stream().map(String::valueOf).toList())
            .forEach(c -> list.append(c).append('\0'));
        return new Req("directory data", XsWire.DIRECTORY, 0, bytes("data\0"),
            ok(list.toString()));
      }
      case 6:
        return new Req("get_perms " + p, XsWire.GET_PERMS, 0, bytes(p + "\0"),
            have == null ? err("ENOENT") : ok(dataPerms.get(key)));
      case 7:
        if (rnd.nextInt(4) == 0) {
          // A long name (within the 2048 a relative path may have): an event naming it and a
          // watch's long token would not fit in one payload, and must not be sent.
          String name = "long/" + "x".repeat(1500 + rnd.nextInt(540));
          return new Req("write of a long name", XsWire.WRITE, 0, bytes(name + "\0v"),
              ok("OK\0"));
        }
        // fall through
      default: {
        int dom = rnd.nextBoolean() ? hid : bid;
        return new Req("get_domain_path " + dom, XsWire.GET_DOMAIN_PATH, 0,
            bytes(dom + "\0"), ok("/local/domain/" + dom + "\0"));
      }
    }
  }

  private byte[] randomPayload(int max) {
    byte[] p = new byte[rnd.nextInt(max + 1)];
    for (int i = 0; i < p.length; i++) {
      int c = rnd.nextInt(8);
      p[i] = (byte) (c == 0 ? 0 : c == 1 ? '/' : c == 2 ? rnd.nextInt(256) : 'a' + rnd.nextInt(4));
    }
    return p;
  }

  private Req unknownType() {
    int[] types = {XsWire.WATCH_EVENT, XsWire.ERROR, 20, 23, 24, 25, 26, 100, 255, 65536,
        Integer.MAX_VALUE, -1, Integer.MIN_VALUE, 23 + rnd.nextInt(1000), rnd.nextInt() | 1 << 31};
    int type = types[rnd.nextInt(types.length)];
    int tx = rnd.nextBoolean() ? 0 : badTx();
    return new Req("unknown type", type, tx, randomPayload(64), err("ENOSYS"));
  }

  private Req privilegedType() {
    int[] types = {XsWire.DEBUG, XsWire.INTRODUCE, XsWire.RELEASE, XsWire.IS_DOMAIN_INTRODUCED,
        XsWire.RESUME, XsWire.SET_TARGET};
    int type = types[rnd.nextInt(types.length)];
    byte[] payload = rnd.nextBoolean() ? bytes(bid + "\0") : rnd.nextBoolean()
        ? bytes(hid + "\0" + "1\0" + "1\0") : randomPayload(32);
    // The privilege is checked before the transaction id.
    int tx = rnd.nextBoolean() ? 0 : badTx();
    return new Req("privileged type", type, tx, payload, err("EACCES"));
  }

  private Req badTransaction() {
    int[] types = {XsWire.READ, XsWire.WRITE, XsWire.MKDIR, XsWire.RM, XsWire.DIRECTORY,
        XsWire.GET_PERMS, XsWire.SET_PERMS, XsWire.TRANSACTION_START, XsWire.TRANSACTION_END,
        XsWire.GET_DOMAIN_PATH, XsWire.DIRECTORY_PART, XsWire.RESET_WATCHES};
    int type = types[rnd.nextInt(types.length)];
    String payload = switch (type) {
      case XsWire.WRITE -> "data/" + key() + "\0x";
      case XsWire.SET_PERMS -> "data/" + key() + "\0n" + hid + "\0";
      case XsWire.TRANSACTION_END -> rnd.nextBoolean() ? "T\0" : "bogus";
      case XsWire.GET_DOMAIN_PATH -> hid + "\0";
      case XsWire.DIRECTORY_PART -> "data\0" + "0\0";
      default -> "data/" + key() + "\0";
    };
    return new Req("unknown transaction", type, badTx(), bytes(payload), err("ENOENT"));
  }

  /** Arguments without their NUL, with strings too many or too few. */
  private Req malformed() {
    int key = key();
    switch (rnd.nextInt(9)) {
      case 0: {
        int[] types = {XsWire.READ, XsWire.MKDIR, XsWire.RM, XsWire.DIRECTORY, XsWire.GET_PERMS};
        return new Req("path without its NUL", types[rnd.nextInt(types.length)], 0,
            bytes("data/" + key), err("EINVAL"));
      }
      case 1: {
        int[] types = {XsWire.READ, XsWire.MKDIR, XsWire.RM, XsWire.DIRECTORY, XsWire.GET_PERMS};
        return new Req("two strings for one", types[rnd.nextInt(types.length)], 0,
            bytes("data/" + key + "\0extra\0"), err("EINVAL"));
      }
      case 2: {
        int[] types = {XsWire.READ, XsWire.WRITE, XsWire.MKDIR, XsWire.RM, XsWire.DIRECTORY,
            XsWire.GET_PERMS, XsWire.SET_PERMS, XsWire.WATCH, XsWire.UNWATCH,
            XsWire.GET_DOMAIN_PATH, XsWire.DIRECTORY_PART, XsWire.TRANSACTION_END};
        int type = types[rnd.nextInt(types.length)];
        // TRANSACTION_END without a transaction: the argument is checked first.
        return new Req("empty payload", type, 0, new byte[0], err("EINVAL"));
      }
      case 3:
        return new Req("write without any NUL", XsWire.WRITE, 0, bytes("data/" + key),
            err("EINVAL"));
      case 4: {
        int type = rnd.nextBoolean() ? XsWire.WATCH : XsWire.UNWATCH;
        String p = rnd.nextBoolean() ? "data/" + key + "\0" : "data/" + key + "\0t\0more\0";
        return new Req("watch with " + Xenstored.strings(bytes(p)).size() + " strings", type,
            0, bytes(p), err("EINVAL"));
      }
      case 5:
        return new Req("watch without the token's NUL", XsWire.WATCH, 0,
            bytes("data/" + key + "\0tok"), err("EINVAL"));
      case 6:
        return new Req("transaction_end with a bad argument", XsWire.TRANSACTION_END, 0,
            bytes(rnd.nextBoolean() ? "X\0" : "T"), err("EINVAL"));
      case 7:
        return new Req("directory_part with one string", XsWire.DIRECTORY_PART, 0,
            bytes("data\0"), err("EINVAL"));
      default:
        return new Req("empty path", rnd.nextBoolean() ? XsWire.READ : XsWire.DIRECTORY, 0,
            bytes("\0"), err("EINVAL"));
    }
  }

  /** Relative paths that try to leave the home, and characters xenstore does not allow. */
  private Req escaping() {
    String[] paths = {"..", ".", "../" + bid + "/private", "data/../../" + bid + "/private",
        "./data", "data/./0", "/local/domain/" + hid + "/../" + bid, "data/0/", "data//0",
        "a b", "data\\0", "data/0\n", "%2e%2e/" + bid, "~" + bid, "data/\u00e9",
        "/local/domain/" + bid + "/private/../shared", "data/" + (char) (128 + rnd.nextInt(128))};
    String p = paths[rnd.nextInt(paths.length)];
    int[] types = {XsWire.READ, XsWire.WRITE, XsWire.MKDIR, XsWire.RM, XsWire.DIRECTORY,
        XsWire.GET_PERMS, XsWire.SET_PERMS, XsWire.WATCH};
    int type = types[rnd.nextInt(types.length)];
    String payload = switch (type) {
      case XsWire.WRITE -> p + "\0v";
      case XsWire.SET_PERMS -> p + "\0b" + hid + "\0";
      case XsWire.WATCH -> p + "\0tok\0";
      default -> p + "\0";
    };
    return new Req("escaping path '" + p + "'", type, 0, bytes(payload), err("EINVAL"));
  }

  /** Paths longer than xenstore allows (3072 absolute, 2048 relative). */
  private Req overlong() {
    String p = switch (rnd.nextInt(3)) {
      case 0 -> "data/" + "a".repeat(2044 + rnd.nextInt(1000));
      case 1 -> "/" + "b".repeat(3072 + rnd.nextInt(1000));
      default -> home + "/data/" + "c/".repeat(1600 + rnd.nextInt(300)) + "c";
    };
    int[] types = {XsWire.READ, XsWire.WRITE, XsWire.MKDIR, XsWire.RM, XsWire.GET_PERMS,
        XsWire.WATCH};
    int type = types[rnd.nextInt(types.length)];
    if (type == XsWire.WATCH && rnd.nextBoolean()) {
      p = "@" + "d".repeat(2048 + rnd.nextInt(1000));
    }
    String payload = switch (type) {
      case XsWire.WRITE -> p + "\0v";
      case XsWire.WATCH -> p + "\0t\0";
      default -> p + "\0";
    };
    return new Req("path of " + p.length() + " bytes", type, 0, bytes(payload), err("EINVAL"));
  }

  /** Reads, writes, removals and permission changes of the bystander's and dom0's nodes. */
  private Req crossDomain() {
    int s = rnd.nextInt(4);
    String priv = switch (rnd.nextInt(4)) {
      case 0 -> bhome + "/private";
      case 1 -> bhome + "/private/secret" + s;
      case 2 -> bhome + "/private/none" + s;
      default -> bhome;
    };
    String other = new String[] {"/", "/local", "/local/domain", bhome + "/name",
        "/local/domain/" + (bid + hid + 7) + "/x", "/vm"}[rnd.nextInt(6)];
    switch (rnd.nextInt(12)) {
      case 0: {
        int[] types = {XsWire.READ, XsWire.GET_PERMS, XsWire.DIRECTORY};
        // Whether the node exists or not: the caller may not know.
        return new Req("read of " + priv, types[rnd.nextInt(3)], 0, bytes(priv + "\0"),
            err("EACCES"));
      }
      case 1: {
        int[] types = {XsWire.READ, XsWire.GET_PERMS, XsWire.DIRECTORY};
        // "/vm" and ".../x" do not exist, and their nearest ancestor is dom0's and private.
        return new Req("read of " + other, types[rnd.nextInt(3)], 0, bytes(other + "\0"),
            err("EACCES"));
      }
      case 2:
        return new Req("read of the shared node", XsWire.READ, 0,
            bytes(bhome + "/shared\0"), ok(shared));
      case 3:
        return new Req("get_perms of the shared node", XsWire.GET_PERMS, 0,
            bytes(bhome + "/shared\0"), ok("r" + bid + "\0"));
      case 4:
        // The parent is readable: here ENOENT tells nothing new.
        return new Req("read under the shared node", XsWire.READ, 0,
            bytes(bhome + "/shared/none\0"), err("ENOENT"));
      case 5: {
        String p = rnd.nextBoolean() ? priv : rnd.nextBoolean() ? bhome + "/shared"
            : bhome + "/shared/new";
        return new Req("write of " + p, XsWire.WRITE, 0, bytes(p + "\0stolen"), err("EACCES"));
      }
      case 6: {
        String p = rnd.nextBoolean() ? priv : other.equals("/vm") ? "/vm/x" : other;
        return new Req("mkdir of " + p, XsWire.MKDIR, 0, bytes(p + "\0"), err("EACCES"));
      }
      case 7: {
        String p = rnd.nextBoolean() ? priv : rnd.nextBoolean() ? "/" : bhome + "/shared";
        // Even "/" is refused for access first: xenstored checks "/" only after get_node.
        return new Req("rm of " + p, XsWire.RM, 0, bytes(p + "\0"), err("EACCES"));
      }
      case 8: {
        String p = rnd.nextBoolean() ? priv : rnd.nextBoolean() ? bhome + "/shared" : "/";
        return new Req("set_perms of " + p, XsWire.SET_PERMS, 0,
            bytes(p + "\0b" + hid + "\0"), err("EACCES"));
      }
      case 9:
        return new Req("set_perms of a special node", XsWire.SET_PERMS, 0,
            bytes((rnd.nextBoolean() ? "@introduceDomain" : "@releaseDomain") + "\0b" + hid
                + "\0"), err("EACCES"));
      case 10:
        return new Req("set_perms of an unknown special node", XsWire.SET_PERMS, 0,
            bytes("@bogus\0b" + hid + "\0"), err("EINVAL"));
      default:
        return new Req("directory_part of " + priv, XsWire.DIRECTORY_PART, 0,
            bytes(priv + "\0" + "0\0"), err("EACCES"));
    }
  }

  /** SET_PERMS on its own data/<k>, in xenstored's order of checks. */
  private Req ownPerms() {
    int key = key();
    String p = "data/" + key;
    int n = rnd.nextInt(10) == 0 ? 0 : rnd.nextInt(10) == 0 ? 6 + rnd.nextInt(3)
        : 1 + rnd.nextInt(5);
    List<String> perms = new ArrayList<>();
    boolean malformed = false;
    for (int i = 0; i < n; i++) {
      if (rnd.nextInt(15) == 0) {
        perms.add(new String[] {"q1", "r", "rx", "", "w1x"}[rnd.nextInt(5)]);
        malformed = true;
      } else {
        int dom = i == 0 ? (rnd.nextInt(5) == 0 ? bid : hid)
            : new int[] {hid, bid, 0, rnd.nextInt(0x7FF0)}[rnd.nextInt(4)];
        perms.add("rwbn".charAt(rnd.nextInt(4)) + String.valueOf(dom));
      }
    }
    StringBuilder payload = new StringBuilder(p).append('\0');
    perms.forEach(x -> payload.append(x).append('\0'));
    Expect e;
    if (n == 0 || malformed && n <= 5) {
      e = err("EINVAL");
    } else if (n > 5) {
      e = err("ENOSPC");
    } else if (!data.containsKey(key)) {
      e = err("ENOENT");
    } else if (!perms.get(0).substring(1).equals(String.valueOf(hid))) {
      e = err("EPERM");
    } else {
      e = ok("OK\0");
      StringBuilder now = new StringBuilder();
      perms.forEach(x -> now.append(x).append('\0'));
      dataPerms.put(key, now.toString());
    }
    return new Req("set_perms " + perms, XsWire.SET_PERMS, 0, bytes(payload.toString()), e);
  }

  /** WATCH, UNWATCH and RESET_WATCHES against the model (the quota is 128 watches). */
  private Req watch() {
    int k = rnd.nextInt(100);
    // The transaction id of a watch is ignored, even an unknown one.
    int tx = rnd.nextInt(4) == 0 ? badTx() : 0;
    if (k < 2) {
      watches.clear();
      txns.clear();
      return new Req("reset_watches", XsWire.RESET_WATCHES, 0, bytes("\0"), ok("OK\0"));
    }
    if (k < 30 && !watches.isEmpty() || k < 38) {
      String w;
      if (!watches.isEmpty() && rnd.nextInt(4) != 0) {
        w = new ArrayList<>(watches).get(rnd.nextInt(watches.size()));
      } else {
        w = (rnd.nextBoolean() ? "a b" : "data/" + key()) + "\0nope" + rnd.nextInt(5);
      }
      String raw = w.substring(0, w.indexOf('\0'));
      String token = w.substring(w.indexOf('\0') + 1);
      // A relative path's watch is found by its canonical form, and asked for either way.
      String asked = raw.startsWith(home + "/") && rnd.nextBoolean()
          ? raw.substring(home.length() + 1) : raw;
      boolean found = watches.remove(raw + "\0" + token);
      return new Req("unwatch " + asked, XsWire.UNWATCH, tx, bytes(asked + "\0" + token + "\0"),
          found ? ok("OK\0") : err("ENOENT"));
    }
    boolean bigToken = rnd.nextInt(20) == 0;
    String raw = bigToken && rnd.nextBoolean() ? "/" : switch (rnd.nextInt(10)) {
      case 0, 1 -> "data/" + key();
      case 2 -> home + "/data/" + key();
      case 3 -> "/";
      case 4 -> bhome + "/private";
      case 5 -> bhome + "/private/secret" + rnd.nextInt(4);
      case 6 -> bhome + "/shared";
      case 7 -> rnd.nextBoolean() ? "@introduceDomain" : "@releaseDomain";
      case 8 -> "@whatever" + rnd.nextInt(3);
      default -> "data";
    };
    String token = bigToken ? "T".repeat(3000 + rnd.nextInt(1000))
        : "t" + rnd.nextInt(rnd.nextBoolean() ? 8 : 400);
    token = token.substring(0, Math.min(token.length(), 4094 - raw.length()));
    String canonical = raw.startsWith("/") || raw.startsWith("@") ? raw : home + "/" + raw;
    String keyed = canonical + "\0" + token;
    Expect e;
    if (watches.contains(keyed)) {
      e = err("EEXIST");
    } else if (watches.size() >= WATCH_QUOTA) {
      e = err("E2BIG");
    } else {
      e = ok("OK\0");
      watches.add(keyed);
      initialEvents.add(raw + "\0" + token);
    }
    return new Req("watch " + raw + " (" + watches.size() + " watches)", XsWire.WATCH, tx,
        bytes(raw + "\0" + token + "\0"), e);
  }

  /** One more watch of a flood: a new token on the same node. */
  private Req floodWatch() {
    String raw = rnd.nextBoolean() ? "data/0" : "/";
    String token = "flood" + reqId;
    String keyed = (raw.equals("/") ? raw : home + "/" + raw) + "\0" + token;
    Expect e = watches.size() >= WATCH_QUOTA ? err("E2BIG") : ok("OK\0");
    if (e.kind == Kind.OK) {
      watches.add(keyed);
      initialEvents.add(raw + "\0" + token);
    }
    return new Req("watch flood (" + watches.size() + " watches)", XsWire.WATCH, 0,
        bytes(raw + "\0" + token + "\0"), e);
  }

  /** Transactions: start to the quota, work in them, end them; ids from the replies. */
  private Req transaction() {
    Integer open = txns.isEmpty() ? null
        : new ArrayList<>(txns).get(rnd.nextInt(txns.size()));
    switch (rnd.nextInt(6)) {
      case 0, 1:
        if (open != null && rnd.nextInt(4) == 0) {
          return new Req("nested transaction_start", XsWire.TRANSACTION_START, open,
              bytes("\0"), err("EBUSY"));
        }
        return new Req("transaction_start", XsWire.TRANSACTION_START, 0, bytes("\0"),
            txns.size() >= TX_QUOTA ? err("ENOSPC") : ok());
      case 2, 3: {
        if (open == null) {
          return new Req("transaction_end of none", XsWire.TRANSACTION_END, 0, bytes("T\0"),
              err("ENOENT"));
        }
        if (rnd.nextInt(8) == 0) {
          // A bad argument is refused and the transaction stays open.
          return new Req("transaction_end with a bad argument", XsWire.TRANSACTION_END, open,
              bytes("commit\0"), err("EINVAL"));
        }
        txns.remove(open);
        boolean commit = rnd.nextBoolean();
        return new Req("transaction_end " + (commit ? "T" : "F"), XsWire.TRANSACTION_END,
            open, bytes(commit ? "T\0" : "F\0"), commit ? oneOf("OK", "EAGAIN") : ok("OK\0"));
      }
      default: {
        if (open == null) {
          return ownData();
        }
        String p = "txs/" + rnd.nextInt(32);
        return rnd.nextBoolean()
            ? new Req("write in a transaction", XsWire.WRITE, open, bytes(p + "\0v"),
                ok("OK\0"))
            : new Req("read in a transaction", XsWire.READ, open, bytes(p + "\0"),
                oneOf("OK", "ENOENT"));
      }
    }
  }

  /**
   * Unstructured requests: any well-formed answer will do. Types that would change the
   * model's watches or transactions are left to the structured cases.
   */
  private Req garbage() {
    int[] types = {XsWire.DEBUG, XsWire.DIRECTORY, XsWire.READ, XsWire.GET_PERMS,
        XsWire.INTRODUCE, XsWire.RELEASE, XsWire.GET_DOMAIN_PATH, XsWire.WRITE, XsWire.MKDIR,
        XsWire.RM, XsWire.SET_PERMS, XsWire.IS_DOMAIN_INTRODUCED, XsWire.DIRECTORY_PART, 22};
    int type = rnd.nextInt(5) == 0 ? rnd.nextInt() : types[rnd.nextInt(types.length)];
    if (type == XsWire.WATCH || type == XsWire.UNWATCH || type == XsWire.TRANSACTION_START
        || type == XsWire.TRANSACTION_END || type == XsWire.RESET_WATCHES) {
      type = XsWire.READ;
    }
    byte[] payload = randomPayload(rnd.nextInt(10) == 0 ? 4096 : 200);
    if (type == XsWire.RM || type == XsWire.SET_PERMS || type == XsWire.WRITE) {
      // Not one of the model's nodes: their prefix is made impossible.
      payload = concat("g", payload);
    }
    int tx = rnd.nextInt(5) == 0 ? badTx() : 0;
    return new Req("garbage", type, tx, payload, any());
  }

  // ---- protocol breaches and a guest that does not read --------------------------------

  /**
   * Breaks the ring protocol: the connection must be dropped with the error field set, and
   * serve nothing more; the toolstack then introduces the guest again.
   */
  private void breakTheRing() {
    quiesce();
    int kind = rnd.nextInt(5);
    int expectError;
    String what;
    switch (kind) {
      case 0 -> {
        long len = XsWire.PAYLOAD_MAX + 1L + (rnd.nextBoolean() ? rnd.nextInt(100)
            : rnd.nextLong((1L << 32) - XsWire.PAYLOAD_MAX - 1));
        byte[] m = GuestXsRing.message(XsWire.READ, ++reqId, 0, new byte[0], (int) len);
        h.putSome(m, 0, m.length);
        expectError = XsWire.ERROR_PROTO;
        what = "a header with len " + len;
      }
      case 1 -> {
        int cons = h.r32(XsWire.REQ_CONS);
        h.w32(XsWire.REQ_PROD, cons - 1 - rnd.nextInt(5000));
        expectError = XsWire.ERROR_RINGIDX;
        what = "req_prod behind req_cons";
      }
      case 2 -> {
        int cons = h.r32(XsWire.REQ_CONS);
        h.w32(XsWire.REQ_PROD, cons + XsWire.RING_SIZE + 1 + rnd.nextInt(1 << 20));
        expectError = XsWire.ERROR_RINGIDX;
        what = "req_prod more than a ring ahead";
      }
      case 3 -> {
        int prod = h.r32(XsWire.RSP_PROD);
        h.w32(XsWire.RSP_CONS, rnd.nextBoolean() ? prod + 1 + rnd.nextInt(5000)
            : prod - XsWire.RING_SIZE - 1 - rnd.nextInt(5000));
        // A request, so that there is output to write.
        byte[] p = bytes(hid + "\0");
        byte[] m = GuestXsRing.message(XsWire.GET_DOMAIN_PATH, ++reqId, 0, p, p.length);
        h.putSome(m, 0, m.length);
        expectError = XsWire.ERROR_RINGIDX;
        what = "rsp_cons moved out of range";
      }
      default -> {
        // Random bytes: whatever they parse as, the session cannot be trusted afterwards.
        byte[] junk = new byte[1 + rnd.nextInt(XsWire.RING_SIZE)];
        rnd.nextBytes(junk);
        h.putSome(junk, 0, junk.length);
        h.kick();
        int prod = h.r32(XsWire.RSP_PROD);
        h.w32(XsWire.RSP_CONS, prod); // what came back is not looked at
        reintroduceHostile();
        return;
      }
    }
    int rspProd = h.r32(XsWire.RSP_PROD);
    h.kick();
    RingConnection c = xs.connection(hid);
    assertThat(c.dropReason()).as("dropped for " + what).isNotNull();
    assertThat(h.r32(XsWire.ERROR_FIELD)).as("error field after " + what).isEqualTo(expectError);
    assertThat(h.r32(XsWire.RSP_PROD)).as("nothing written after " + what).isEqualTo(rspProd);
    // A dropped connection serves nothing more, even a good request on a repaired ring.
    h.w32(XsWire.REQ_CONS, 0);
    h.w32(XsWire.REQ_PROD, 0);
    h.w32(XsWire.RSP_CONS, 0);
    h.w32(XsWire.RSP_PROD, 0);
    byte[] m = GuestXsRing.message(XsWire.READ, ++reqId, 0, bytes("data/0\0"), 7);
    h.putSome(m, 0, m.length);
    h.kick();
    assertThat(h.r32(XsWire.RSP_PROD)).as("served after " + what).isZero();
    bystanderStep();
    reintroduceHostile();
  }

  /** Takes output until dom0 has nothing more queued for the guest. */
  private void quiesce() {
    for (int i = 0; i < 100_000 && (h.drain() > 0 || xs.connection(hid).queuedMessages() > 0);
        i++) {
      h.kick();
    }
    assertThat(xs.connection(hid).queuedMessages()).isZero();
    checkEvents();
  }

  /**
   * The guest keeps sending but does not read its replies, while the bystander writes the node
   * it watches: dom0 holds a bounded amount for it; then it reads again and every request is
   * answered, in order.
   */
  private void deafPhase() {
    if (watches.size() < WATCH_QUOTA) {
      String w = bhome + "/shared\0deaf" + reqId;
      watches.add(w);
      initialEvents.add(w);
      batchOf(new Req("watch the shared node", XsWire.WATCH, 0, bytes(w + "\0"), ok("OK\0")));
    }
    List<Req> sent = new ArrayList<>();
    int first = reqId + 1;
    byte[] payload = bytes(hid + "\0");
    long bound = (long) (RingConnection.MAX_OUTSTANDING + RingConnection.MAX_QUEUED_EVENTS)
        * (XsWire.HEADER_SIZE + XsWire.PAYLOAD_MAX) + XsWire.HEADER_SIZE + XsWire.PAYLOAD_MAX
        + XsWire.RING_SIZE;
    for (int round = 0; round < 40; round++) {
      while (h.room() >= XsWire.HEADER_SIZE + payload.length) {
        byte[] m = GuestXsRing.message(XsWire.GET_DOMAIN_PATH, ++reqId, 0, payload,
            payload.length);
        h.putSome(m, 0, m.length);
        sent.add(new Req("get_domain_path while deaf", XsWire.GET_DOMAIN_PATH, 0, payload,
            ok(home + "\0")));
      }
      h.kick();
      shared = "v" + rnd.nextInt(1000);
      bystanderCall(XsWire.WRITE, bhome + "/shared\0" + shared, "OK\0");
      RingConnection c = xs.connection(hid);
      assertThat(c.queuedReplies()).as("replies dom0 holds for a deaf guest")
          .isLessThanOrEqualTo(RingConnection.MAX_OUTSTANDING);
      assertThat(c.heldBytes()).as("bytes dom0 holds for a deaf guest").isLessThanOrEqualTo(bound);
    }
    collect(sent, first);
  }

  private void batchOf(Req r) {
    byte[] msg = GuestXsRing.message(r.type, ++reqId, r.txId, r.payload, r.payload.length);
    assertThat(h.put(msg, 0)).isTrue();
    h.kick();
    collect(List.of(r), reqId);
  }

  /**
   * The toolstack removes what garbage requests created in the guest's home, so that they do
   * not use up its node quota under the model's feet.
   */
  private void sweepGarbage() {
    for (String child : xs.request(XsWire.DIRECTORY, home + "\0").fields()) {
      if (!child.equals("data") && !child.equals("txs")) {
        xs.request(XsWire.RM, home + "/" + child + "\0");
      }
    }
  }

  // ---- the bystander -------------------------------------------------------------------

  private int bystanderReq;

  /**
   * One request of the bystander's, whose answer must be exactly {@code expected} (an error as
   * "ERROR ENOENT\0").
   */
  private void bystanderCall(int type, String payload, String expected) {
    byte[] m = GuestXsRing.message(type, ++bystanderReq, 0, bytes(payload),
        bytes(payload).length);
    assertThat(b.put(m, 0)).isTrue();
    b.kick();
    for (int guard = 0; b.replies.isEmpty(); guard++) {
      assertThat(guard).as("the bystander is not answered").isLessThan(1000);
      if (b.drain() == 0) {
        b.kick();
      }
    }
    GuestXsRing.Msg r = b.replies.poll();
    b.events.clear();
    String got = (r.type() == XsWire.ERROR ? "ERROR " : "") + r.text();
    assertThat(r.reqId()).isEqualTo(bystanderReq);
    assertThat(printable(got)).as("the bystander's %s", printable(payload))
        .isEqualTo(printable(expected));
  }

  private void bystanderStep() {
    int k = rnd.nextInt(4);
    String p = bhome + "/private/secret" + k;
    switch (rnd.nextInt(4)) {
      case 0, 1 -> {
        String v = "s" + rnd.nextInt(100000);
        secrets.put(k, v);
        bystanderCall(XsWire.WRITE, p + "\0" + v, "OK\0");
      }
      case 2 -> {
        secrets.remove(k);
        bystanderCall(XsWire.RM, p + "\0", "OK\0");
      }
      default -> bystanderCall(XsWire.READ, p + "\0",
          secrets.containsKey(k) ? secrets.get(k) : "ERROR ENOENT\0");
    }
  }

  private void checkFinalState() {
    for (int k = 0; k < 4; k++) {
      assertThat(xs.read(bhome + "/private/secret" + k)).as("secret %d", k)
          .isEqualTo(secrets.get(k));
    }
    assertThat(xs.read(bhome + "/shared")).isEqualTo(shared);
    assertThat(xs.request(XsWire.GET_PERMS, bhome + "/private\0").text())
        .isEqualTo("n" + bid + "\0");
    assertThat(xs.request(XsWire.GET_PERMS, bhome + "/shared\0").text())
        .isEqualTo("r" + bid + "\0");
    for (int k = 0; k < KEYS; k++) {
      String v = xs.read(home + "/data/" + k);
      byte[] want = data.get(k);
      assertThat(v == null ? null : bytes(v)).as("data/%d", k).isEqualTo(want);
    }
    bystanderCall(XsWire.WRITE, bhome + "/private/last\0word", "OK\0");
    bystanderCall(XsWire.READ, bhome + "/private/last\0", "word");
    assertThat(hv.control().handlerFailures()).isZero();
  }
}
