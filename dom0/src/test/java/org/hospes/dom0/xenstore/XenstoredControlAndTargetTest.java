package org.hospes.dom0.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * XS_SET_TARGET and XS_CONTROL as C xenstored answers them (xenstored_domain.c's
 * do_set_target, xenstored_control.c's do_control, xenstored_core.c's perm_for_conn); both were
 * ENOSYS. Domain 1 is a guest with private nodes, domain 2 its device model, domain 3 a
 * bystander.
 */
class XenstoredControlAndTargetTest {
  private Xenstored store;
  private Xenstored.Connection dom0;
  private final List<Xenstored.Connection> guests = new ArrayList<>();
  private final List<List<XsMessage>> outs = new ArrayList<>();
  private final List<String> log = new ArrayList<>();
  private int req;

  @BeforeEach
  void setUp() {
    store = new Xenstored();
    store.setLog(log::add);
    outs.add(new ArrayList<>());
    dom0 = store.connectDom0(outs.get(0)::add);
    for (int d = 1; d <= 3; d++) {
      outs.add(new ArrayList<>());
      Xenstored.Connection c = new Xenstored.Connection(d, outs.get(d)::add);
      store.attach(c);
      guests.add(c);
      send(dom0, XsWire.MKDIR, 0, "/local/domain/" + d + "\0");
      send(dom0, XsWire.SET_PERMS, 0, "/local/domain/" + d + "\0n" + d + "\0");
    }
    send(guest(1), XsWire.WRITE, 0, "secret\0s3cret");
  }

  private Xenstored.Connection guest(int domid) {
    return guests.get(domid - 1);
  }

  private List<XsMessage> sink(Xenstored.Connection c) {
    return outs.get(c.domid());
  }

  /** Sends a request; the reply as "TYPE:payload" with NULs shown as '|', or "ERROR:ENAME". */
  private String send(Xenstored.Connection c, int type, int tx, String payload) {
    List<XsMessage> s = sink(c);
    s.clear();
    store.handle(c, XsMessage.of(type, ++req, tx, payload));
    XsMessage m = s.get(0);
    String text = m.text();
    return m.type() == XsWire.ERROR ? "ERROR:" + text.substring(0, text.length() - 1)
        : m.type() + ":" + text.replace('\0', '|');
  }

  private String control(String... argv) {
    return send(dom0, XsWire.CONTROL, 0, String.join("\0", argv) + "\0");
  }

  private static String ok(int type) {
    return type + ":OK|";
  }

  @Test
  void setTargetGivesTheDeviceModelItsTargetsPrivilegesOnTheTargetsNodes() {
    Xenstored.Connection dm = guest(2);
    String secret = "/local/domain/1/secret";
    assertThat(send(dm, XsWire.READ, 0, secret + "\0")).isEqualTo("ERROR:EACCES");
    // A dom0-owned node whose ACL names domain 1 only.
    send(dom0, XsWire.WRITE, 0, "/vm/1/name\0guest");
    send(dom0, XsWire.SET_PERMS, 0, "/vm/1/name\0n0\0r1\0");
    assertThat(send(dm, XsWire.READ, 0, "/vm/1/name\0")).isEqualTo("ERROR:EACCES");

    assertThat(send(dom0, XsWire.SET_TARGET, 0, "2\0" + "1\0")).isEqualTo(
        ok(XsWire.SET_TARGET));
    assertThat(store.target(2)).isEqualTo(1);

    // The target's own nodes are wholly the device model's: read, write, create, permissions.
    assertThat(send(dm, XsWire.READ, 0, secret + "\0")).isEqualTo(XsWire.READ + ":s3cret");
    assertThat(send(dm, XsWire.WRITE, 0, secret + "\0x")).isEqualTo(ok(XsWire.WRITE));
    assertThat(send(dm, XsWire.WRITE, 0, "/local/domain/1/device-model/state\0running"))
        .isEqualTo(ok(XsWire.WRITE));
    assertThat(send(dm, XsWire.SET_PERMS, 0, secret + "\0n1\0r3\0"))
        .isEqualTo(ok(XsWire.SET_PERMS));
    // ... but not to give away: the owner stays (do_set_perms: EPERM for an unprivileged client).
    assertThat(send(dm, XsWire.SET_PERMS, 0, secret + "\0n2\0")).isEqualTo("ERROR:EPERM");
    // An ACL entry naming the target counts as naming it.
    assertThat(send(dm, XsWire.READ, 0, "/vm/1/name\0")).isEqualTo(XsWire.READ + ":guest");
    assertThat(send(dm, XsWire.WRITE, 0, "/vm/1/name\0x")).isEqualTo("ERROR:EACCES");
    // Nothing more: the bystander's nodes stay closed, and the target gains nothing.
    send(guest(3), XsWire.WRITE, 0, "mine\0x");
    assertThat(send(dm, XsWire.READ, 0, "/local/domain/3/mine\0")).isEqualTo("ERROR:EACCES");
    assertThat(send(guest(1), XsWire.READ, 0, "/local/domain/2\0")).isEqualTo("ERROR:EACCES");
    assertThat(send(guest(3), XsWire.READ, 0, secret + "\0")).isEqualTo(XsWire.READ + ":x");

    // Watch events follow the same permission (watch_permitted uses perm_for_conn).
    send(dm, XsWire.WATCH, 0, "/local/domain/1\0tok\0");
    sink(dm).clear();
    send(guest(1), XsWire.WRITE, 0, "private\0p");
    assertThat(sink(dm)).extracting(XsMessage::text)
        .containsExactly("/local/domain/1/private\0tok\0");

    // The relation goes with the device model's connection.
    assertThat(send(dom0, XsWire.RELEASE, 0, "2\0")).isEqualTo(ok(XsWire.RELEASE));
    assertThat(store.target(2)).isEqualTo(-1);
    Xenstored.Connection again = new Xenstored.Connection(2, outs.get(2)::add);
    store.attach(again);
    assertThat(send(again, XsWire.READ, 0, secret + "\0")).isEqualTo("ERROR:EACCES");
  }

  @Test
  void setTargetChecksInCXenstoredsOrder() {
    // A guest may not (XS_FLAG_PRIV: before its transaction id is looked at).
    assertThat(send(guest(2), XsWire.SET_TARGET, 0, "2\0" + "1\0")).isEqualTo("ERROR:EACCES");
    assertThat(send(guest(2), XsWire.SET_TARGET, 99, "2\0" + "1\0")).isEqualTo("ERROR:EACCES");
    // dom0 in a transaction it does not have: ENOENT before the arguments.
    assertThat(send(dom0, XsWire.SET_TARGET, 99, "")).isEqualTo("ERROR:ENOENT");
    // Two strings, or EINVAL (bytes after the last NUL are no string).
    for (String p : new String[] {"", "2\0", "2\0" + "1", "2"}) {
      assertThat(send(dom0, XsWire.SET_TARGET, 0, p)).as(p).isEqualTo("ERROR:EINVAL");
    }
    // Each a domain xenstored knows, read with atoi ("x" is 0: dom0, which it knows).
    assertThat(send(dom0, XsWire.SET_TARGET, 0, "2\0" + "9\0")).isEqualTo("ERROR:ENOENT");
    assertThat(send(dom0, XsWire.SET_TARGET, 0, "9\0" + "1\0")).isEqualTo("ERROR:ENOENT");
    assertThat(send(dom0, XsWire.SET_TARGET, 0, "-1\0" + "1\0")).isEqualTo("ERROR:ENOENT");
    assertThat(store.target(2)).isEqualTo(-1);
    assertThat(send(dom0, XsWire.SET_TARGET, 0, " 2xyz\0" + "1\0"))
        .isEqualTo(ok(XsWire.SET_TARGET));
    assertThat(store.target(2)).isEqualTo(1);
    assertThat(send(dom0, XsWire.SET_TARGET, 0, "3\0x\0")).isEqualTo(ok(XsWire.SET_TARGET));
    assertThat(store.target(3)).isZero();
    // A service domain's in-process connection makes it known too.
    store.connectService(7, m -> {});
    assertThat(send(dom0, XsWire.SET_TARGET, 0, "7\0" + "1\0"))
        .isEqualTo(ok(XsWire.SET_TARGET));
  }

  @Test
  void controlIsForDom0AndKnowsItsCommands() {
    assertThat(send(guest(1), XsWire.CONTROL, 0, "print\0hi\0")).isEqualTo("ERROR:EACCES");
    assertThat(send(guest(1), XsWire.CONTROL, 42, "print\0hi\0")).isEqualTo("ERROR:EACCES");
    assertThat(send(dom0, XsWire.CONTROL, 42, "print\0hi\0")).isEqualTo("ERROR:ENOENT");
    assertThat(send(dom0, XsWire.CONTROL, 0, "")).isEqualTo("ERROR:EINVAL");
    assertThat(send(dom0, XsWire.CONTROL, 0, "print")).isEqualTo("ERROR:EINVAL");
    assertThat(control("no-such-command")).isEqualTo("ERROR:EINVAL");
    assertThat(control("live-update", "-a")).isEqualTo("ERROR:EINVAL");
    assertThat(log).isEmpty();

    // print: one argument, written to the daemon's log.
    assertThat(control("print", "hello")).isEqualTo(ok(XsWire.CONTROL));
    assertThat(control("print")).isEqualTo("ERROR:EINVAL");
    assertThat(control("print", "a", "b")).isEqualTo("ERROR:EINVAL");
    assertThat(log).containsExactly("control: hello");

    // log on|off: the traffic is traced while on.
    assertThat(control("log", "maybe")).isEqualTo("ERROR:EINVAL");
    assertThat(control("log")).isEqualTo("ERROR:EINVAL");
    assertThat(store.tracing()).isFalse();
    assertThat(control("log", "on")).isEqualTo(ok(XsWire.CONTROL));
    assertThat(store.tracing()).isTrue();
    log.clear();
    send(guest(1), XsWire.READ, 0, "secret\0");
    assertThat(log).containsExactly("IN  dom1 READ (secret )", "OUT dom1 READ (s3cret)");
    assertThat(control("log", "off")).isEqualTo(ok(XsWire.CONTROL));
    log.clear();
    send(guest(1), XsWire.READ, 0, "secret\0");
    assertThat(log).isEmpty();

    // help: "name<TAB>usage<NL>" for each command, without a NUL.
    sink(dom0).clear();
    store.handle(dom0, XsMessage.of(XsWire.CONTROL, ++req, 0, "help\0"));
    assertThat(new String(sink(dom0).get(0).payload(), StandardCharsets.ISO_8859_1))
        .isEqualTo("check\t\nlog\ton|off\nlogfile\t<file>\nmemreport\t[<file>]\n"
            + "print\t<string>\nquota\t[set <name> <val>|<domid>]\n"
            + "quota-soft\t[set <name> <val>]\nhelp\t\n");
    assertThat(control("help", "me")).isEqualTo("ERROR:EINVAL");
  }

  /**
   * check, logfile, memreport and quota-soft, which answered EINVAL (unknown command), as
   * xenstored_control.c answers them; live-update stays EINVAL (a daemon built without it).
   */
  @Test
  void controlCheckLogfileMemreportAndQuotaSoftAnswerAsCXenstored(@TempDir Path dir)
      throws Exception {
    // check: no arguments; the store is walked and found whole.
    assertThat(control("check")).isEqualTo(ok(XsWire.CONTROL));
    assertThat(control("check", "x")).isEqualTo("ERROR:EINVAL");
    assertThat(log).isEmpty();

    // memreport without a trace file named: EBADF; with too many arguments EINVAL.
    assertThat(control("memreport")).isEqualTo("ERROR:EBADF");
    assertThat(control("memreport", "a", "b")).isEqualTo("ERROR:EINVAL");
    assertThat(control("memreport", dir.resolve("no/such/dir/r").toString()))
        .isEqualTo("ERROR:EBADF");
    Path report = dir.resolve("report");
    assertThat(control("memreport", report.toString())).isEqualTo(ok(XsWire.CONTROL));
    assertThat(Files.readString(report)).startsWith("xenstored memory report\n")
        .contains("domain 1: 2 nodes");

    // logfile FILE: exactly one argument; the file is opened for appending, marked, and the
    // traffic is traced into it.
    assertThat(control("logfile")).isEqualTo("ERROR:EINVAL");
    assertThat(control("logfile", "a", "b")).isEqualTo("ERROR:EINVAL");
    Path trace = dir.resolve("trace");
    assertThat(control("logfile", trace.toString())).isEqualTo(ok(XsWire.CONTROL));
    assertThat(store.tracing()).isTrue();
    send(guest(1), XsWire.READ, 0, "secret\0");
    assertThat(Files.readString(trace)).isEqualTo("\n***\n"
        + "OUT dom0 CONTROL (OK )\nIN  dom1 READ (secret )\nOUT dom1 READ (s3cret)\n");
    // memreport with no file goes to the trace file.
    assertThat(control("memreport")).isEqualTo(ok(XsWire.CONTROL));
    assertThat(Files.readString(trace)).contains("xenstored memory report");
    // log off closes it; log on reopens it with a new mark.
    assertThat(control("log", "off")).isEqualTo(ok(XsWire.CONTROL));
    long before = Files.size(trace);
    send(guest(1), XsWire.READ, 0, "secret\0");
    assertThat(Files.size(trace)).isEqualTo(before);
    assertThat(control("log", "on")).isEqualTo(ok(XsWire.CONTROL));
    assertThat(Files.readString(trace).substring((int) before)).startsWith("\n***\n");
    // A file that cannot be opened: still OK (C only complains), and tracing to it is off.
    assertThat(control("logfile", dir.resolve("no/such/dir/t").toString()))
        .isEqualTo(ok(XsWire.CONTROL));
    assertThat(store.tracing()).isFalse();
    assertThat(log).anyMatch(l -> l.startsWith("Could not open tracefile"));

    // quota-soft: the memory warning level, shown and set as quota's settings are.
    assertThat(control("quota-soft")).isEqualTo(XsWire.CONTROL + ":Quota settings:\n"
        + "memory           :  2097152 Total Xenstore memory per domain (warning level)\n|");
    assertThat(control("quota-soft", "set", "memory")).isEqualTo("ERROR:EINVAL");
    assertThat(control("quota-soft", "set", "memory", "0")).isEqualTo("ERROR:EINVAL");
    assertThat(control("quota-soft", "set", "nodes", "5")).isEqualTo("ERROR:EINVAL");
    assertThat(control("quota-soft", "1")).isEqualTo("ERROR:EINVAL");
    assertThat(control("quota-soft", "set", "memory", "4096")).isEqualTo(ok(XsWire.CONTROL));
    assertThat(store.quota().memorySoft).isEqualTo(4096);
    assertThat(control("quota-soft")).contains(":     4096 Total Xenstore memory");

    assertThat(control("live-update", "-s")).isEqualTo("ERROR:EINVAL");
  }

  @Test
  void controlQuotaShowsAndSetsTheLimitsAndADomainsUse() {
    assertThat(control("quota")).isEqualTo(XsWire.CONTROL + ":Quota settings:\n"
        + "nodes            :     1000 Nodes per domain\n"
        + "watches          :      128 Watches per domain\n"
        + "transactions     :       10 Transactions per domain\n"
        + "node-size        :     2048 Max. size of a node\n"
        + "permissions      :        5 Max. number of permissions per node\n|");
    // set NAME VALUE: exactly two arguments, a value of at least 1, a known name.
    assertThat(control("quota", "set", "nodes")).isEqualTo("ERROR:EINVAL");
    assertThat(control("quota", "set", "nodes", "0")).isEqualTo("ERROR:EINVAL");
    assertThat(control("quota", "set", "nodes", "-5")).isEqualTo("ERROR:EINVAL");
    assertThat(control("quota", "set", "memory", "5")).isEqualTo("ERROR:EINVAL");
    assertThat(control("quota", "set", "nodes", "3", "x")).isEqualTo("ERROR:EINVAL");
    assertThat(control("quota", "set", "nodes", "3")).isEqualTo(ok(XsWire.CONTROL));
    assertThat(store.quota().nodes).isEqualTo(3);
    // Domain 1 owns its directory and "secret": one more node, then ENOSPC.
    assertThat(send(guest(1), XsWire.WRITE, 0, "a\0x")).isEqualTo(ok(XsWire.WRITE));
    assertThat(send(guest(1), XsWire.WRITE, 0, "b\0x")).isEqualTo("ERROR:ENOSPC");
    assertThat(control("quota", "set", "node-size", "4")).isEqualTo(ok(XsWire.CONTROL));
    assertThat(send(guest(1), XsWire.WRITE, 0, "a\0" + "12345")).isEqualTo("ERROR:ENOSPC");

    // DOMID: what a known domain uses; ENOENT for one xenstored does not know.
    send(guest(1), XsWire.WATCH, 0, "secret\0t\0");
    send(guest(1), XsWire.TRANSACTION_START, 0, "\0");
    assertThat(control("quota", "1")).isEqualTo(XsWire.CONTROL + ":Domain 1:\n"
        + "nodes           :        3\n"
        + "watches         :        1\n"
        + "transactions    :        1\n|");
    assertThat(control("quota", "9")).isEqualTo("ERROR:ENOENT");
    assertThat(control("quota", "1", "2")).isEqualTo("ERROR:EINVAL");
    assertThat(control("quota", "0")).startsWith(XsWire.CONTROL + ":Domain 0:\n");
  }
}
