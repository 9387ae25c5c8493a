package org.hospes.dom0.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the xenstore fuzzer found: each test pins one answer where xenstored differed from C
 * xenstored (tools/xenstore/xenstored_core.c, _watch.c, _domain.c, _transaction.c) to a
 * guest's hostile or malformed request. Domain 1 keeps private nodes; domain 2 is the guest.
 */
class XenstoredHostileRequestsTest {
  private Xenstored store;
  private Xenstored.Connection dom0;
  private Xenstored.Connection d1;
  private Xenstored.Connection d2;
  private final List<XsMessage> out0 = new ArrayList<>();
  private final List<XsMessage> out1 = new ArrayList<>();
  private final List<XsMessage> out2 = new ArrayList<>();
  private int req;

  @BeforeEach
  void setUp() {
    store = new Xenstored();
    dom0 = store.connectDom0(out0::add);
    d1 = new Xenstored.Connection(1, out1::add);
    d2 = new Xenstored.Connection(2, out2::add);
    store.attach(d1);
    store.attach(d2);
    for (int d = 1; d <= 2; d++) {
      send(dom0, XsWire.MKDIR, 0, "/local/domain/" + d + "\0");
      send(dom0, XsWire.SET_PERMS, 0, "/local/domain/" + d + "\0n" + d + "\0");
    }
    send(d1, XsWire.WRITE, 0, "secret\0s3cret");
  }

  private List<XsMessage> sink(Xenstored.Connection c) {
    return c == dom0 ? out0 : c == d1 ? out1 : out2;
  }

  /** Sends a request; returns the reply as "OK-type:payload" or "ERROR:ENAME". */
  private String send(Xenstored.Connection c, int type, int tx, String payload) {
    List<XsMessage> s = sink(c);
    s.clear();
    store.handle(c, XsMessage.of(type, ++req, tx, payload));
    XsMessage m = s.get(0);
    String text = m.text();
    return m.type() == XsWire.ERROR ? "ERROR:" + text.substring(0, text.length() - 1)
        : m.type() + ":" + text;
  }

  private List<String> events(Xenstored.Connection c) {
    List<String> e = new ArrayList<>();
    for (XsMessage m : sink(c)) {
      if (m.type() == XsWire.WATCH_EVENT) {
        e.add(m.text());
      }
    }
    return e;
  }

  @Test
  void aRemovedPrivateNodeIsNotNamedToAnotherDomainWatchingTheRoot() {
    // Domain 2 may watch "/" (watches are not permission-checked), but may hear only of nodes
    // it can read: the removal of domain 1's private node told it the node's name.
    send(d2, XsWire.WATCH, 0, "/\0spy\0");
    out2.clear();
    send(d1, XsWire.RM, 0, "secret\0");
    assertThat(out2).isEmpty();
    // Nor when the removal comes in a transaction's commit.
    send(d1, XsWire.WRITE, 0, "other\0x");
    int tx = Integer.parseInt(send(d1, XsWire.TRANSACTION_START, 0, "\0").split(":")[1].trim());
    send(d1, XsWire.RM, tx, "other\0");
    send(d1, XsWire.TRANSACTION_END, tx, "T\0");
    assertThat(out2).isEmpty();
    // A node it may read is reported as before, removal included.
    send(d1, XsWire.WRITE, 0, "pub\0x");
    send(d1, XsWire.SET_PERMS, 0, "pub\0r1\0");
    out2.clear();
    send(d1, XsWire.RM, 0, "pub\0");
    assertThat(events(d2)).containsExactly("/local/domain/1/pub\0spy\0");
  }

  @Test
  void aWatchEventTooLongForOnePayloadIsNotSent() {
    // A 4000-byte token on "/" and a 200-byte path: the event would be 4202 bytes.
    String token = "t".repeat(4000);
    assertThat(send(d2, XsWire.WATCH, 0, "/\0" + token + "\0")).startsWith(XsWire.WATCH + ":");
    send(d2, XsWire.WRITE, 0, "n".repeat(200) + "\0v");
    for (XsMessage m : out2) {
      assertThat(m.payload().length).isLessThanOrEqualTo(XsWire.PAYLOAD_MAX);
    }
    assertThat(events(d2)).isEmpty();
    assertThat(store.oversizeEvents()).isEqualTo(1);
  }

  @Test
  void aMissingNodeInAPrivateDirectoryIsEaccesLikeAnExistingOne() {
    // ENOENT would tell domain 2 which of domain 1's nodes exist (errno_from_parents).
    assertThat(send(d2, XsWire.READ, 0, "/local/domain/1/secret\0")).isEqualTo("ERROR:EACCES");
    assertThat(send(d2, XsWire.READ, 0, "/local/domain/1/nothere\0")).isEqualTo("ERROR:EACCES");
    assertThat(send(d2, XsWire.GET_PERMS, 0, "/local/domain/1/nothere\0"))
        .isEqualTo("ERROR:EACCES");
    assertThat(send(d2, XsWire.SET_PERMS, 0, "/local/domain/1/nothere\0n2\0"))
        .isEqualTo("ERROR:EACCES");
    assertThat(send(d2, XsWire.RM, 0, "/local/domain/1/nothere\0")).isEqualTo("ERROR:EACCES");
    // Where the parent is readable, ENOENT tells nothing new.
    send(d1, XsWire.WRITE, 0, "pub\0x");
    send(d1, XsWire.SET_PERMS, 0, "pub\0r1\0");
    assertThat(send(d2, XsWire.READ, 0, "/local/domain/1/pub/nothere\0"))
        .isEqualTo("ERROR:ENOENT");
  }

  @Test
  void aTypeWithoutAHandlerIsEnosys() {
    for (int type : new int[] {XsWire.WATCH_EVENT, XsWire.ERROR, 20, 23, 1000, -1}) {
      assertThat(send(d2, type, 0, "x\0")).as("type %d", type).isEqualTo("ERROR:ENOSYS");
    }
    // Before the transaction id is looked at.
    assertThat(send(d2, 99, 12345, "x\0")).isEqualTo("ERROR:ENOSYS");
  }

  @Test
  void privilegedTypesFromAGuestAreEaccesBeforeTheTransactionIsLookedAt() {
    // IS_DOMAIN_INTRODUCED told any guest which domains exist.
    for (int type : new int[] {XsWire.DEBUG, XsWire.IS_DOMAIN_INTRODUCED, XsWire.RESUME,
        XsWire.SET_TARGET, XsWire.INTRODUCE, XsWire.RELEASE}) {
      assertThat(send(d2, type, 0, "1\0")).as("type %d", type).isEqualTo("ERROR:EACCES");
      assertThat(send(d2, type, 777, "1\0")).as("type %d in a transaction", type)
          .isEqualTo("ERROR:EACCES");
    }
    assertThat(send(dom0, XsWire.IS_DOMAIN_INTRODUCED, 0, "1\0"))
        .isEqualTo(XsWire.IS_DOMAIN_INTRODUCED + ":T\0");
  }

  @Test
  void aPathArgumentIsExactlyOneNulTerminatedString() {
    send(d2, XsWire.WRITE, 0, "k\0v");
    // xenstored's onearg: no NUL, or anything after it, is EINVAL.
    assertThat(send(d2, XsWire.READ, 0, "k")).isEqualTo("ERROR:EINVAL");
    assertThat(send(d2, XsWire.READ, 0, "k\0junk\0")).isEqualTo("ERROR:EINVAL");
    assertThat(send(d2, XsWire.RM, 0, "k\0junk")).isEqualTo("ERROR:EINVAL");
    assertThat(send(d2, XsWire.READ, 0, "k\0")).isEqualTo(XsWire.READ + ":v");
    // WATCH and UNWATCH take exactly two strings.
    assertThat(send(d2, XsWire.WATCH, 0, "k\0tok")).isEqualTo("ERROR:EINVAL");
    assertThat(send(d2, XsWire.WATCH, 0, "k\0tok\0more\0")).isEqualTo("ERROR:EINVAL");
    assertThat(send(d2, XsWire.GET_DOMAIN_PATH, 0, "2")).isEqualTo("ERROR:EINVAL");
  }

  @Test
  void anOverlongPathIsEinval() {
    assertThat(send(d2, XsWire.READ, 0, "/" + "a".repeat(3072) + "\0")).isEqualTo("ERROR:EINVAL");
    assertThat(send(d2, XsWire.WRITE, 0, "a".repeat(2049) + "\0v")).isEqualTo("ERROR:EINVAL");
    assertThat(send(d2, XsWire.WRITE, 0, "a".repeat(2048) + "\0v")).isEqualTo(XsWire.WRITE
        + ":OK\0");
  }

  @Test
  void watchesIgnoreTheTransactionIdAndSpecialWatchesMayNameAnything() {
    assertThat(send(d2, XsWire.WATCH, 4242, "k\0t\0")).isEqualTo(XsWire.WATCH + ":OK\0");
    assertThat(send(d2, XsWire.UNWATCH, 4242, "k\0t\0")).isEqualTo(XsWire.UNWATCH + ":OK\0");
    assertThat(send(d2, XsWire.WATCH, 0, "@anything\0t\0")).isEqualTo(XsWire.WATCH + ":OK\0");
    // UNWATCH only looks for the watch: a path no watch can have is not found.
    assertThat(send(d2, XsWire.UNWATCH, 0, "a b\0t\0")).isEqualTo("ERROR:ENOENT");
  }

  @Test
  void removingAMissingNodeIsFineIfItsParentExistsAndRootIsRefusedForAccessFirst() {
    assertThat(send(d2, XsWire.RM, 0, "gone\0")).isEqualTo(XsWire.RM + ":OK\0");
    assertThat(send(d2, XsWire.RM, 0, "gone/child\0")).isEqualTo("ERROR:ENOENT");
    assertThat(send(d2, XsWire.RM, 0, "/\0")).isEqualTo("ERROR:EACCES");
  }

  @Test
  void setPermsAllowsFiveEntriesAndLeavesSpecialNodesToDom0() {
    send(d2, XsWire.WRITE, 0, "k\0v");
    // quota_nb_perms_per_node: a guest could otherwise hang a thousand entries on one node.
    assertThat(send(d2, XsWire.SET_PERMS, 0, "k\0n2\0r1\0r3\0r4\0r5\0")).isEqualTo(
        XsWire.SET_PERMS + ":OK\0");
    assertThat(send(d2, XsWire.SET_PERMS, 0, "k\0n2\0r1\0r3\0r4\0r5\0r6\0"))
        .isEqualTo("ERROR:ENOSPC");
    assertThat(send(d2, XsWire.SET_PERMS, 0, "@releaseDomain\0b2\0")).isEqualTo("ERROR:EACCES");
    assertThat(send(d2, XsWire.SET_PERMS, 0, "@bogus\0b2\0")).isEqualTo("ERROR:EINVAL");
  }

  @Test
  void aWriteIntoAnotherDomainIsRefusedForAccessBeforeItsSize() {
    String big = "x".repeat(3000);
    assertThat(send(d2, XsWire.WRITE, 0, "/local/domain/1/secret\0" + big))
        .isEqualTo("ERROR:EACCES");
    assertThat(send(d2, XsWire.WRITE, 0, "/local/domain/1/new\0" + big))
        .isEqualTo("ERROR:EACCES");
    assertThat(send(d2, XsWire.WRITE, 0, "mine\0" + big)).isEqualTo("ERROR:ENOSPC");
  }

  @Test
  void resetWatchesEndsTransactionsAndTransactionEndChecksItsArgumentFirst() {
    int tx = Integer.parseInt(send(d2, XsWire.TRANSACTION_START, 0, "\0").split(":")[1].trim());
    assertThat(send(d2, XsWire.RESET_WATCHES, 0, "\0")).isEqualTo(XsWire.RESET_WATCHES + ":OK\0");
    assertThat(send(d2, XsWire.TRANSACTION_END, tx, "T\0")).isEqualTo("ERROR:ENOENT");
    assertThat(send(d2, XsWire.TRANSACTION_END, 0, "maybe\0")).isEqualTo("ERROR:EINVAL");
  }

  @Test
  void directoryPartListsChildrenFromAnOffset() {
    send(d2, XsWire.WRITE, 0, "dir/a\0");
    send(d2, XsWire.WRITE, 0, "dir/bb\0");
    String all = send(d2, XsWire.DIRECTORY_PART, 0, "dir\0" + "0\0");
    // The generation, then the names, and an empty name for the end of the list.
    assertThat(all).matches(XsWire.DIRECTORY_PART + ":[0-9]+\0a\0bb\0\0");
    assertThat(send(d2, XsWire.DIRECTORY_PART, 0, "dir\0" + "2\0")).endsWith("\0bb\0\0");
    assertThat(send(d2, XsWire.DIRECTORY_PART, 0, "dir\0" + "99\0")).matches(
        XsWire.DIRECTORY_PART + ":[0-9]+\0\0");
    assertThat(send(d2, XsWire.DIRECTORY_PART, 0, "/local/domain/1\0" + "0\0"))
        .isEqualTo("ERROR:EACCES");
  }
}
