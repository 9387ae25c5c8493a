package org.hospes.dom0.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.memory.GuestMemory;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * xenstored over real ring pages in guest memory: the test plays the guest (writes requests
 * into its own page and notifies its port) and checks replies; then feeds it garbage.
 */
class RingConnectionTest {
  private Hypervisor hv;
  private XenstoreService xs;
  private Domain good;
  private Domain bad;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    xs = new XenstoreService(hv.control(), hv.costModel());
    good = hv.createHvmDomain("good", DomainMode.PVH, 4);
    bad = hv.createHvmDomain("bad", DomainMode.PVH, 4);
    introduce(good);
    introduce(bad);
    for (Domain d : new Domain[] {good, bad}) {
      xs.write("/local/domain/" + d.domid() + "/name", d.name());
      xs.setPerms("/local/domain/" + d.domid(), "n" + d.domid());
    }
  }

  private long ring(Domain d) {
    return (long) (d.p2m().size() - 2) << 12;
  }

  private int port(Domain d) {
    return (int) d.hvmParam(org.hospes.abi.HvmOp.PARAM_STORE_EVTCHN);
  }

  private void introduce(Domain d) {
    DomainControl ctl = hv.control();
    // After a release the guest's port is unbound to dom0 again and is reused.
    int port = port(d) != 0 ? port(d) : ctl.allocUnboundFor(d.domid(), 0);
    ctl.setHvmParam(d.domid(), org.hospes.abi.HvmOp.PARAM_STORE_EVTCHN, port);
    byte[] zero = new byte[4096];
    d.memory().write(ring(d), zero, 0, zero.length);
    xs.introduce(d.domid(), d.p2m().size() - 2, port);
  }

  private void notifyDom0(Domain d) {
    d.eventChannels().send(port(d));
    hv.control().serve(hv.now());
  }

  /** Sends one request as guest {@code d} and returns the reply's type and payload. */
  private String call(Domain d, int type, String payload) {
    GuestMemory m = d.memory();
    long base = ring(d);
    byte[] p = payload.getBytes(StandardCharsets.ISO_8859_1);
    ByteBuffer b = ByteBuffer.allocate(16 + p.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(type).putInt(7).putInt(0).putInt(p.length).put(p);
    int prod = m.read32(base + XsWire.REQ_PROD);
    for (byte x : b.array()) {
      m.write8(base + XsWire.REQ + (prod++ & 1023), x);
    }
    m.write32(base + XsWire.REQ_PROD, prod);
    notifyDom0(d);
    int cons = m.read32(base + XsWire.RSP_CONS);
    int rprod = m.read32(base + XsWire.RSP_PROD);
    byte[] out = new byte[rprod - cons];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) m.read8(base + XsWire.RSP + ((cons + i) & 1023));
    }
    m.write32(base + XsWire.RSP_CONS, rprod);
    ByteBuffer r = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    int rtype = r.getInt();
    r.getInt();
    r.getInt();
    int len = r.getInt();
    return rtype + ":" + new String(out, 16, len, StandardCharsets.ISO_8859_1);
  }

  @Test
  void requestsAndRepliesGoThroughTheRing() {
    assertThat(call(good, XsWire.WRITE, "data/x\0hi")).isEqualTo(XsWire.WRITE + ":OK\0");
    assertThat(call(good, XsWire.READ, "data/x\0")).isEqualTo(XsWire.READ + ":hi");
    assertThat(call(good, XsWire.READ, "nope\0")).isEqualTo(XsWire.ERROR + ":ENOENT\0");
    // name belongs to dom0 (the test did not let the guest read it).
    assertThat(call(good, XsWire.READ, "name\0")).isEqualTo(XsWire.ERROR + ":EACCES\0");
    assertThat(call(good, 77, "")).isEqualTo(XsWire.ERROR + ":ENOSYS\0");
    assertThat(hv.control().foreignMaps()).isEqualTo(2);
  }

  @Test
  void anOverlongHeaderDropsTheConnectionAndNothingElse() {
    GuestMemory m = bad.memory();
    long base = ring(bad);
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(XsWire.READ).putInt(1).putInt(0).putInt(100_000);
    m.write(base, b.array(), 0, 16);
    m.write32(base + XsWire.REQ_PROD, 16);
    notifyDom0(bad);
    assertThat(xs.connection(bad.domid()).dropReason()).isEqualTo("payload length 100000");
    assertThat(m.read32(base + XsWire.ERROR_FIELD)).isEqualTo(XsWire.ERROR_PROTO);
    assertThat(call(good, XsWire.WRITE, "a\0b")).isEqualTo(XsWire.WRITE + ":OK\0");
  }

  /** Random bytes and indices in a hostile guest's ring: dom0 never throws, others go on. */
  @Test
  void garbageInTheRingNeverHurtsDom0() {
    Random rnd = new Random(42);
    GuestMemory m = bad.memory();
    long base = ring(bad);
    int drops = 0;
    for (int i = 0; i < 5000; i++) {
      switch (rnd.nextInt(4)) {
        case 0 -> {
          byte[] junk = new byte[rnd.nextInt(2100)];
          rnd.nextBytes(junk);
          m.write(base + rnd.nextInt(2048), junk, 0, Math.min(junk.length, 2048));
        }
        case 1 -> m.write32(base + XsWire.REQ_PROD, rnd.nextInt());
        case 2 -> m.write32(base + XsWire.RSP_CONS, rnd.nextInt());
        default -> {
          // A plausible header with a random type and length, then random payload.
          int prod = m.read32(base + XsWire.REQ_PROD);
          ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
          b.putInt(rnd.nextInt(30)).putInt(rnd.nextInt()).putInt(rnd.nextInt(3))
              .putInt(rnd.nextInt(64));
          for (byte x : b.array()) {
            m.write8(base + (prod++ & 1023), x);
          }
          for (int k = rnd.nextInt(64); k > 0; k--) {
            m.write8(base + (prod++ & 1023), rnd.nextInt(3) == 0 ? 0 : 'a' + rnd.nextInt(26));
          }
          m.write32(base + XsWire.REQ_PROD, prod);
        }
      }
      notifyDom0(bad);
      RingConnection c = xs.connection(bad.domid());
      if (c.dropReason() != null) {
        drops++;
        xs.release(bad.domid());
        introduce(bad);
      }
    }
    assertThat(drops).isGreaterThan(0);
    assertThat(call(good, XsWire.WRITE, "still\0here")).isEqualTo(XsWire.WRITE + ":OK\0");
    assertThat(call(good, XsWire.READ, "still\0")).isEqualTo(XsWire.READ + ":here");
    // Reconnected with a clean ring, the hostile domain is served again.
    xs.release(bad.domid());
    introduce(bad);
    assertThat(call(bad, XsWire.WRITE, "fine\0now")).isEqualTo(XsWire.WRITE + ":OK\0");
    // Every mapping of a dropped ring was given back.
    assertThat(hv.control().liveForeignMaps()).isEqualTo(2);
  }

  /** Bytes a guest took from its response ring that do not make a whole message yet. */
  private final java.util.Map<Domain, java.io.ByteArrayOutputStream> partial =
      new java.util.HashMap<>();

  /**
   * Takes every byte waiting in {@code d}'s response ring (a message may be split between two
   * takes); counts the whole watch events for {@code path}.
   */
  private int takeEvents(Domain d, String path) {
    GuestMemory m = d.memory();
    long base = ring(d);
    int cons = m.read32(base + XsWire.RSP_CONS);
    int prod = m.read32(base + XsWire.RSP_PROD);
    java.io.ByteArrayOutputStream buf = partial.computeIfAbsent(d,
        k -> new java.io.ByteArrayOutputStream());
    for (int i = cons; i != prod; i++) {
      buf.write(m.read8(base + XsWire.RSP + (i & 1023)));
    }
    m.write32(base + XsWire.RSP_CONS, prod);
    byte[] out = buf.toByteArray();
    ByteBuffer r = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    int events = 0;
    while (r.remaining() >= 16) {
      int at = r.position();
      int type = r.getInt();
      r.getInt();
      r.getInt();
      int len = r.getInt();
      if (r.remaining() < len) {
        r.position(at);
        break;
      }
      String text = new String(out, r.position(), len, StandardCharsets.ISO_8859_1);
      r.position(r.position() + len);
      if (type == XsWire.WATCH_EVENT && text.equals(path + "\0tok\0")) {
        events++;
      }
    }
    buf.reset();
    buf.write(out, r.position(), out.length - r.position());
    return events;
  }

  /**
   * Only connections with output are flushed after a request, so one whose ring filled up must
   * stay known as waiting: its events go out at a later request once the guest made room, and
   * none is lost or sent twice.
   */
  @Test
  void watchEventsThatDidNotFitGoOutAtALaterRequest() {
    xs.write("/shared/x", "0");
    xs.setPerms("/shared", "r0");
    xs.setPerms("/shared/x", "r0");
    assertThat(call(good, XsWire.WATCH, "/shared/x\0tok\0")).isEqualTo(XsWire.WATCH + ":OK\0");
    assertThat(call(bad, XsWire.WATCH, "/shared/x\0tok\0")).isEqualTo(XsWire.WATCH + ":OK\0");
    takeEvents(good, "/shared/x");
    takeEvents(bad, "/shared/x");
    // Each event is 16 + 14 bytes: 100 of them overflow the 1024-byte ring several times.
    int writes = 100;
    int seenGood = 0;
    for (int i = 1; i <= writes; i++) {
      xs.write("/shared/x", Integer.toString(i));
      // bad keeps up; good reads only now and then, so its ring fills between.
      assertThat(takeEvents(bad, "/shared/x")).isEqualTo(1);
      if (i == 50) {
        seenGood += takeEvents(good, "/shared/x");
      }
    }
    for (int k = 0; k < 5; k++) {
      xs.read("/shared/x");
      seenGood += takeEvents(good, "/shared/x");
    }
    assertThat(seenGood).isEqualTo(writes);
  }

  /**
   * A guest that keeps sending requests and never reads a reply: dom0 used to read every
   * request and queue every reply, without limit. Now it stops reading at
   * {@link RingConnection#MAX_OUTSTANDING} waiting replies (the rest stay in the guest's own
   * ring), holds at most {@link RingConnection#MAX_QUEUED_EVENTS} watch events, and answers
   * everything once the guest reads again.
   */
  @Test
  void aGuestThatNeverReadsRepliesCannotGrowWhatDom0HoldsForIt() {
    GuestMemory m = bad.memory();
    long base = ring(bad);
    assertThat(call(bad, XsWire.WATCH, "/local/domain/" + bad.domid() + "\0tok\0"))
        .isEqualTo(XsWire.WATCH + ":OK\0");
    takeEvents(bad, "/local/domain/" + bad.domid());
    byte[] req = ByteBuffer.allocate(18).order(ByteOrder.LITTLE_ENDIAN)
        .putInt(XsWire.GET_DOMAIN_PATH).putInt(1).putInt(0).putInt(2).put((byte) '7').put((byte) 0)
        .array();
    int sent = 0;
    for (int round = 0; round < 200; round++) {
      int cons = m.read32(base + XsWire.REQ_CONS);
      int prod = m.read32(base + XsWire.REQ_PROD);
      while (XsWire.RING_SIZE - (prod - cons) >= req.length) {
        for (byte x : req) {
          m.write8(base + XsWire.REQ + (prod++ & 1023), x);
        }
        sent++;
      }
      m.write32(base + XsWire.REQ_PROD, prod);
      notifyDom0(bad);
      // Something else raises its watch events meanwhile: more than may wait.
      for (int k = 0; k < 6; k++) {
        xs.write("/local/domain/" + bad.domid() + "/x" + k, Integer.toString(round));
      }
      RingConnection c = xs.connection(bad.domid());
      assertThat(c.queuedReplies()).isLessThanOrEqualTo(RingConnection.MAX_OUTSTANDING);
      assertThat(c.queuedMessages()).isLessThanOrEqualTo(
          RingConnection.MAX_OUTSTANDING + RingConnection.MAX_QUEUED_EVENTS);
    }
    // dom0 stopped taking requests: they wait in the guest's ring.
    assertThat(m.read32(base + XsWire.REQ_PROD) - m.read32(base + XsWire.REQ_CONS))
        .isGreaterThan(XsWire.RING_SIZE - req.length);
    // It reads again: every request is answered, in order.
    int answered = 0;
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    for (int guard = 0; answered < sent && guard < 100_000; guard++) {
      int cons = m.read32(base + XsWire.RSP_CONS);
      int prod = m.read32(base + XsWire.RSP_PROD);
      for (int i = cons; i != prod; i++) {
        buf.write(m.read8(base + XsWire.RSP + (i & 1023)));
      }
      m.write32(base + XsWire.RSP_CONS, prod);
      byte[] out = buf.toByteArray();
      ByteBuffer r = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
      while (r.remaining() >= 16) {
        int at = r.position();
        int type = r.getInt();
        r.getInt();
        r.getInt();
        int len = r.getInt();
        if (r.remaining() < len) {
          r.position(at);
          break;
        }
        r.position(r.position() + len);
        if (type == XsWire.GET_DOMAIN_PATH) {
          answered++;
        }
      }
      buf.reset();
      buf.write(out, r.position(), out.length - r.position());
      notifyDom0(bad);
    }
    assertThat(answered).isEqualTo(sent);
    assertThat(xs.connection(bad.domid()).droppedEvents()).isPositive();
    assertThat(call(good, XsWire.READ, "nope\0")).isEqualTo(XsWire.ERROR + ":ENOENT\0");
  }
}
