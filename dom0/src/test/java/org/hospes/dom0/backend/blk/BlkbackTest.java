package org.hospes.dom0.backend.blk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.Blkif.*;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.xenstore.XsMessage;
import org.hospes.dom0.xenstore.XsWire;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.CreditScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** blkback against a Java blkfront: xenbus, the ring, every operation and its refusals. */
class BlkbackTest {
  @TempDir
  Path dir;

  private BlkTestbed bed(boolean readOnly) throws Exception {
    return new BlkTestbed(BlkTestbed.rawImage(dir, 1, readOnly));
  }

  @Test
  void xvdaIsDevid51712AsXlComputesIt() {
    assertThat(devidOf("xvda")).isEqualTo(51712);
    assertThat(devidOf("xvdb")).isEqualTo(51728);
    assertThat(devidOf("hda")).isEqualTo(-1);
  }

  @Test
  void handshakeGoesInitWaitToConnectedWithXensKeys() throws Exception {
    BlkTestbed b = bed(false);
    String be = VbdNodes.backendPath(b.guest.domid(), BlkTestbed.XVDA);
    assertThat(b.backend.state()).isEqualTo(XenbusState.INIT_WAIT);
    assertThat(b.xs.read(be + "/state")).isEqualTo("2");
    assertThat(b.xs.read(be + "/feature-max-indirect-segments")).isEqualTo("256");
    assertThat(b.xs.read(be + "/multi-queue-max-queues")).isEqualTo("1");
    assertThat(b.xs.read(be + "/mode")).isEqualTo("w");
    assertThat(b.front.connect(true)).isEqualTo(XenbusState.CONNECTED);
    assertThat(b.xs.read(be + "/sectors")).isEqualTo("2048");
    assertThat(b.xs.read(be + "/sector-size")).isEqualTo("512");
    assertThat(b.xs.read(be + "/info")).isEqualTo("0");
    for (String k : new String[] {"feature-flush-cache", "feature-barrier", "feature-discard",
        "feature-persistent"}) {
      assertThat(b.xs.read(be + "/" + k)).as(k).isEqualTo("1");
    }
    assertThat(b.front.frontendState()).isEqualTo(XenbusState.CONNECTED);
    assertThat(b.front.persistent()).isTrue();
    assertThat(b.front.maxIndirectSegments()).isEqualTo(256);
  }

  @Test
  void directoriesHaveXlsOwnersAndReaders() throws Exception {
    BlkTestbed b = bed(false);
    int g = b.guest.domid();
    String be = VbdNodes.backendPath(g, BlkTestbed.XVDA);
    String fe = VbdNodes.frontendPath(g, BlkTestbed.XVDA);
    assertThat(perms(b, be)).isEqualTo("n0\0r" + g + "\0");
    assertThat(perms(b, fe)).isEqualTo("n" + g + "\0r0\0");
    // The guest reads the backend's keys but cannot change them.
    assertThat(b.front.read(be + "/state")).isEqualTo("2");
    assertThat(b.front.write(be + "/sectors", "99999")).isEqualTo("EACCES");
    // Another guest sees neither directory.
    Domain other = b.hv.createHvmDomain("h", DomainMode.PVH, 2);
    java.util.List<XsMessage> out = new java.util.ArrayList<>();
    var c = new org.hospes.dom0.xenstore.Xenstored.Connection(other.domid(), out::add);
    b.xs.store().handle(c, XsMessage.of(XsWire.READ, 1, 0, fe + "/state\0"));
    b.xs.store().handle(c, XsMessage.of(XsWire.READ, 2, 0, be + "/state\0"));
    assertThat(out).extracting(XsMessage::type).containsExactly(XsWire.ERROR, XsWire.ERROR);
  }

  private static String perms(BlkTestbed b, String path) {
    return b.xs.request(XsWire.GET_PERMS, path + "\0").text();
  }

  @Test
  void writesReachTheImageAndReadsComeBack() throws Exception {
    BlkTestbed b = bed(false);
    b.front.connect(true);
    byte[] pattern = new byte[3 * 4096];
    new Random(7).nextBytes(pattern);
    for (int i = 0; i < 3; i++) {
      b.front.fill(i, pattern, i * 4096);
    }
    assertThat(b.front.io(OP_WRITE, 8, 3)).isEqualTo(RSP_OKAY);
    byte[] onDisk = new byte[3 * 4096];
    b.disk.read(8 * 512, onDisk, 0, onDisk.length);
    assertThat(onDisk).isEqualTo(pattern);
    for (int i = 0; i < 3; i++) {
      b.front.fill(i, new byte[4096], 0);
    }
    assertThat(b.front.io(OP_READ, 8, 3)).isEqualTo(RSP_OKAY);
    byte[] back = new byte[3 * 4096];
    for (int i = 0; i < 3; i++) {
      b.front.copyOut(i, back, i * 4096);
    }
    assertThat(back).isEqualTo(pattern);
    assertThat(b.front.io(OP_FLUSH_DISKCACHE, 0, 0)).isEqualTo(RSP_OKAY);
    assertThat(b.front.io(OP_WRITE_BARRIER, 8, 1)).isEqualTo(RSP_OKAY);
    BlkStats s = b.backend.stats();
    assertThat(s.bytesWritten).isEqualTo(4 * 4096);
    assertThat(s.bytesRead).isEqualTo(3 * 4096);
    assertThat(s.flushes).isEqualTo(2);
  }

  /**
   * A full ring of 64-page writes takes dom0 about a millisecond; with 1 ms timeslices (ticks
   * every third of one) its slices end inside the ring. blkback stops between two requests,
   * pushes the responses it has made, and serves the rest from the same req_cons in dom0's next
   * slice: every request is answered once, in order, for the one event the frontend sent, and
   * the data is on the disk.
   */
  @Test
  void aRingLongerThanDom0sSliceIsServedRequestByRequestAcrossSlices() throws Exception {
    BlkTestbed b = new BlkTestbed(BlkTestbed.rawImage(dir, 16, false), true, true,
        new CreditScheduler(1, 0));
    b.front.connect(true);
    byte[] pattern = new byte[4096];
    for (int i = 0; i < 64; i++) {
      new Random(i).nextBytes(pattern);
      b.front.fill(i, pattern, 0);
    }
    long[] ids = new long[RING_SIZE];
    for (int i = 0; i < RING_SIZE; i++) {
      ids[i] = b.front.queue(OP_WRITE, (long) i * 64 * 8, 64);
    }
    long eventsBefore = b.backend.stats().events;
    b.front.push();
    b.hv.run(Hypervisor.HZ / 100);
    List<JavaBlkfront.Response> rs = b.front.responses();
    assertThat(rs).extracting(JavaBlkfront.Response::id)
        .containsExactly(Arrays.stream(ids).boxed().toArray(Long[]::new));
    assertThat(rs).allSatisfy(r -> assertThat(r.status()).isEqualTo(RSP_OKAY));
    BlkStats s = b.backend.stats();
    assertThat(s.preemptions).isPositive();
    assertThat(s.requests).isEqualTo(RING_SIZE);
    assertThat(s.events - eventsBefore).isEqualTo(1);
    assertThat(s.bytesWritten).isEqualTo((long) RING_SIZE * 64 * 4096);
    byte[] onDisk = new byte[4096];
    b.disk.read(((long) (RING_SIZE - 1) * 64 + 63) * 4096, onDisk, 0, 4096);
    new Random(63).nextBytes(pattern);
    assertThat(onDisk).isEqualTo(pattern);
    assertThat(b.hv.control().work().preemptions()).isEqualTo(s.preemptions);
    assertThat(b.hv.control().hasWork()).isFalse();
  }

  @Test
  void persistentGrantsAreMappedOnceAndIndirectRequestsCarry64Pages() throws Exception {
    BlkTestbed b = bed(false);
    b.front.connect(true);
    assertThat(b.front.io(OP_WRITE, 0, 64)).isEqualTo(RSP_OKAY);
    BlkStats s = b.backend.stats();
    assertThat(s.indirectRequests).isEqualTo(1);
    assertThat(s.grantMaps).isEqualTo(65);
    assertThat(b.backend.ring().persistentGrants()).isEqualTo(65);
    assertThat(b.front.io(OP_READ, 0, 64)).isEqualTo(RSP_OKAY);
    s = b.backend.stats();
    assertThat(s.grantMaps).isEqualTo(65);
    assertThat(s.persistentHits).isEqualTo(65);
    // The granter sees its entries in use while dom0 keeps them.
    assertThat(b.guest.grantTables().entryFlags(JavaBlkfront.DATA_REF) & GrantTableOp.GTF_READING)
        .isNotZero();
    b.front.close();
    assertThat(b.backend.state()).isEqualTo(XenbusState.CLOSED);
    assertThat(b.hv.control().liveGrantMaps()).isZero();
    assertThat(b.guest.grantTables().entryFlags(JavaBlkfront.DATA_REF)
        & (GrantTableOp.GTF_READING | GrantTableOp.GTF_WRITING)).isZero();
  }

  @Test
  void withoutPersistentGrantsEverySegmentIsMappedAndUnmapped() throws Exception {
    BlkTestbed b = bed(false);
    b.front.connect(false);
    assertThat(b.front.io(OP_WRITE, 0, 11)).isEqualTo(RSP_OKAY);
    assertThat(b.front.io(OP_READ, 0, 11)).isEqualTo(RSP_OKAY);
    BlkStats s = b.backend.stats();
    assertThat(s.grantMaps).isEqualTo(22);
    assertThat(s.grantUnmaps).isEqualTo(22);
    assertThat(b.hv.control().liveGrantMaps()).isEqualTo(1); // the ring
  }

  @Test
  void discardIsDoneSecureDiscardIsNotSupported() throws Exception {
    BlkTestbed b = bed(false);
    b.front.connect(true);
    assertThat(b.front.discard(0, 16, false)).isEqualTo(RSP_OKAY);
    assertThat(b.front.discard(0, 16, true)).isEqualTo(RSP_EOPNOTSUPP);
    assertThat(b.front.discard(2040, 9, false)).isEqualTo(RSP_ERROR);
    assertThat(b.front.discard(-1L, 2, false)).isEqualTo(RSP_ERROR);
  }

  @Test
  void readOnlyDisksSayVdiskReadonlyAndRefuseWrites() throws Exception {
    BlkTestbed b = bed(false);
    b.disk.close();
    BlkTestbed ro = new BlkTestbed(BlkTestbed.rawImage(dir, 1, true));
    String be = VbdNodes.backendPath(ro.guest.domid(), BlkTestbed.XVDA);
    ro.front.connect(true);
    assertThat(ro.xs.read(be + "/mode")).isEqualTo("r");
    assertThat(ro.xs.read(be + "/info")).isEqualTo(Integer.toString(VDISK_READONLY));
    assertThat(ro.front.readOnly()).isTrue();
    assertThat(ro.front.io(OP_READ, 0, 1)).isEqualTo(RSP_OKAY);
    assertThat(ro.front.io(OP_WRITE, 0, 1)).isEqualTo(RSP_ERROR);
    assertThat(ro.front.io(OP_FLUSH_DISKCACHE, 0, 0)).isEqualTo(RSP_ERROR);
    assertThat(ro.front.discard(0, 8, false)).isEqualTo(RSP_ERROR);
  }

  private static byte[] rw(int op, int nseg, long sector) {
    byte[] r = new byte[ENTRY_SIZE];
    r[REQ_OPERATION] = (byte) op;
    r[REQ_NR_SEGMENTS] = (byte) nseg;
    JavaBlkfront.putLong(r, REQ_ID, 0x1234_5678_9ABCL);
    JavaBlkfront.putLong(r, REQ_SECTOR, sector);
    for (int i = 0; i < Math.min(nseg, MAX_SEGMENTS_PER_REQUEST); i++) {
      JavaBlkfront.putSeg(r, REQ_SEG + i * SEG_SIZE, JavaBlkfront.DATA_REF + i, 0, 7);
    }
    return r;
  }

  private static int answer(BlkTestbed b, byte[] req) {
    b.front.putRaw(req);
    var rs = b.front.kick();
    assertThat(rs).hasSize(1);
    assertThat(rs.get(0).id()).isEqualTo(idOf(req));
    return rs.get(0).status();
  }

  private static long idOf(byte[] r) {
    long id = 0;
    for (int i = 7; i >= 0; i--) {
      id = id << 8 | (r[REQ_ID + i] & 0xFF);
    }
    return id;
  }

  @Test
  void hostileRequestsGetLinuxBlkbacksAnswers() throws Exception {
    BlkTestbed b = bed(false);
    b.front.connect(false);
    assertThat(answer(b, rw(OP_READ, 1, 2048))).as("past the end").isEqualTo(RSP_ERROR);
    assertThat(answer(b, rw(OP_READ, 2, 2047))).as("straddles the end").isEqualTo(RSP_ERROR);
    assertThat(answer(b, rw(OP_READ, 1, -4L))).as("wraps").isEqualTo(RSP_ERROR);
    assertThat(answer(b, rw(OP_READ, 12, 0))).as("12 segments").isEqualTo(RSP_ERROR);
    assertThat(answer(b, rw(OP_WRITE, 0, 0))).as("no segments").isEqualTo(RSP_ERROR);
    byte[] r = rw(OP_READ, 1, 0);
    r[REQ_SEG + SEG_LAST_SECT] = 8;
    assertThat(answer(b, r)).as("last_sect past the page").isEqualTo(RSP_ERROR);
    r = rw(OP_READ, 1, 0);
    r[REQ_SEG + SEG_FIRST_SECT] = 5;
    r[REQ_SEG + SEG_LAST_SECT] = 4;
    assertThat(answer(b, r)).as("first > last").isEqualTo(RSP_ERROR);
    assertThat(answer(b, rw(OP_RESERVED_1, 1, 0))).isEqualTo(RSP_EOPNOTSUPP);
    assertThat(answer(b, rw(200, 1, 0))).isEqualTo(RSP_EOPNOTSUPP);
    // Grants: out of the table, naming another domain, read-only for a READ, not a grant.
    r = rw(OP_READ, 1, 0);
    JavaBlkfront.putInt(r, REQ_SEG + SEG_GREF, 1 << 20);
    assertThat(answer(b, r)).isEqualTo(RSP_ERROR);
    b.front.rawGrant(300, GrantTableOp.GTF_PERMIT_ACCESS, 7, JavaBlkfront.DATA_GFN);
    r = rw(OP_READ, 1, 0);
    JavaBlkfront.putInt(r, REQ_SEG + SEG_GREF, 300);
    assertThat(answer(b, r)).isEqualTo(RSP_ERROR);
    b.front.grant(301, JavaBlkfront.DATA_GFN, true);
    JavaBlkfront.putInt(r, REQ_SEG + SEG_GREF, 301);
    assertThat(answer(b, r)).as("read into a read-only grant").isEqualTo(RSP_ERROR);
    b.front.rawGrant(302, 0, 0, JavaBlkfront.DATA_GFN);
    JavaBlkfront.putInt(r, REQ_SEG + SEG_GREF, 302);
    assertThat(answer(b, r)).isEqualTo(RSP_ERROR);
    // Indirect: a bad inner op, too many segments, a bad indirect page.
    byte[] ind = new byte[ENTRY_SIZE];
    ind[REQ_OPERATION] = OP_INDIRECT;
    ind[IND_OP] = OP_FLUSH_DISKCACHE;
    ind[IND_NR_SEGMENTS] = 1;
    JavaBlkfront.putInt(ind, IND_GREFS, JavaBlkfront.INDIRECT_REF);
    assertThat(answer(b, ind)).isEqualTo(RSP_ERROR);
    ind[IND_OP] = OP_READ;
    ind[IND_NR_SEGMENTS] = 1;
    ind[IND_NR_SEGMENTS + 1] = 1; // 257
    assertThat(answer(b, ind)).isEqualTo(RSP_ERROR);
    ind[IND_NR_SEGMENTS + 1] = 0;
    JavaBlkfront.putInt(ind, IND_GREFS, 299);
    assertThat(answer(b, ind)).isEqualTo(RSP_ERROR);
    // After all that the device still works and nothing stays mapped.
    assertThat(b.front.io(OP_WRITE, 0, 2)).isEqualTo(RSP_OKAY);
    assertThat(b.hv.control().liveGrantMaps()).isEqualTo(1);
    assertThat(b.backend.state()).isEqualTo(XenbusState.CONNECTED);
  }

  @Test
  void aProducerRunningAheadHaltsTheRingAndClosesTheDevice() throws Exception {
    BlkTestbed b = bed(false);
    b.front.connect(false);
    b.front.setReqProd(RING_SIZE + 1);
    assertThat(b.front.kick()).isEmpty();
    assertThat(b.backend.ring().haltReason()).contains("bogus ring requests");
    assertThat(b.backend.state()).isEqualTo(XenbusState.CLOSING);
    b.front.close();
    assertThat(b.backend.state()).isEqualTo(XenbusState.CLOSED);
    assertThat(b.hv.control().liveGrantMaps()).isZero();
  }

  @Test
  void aProducerBehindTheConsumerHaltsTheRingToo() throws Exception {
    BlkTestbed b = bed(false);
    b.front.connect(false);
    assertThat(b.front.io(OP_WRITE, 0, 1)).isEqualTo(RSP_OKAY);
    b.front.setReqProd(-5);
    b.front.kick();
    assertThat(b.backend.ring().haltReason()).isNotNull();
  }

  @Test
  void aGuestThatDiesWithRequestsQueuedLosesItsDeviceNotDom0() throws Exception {
    BlkTestbed b = bed(false);
    b.front.connect(true);
    assertThat(b.front.io(OP_WRITE, 0, 4)).isEqualTo(RSP_OKAY);
    b.front.queue(OP_WRITE, 0, 4);
    b.front.queue(OP_READ, 0, 4);
    // Published and notified, but dom0 has not run yet when the domain dies.
    long ring = JavaBlkfront.RING_GFN << 12;
    b.guest.memory().write32(ring + SRING_REQ_PROD, 3);
    b.guest.eventChannels().send(b.front.port());
    b.hv.destroy(b.guest, "test");
    assertThat(b.hv.control().liveGrantMaps()).isZero();
    assertThat(b.backend.removed()).isTrue();
    assertThat(b.xs.read(VbdNodes.backendPath(b.guest.domid(), BlkTestbed.XVDA))).isNull();
    assertThat(b.hv.control().serve(b.hv.now())).isGreaterThanOrEqualTo(0);
  }

  @Test
  void aSegmentGrantRevokedBeforeTheRequestIsRefused() throws Exception {
    BlkTestbed b = bed(false);
    b.front.connect(false);
    b.front.rawGrant(JavaBlkfront.DATA_REF, 0, 0, JavaBlkfront.DATA_GFN);
    assertThat(b.front.io(OP_READ, 0, 1)).isEqualTo(RSP_ERROR);
    b.front.grant(JavaBlkfront.DATA_REF, JavaBlkfront.DATA_GFN, false);
    assertThat(b.front.io(OP_READ, 0, 1)).isEqualTo(RSP_OKAY);
  }

  @Test
  void hotUnplugClosesBothEndsAndRemovesTheDevice() throws Exception {
    BlkTestbed b = bed(false);
    b.front.connect(true);
    b.backend.unplug();
    assertThat(b.front.backendState()).isEqualTo(XenbusState.CLOSING);
    b.front.close();
    assertThat(b.backend.state()).isEqualTo(XenbusState.CLOSED);
    assertThat(b.backend.removed()).isTrue();
    assertThat(b.xs.read(VbdNodes.backendPath(b.guest.domid(), BlkTestbed.XVDA))).isNull();
    assertThat(b.xs.read(VbdNodes.frontendPath(b.guest.domid(), BlkTestbed.XVDA))).isNull();
    assertThat(b.hv.control().liveGrantMaps()).isZero();
  }

  @Test
  void aRestartedBackendServesTheFrontendAgain() throws Exception {
    BlkTestbed b = bed(false);
    b.front.connect(true);
    byte[] page = new byte[4096];
    Arrays.fill(page, (byte) 0x5A);
    b.front.fill(0, page, 0);
    assertThat(b.front.io(OP_WRITE, 16, 1)).isEqualTo(RSP_OKAY);
    b.backend.stop();
    assertThat(b.front.backendState()).isEqualTo(XenbusState.CLOSED);
    b.front.close();
    VbdBackend again = VbdBackend.start(b.xs, b.hv.control(), b.hv.costModel(),
        b.guest.domid(), BlkTestbed.XVDA, b.disk);
    // It sees a Closed frontend (and says Closed, as Linux's blkback does) until the frontend
    // starts over with Initialising; then InitWait and the handshake.
    assertThat(again.state()).isEqualTo(XenbusState.CLOSED);
    assertThat(b.front.reconnect(true)).isEqualTo(XenbusState.CONNECTED);
    b.front.fill(0, new byte[4096], 0);
    assertThat(b.front.io(OP_READ, 16, 1)).isEqualTo(RSP_OKAY);
    byte[] back = new byte[4096];
    b.front.copyOut(0, back, 0);
    assertThat(back).isEqualTo(page);
  }
}
