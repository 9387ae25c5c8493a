package org.hospes.dom0.backend.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.Netif.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.XenbusState;
import org.hospes.hv.testing.TestProperties;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;

/**
 * A hostile netfront: over 10^5 random transmit slots (good packets of 1 to 18 slots, and
 * malformed ones: bad, foreign and read-only-irrelevant grants, first slots shorter than an
 * Ethernet header, slots larger than the packet, too many slots, GSO and multicast extras), in
 * batches of up to a ring's worth, with now and then a fatal one (a runaway producer, a slot
 * crossing its page, a bad extra type, 21 slots) after which the frontend reconnects. Each slot
 * must get exactly one response, in ring order, with the status an independent oracle of Linux
 * netback's rules expects; every good packet, and nothing else, must come out at a second
 * guest's netfront byte for byte and in order (its vif receives whatever the first one sends);
 * dom0 must never fail. The seed is printed on failure.
 */
class NetRingFuzzTest {
  private static final long SEED = TestProperties.longValue("hospes.netfuzz.seed", 0x5EED_0E7L);
  private static final int SLOTS = TestProperties.count("hospes.netfuzz.slots", 100_000);
  private static final int FOREIGN_REF = 401;
  private static final int INVALID_REF = 402;
  private static final int OUT_OF_TABLE = 1 << 20;

  private Random rnd;

  /** One slot the generator wrote and the status the oracle expects for it. */
  private record Expect(int id, int status, String what) {
    Expect(int id, int status) {
      this(id, status, "");
    }
  }

  @Test
  void randomTransmitsGetLinuxsAnswersAndOnlyGoodPacketsCrossTheWire() {
    try {
      run(SEED);
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError("seed 0x" + Long.toHexString(SEED) + ": " + e.getMessage(), e);
    }
  }

  private void run(long seed) {
    rnd = new Random(seed);
    NetTestbed bed = new NetTestbed();
    Domain other = bed.hv.createHvmDomain("b", DomainMode.PVH, 4);
    VifNodes.create(bed.xs, other.domid(), 0, "00:16:3e:00:00:02", "fuzz");
    VifBackend otherVif = VifBackend.start(bed.xs, bed.hv.control(), bed.hv.costModel(),
        other.domid(), 0, "00:16:3e:00:00:02");
    JavaNetfront otherFront = new JavaNetfront(bed.hv, bed.xs, other, 0);
    assertThat(otherFront.connect()).isEqualTo(XenbusState.CONNECTED);
    // The wire: everything the fuzzed guest sends goes to the bystander.
    bed.backend.attach((from, f, off, len) -> otherVif.deliver(f, off, len));
    JavaNetfront front = bed.front;
    assertThat(front.connect()).isEqualTo(XenbusState.CONNECTED);
    front.rawGrant(FOREIGN_REF, GrantTableOp.GTF_PERMIT_ACCESS, other.domid(),
        JavaNetfront.TX_GFN);

    List<byte[]> expectedFrames = new ArrayList<>();
    int slots = 0;
    int fatals = 0;
    int okPackets = 0;
    int id = 0;
    while (slots < SLOTS) {
      if (rnd.nextInt(400) == 0) {
        fatal(bed, front);
        fatals++;
        continue;
      }
      List<Expect> expect = new ArrayList<>();
      int page = 0;
      int batchSlots = 0;
      int limit = 1 + rnd.nextInt(RING_SIZE - 40);
      // Each packet has pages of its own until the batch is answered (20 slots at most).
      while (batchSlots < limit && page + 20 <= JavaNetfront.TX_PAGES) {
        int n = packet(front, expect, expectedFrames, page, id);
        id = (id + n) & 0xFFFF;
        batchSlots += n;
        page += n;
      }
      List<JavaNetfront.TxResponse> got = front.kick();
      assertThat(got).hasSameSizeAs(expect);
      for (int i = 0; i < expect.size(); i++) {
        Expect e = expect.get(i);
        assertThat(got.get(i).status()).as("slot %d of batch (slot %d) %s", i, slots + i, e.what())
            .isEqualTo(e.status());
        if (e.status() != RSP_NULL) {
          assertThat(got.get(i).id()).isEqualTo(e.id());
        }
      }
      slots += batchSlots;
      otherFront.poll();
      bed.hv.control().serve(bed.hv.now());
      otherFront.poll();
      List<JavaNetfront.RxPacket> rx = otherFront.takeReceived();
      assertThat(rx).hasSameSizeAs(expectedFrames);
      for (int i = 0; i < rx.size(); i++) {
        assertThat(rx.get(i).data()).isEqualTo(expectedFrames.get(i));
      }
      okPackets += rx.size();
      expectedFrames.clear();
      assertThat(bed.backend.state()).isEqualTo(XenbusState.CONNECTED);
    }
    assertThat(bed.hv.control().handlerFailures()).isZero();
    assertThat(okPackets).isGreaterThan(SLOTS / 40);
    assertThat(fatals).isGreaterThan(3);
    assertThat(otherVif.stats().rxDropped).isZero();
    front.close();
    otherFront.close();
    assertThat(bed.hv.control().liveGrantMaps()).isZero();
  }

  /** A fatal error of some kind; the backend must close, and the frontend reconnects. */
  private void fatal(NetTestbed bed, JavaNetfront front) {
    switch (rnd.nextInt(4)) {
      case 0 -> {
        int p = front.txReqProd();
        front.setTxReqProd(rnd.nextBoolean() ? p + RING_SIZE + 1 + rnd.nextInt(1000)
            : p - 1 - rnd.nextInt(1000));
        front.forceEvent();
      }
      case 1 -> {
        front.putTx(JavaNetfront.TX_REF, 4096 - rnd.nextInt(100), 0, 1, 200);
        front.kick();
      }
      case 2 -> {
        front.putTx(JavaNetfront.TX_REF, 0, NETTXF_EXTRA_INFO, 1, 60);
        front.putExtra(rnd.nextBoolean() ? EXTRA_TYPE_NONE : EXTRA_TYPE_MAX + rnd.nextInt(200),
            0, new byte[0]);
        front.kick();
      }
      default -> {
        front.putTx(JavaNetfront.TX_REF, 0, NETTXF_MORE_DATA, 1, 2000);
        for (int i = 0; i < 21; i++) {
          front.putTx(JavaNetfront.TX_REF + 1, 0, NETTXF_MORE_DATA, 2, 10);
        }
        front.kick();
      }
    }
    assertThat(bed.backend.state()).isEqualTo(XenbusState.CLOSING);
    front.close();
    assertThat(bed.backend.state()).isEqualTo(XenbusState.CLOSED);
    assertThat(front.reconnect()).isEqualTo(XenbusState.CONNECTED);
  }

  private int gref(int page) {
    int k = rnd.nextInt(200);
    if (k > 0) {
      return JavaNetfront.TX_REF + page;
    }
    return switch (rnd.nextInt(3)) {
      case 0 -> FOREIGN_REF;
      case 1 -> INVALID_REF;
      default -> OUT_OF_TABLE;
    };
  }

  private static boolean good(int gref) {
    return gref >= JavaNetfront.TX_REF && gref < JavaNetfront.TX_REF + JavaNetfront.TX_PAGES;
  }

  /**
   * Writes one packet (not yet published) at tx pages from {@code page}: its slots' expected
   * answers go to {@code expect}, its bytes to {@code frames} if it should cross the wire.
   * Returns the slots used.
   */
  private int packet(JavaNetfront front, List<Expect> expect, List<byte[]> frames, int page,
      int id) {
    int kind = rnd.nextInt(100);
    if (kind < 3) {
      // A multicast control request, or a GSO packet that was not offered.
      boolean mcast = rnd.nextBoolean();
      front.putTx(JavaNetfront.TX_REF + page, 0, NETTXF_EXTRA_INFO, id, 60);
      front.putExtra(mcast ? EXTRA_TYPE_MCAST_ADD : EXTRA_TYPE_GSO, 0,
          new byte[] {(byte) 0xB4, 0x05, 1, 0, 0, 0});
      expect.add(new Expect(id, mcast ? RSP_OKAY : RSP_ERROR));
      expect.add(new Expect(0, RSP_NULL));
      return 2;
    }
    int nfrags = rnd.nextInt(8) == 0 ? rnd.nextInt(20) : rnd.nextInt(3);
    int[] size = new int[nfrags + 1];
    int[] off = new int[nfrags + 1];
    int[] gref = new int[nfrags + 1];
    boolean bad = false;
    for (int s = 0; s <= nfrags; s++) {
      off[s] = rnd.nextInt(4) == 0 ? rnd.nextInt(4000) : 0;
      size[s] = 1 + rnd.nextInt(Math.min(1500, 4096 - off[s]));
      gref[s] = gref(page + s);
      bad |= !good(gref[s]);
    }
    if (kind < 8) {
      size[0] = rnd.nextInt(14);
    }
    int total = 0;
    for (int s = 0; s <= nfrags; s++) {
      total += size[s];
    }
    boolean tooBig = false;
    if (kind >= 8 && kind < 12 && nfrags > 0) {
      // The first slot's size (the packet's) is less than the following slots hold, so the
      // last one is larger than what is left.
      total = total - size[0] - 1;
      tooBig = true;
    }
    if (total > MAX_TX_SIZE) {
      total = MAX_TX_SIZE;
      tooBig = true;
    }
    int firstData = total;
    for (int s = 1; s <= nfrags; s++) {
      firstData -= size[s];
    }
    byte[] frame = new byte[Math.max(total, 0)];
    rnd.nextBytes(frame);
    int pos = 0;
    for (int s = 0; s <= nfrags; s++) {
      int len = s == 0 ? Math.max(0, firstData) : size[s];
      if (pos + len <= frame.length) {
        front.guest().memory().write(((JavaNetfront.TX_GFN + page + s)
            << 12) + off[s], frame, pos, len);
      }
      pos += len;
      int flags = s < nfrags ? NETTXF_MORE_DATA : 0;
      front.putTx(gref[s], off[s], flags, id + s, s == 0 ? total : size[s]);
    }
    // The oracle (Linux netback): more than 18 slots after the first, a slot larger than what
    // is left, a first slot shorter than an Ethernet header, or a grant that fails.
    boolean drop = nfrags > NR_SLOTS_MIN || tooBig || firstData < ETH_HLEN || bad;
    for (int s = 0; s <= nfrags; s++) {
      expect.add(new Expect((id + s) & 0xFFFF, drop ? RSP_ERROR : RSP_OKAY,
          "kind " + kind + " sizes " + java.util.Arrays.toString(size) + " total " + total
          + " grefs " + java.util.Arrays.toString(gref)));
    }
    if (!drop) {
      frames.add(frame);
    }
    return nfrags + 1;
  }
}
