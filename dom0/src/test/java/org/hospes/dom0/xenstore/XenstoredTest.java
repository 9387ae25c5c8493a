package org.hospes.dom0.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** xenstored's semantics through in-process connections: perms, watches, transactions, quotas. */
class XenstoredTest {
  private Xenstored store;
  private Xenstored.Connection dom0;
  private final List<XsMessage> out0 = new ArrayList<>();
  private final List<XsMessage> out1 = new ArrayList<>();
  private final List<XsMessage> out2 = new ArrayList<>();
  private Xenstored.Connection d1;
  private Xenstored.Connection d2;
  private int req;

  @BeforeEach
  void setUp() {
    Xenstored.Quota q = new Xenstored.Quota();
    q.nodes = 20;
    q.watches = 3;
    q.transactions = 2;
    store = new Xenstored(q);
    dom0 = store.connectDom0(out0::add);
    d1 = new Xenstored.Connection(1, out1::add);
    d2 = new Xenstored.Connection(2, out2::add);
    store.attach(d1);
    store.attach(d2);
    for (int d = 1; d <= 2; d++) {
      ok(dom0, XsWire.MKDIR, "/local/domain/" + d + "\0");
      ok(dom0, XsWire.SET_PERMS, "/local/domain/" + d + "\0n" + d + "\0");
    }
  }

  private List<XsMessage> sink(Xenstored.Connection c) {
    return c == dom0 ? out0 : c == d1 ? out1 : out2;
  }

  private XsMessage send(Xenstored.Connection c, int type, int tx, String payload) {
    List<XsMessage> s = sink(c);
    s.clear();
    store.handle(c, XsMessage.of(type, ++req, tx, payload));
    return s.get(0);
  }

  private String ok(Xenstored.Connection c, int type, String payload) {
    return ok(c, type, 0, payload);
  }

  private String ok(Xenstored.Connection c, int type, int tx, String payload) {
    XsMessage m = send(c, type, tx, payload);
    assertThat(m.type()).as(m.text()).isEqualTo(type);
    assertThat(m.reqId()).isEqualTo(req);
    return m.text();
  }

  private String err(Xenstored.Connection c, int type, int tx, String payload) {
    XsMessage m = send(c, type, tx, payload);
    assertThat(m.type()).isEqualTo(XsWire.ERROR);
    return m.text();
  }

  @Test
  void writeReadDirectoryAndRm() {
    assertThat(ok(d1, XsWire.WRITE, "data/a\0hello")).isEqualTo("OK\0");
    assertThat(ok(d1, XsWire.READ, "data/a\0")).isEqualTo("hello");
    assertThat(ok(d1, XsWire.READ, "/local/domain/1/data/a\0")).isEqualTo("hello");
    ok(d1, XsWire.MKDIR, "data/b\0");
    assertThat(ok(d1, XsWire.DIRECTORY, "data\0")).isEqualTo("a\0b\0");
    ok(d1, XsWire.RM, "data\0");
    assertThat(err(d1, XsWire.READ, 0, "data/a\0")).isEqualTo("ENOENT\0");
    // Removing what is gone is fine while its parent is there (xenstore.txt, RM); not else.
    assertThat(ok(d1, XsWire.RM, "data\0")).isEqualTo("OK\0");
    assertThat(err(d1, XsWire.RM, 0, "data/a\0")).isEqualTo("ENOENT\0");
    assertThat(ok(d1, XsWire.GET_DOMAIN_PATH, "7\0")).isEqualTo("/local/domain/7\0");
  }

  @Test
  void permissionsAreEnforced() {
    ok(d1, XsWire.WRITE, "secret\0x");
    assertThat(err(d2, XsWire.READ, 0, "/local/domain/1/secret\0")).isEqualTo("EACCES\0");
    assertThat(err(d2, XsWire.WRITE, 0, "/local/domain/1/secret\0y")).isEqualTo("EACCES\0");
    assertThat(err(d2, XsWire.WRITE, 0, "/local/domain/1/new\0y")).isEqualTo("EACCES\0");
    assertThat(err(d2, XsWire.SET_PERMS, 0, "/local/domain/1/secret\0b2\0"))
        .isEqualTo("EACCES\0");
    // The owner lets domain 2 read: reads work, writes still do not.
    ok(d1, XsWire.SET_PERMS, "secret\0n1\0r2\0");
    assertThat(ok(d2, XsWire.READ, "/local/domain/1/secret\0")).isEqualTo("x");
    assertThat(err(d2, XsWire.WRITE, 0, "/local/domain/1/secret\0y")).isEqualTo("EACCES\0");
    assertThat(ok(d1, XsWire.GET_PERMS, "secret\0")).isEqualTo("n1\0r2\0");
    // A guest cannot give its node away: the owner gets EPERM, as from xenstored's
    // do_set_perms.
    assertThat(err(d1, XsWire.SET_PERMS, 0, "secret\0n2\0")).isEqualTo("EPERM\0");
    // Only dom0 introduces and releases.
    assertThat(err(d1, XsWire.INTRODUCE, 0, "5\0100\0" + "3\0")).isEqualTo("EACCES\0");
    assertThat(err(d1, XsWire.RELEASE, 0, "2\0")).isEqualTo("EACCES\0");
    assertThat(err(d1, XsWire.WRITE, 0, "/tool\0x")).isEqualTo("EACCES\0");
  }

  @Test
  void watchesFireAtOnceThenOnChangesBeneath() {
    ok(d1, XsWire.WATCH, "data\0tok\0");
    assertThat(out1).hasSize(2);
    assertThat(out1.get(1).type()).isEqualTo(XsWire.WATCH_EVENT);
    assertThat(out1.get(1).text()).isEqualTo("data\0tok\0");
    ok(d1, XsWire.WRITE, "data/x/y\0v");
    assertThat(out1).extracting(XsMessage::text).contains("data/x/y\0tok\0");
    // Domain 2 watching domain 1's node hears nothing it may not read.
    ok(d2, XsWire.WATCH, "/local/domain/1/data\0t2\0");
    out2.clear();
    ok(d1, XsWire.WRITE, "data/x/y\0w");
    assertThat(out2).isEmpty();
    ok(d1, XsWire.UNWATCH, "data\0tok\0");
    out1.clear();
    ok(d1, XsWire.WRITE, "data/x/y\0z");
    assertThat(out1).hasSize(1);
    assertThat(err(d1, XsWire.UNWATCH, 0, "data\0tok\0")).isEqualTo("ENOENT\0");
  }

  @Test
  void transactionsCommitOrConflict() {
    ok(d1, XsWire.WRITE, "c\0" + "1");
    int t = Integer.parseInt(ok(d1, XsWire.TRANSACTION_START, "\0").trim());
    ok(d1, XsWire.WRITE, t, "c\0" + "2");
    // Not visible outside the transaction until it commits.
    assertThat(ok(d1, XsWire.READ, "c\0")).isEqualTo("1");
    assertThat(ok(d1, XsWire.READ, t, "c\0")).isEqualTo("2");
    ok(d1, XsWire.TRANSACTION_END, t, "T\0");
    assertThat(ok(d1, XsWire.READ, "c\0")).isEqualTo("2");

    int t2 = Integer.parseInt(ok(d1, XsWire.TRANSACTION_START, "\0").trim());
    ok(d1, XsWire.READ, t2, "c\0");
    ok(d2, XsWire.WRITE, "other\0z");          // unrelated: no conflict
    ok(dom0, XsWire.WRITE, "/local/domain/1/c\0" + "9");
    ok(d1, XsWire.WRITE, t2, "c\0" + "3");
    assertThat(err(d1, XsWire.TRANSACTION_END, t2, "T\0")).isEqualTo("EAGAIN\0");
    assertThat(ok(d1, XsWire.READ, "c\0")).isEqualTo("9");
    assertThat(err(d1, XsWire.READ, t2, "c\0")).isEqualTo("ENOENT\0");

    int t3 = Integer.parseInt(ok(d1, XsWire.TRANSACTION_START, "\0").trim());
    ok(d1, XsWire.WRITE, t3, "c\0" + "4");
    ok(d1, XsWire.TRANSACTION_END, t3, "F\0");
    assertThat(ok(d1, XsWire.READ, "c\0")).isEqualTo("9");
    assertThat(store.conflicts()).isEqualTo(1);
  }

  @Test
  void quotasGiveClearErrors() {
    String e = null;
    for (int i = 0; i < 40 && e == null; i++) {
      XsMessage m = send(d1, XsWire.WRITE, 0, "n" + i + "\0v");
      if (m.type() == XsWire.ERROR) {
        e = m.text();
      }
    }
    assertThat(e).isEqualTo("ENOSPC\0");
    for (int i = 0; i < 3; i++) {
      ok(d2, XsWire.WATCH, "w" + i + "\0t\0");
    }
    assertThat(err(d2, XsWire.WATCH, 0, "w9\0t\0")).isEqualTo("E2BIG\0");
    ok(d2, XsWire.TRANSACTION_START, "\0");
    ok(d2, XsWire.TRANSACTION_START, "\0");
    assertThat(err(d2, XsWire.TRANSACTION_START, 0, "\0")).isEqualTo("ENOSPC\0");
    String big = "x".repeat(3000);
    assertThat(err(d2, XsWire.WRITE, 0, "big\0" + big)).isEqualTo("ENOSPC\0");
  }

  @Test
  void malformedRequestsGetErrors() {
    // A type xenstored has no handler for: ENOSYS (process_message).
    assertThat(err(d1, 99, 0, "x\0")).isEqualTo("ENOSYS\0");
    assertThat(err(d1, XsWire.READ, 0, "")).isEqualTo("EINVAL\0");
    assertThat(err(d1, XsWire.READ, 0, "a//b\0")).isEqualTo("EINVAL\0");
    assertThat(err(d1, XsWire.READ, 0, "a/b/\0")).isEqualTo("EINVAL\0");
    assertThat(err(d1, XsWire.READ, 0, "a b\0")).isEqualTo("EINVAL\0");
    assertThat(err(d1, XsWire.WRITE, 0, "novalue")).isEqualTo("EINVAL\0");
    // Too long is an invalid name, like any other (is_valid_nodename).
    assertThat(err(d1, XsWire.READ, 0, "/" + "a".repeat(3100) + "\0")).isEqualTo("EINVAL\0");
    assertThat(err(d1, XsWire.READ, 12345, "x\0")).isEqualTo("ENOENT\0");
    assertThat(err(d1, XsWire.TRANSACTION_END, 0, "T\0")).isEqualTo("ENOENT\0");
    assertThat(err(d1, XsWire.SET_PERMS, 0, "x\0q1\0")).isEqualTo("EINVAL\0");
    // A special watch may name anything (xenstore.txt), but not at any length.
    assertThat(ok(d1, XsWire.WATCH, "@bogus\0t\0")).isEqualTo("OK\0");
    assertThat(err(d1, XsWire.WATCH, 0, "@" + "b".repeat(2048) + "\0t\0"))
        .isEqualTo("EINVAL\0");
    assertThat(err(d1, XsWire.GET_DOMAIN_PATH, 0, "-1\0")).isEqualTo("EINVAL\0");
    // "/" is refused for access before it is refused as "/" (do_rm's order); dom0 gets EINVAL.
    assertThat(err(d1, XsWire.RM, 0, "/\0")).isEqualTo("EACCES\0");
    assertThat(err(dom0, XsWire.RM, 0, "/\0")).isEqualTo("EINVAL\0");
  }

  @Test
  void anEmptyPathIsEinvalAsInXenstored() {
    // xenstored's canonicalize makes "" into "/local/domain/N/", which is_valid_nodename
    // refuses for its trailing slash: xs_directory(XBT_NULL, "") is -EINVAL on Xen too.
    ok(d1, XsWire.WRITE, "k\0v");
    for (int type : new int[] {XsWire.DIRECTORY, XsWire.READ, XsWire.GET_PERMS, XsWire.MKDIR,
        XsWire.RM}) {
      assertThat(err(d1, type, 0, "\0")).as("type %d", type).isEqualTo("EINVAL\0");
    }
    assertThat(err(d1, XsWire.WRITE, 0, "\0v")).isEqualTo("EINVAL\0");
    // The home directory itself is named by its absolute path.
    assertThat(ok(d1, XsWire.DIRECTORY, "/local/domain/1\0")).isEqualTo("k\0");
  }

  @Test
  void aDomainNotNamedInTheListGetsTheFirstEntrysDefault() {
    ok(d1, XsWire.WRITE, "pub\0x");
    // Owner 1, everyone else may read: domain 2 (not listed) reads but cannot write.
    ok(d1, XsWire.SET_PERMS, "pub\0r1\0");
    assertThat(ok(d2, XsWire.READ, "/local/domain/1/pub\0")).isEqualTo("x");
    assertThat(err(d2, XsWire.WRITE, 0, "/local/domain/1/pub\0y")).isEqualTo("EACCES\0");
    // Default none, domain 2 listed for write only: it may write, not read.
    ok(d1, XsWire.SET_PERMS, "pub\0n1\0w2\0");
    assertThat(err(d2, XsWire.READ, 0, "/local/domain/1/pub\0")).isEqualTo("EACCES\0");
    ok(d2, XsWire.WRITE, "/local/domain/1/pub\0y");
    // Default both, domain 2 listed with none: its own entry wins over the default.
    ok(d1, XsWire.SET_PERMS, "pub\0b1\0n2\0");
    assertThat(err(d2, XsWire.READ, 0, "/local/domain/1/pub\0")).isEqualTo("EACCES\0");
    assertThat(err(d2, XsWire.WRITE, 0, "/local/domain/1/pub\0z")).isEqualTo("EACCES\0");
    // Default both and domain 2 unlisted: both.
    ok(d1, XsWire.SET_PERMS, "pub\0b1\0");
    assertThat(ok(d2, XsWire.READ, "/local/domain/1/pub\0")).isEqualTo("y");
    ok(d2, XsWire.WRITE, "/local/domain/1/pub\0z");
  }

  @Test
  void aDomainWithReadPermissionOnlyCannotRemoveTheNode() {
    ok(d1, XsWire.WRITE, "keep/child\0v");
    ok(d1, XsWire.SET_PERMS, "keep\0n1\0r2\0");
    assertThat(err(d2, XsWire.RM, 0, "/local/domain/1/keep\0")).isEqualTo("EACCES\0");
    assertThat(ok(d1, XsWire.DIRECTORY, "keep\0")).isEqualTo("child\0");
    assertThat(ok(d1, XsWire.READ, "keep/child\0")).isEqualTo("v");
    // With write permission it may.
    ok(d1, XsWire.SET_PERMS, "keep\0n1\0w2\0");
    ok(d2, XsWire.RM, "/local/domain/1/keep\0");
    assertThat(err(d1, XsWire.READ, 0, "keep\0")).isEqualTo("ENOENT\0");
  }

  @Test
  void aTransactionThatOnlyReadANodeAnotherWriterChangedGetsEagain() {
    ok(d1, XsWire.WRITE, "c\0" + "1");
    int t = Integer.parseInt(ok(d1, XsWire.TRANSACTION_START, "\0").trim());
    assertThat(ok(d1, XsWire.READ, t, "c\0")).isEqualTo("1");
    // The transaction writes somewhere else; another writer changes what it read.
    ok(d1, XsWire.WRITE, t, "d\0" + "derived-from-1");
    ok(dom0, XsWire.WRITE, "/local/domain/1/c\0" + "2");
    assertThat(err(d1, XsWire.TRANSACTION_END, t, "T\0")).isEqualTo("EAGAIN\0");
    assertThat(err(d1, XsWire.READ, 0, "d\0")).isEqualTo("ENOENT\0");
    // A directory listing is a read too.
    ok(d1, XsWire.MKDIR, "dir\0");
    int t2 = Integer.parseInt(ok(d1, XsWire.TRANSACTION_START, "\0").trim());
    ok(d1, XsWire.DIRECTORY, t2, "dir\0");
    ok(d1, XsWire.WRITE, t2, "e\0x");
    ok(d2, XsWire.WRITE, "/local/domain/2/unrelated\0x");
    ok(dom0, XsWire.WRITE, "/local/domain/1/dir/new\0x");
    assertThat(err(d1, XsWire.TRANSACTION_END, t2, "T\0")).isEqualTo("EAGAIN\0");
    assertThat(store.conflicts()).isEqualTo(2);
  }

  @Test
  void oneRequestCreatingManyNodesCountsThemAllAgainstTheQuota() {
    // Domain 1 owns its home (1 node); the quota is 20. A write of a path 20 levels deep
    // would make 20 new nodes: 21 in all.
    StringBuilder deep = new StringBuilder("n0");
    for (int i = 1; i < 20; i++) {
      deep.append("/n").append(i);
    }
    int before = store.nodeCount();
    assertThat(err(d1, XsWire.WRITE, 0, deep + "\0v")).isEqualTo("ENOSPC\0");
    assertThat(store.nodeCount()).isEqualTo(before);
    assertThat(err(d1, XsWire.MKDIR, 0, deep + "\0")).isEqualTo("ENOSPC\0");
    // 19 levels fit exactly; then not one more node.
    String fits = deep.substring(0, deep.lastIndexOf("/"));
    ok(d1, XsWire.WRITE, fits + "\0v");
    assertThat(store.nodeCount()).isEqualTo(before + 19);
    assertThat(err(d1, XsWire.WRITE, 0, "one-more\0v")).isEqualTo("ENOSPC\0");
    // Rewriting an existing node needs no new node.
    ok(d1, XsWire.WRITE, fits + "\0w");
  }

  @Test
  void onlyTheControlDomainIntroducesDomainsADriverDomainIsRefusedWithEaccesCounted() {
    List<XsMessage> outDd = new ArrayList<>();
    Xenstored.Connection dd = store.connectService(5, outDd::add);
    store.handle(dd, XsMessage.of(XsWire.INTRODUCE, 1, 0, "7\0" + "100\0" + "3\0"));
    store.handle(dd, XsMessage.of(XsWire.RELEASE, 2, 0, "1\0"));
    assertThat(outDd).extracting(XsMessage::type).containsExactly(XsWire.ERROR, XsWire.ERROR);
    assertThat(outDd).extracting(XsMessage::text).containsOnly("EACCES\0");
    assertThat(store.privilegeRefusals()).isEqualTo(2);
    // Nothing changed: 7 was not introduced, 1 was not released.
    assertThat(store.isIntroduced(7)).isFalse();
    assertThat(store.isIntroduced(1)).isTrue();
    // As an ordinary client it reads and writes where permissions let it.
    ok(dom0, XsWire.MKDIR, "/local/domain/5\0");
    ok(dom0, XsWire.SET_PERMS, "/local/domain/5\0n5\0");
    outDd.clear();
    store.handle(dd, XsMessage.of(XsWire.WRITE, 3, 0, "backend\0ready"));
    store.handle(dd, XsMessage.of(XsWire.READ, 4, 0, "/local/domain/1\0"));
    assertThat(outDd).extracting(XsMessage::text).containsExactly("OK\0", "EACCES\0");
    assertThat(store.privilegeRefusals()).isEqualTo(2);
  }
}
