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
    assertThat(call(good, 77, "")).isEqualTo(XsWire.ERROR + ":EINVAL\0");
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
}
