package org.hospes.dom0.backend.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.Netif.*;

import java.util.List;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.net.L4Checksum;
import org.hospes.dom0.xenstore.XsMessage;
import org.hospes.dom0.xenstore.XsWire;
import org.junit.jupiter.api.Test;

/**
 * netback against a Java netfront: xenbus, both rings, offloads, and hostile frontends. The
 * timeout turns a backend that loops on a hostile ring into a failure.
 */
@org.junit.jupiter.api.Timeout(60)
class NetbackTest {

  private NetTestbed connected() {
    NetTestbed b = new NetTestbed();
    assertThat(b.front.connect()).isEqualTo(XenbusState.CONNECTED);
    return b;
  }

  @Test
  void ringSlotsAndLayoutsAreNetifHsX86_32Ones() {
    assertThat(txSlot(0)).isEqualTo(64);
    assertThat(txSlot(1)).isEqualTo(76);
    assertThat(txSlot(256)).isEqualTo(64);
    assertThat(rxSlot(255)).isEqualTo(64 + 255 * 8);
    assertThat(64 + RING_SIZE * TX_ENTRY_SIZE).isLessThanOrEqualTo(4096);
    assertThat(NETTXF_CSUM_BLANK).isEqualTo(NETRXF_CSUM_BLANK >> 1);
    assertThat(NETTXF_DATA_VALIDATED).isEqualTo(NETRXF_DATA_VALIDATED << 1);
  }

  @Test
  void handshakeOffersRxCopyAndSgThenConnectsWhenTheFrontendSaysConnected() {
    NetTestbed b = new NetTestbed();
    String be = VifNodes.backendPath(b.guest.domid(), 0);
    String fe = VifNodes.frontendPath(b.guest.domid(), 0);
    assertThat(b.backend.state()).isEqualTo(XenbusState.INIT_WAIT);
    assertThat(b.xs.read(be + "/state")).isEqualTo("2");
    assertThat(b.xs.read(be + "/feature-rx-copy")).isEqualTo("1");
    assertThat(b.xs.read(be + "/feature-sg")).isEqualTo("1");
    assertThat(b.xs.read(be + "/feature-gso-tcpv4")).isEqualTo("0");
    assertThat(b.xs.read(be + "/multi-queue-max-queues")).isNull();
    assertThat(b.xs.read(be + "/mac")).isEqualTo(NetTestbed.MAC);
    assertThat(b.xs.read(fe + "/mac")).isEqualTo(NetTestbed.MAC);
    assertThat(b.xs.read(fe + "/backend")).isEqualTo(be);
    assertThat(b.xs.read(be + "/frontend")).isEqualTo(fe);
    assertThat(b.xs.read(be + "/handle")).isEqualTo("0");
    // Initialised alone does not connect: netback waits for Connected.
    b.front.write(fe + "/state", XenbusState.INITIALISED.text());
    assertThat(b.backend.state()).isEqualTo(XenbusState.INIT_WAIT);
    assertThat(b.front.connect()).isEqualTo(XenbusState.CONNECTED);
    assertThat(b.backend.ring()).isNotNull();
  }

  @Test
  void directoriesBelongToTheirSideAndTheOtherMayRead() {
    NetTestbed b = new NetTestbed();
    int g = b.guest.domid();
    XsMessage bePerms = b.xs.request(XsWire.GET_PERMS, VifNodes.backendPath(g, 0) + "\0");
    assertThat(bePerms.fields()).containsExactly("n0", "r" + g);
    XsMessage fePerms = b.xs.request(XsWire.GET_PERMS, VifNodes.frontendPath(g, 0) + "\0");
    assertThat(fePerms.fields()).containsExactly("n" + g, "r0");
    // The guest cannot rewrite the backend's mac.
    assertThat(b.front.write(VifNodes.backendPath(g, 0) + "/mac", "00:00:00:00:00:00"))
        .isEqualTo("EACCES");
  }

  @Test
  void aFrontendWithoutRxCopyIsRefusedWithAnError() {
    NetTestbed b = new NetTestbed();
    String fe = b.front.frontendPath();
    b.front.write(fe + "/tx-ring-ref", "8");
    b.front.write(fe + "/rx-ring-ref", "9");
    b.front.write(fe + "/event-channel", "1");
    b.front.write(fe + "/request-rx-copy", "0");
    b.front.write(fe + "/state", XenbusState.CONNECTED.text());
    assertThat(b.backend.state()).isEqualTo(XenbusState.CLOSING);
    assertThat(b.xs.read(b.front.backendPath() + "/error")).contains("request-rx-copy");
  }

  @Test
  void aOneSlotFrameReachesTheSwitchAndIsAnsweredOkay() {
    NetTestbed b = connected();
    byte[] f = NetTestbed.frame(60, 1);
    List<JavaNetfront.TxResponse> r = b.front.send(f, 0);
    assertThat(r).containsExactly(new JavaNetfront.TxResponse(0, RSP_OKAY));
    assertThat(b.out).hasSize(1);
    assertThat(b.out.get(0)).isEqualTo(f);
    assertThat(b.backend.stats().txPackets).isEqualTo(1);
    assertThat(b.hv.control().counters().grantCopies).isGreaterThanOrEqualTo(1);
  }

  @Test
  void aScatterGatherFrameOverFourSlotsIsReassembledInOrder() {
    NetTestbed b = connected();
    byte[] f = NetTestbed.frame(9000, 2);
    // Start near the end of a page, as an skb's head often does.
    int slots = b.front.queueFrame(f, 0, 3, 4000);
    assertThat(slots).isEqualTo(4);
    List<JavaNetfront.TxResponse> r = b.front.kick();
    assertThat(r).hasSize(4).allMatch(x -> x.status() == RSP_OKAY);
    assertThat(r).extracting(JavaNetfront.TxResponse::id).containsExactly(0, 1, 2, 3);
    assertThat(b.out).hasSize(1);
    assertThat(b.out.get(0)).isEqualTo(f);
  }

  /** A UDP/IPv4 frame whose checksum field holds garbage (what csum_blank leaves there). */
  static byte[] udpFrame(int payload) {
    byte[] f = new byte[14 + 20 + 8 + payload];
    f[12] = 0x08;
    f[14] = 0x45;
    int total = 20 + 8 + payload;
    f[16] = (byte) (total >> 8);
    f[17] = (byte) total;
    f[22] = 64;
    f[23] = 17;
    byte[] src = {10, 0, 0, 1};
    byte[] dst = {10, 0, 0, 2};
    System.arraycopy(src, 0, f, 26, 4);
    System.arraycopy(dst, 0, f, 30, 4);
    f[34] = 0x30;
    f[35] = 0x39;
    f[36] = 0x00;
    f[37] = 0x35;
    f[38] = (byte) ((8 + payload) >> 8);
    f[39] = (byte) (8 + payload);
    f[40] = 0x12;
    f[41] = 0x34;
    for (int i = 0; i < payload; i++) {
      f[42 + i] = (byte) (i * 7);
    }
    return f;
  }

  @Test
  void aBlankChecksumIsFilledInBeforeTheFrameLeaves() {
    NetTestbed b = connected();
    byte[] f = udpFrame(100);
    b.front.send(f, NETTXF_CSUM_BLANK | NETTXF_DATA_VALIDATED);
    byte[] got = b.out.get(0);
    assertThat(L4Checksum.verify(got, 0, got.length)).isTrue();
    // A value worked by hand for this packet (RFC 1071 over pseudo-header and segment).
    long s = 0x0A00 + 0x0001 + 0x0A00 + 0x0002 + 17 + 108 + 0x3039 + 0x0035 + 108;
    for (int i = 0; i < 100; i += 2) {
      s += ((i * 7) & 0xFF) << 8 | (((i + 1) * 7) & 0xFF);
    }
    while (s > 0xFFFF) {
      s = (s & 0xFFFF) + (s >> 16);
    }
    assertThat(((got[40] & 0xFF) << 8) | (got[41] & 0xFF)).isEqualTo((int) (~s & 0xFFFF));
    assertThat(b.backend.stats().csumFilled).isEqualTo(1);
    // Without the flag the checksum is left as the guest wrote it.
    b.front.send(f, 0);
    assertThat(b.out.get(1)[40]).isEqualTo((byte) 0x12);
  }

  @Test
  void aBlankChecksumOnSomethingNotTcpOrUdpIsAnsweredOkayAndDropped() {
    NetTestbed b = connected();
    List<JavaNetfront.TxResponse> r = b.front.send(NetTestbed.frame(80, 3), NETTXF_CSUM_BLANK);
    assertThat(r).containsExactly(new JavaNetfront.TxResponse(0, RSP_OKAY));
    assertThat(b.out).isEmpty();
    assertThat(b.backend.stats().txDropped).isEqualTo(1);
  }

  @Test
  void framesFromTheSwitchFillPostedBuffersByGrantCopy() {
    NetTestbed b = connected();
    byte[] small = NetTestbed.frame(1514, 4);
    byte[] big = NetTestbed.frame(9000, 5);
    b.backend.deliver(small, 0, small.length);
    b.backend.deliver(big, 0, big.length);
    b.front.poll();
    List<JavaNetfront.RxPacket> got = b.front.takeReceived();
    assertThat(got).hasSize(2);
    assertThat(got.get(0).data()).isEqualTo(small);
    assertThat(got.get(0).slots()).isEqualTo(1);
    assertThat(got.get(1).data()).isEqualTo(big);
    assertThat(got.get(1).slots()).isEqualTo(3);
    assertThat(got.get(0).flags() & (NETRXF_CSUM_BLANK | NETRXF_EXTRA_INFO)).isZero();
    assertThat(b.backend.stats().rxPackets).isEqualTo(2);
  }

  @Test
  void withoutFeatureSgAFrameLargerThanAPageIsDropped() {
    NetTestbed b = new NetTestbed();
    assertThat(b.front.connect(false)).isEqualTo(XenbusState.CONNECTED);
    byte[] big = NetTestbed.frame(5000, 6);
    b.backend.deliver(big, 0, big.length);
    b.front.poll();
    assertThat(b.front.takeReceived()).isEmpty();
    assertThat(b.backend.stats().rxDropped).isEqualTo(1);
  }

  @Test
  void framesWaitForBuffersAndArriveWhenTheFrontendPostsMore() {
    NetTestbed b = new NetTestbed();
    b.front.connect();
    // 256 buffers posted; 300 frames: 256 land, 44 wait in the queue.
    for (int i = 0; i < 300; i++) {
      byte[] f = NetTestbed.frame(100, 100 + i);
      b.backend.deliver(f, 0, f.length);
    }
    assertThat(b.backend.ring().rxQueued()).isEqualTo(44);
    // Polling refills the ring and notifies dom0, which delivers the rest.
    b.front.poll();
    b.hv.control().serve(b.hv.now());
    b.front.poll();
    List<JavaNetfront.RxPacket> got = b.front.takeReceived();
    assertThat(got).hasSize(300);
    assertThat(got.get(299).data()).isEqualTo(NetTestbed.frame(100, 399));
    assertThat(b.backend.ring().rxQueued()).isZero();
  }

  @Test
  void framesForAnUnconnectedGuestAreDroppedAndCounted() {
    NetTestbed b = new NetTestbed();
    byte[] f = NetTestbed.frame(64, 7);
    b.backend.deliver(f, 0, f.length);
    assertThat(b.backend.stats().rxDropped).isEqualTo(1);
  }

  @Test
  void hostileTransmitsGetLinuxNetbacksErrorAnswers() {
    NetTestbed b = connected();
    // A bad grant (not granted at all).
    b.front.putTx(400, 0, 0, 1, 60);
    assertThat(b.front.kick()).containsExactly(new JavaNetfront.TxResponse(1, RSP_ERROR));
    // A grant for another domain.
    b.front.rawGrant(401, GrantTableOp.GTF_PERMIT_ACCESS, 5, JavaNetfront.TX_GFN);
    b.front.putTx(401, 0, 0, 2, 60);
    assertThat(b.front.kick()).containsExactly(new JavaNetfront.TxResponse(2, RSP_ERROR));
    // Shorter than an Ethernet header.
    b.front.putTx(JavaNetfront.TX_REF, 0, 0, 3, 10);
    assertThat(b.front.kick()).containsExactly(new JavaNetfront.TxResponse(3, RSP_ERROR));
    // A following slot larger than the packet's size.
    b.front.putTx(JavaNetfront.TX_REF, 0, NETTXF_MORE_DATA, 4, 100);
    b.front.putTx(JavaNetfront.TX_REF + 1, 0, 0, 5, 200);
    assertThat(b.front.kick()).containsExactly(new JavaNetfront.TxResponse(4, RSP_ERROR),
        new JavaNetfront.TxResponse(5, RSP_ERROR));
    // 19 following slots (20 in all): dropped, not fatal.
    b.front.putTx(JavaNetfront.TX_REF, 0, NETTXF_MORE_DATA, 6, 19 * 10 + 20);
    for (int i = 0; i < 19; i++) {
      b.front.putTx(JavaNetfront.TX_REF + 1, 0, i < 18 ? NETTXF_MORE_DATA : 0, 7 + i, 10);
    }
    assertThat(b.front.kick()).hasSize(20).allMatch(r -> r.status() == RSP_ERROR);
    // A GSO packet (GSO was not offered): refused, the extra slot answered NULL.
    b.front.putTx(JavaNetfront.TX_REF, 0, NETTXF_EXTRA_INFO, 30, 60);
    b.front.putExtra(EXTRA_TYPE_GSO, 0, new byte[] {(byte) 0xB4, 0x05, GSO_TYPE_TCPV4});
    assertThat(b.front.kick()).containsExactly(new JavaNetfront.TxResponse(30, RSP_ERROR),
        new JavaNetfront.TxResponse(0, RSP_NULL));
    // A multicast add is a control request: OKAY, no packet.
    b.front.putTx(JavaNetfront.TX_REF, 0, NETTXF_EXTRA_INFO, 31, 0);
    b.front.putExtra(EXTRA_TYPE_MCAST_ADD, 0, new byte[] {1, 0, 0x5e, 0, 0, 1});
    assertThat(b.front.kick()).containsExactly(new JavaNetfront.TxResponse(31, RSP_OKAY),
        new JavaNetfront.TxResponse(0, RSP_NULL));
    assertThat(b.out).isEmpty();
    // The ring still works.
    byte[] f = NetTestbed.frame(60, 8);
    assertThat(b.front.send(f, 0)).containsExactly(new JavaNetfront.TxResponse(0, RSP_OKAY));
    assertThat(b.out).hasSize(1);
    assertThat(b.backend.state()).isEqualTo(XenbusState.CONNECTED);
    assertThat(b.hv.control().handlerFailures()).isZero();
  }

  private void assertFatal(NetTestbed b, String reason) {
    assertThat(b.backend.state()).isEqualTo(XenbusState.CLOSING);
    assertThat(b.backend.lastError()).contains(reason);
    assertThat(b.xs.read(b.front.backendPath() + "/error")).contains(reason);
    assertThat(b.hv.control().handlerFailures()).isZero();
    // Closing the frontend releases everything.
    b.front.close();
    assertThat(b.backend.state()).isEqualTo(XenbusState.CLOSED);
    assertThat(b.hv.control().liveGrantMaps()).isZero();
  }

  @Test
  void aRunawayTxProducerDisconnectsTheFrontend() {
    NetTestbed b = connected();
    b.front.setTxReqProd(RING_SIZE + 1);
    b.front.forceEvent();
    assertFatal(b, "Impossible number of requests");
  }

  @Test
  void aTxProducerBehindTheConsumerDisconnectsToo() {
    NetTestbed b = connected();
    b.front.send(NetTestbed.frame(60, 9), 0);
    b.front.setTxReqProd(-5);
    b.front.forceEvent();
    assertFatal(b, "Impossible number of requests");
  }

  @Test
  void aRunawayRxProducerDisconnectsTheFrontend() {
    NetTestbed b = connected();
    b.front.setRxReqProd(1000);
    byte[] f = NetTestbed.frame(60, 10);
    b.backend.deliver(f, 0, f.length);
    assertFatal(b, "Impossible number of rx requests");
  }

  @Test
  void twentyOneSlotsIsMalicious() {
    NetTestbed b = connected();
    b.front.putTx(JavaNetfront.TX_REF, 0, NETTXF_MORE_DATA, 1, 1000);
    for (int i = 0; i < 21; i++) {
      b.front.putTx(JavaNetfront.TX_REF + 1, 0, NETTXF_MORE_DATA, 2 + i, 10);
    }
    b.front.kick();
    assertFatal(b, "Malicious frontend");
  }

  @Test
  void aChainPastTheProducerOrASlotCrossingItsPageIsFatal() {
    NetTestbed b = connected();
    b.front.putTx(JavaNetfront.TX_REF, 0, NETTXF_MORE_DATA, 1, 100);
    b.front.kick();
    assertFatal(b, "producer");
    NetTestbed c = connected();
    c.front.putTx(JavaNetfront.TX_REF, 4000, 0, 1, 200);
    c.front.kick();
    assertFatal(c, "Cross page boundary");
    NetTestbed d = connected();
    d.front.putTx(JavaNetfront.TX_REF, 0, NETTXF_EXTRA_INFO, 1, 60);
    d.front.putExtra(9, 0, new byte[0]);
    d.front.kick();
    assertFatal(d, "Bad extra info type");
  }

  @Test
  void aBadReceiveBufferGrantGetsAnErrorResponseAndTheNextFrameStillArrives() {
    NetTestbed b = new NetTestbed();
    b.front.connect();
    // Revoke buffer 0's grant: the first frame lands there.
    b.front.rawGrant(JavaNetfront.RX_REF, 0, 0, JavaNetfront.RX_GFN);
    byte[] f1 = NetTestbed.frame(100, 11);
    byte[] f2 = NetTestbed.frame(100, 12);
    b.backend.deliver(f1, 0, f1.length);
    b.backend.deliver(f2, 0, f2.length);
    b.front.poll();
    List<JavaNetfront.RxPacket> got = b.front.takeReceived();
    assertThat(got).hasSize(2);
    assertThat(got.get(0).data()).isNull();
    assertThat(got.get(1).data()).isEqualTo(f2);
    assertThat(b.backend.stats().rxErrors).isEqualTo(1);
    assertThat(b.backend.state()).isEqualTo(XenbusState.CONNECTED);
  }

  @Test
  void aReadOnlyReceiveBufferIsNotWritten() {
    NetTestbed b = new NetTestbed();
    b.front.connect();
    b.front.grant(JavaNetfront.RX_REF, JavaNetfront.RX_GFN, true);
    byte[] before = new byte[4096];
    b.guest.memory().read(JavaNetfront.RX_GFN << 12, before, 0, 4096);
    byte[] f = NetTestbed.frame(100, 15);
    b.backend.deliver(f, 0, f.length);
    b.front.poll();
    assertThat(b.front.takeReceived()).extracting(JavaNetfront.RxPacket::data).containsNull();
    byte[] after = new byte[4096];
    b.guest.memory().read(JavaNetfront.RX_GFN << 12, after, 0, 4096);
    assertThat(after).isEqualTo(before);
  }

  @Test
  void dom0sGrantCopyStopsAtThePageEndAndAtReadOnlyGrants() {
    NetTestbed b = connected();
    byte[] buf = new byte[200];
    java.util.Arrays.fill(buf, (byte) 0x5A);
    int g = b.guest.domid();
    var control = b.hv.control();
    // One byte past the page, as source and as destination.
    assertThat(control.copyGrant(g, JavaNetfront.RX_REF, 4000, buf, 0, 97, true))
        .isEqualTo(GrantTableOp.GNTST_BAD_COPY_ARG);
    assertThat(control.copyGrant(g, JavaNetfront.TX_REF, 4000, buf, 0, 97, false))
        .isEqualTo(GrantTableOp.GNTST_BAD_COPY_ARG);
    assertThat(control.copyGrant(g, JavaNetfront.RX_REF, 4000, buf, 0, 96, true))
        .isEqualTo(GrantTableOp.GNTST_OKAY);
    // Past the end of dom0's own buffer.
    assertThat(control.copyGrant(g, JavaNetfront.RX_REF, 0, buf, 150, 51, true))
        .isEqualTo(GrantTableOp.GNTST_BAD_COPY_ARG);
    // tx pages are granted read-only: readable, not writable.
    assertThat(control.copyGrant(g, JavaNetfront.TX_REF, 0, buf, 0, 10, false))
        .isEqualTo(GrantTableOp.GNTST_OKAY);
    assertThat(control.copyGrant(g, JavaNetfront.TX_REF, 0, buf, 0, 10, true))
        .isEqualTo(GrantTableOp.GNTST_GENERAL_ERROR);
    // A grant of another domain's table, and a domain that does not exist.
    assertThat(control.copyGrant(g + 7, JavaNetfront.RX_REF, 0, buf, 0, 10, true))
        .isEqualTo(GrantTableOp.GNTST_BAD_DOMAIN);
  }

  @Test
  void hotUnplugClosesAndRemovesBothDirectories() {
    NetTestbed b = connected();
    b.backend.unplug();
    assertThat(b.front.backendState()).isEqualTo(XenbusState.CLOSING);
    b.front.close();
    assertThat(b.backend.removed()).isTrue();
    assertThat(b.xs.read(VifNodes.backendPath(b.guest.domid(), 0) + "/state")).isNull();
    assertThat(b.xs.read(VifNodes.frontendPath(b.guest.domid(), 0) + "/mac")).isNull();
    assertThat(b.hv.control().liveGrantMaps()).isZero();
  }

  @Test
  void aRestartedBackendServesTheFrontendAgain() {
    NetTestbed b = connected();
    b.backend.stop();
    assertThat(b.front.backendState()).isEqualTo(XenbusState.CLOSED);
    VifBackend again = VifBackend.start(b.xs, b.hv.control(), b.hv.costModel(),
        b.guest.domid(), 0, NetTestbed.MAC);
    java.util.List<byte[]> out = new java.util.ArrayList<>();
    again.attach((from, f, o, l) -> out.add(java.util.Arrays.copyOfRange(f, o, o + l)));
    assertThat(b.front.reconnect()).isEqualTo(XenbusState.CONNECTED);
    byte[] f = NetTestbed.frame(60, 13);
    assertThat(b.front.send(f, 0)).containsExactly(new JavaNetfront.TxResponse(0, RSP_OKAY));
    assertThat(out).hasSize(1);
  }

  @Test
  void aGuestThatDiesLosesItsVifNotDom0() {
    NetTestbed b = connected();
    b.front.putTx(JavaNetfront.TX_REF, 0, 0, 1, 60);
    b.hv.destroy(b.guest, "test");
    b.hv.control().serve(b.hv.now());
    assertThat(b.backend.removed()).isTrue();
    assertThat(b.hv.control().liveGrantMaps()).isZero();
    byte[] f = NetTestbed.frame(60, 14);
    b.backend.deliver(f, 0, f.length);
    assertThat(b.hv.control().handlerFailures()).isZero();
  }
}
