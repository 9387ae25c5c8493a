package org.hospes.dom0.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.hospes.abi.HvmOp;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.CreditScheduler;
import org.junit.jupiter.api.Test;

/**
 * xenstored's work is preempted as any of dom0's work is, at its next scheduling point: a
 * ring's requests stop between two when dom0's slice ends, and the rest are handled first in
 * its next slice. A transaction whose requests fall in both legs commits once, and its watch
 * events fire once.
 */
class XenstorePreemptionTest {
  private final Hypervisor hv = new Hypervisor(64, new CreditScheduler(),
      new DefaultCostModel());
  private final DomainControl dom0 = hv.control();
  private final XenstoreService xs = new XenstoreService(dom0, hv.costModel());

  private static long ringGfn(Domain d) {
    return d.p2m().size() - 2;
  }

  private GuestXsRing introduce(Domain d) {
    int port = dom0.allocUnboundFor(d.domid(), 0);
    dom0.setHvmParam(d.domid(), HvmOp.PARAM_STORE_EVTCHN, port);
    xs.introduce(d.domid(), ringGfn(d), port);
    return new GuestXsRing(hv, d, ringGfn(d) << 12, port);
  }

  private static byte[] msg(int type, int reqId, int txId, String payload) {
    byte[] p = payload.getBytes(StandardCharsets.ISO_8859_1);
    return GuestXsRing.message(type, reqId, txId, p, p.length);
  }

  /** Queues an item that keeps dom0 busy until {@code left} cycles before its slice ends. */
  private long[] busyUntilJustBeforeTheSliceEnds(long left) {
    long[] filler = {-1};
    dom0.work().submit(now -> {
      // The first cycle count at which dom0's slice has ended, found by asking.
      long lo = 0;
      long hi = Hypervisor.HZ;
      while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (dom0.preemptionDue(mid)) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      filler[0] = lo - left;
      return filler[0];
    });
    return filler;
  }

  /**
   * The writer sends four requests for one event: two writes in a transaction, its end, and a
   * write outside it. dom0 comes to them 1,000 cycles before its slice ends, so the event's
   * hypercall and the first request overrun it: the ring stops after that request (its reply
   * written) and the three others are handled in dom0's next slice. Each is answered once, in
   * order; the transaction commits with both writes; the watcher gets one event per node.
   */
  @Test
  void aRingsRequestsStopBetweenTwoAtTheSliceEndAndATransactionSpansTheLegs() {
    Domain writer = hv.createHvmDomain("writer", DomainMode.PVH, 4);
    Domain watcher = hv.createHvmDomain("watcher", DomainMode.PVH, 4);
    GuestXsRing w = introduce(writer);
    GuestXsRing v = introduce(watcher);
    xs.write("/shared", "");
    xs.setPerms("/shared", "n" + writer.domid(), "r" + watcher.domid());
    dom0.serve(hv.now()); // the binds' own events

    assertThat(v.put(msg(XsWire.WATCH, 1, 0, "/shared\0tok\0"), 0)).isTrue();
    v.kick();
    v.drain();
    assertThat(v.replies).extracting(GuestXsRing.Msg::text).containsExactly("OK\0");
    assertThat(v.events).extracting(GuestXsRing.Msg::text).containsExactly("/shared\0tok\0");
    v.replies.clear();
    v.events.clear();
    assertThat(w.put(msg(XsWire.TRANSACTION_START, 1, 0, "\0"), 0)).isTrue();
    w.kick();
    w.drain();
    int tx = Integer.parseInt(w.replies.poll().text().replace("\0", ""));

    long[] filler = busyUntilJustBeforeTheSliceEnds(1000);
    assertThat(w.put(msg(XsWire.WRITE, 2, tx, "/shared/a\0" + "1"), 0)).isTrue();
    assertThat(w.put(msg(XsWire.WRITE, 3, tx, "/shared/b\0" + "2"), 0)).isTrue();
    assertThat(w.put(msg(XsWire.TRANSACTION_END, 4, tx, "T\0"), 0)).isTrue();
    assertThat(w.put(msg(XsWire.WRITE, 5, 0, "/shared/c\0" + "3"), 0)).isTrue();
    long cyclesBefore = dom0.counters().cycles;
    long requestsBefore = xs.store().requests();
    w.notifyDom0();
    hv.run(Hypervisor.HZ / 10);
    long dom0Cycles = dom0.counters().cycles - cyclesBefore;
    w.drain();
    v.drain();

    assertThat(w.replies).extracting(GuestXsRing.Msg::reqId).containsExactly(2, 3, 4, 5);
    assertThat(w.replies).extracting(GuestXsRing.Msg::type).containsExactly(XsWire.WRITE,
        XsWire.WRITE, XsWire.TRANSACTION_END, XsWire.WRITE);
    assertThat(w.replies).extracting(GuestXsRing.Msg::text).containsOnly("OK\0");
    assertThat(xs.read("/shared/a")).isEqualTo("1");
    assertThat(xs.read("/shared/b")).isEqualTo("2");
    assertThat(xs.read("/shared/c")).isEqualTo("3");
    assertThat(v.events).extracting(GuestXsRing.Msg::text).containsExactlyInAnyOrder(
        "/shared/a\0tok\0", "/shared/b\0tok\0", "/shared/c\0tok\0");
    assertThat(xs.store().requests() - requestsBefore).isEqualTo(4 + 3); // and the reads
    assertThat(xs.preemptions()).isEqualTo(1);
    assertThat(dom0.work().preemptions()).isEqualTo(1);
    assertThat(dom0.hasWork()).isFalse();
    // Two legs: the event's hypercall and one request, then a notification and three.
    assertThat(filler[0]).isPositive();
    assertThat(dom0Cycles).isEqualTo(filler[0] + (2 + 4) * hv.costModel().hypercall());
  }
}
