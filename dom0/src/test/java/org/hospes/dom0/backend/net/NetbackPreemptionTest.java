package org.hospes.dom0.backend.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.Netif.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.net.LearningSwitch;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.CreditScheduler;
import org.junit.jupiter.api.Test;

/**
 * netback's work is preempted as any of dom0's work is, at its next scheduling point: with
 * 1 ms timeslices (a tick every third of one, and ticks cut runs) a ring that takes dom0 more
 * than a tick stops between two packets or two frames, pushes what it has answered, and goes
 * on from there in dom0's next slice. Every packet is sent once, whole and in order, every
 * frame delivered once and in order, for the one event the frontend sent, and the counts are
 * the same on every run.
 */
@org.junit.jupiter.api.Timeout(60)
class NetbackPreemptionTest {
  /** A packet of 15 slots: 14 whole pages and 2656 bytes of a 15th. */
  private static final int BIG = 60_000;
  private static final int SLOTS = 15;
  /** 17 such packets use 255 of the ring's 256 slots: about 0.36 ms of dom0's time. */
  private static final int PACKETS = 17;

  /** The bytes of transmit page {@code p}, the same whichever packet writes them. */
  private static byte[] page(int p) {
    byte[] b = new byte[PAGE_SIZE];
    new Random(p).nextBytes(b);
    return b;
  }

  /** Packet {@code i}: its 15 pages from page 15i on (modulo the 64 pages), in order. */
  private static byte[] bigPacket(int i) {
    byte[] f = new byte[BIG];
    for (int k = 0; k < SLOTS; k++) {
      int n = Math.min(PAGE_SIZE, BIG - k * PAGE_SIZE);
      System.arraycopy(page((SLOTS * i + k) % JavaNetfront.TX_PAGES), 0, f, k * PAGE_SIZE, n);
    }
    return f;
  }

  /** What one run of the transmit case shows. */
  private record TxRun(List<byte[]> out, List<Long> itemOf, List<JavaNetfront.TxResponse> rsps,
      NetStats stats, long dom0Preemptions, boolean dom0WorkLeft) {}

  /**
   * The frontend queues 17 packets of 15 slots and sends one event; dom0 then runs, in one call
   * or in {@code steps}-sized steps of the caller's (null: one call).
   */
  private static TxRun sendRing(long[] steps) {
    NetTestbed b = new NetTestbed(new CreditScheduler(1, 0));
    assertThat(b.front.connect()).isEqualTo(XenbusState.CONNECTED);
    List<byte[]> out = new ArrayList<>();
    List<Long> itemOf = new ArrayList<>();
    b.backend.attach((from, f, off, len) -> {
      out.add(java.util.Arrays.copyOfRange(f, off, off + len));
      itemOf.add(b.hv.control().work().itemsRun());
    });
    for (int i = 0; i < PACKETS; i++) {
      assertThat(b.front.queueFrame(bigPacket(i), 0, (SLOTS * i) % JavaNetfront.TX_PAGES, 0))
          .isEqualTo(SLOTS);
    }
    long eventsBefore = b.backend.stats().events;
    b.front.publish();
    long end = b.hv.now() + Hypervisor.HZ / 100;
    if (steps == null) {
      b.hv.run(end - b.hv.now());
    } else {
      // Until nothing can run any more (as run does), in the caller's odd steps.
      for (int i = 0; b.hv.now() < end; i++) {
        if (!b.hv.step(Math.min(steps[i % steps.length], end - b.hv.now()))) {
          break;
        }
      }
      while (b.hv.runUnderWay()) {
        b.hv.step(Long.MAX_VALUE);
      }
    }
    List<JavaNetfront.TxResponse> rsps = b.front.poll();
    NetStats s = b.backend.stats();
    assertThat(s.events - eventsBefore).isEqualTo(1);
    return new TxRun(out, itemOf, rsps, s, b.hv.control().work().preemptions(),
        b.hv.control().hasWork());
  }

  @Test
  void aTxRingLongerThanDom0sSliceIsSentPacketByPacketAcrossSlices() {
    TxRun r = sendRing(null);
    // Each packet once, whole, in order; each slot answered once, in order.
    assertThat(r.out).containsExactlyElementsOf(
        IntStream.range(0, PACKETS).mapToObj(NetbackPreemptionTest::bigPacket).toList());
    assertThat(r.rsps).extracting(JavaNetfront.TxResponse::id)
        .containsExactlyElementsOf(IntStream.range(0, PACKETS * SLOTS).boxed().toList());
    assertThat(r.rsps).allSatisfy(x -> assertThat(x.status()).isEqualTo(RSP_OKAY));
    NetStats s = r.stats;
    assertThat(s.txPackets).isEqualTo(PACKETS);
    assertThat(s.txBytes).isEqualTo((long) PACKETS * BIG);
    assertThat(s.txErrors).isZero();
    assertThat(s.grantCopies).isEqualTo(PACKETS * SLOTS);
    // The ring was cut where dom0's slice ended, once, and went on in its next slice: the
    // packets left in two of dom0's items, and every cut is dom0's one preemption.
    assertThat(s.preemptions).isEqualTo(1);
    assertThat(r.dom0Preemptions).isEqualTo(s.preemptions);
    assertThat(r.itemOf.stream().distinct().count()).isEqualTo(s.preemptions + 1);
    assertThat(r.dom0WorkLeft).isFalse();
  }

  /** Where a caller cuts virtual time is not a scheduling decision: the cut falls where it fell. */
  @Test
  void theRingIsCutAtTheSamePacketHoweverTheCallerCutsTime() {
    TxRun one = sendRing(null);
    TxRun cut = sendRing(new long[] {1, 7, 1000, 12_345, 3, 250_001, 99_991, 2});
    assertThat(cut.itemOf).isEqualTo(one.itemOf);
    assertThat(cut.out).containsExactlyElementsOf(one.out);
    assertThat(cut.stats.preemptions).isEqualTo(one.stats.preemptions);
    assertThat(cut.stats.cycles).isEqualTo(one.stats.cycles);
    assertThat(cut.stats.notifications).isEqualTo(one.stats.notifications);
  }

  /**
   * 256 frames wait in the receive queue for buffers; the frontend posts 256 and sends one
   * event. Filling them takes dom0 more than a tick: it stops between two frames, pushes the
   * responses it made, and delivers the rest from the queue in its next slice.
   */
  @Test
  void aLongBacklogIsDeliveredFrameByFrameAcrossSlices() {
    NetTestbed b = new NetTestbed(new CreditScheduler(1, 0));
    assertThat(b.front.connect()).isEqualTo(XenbusState.CONNECTED);
    List<byte[]> sent = new ArrayList<>();
    for (int i = 0; i < 2 * RING_SIZE; i++) {
      byte[] f = NetTestbed.frame(PAGE_SIZE, 1000 + i);
      sent.add(f);
      b.backend.deliver(f, 0, f.length);
    }
    assertThat(b.backend.ring().rxQueued()).isEqualTo(RING_SIZE);
    b.front.poll(); // takes the first 256, posts the buffers again and notifies dom0
    assertThat(b.front.takeReceived()).hasSize(RING_SIZE);
    long eventsBefore = b.backend.stats().events;
    b.hv.run(Hypervisor.HZ / 100);
    b.front.poll();
    assertThat(b.front.takeReceived()).extracting(JavaNetfront.RxPacket::data)
        .containsExactlyElementsOf(sent.subList(RING_SIZE, 2 * RING_SIZE));
    NetStats s = b.backend.stats();
    assertThat(s.rxPackets).isEqualTo(2 * RING_SIZE);
    assertThat(s.rxDropped).isZero();
    assertThat(s.events - eventsBefore).isEqualTo(1);
    assertThat(s.preemptions).isEqualTo(1);
    assertThat(b.hv.control().work().preemptions()).isEqualTo(s.preemptions);
    assertThat(b.backend.ring().rxQueued()).isZero();
    assertThat(b.hv.control().hasWork()).isFalse();
  }

  /**
   * While the rest of a cut backlog waits for dom0's next slice, a frame for the same vif (here
   * straight from the switch's side, between two of the caller's steps) joins the queue behind
   * the others: nothing is delivered outside dom0's turn, and the continuation delivers it
   * last.
   */
  @Test
  void aFrameForAVifWhoseDeliveryWasCutWaitsBehindTheRest() {
    NetTestbed b = new NetTestbed(new CreditScheduler(1, 0));
    assertThat(b.front.connect()).isEqualTo(XenbusState.CONNECTED);
    List<byte[]> sent = new ArrayList<>();
    for (int i = 0; i < 2 * RING_SIZE - 1; i++) {
      byte[] f = NetTestbed.frame(PAGE_SIZE, 3000 + i);
      sent.add(f);
      b.backend.deliver(f, 0, f.length);
    }
    b.front.poll();
    assertThat(b.front.takeReceived()).hasSize(RING_SIZE);
    // Small steps until the delivery has been cut.
    while (b.backend.stats().preemptions == 0) {
      assertThat(b.hv.step(1000)).isTrue();
    }
    int waiting = b.backend.ring().rxQueued();
    long delivered = b.backend.stats().rxPackets;
    assertThat(waiting).isPositive();
    byte[] late = NetTestbed.frame(PAGE_SIZE, 6000);
    sent.add(late);
    b.backend.deliver(late, 0, late.length);
    assertThat(b.backend.ring().rxQueued()).isEqualTo(waiting + 1);
    assertThat(b.backend.stats().rxPackets).isEqualTo(delivered);
    b.hv.run(Hypervisor.HZ / 100);
    b.front.poll();
    assertThat(b.front.takeReceived()).extracting(JavaNetfront.RxPacket::data)
        .containsExactlyElementsOf(sent.subList(RING_SIZE, 2 * RING_SIZE));
    assertThat(b.backend.stats().rxPackets).isEqualTo(2 * RING_SIZE);
    assertThat(b.backend.stats().preemptions).isEqualTo(1);
    assertThat(b.hv.control().hasWork()).isFalse();
  }

  /**
   * g2's buffers are used up and 255 frames wait for more; g1 sends one frame through the
   * switch just before g2 posts buffers again. Forwarding g1's frame starts delivering g2's
   * backlog (its event waits behind g1's): that delivery stops where dom0's slice ends, g1's
   * packet stays sent once, and g2's queue, g1's frame last, is delivered in order in dom0's
   * next slice.
   */
  @Test
  void aBacklogTheSwitchsForwardingStartsIsCutAtTheSliceEndAndResumedInOrder() {
    NetTestbed bed = new NetTestbed(new CreditScheduler(1, 0));
    Domain g2 = bed.hv.createHvmDomain("g2", DomainMode.PVH, 4);
    String mac2 = "00:16:3e:00:00:02";
    VifNodes.create(bed.xs, g2.domid(), 0, mac2, "br0");
    VifBackend vif2 = VifBackend.start(bed.xs, bed.hv.control(), bed.hv.costModel(),
        g2.domid(), 0, mac2);
    JavaNetfront front2 = new JavaNetfront(bed.hv, bed.xs, g2, 0);
    LearningSwitch br0 = new LearningSwitch("br0", true, bed.hv::now);
    br0.connect(bed.backend);
    br0.connect(vif2);
    assertThat(bed.front.connect()).isEqualTo(XenbusState.CONNECTED);
    assertThat(front2.connect()).isEqualTo(XenbusState.CONNECTED);

    List<byte[]> sent = new ArrayList<>();
    for (int i = 0; i < 2 * RING_SIZE - 1; i++) {
      byte[] f = NetTestbed.frame(PAGE_SIZE, 2000 + i);
      sent.add(f);
      vif2.deliver(f, 0, f.length);
    }
    assertThat(vif2.ring().rxQueued()).isEqualTo(RING_SIZE - 1);
    byte[] last = NetTestbed.frame(PAGE_SIZE, 5000);
    sent.add(last);
    bed.front.queueFrame(last, 0, 0, 0);
    bed.front.publish();
    front2.poll();
    assertThat(front2.takeReceived()).hasSize(RING_SIZE);
    bed.hv.run(Hypervisor.HZ / 100);
    front2.poll();
    assertThat(front2.takeReceived()).extracting(JavaNetfront.RxPacket::data)
        .containsExactlyElementsOf(sent.subList(RING_SIZE, 2 * RING_SIZE));
    assertThat(bed.front.poll()).extracting(JavaNetfront.TxResponse::status)
        .containsExactly(RSP_OKAY);
    assertThat(br0.stats().frames).isEqualTo(1);
    assertThat(bed.backend.stats().txPackets).isEqualTo(1);
    assertThat(bed.backend.stats().preemptions).isZero();
    NetStats s2 = vif2.stats();
    assertThat(s2.rxPackets).isEqualTo(2 * RING_SIZE);
    assertThat(s2.rxDropped).isZero();
    assertThat(s2.preemptions).isEqualTo(1);
    assertThat(bed.hv.control().work().preemptions()).isEqualTo(1);
    assertThat(vif2.ring().rxQueued()).isZero();
    assertThat(bed.hv.control().hasWork()).isFalse();
  }
}
