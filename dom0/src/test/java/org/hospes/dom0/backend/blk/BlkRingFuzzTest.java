package org.hospes.dom0.backend.blk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.Blkif.*;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.hospes.abi.GrantTableOp;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.disk.MemoryDisk;
import org.hospes.hv.testing.TestProperties;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile frontend: over a million random requests (valid and malformed: every op number, any
 * segment count, sectors anywhere, segments outside their page, bad, foreign, revoked and
 * read-only grants, bad indirect pages) in batches of up to a ring's worth. Each request must get
 * exactly one response, with the status an independent oracle of Linux blkback's rules expects;
 * reads must return what the earlier successful writes left (a shadow disk); dom0 must never
 * fail; a second guest's disk, served by its own backend in the same dom0, must not change; and
 * when the frontend closes nothing stays mapped. The seed is printed on failure.
 */
class BlkRingFuzzTest {
  private static final long SEED = TestProperties.longValue("hospes.blkfuzz.seed", 0x5EED_B10CL);
  private static final int REQUESTS = TestProperties.count("hospes.blkfuzz.requests", 1_000_000);
  private static final int DISK_SECTORS = 2048;
  private static final int RO_REF = 400;
  private static final int FOREIGN_REF = 401;
  private static final int INVALID_REF = 402;
  private static final int OUT_OF_TABLE = 1 << 20;
  private static final int HALF = JavaBlkfront.DATA_PAGES / 2;

  @TempDir
  Path dir;

  private byte[] shadow;
  private long okFlushes;
  private Random rnd;
  private BlkTestbed bed;

  /**
   * A grant reference for a segment: mostly good data pages, sometimes hostile. Writes take
   * their data from pages 0..127, which nothing changes after set-up; reads land in 128..255.
   */
  private int gref(boolean forRead) {
    int k = rnd.nextInt(100);
    if (k < 90) {
      return JavaBlkfront.DATA_REF + (forRead ? HALF : 0) + rnd.nextInt(HALF);
    }
    return switch (k % 4) {
      case 0 -> RO_REF;
      case 1 -> FOREIGN_REF;
      case 2 -> INVALID_REF;
      default -> OUT_OF_TABLE;
    };
  }

  /** True if grant {@code ref} can be mapped for this access (the oracle's grant rule). */
  private boolean grantOk(int ref, boolean backendWrites, boolean persistent) {
    if (ref >= JavaBlkfront.DATA_REF && ref < JavaBlkfront.DATA_REF + JavaBlkfront.DATA_PAGES) {
      return true;
    }
    // Persistent grants are mapped writable whatever the request.
    return ref == RO_REF && !backendWrites && !persistent;
  }

  private record Seg(int gref, int first, int last) {}

  @Test
  void aMillionRandomRequestsNeverHurtDom0OrAnotherDomainsDisk() throws Exception {
    rnd = new Random(SEED);
    MemoryDisk disk = new MemoryDisk(DISK_SECTORS * 512);
    bed = new BlkTestbed(disk);
    // A bystander: another guest with its own disk and backend in the same dom0.
    Path otherDir = dir.resolve("other");
    java.nio.file.Files.createDirectories(otherDir);
    DiskImage otherDisk = BlkTestbed.rawImage(otherDir, 1, false);
    byte[] otherBefore = new byte[(int) otherDisk.sizeBytes()];
    new Random(1).nextBytes(otherBefore);
    otherDisk.write(0, otherBefore, 0, otherBefore.length);
    Domain other = bed.hv.createHvmDomain("bystander", DomainMode.PVH, 4);
    VbdNodes.create(bed.xs, other.domid(), BlkTestbed.XVDA, "xvda", "other.img", "raw", false);
    VbdBackend otherBackend = VbdBackend.start(bed.xs, bed.hv.control(), bed.hv.costModel(),
        other.domid(), BlkTestbed.XVDA, otherDisk);
    JavaBlkfront otherFront = new JavaBlkfront(bed.hv, bed.xs, other, BlkTestbed.XVDA);
    otherFront.connect(true);

    shadow = new byte[(int) disk.sizeBytes()];
    try {
      int done = 0;
      boolean persistent = false;
      while (done < REQUESTS) {
        // Half the run without persistent grants, half with.
        boolean wantPersistent = done >= REQUESTS / 2;
        if (bed.front.frontendState() != org.hospes.abi.XenbusState.CONNECTED
            || wantPersistent != persistent) {
          if (bed.front.frontendState() == org.hospes.abi.XenbusState.CONNECTED) {
            bed.front.close();
          }
          bed.front.reconnect(wantPersistent);
          persistent = bed.front.persistent();
          assertThat(persistent).isEqualTo(wantPersistent);
          setUpGrants();
        }
        done += batch(persistent);
      }
      bed.front.close();
      assertThat(bed.backend.stats().requests).isGreaterThanOrEqualTo(REQUESTS);
      assertThat(disk.flushes()).as("one image flush per acknowledged flush or barrier")
          .isEqualTo(okFlushes);
      assertThat(bed.hv.control().liveGrantMaps()).as("only the bystander's ring and pages")
          .isEqualTo(1 + otherBackend.ring().persistentGrants());
      byte[] otherAfter = new byte[otherBefore.length];
      otherDisk.read(0, otherAfter, 0, otherAfter.length);
      assertThat(Arrays.mismatch(otherAfter, otherBefore)).isEqualTo(-1);
      assertThat(otherFront.io(OP_READ, 0, 1)).isZero();
      byte[] all = new byte[shadow.length];
      disk.read(0, all, 0, all.length);
      assertThat(Arrays.mismatch(all, shadow)).isEqualTo(-1);
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError("BlkRingFuzzTest seed 0x" + Long.toHexString(SEED) + ": "
          + e.getMessage(), e);
    }
  }

  private void setUpGrants() {
    bed.front.grant(RO_REF, JavaBlkfront.DATA_GFN, true);
    bed.front.rawGrant(FOREIGN_REF, GrantTableOp.GTF_PERMIT_ACCESS, 7, JavaBlkfront.DATA_GFN);
    bed.front.rawGrant(INVALID_REF, 0, 0, JavaBlkfront.DATA_GFN);
    byte[] page = new byte[4096];
    for (int i = 0; i < JavaBlkfront.DATA_PAGES; i++) {
      rnd.nextBytes(page);
      bed.front.fill(i, page, 0);
    }
  }

  /** Queues up to a ring of random requests, kicks, checks each answer; returns how many. */
  private int batch(boolean persistent) {
    int n = 1 + rnd.nextInt(RING_SIZE);
    long[] ids = new long[n];
    int[] expect = new int[n];
    int[] ops = new int[n];
    Seg[][] segs = new Seg[n][];
    long[] sectors = new long[n];
    // The frontend has one indirect page: one indirect request per batch.
    boolean indirectUsed = false;
    for (int i = 0; i < n; i++) {
      byte[] r = new byte[ENTRY_SIZE];
      long id = rnd.nextLong();
      ids[i] = id;
      JavaBlkfront.putLong(r, REQ_ID, id);
      int kind = rnd.nextInt(100);
      int op = kind < 40 ? OP_READ : kind < 75 ? OP_WRITE : kind < 80 ? OP_FLUSH_DISKCACHE
          : kind < 83 ? OP_WRITE_BARRIER : kind < 88 ? OP_DISCARD : kind < 95 ? OP_INDIRECT
          : rnd.nextInt(256);
      if (op == OP_INDIRECT && indirectUsed) {
        op = OP_READ;
      }
      indirectUsed |= op == OP_INDIRECT;
      long sector = rnd.nextInt(10) == 0 ? rnd.nextLong() : rnd.nextInt(DISK_SECTORS + 16);
      sectors[i] = sector;
      JavaBlkfront.putLong(r, REQ_SECTOR, sector);
      r[REQ_OPERATION] = (byte) op;
      if (op == OP_DISCARD) {
        boolean secure = rnd.nextInt(8) == 0;
        long nr = rnd.nextInt(10) == 0 ? rnd.nextLong() : rnd.nextInt(64);
        r[DISCARD_FLAG] = (byte) (secure ? DISCARD_SECURE : 0);
        JavaBlkfront.putLong(r, DISCARD_NR_SECTORS, nr);
        long end = sector + nr;
        expect[i] = secure ? RSP_EOPNOTSUPP
            : nr != 0 && (Long.compareUnsigned(end, sector) < 0
                || Long.compareUnsigned(end, DISK_SECTORS) > 0) ? RSP_ERROR : RSP_OKAY;
        ops[i] = op;
      } else if (op == OP_INDIRECT) {
        int inner = rnd.nextInt(6) == 0 ? rnd.nextInt(8) : rnd.nextInt(2);
        int nseg = rnd.nextInt(20) == 0 ? rnd.nextInt(600) : 1 + rnd.nextInt(64);
        boolean goodPage = rnd.nextInt(20) != 0;
        r[IND_OP] = (byte) inner;
        r[IND_NR_SEGMENTS] = (byte) nseg;
        r[IND_NR_SEGMENTS + 1] = (byte) (nseg >> 8);
        JavaBlkfront.putInt(r, IND_GREFS, goodPage ? JavaBlkfront.INDIRECT_REF : gref(false) | 1 << 19);
        Seg[] s = segments(Math.min(nseg, 256), inner == OP_READ);
        byte[] ind = new byte[4096];
        for (int k = 0; k < s.length; k++) {
          JavaBlkfront.putSeg(ind, k * SEG_SIZE, s[k].gref, s[k].first, s[k].last);
        }
        bed.front.guest().memory().write(JavaBlkfront.INDIRECT_GFN << 12, ind, 0, 4096);
        ops[i] = inner;
        if (inner != OP_READ && inner != OP_WRITE || nseg == 0 || nseg > 256 || !goodPage) {
          expect[i] = RSP_ERROR;
        } else {
          segs[i] = s;
          expect[i] = rwOracle(inner, s, sector, persistent);
        }
      } else if (op <= OP_FLUSH_DISKCACHE) {
        int nseg = rnd.nextInt(10) == 0 ? rnd.nextInt(256) : rnd.nextInt(12);
        if (op >= OP_WRITE_BARRIER && rnd.nextBoolean()) {
          nseg = 0;
        }
        r[REQ_NR_SEGMENTS] = (byte) nseg;
        Seg[] s = segments(Math.min(nseg, MAX_SEGMENTS_PER_REQUEST), op == OP_READ);
        for (int k = 0; k < s.length; k++) {
          JavaBlkfront.putSeg(r, REQ_SEG + k * SEG_SIZE, s[k].gref, s[k].first, s[k].last);
        }
        ops[i] = op;
        if (nseg > MAX_SEGMENTS_PER_REQUEST) {
          expect[i] = RSP_ERROR;
        } else {
          segs[i] = s;
          expect[i] = rwOracle(op, s, sector, persistent);
        }
      } else {
        // Unknown operations (4, 7..255) and random bytes in the rest.
        for (int k = 1; k < ENTRY_SIZE; k++) {
          if (k < REQ_ID || k >= REQ_ID + 8) {
            r[k] = (byte) rnd.nextInt(256);
          }
        }
        ops[i] = op;
        expect[i] = RSP_EOPNOTSUPP;
      }
      bed.front.putRaw(r);
    }
    List<JavaBlkfront.Response> rs = bed.front.kick();
    assertThat(rs).hasSize(n);
    expected = new byte[JavaBlkfront.DATA_PAGES][];
    checked = new int[JavaBlkfront.DATA_PAGES];
    for (int i = 0; i < n; i++) {
      JavaBlkfront.Response got = rs.get(i);
      if (got.id() != ids[i] || got.op() != (ops[i] & 0xFF)) {
        throw new AssertionError("response " + i + " answers " + got + ", not request "
            + Long.toHexString(ids[i]) + " op " + ops[i]);
      }
      if (got.status() != expect[i]) {
        // Described only on failure: formatting every answer would cost more than the test.
        throw new AssertionError(String.format("request %d of the batch, op %d, sector %d,"
            + " segments %s, persistent %b: status %d, expected %d", i, ops[i], sectors[i],
            segs[i] == null ? "-" : Arrays.toString(segs[i]), persistent, got.status(),
            expect[i]));
      }
      if (got.status() == RSP_OKAY
          && (ops[i] == OP_FLUSH_DISKCACHE || ops[i] == OP_WRITE_BARRIER)) {
        okFlushes++;
      }
      if (got.status() == RSP_OKAY && segs[i] != null) {
        applyToShadow(ops[i], segs[i], sectors[i]);
      }
    }
    // A page read into several times in the batch holds what the last read put there.
    byte[] page = new byte[4096];
    for (int p = 0; p < JavaBlkfront.DATA_PAGES; p++) {
      if (expected[p] != null) {
        bed.front.copyOut(p, page, 0);
        for (int sec = 0; sec < SECTORS_PER_PAGE; sec++) {
          if ((checked[p] & 1 << sec) != 0 && !Arrays.equals(page, sec * 512, sec * 512 + 512,
              expected[p], sec * 512, sec * 512 + 512)) {
            throw new AssertionError("data page " + p + " sector " + sec
                + " is not what was read");
          }
        }
      }
    }
    return n;
  }

  private Seg[] segments(int n, boolean forRead) {
    Seg[] s = new Seg[n];
    for (int k = 0; k < n; k++) {
      int first = rnd.nextInt(40) == 0 ? rnd.nextInt(256) : rnd.nextInt(8);
      int last = rnd.nextInt(40) == 0 ? rnd.nextInt(256) : first + rnd.nextInt(8 - first % 8);
      s[k] = new Seg(gref(forRead), first, last);
    }
    return s;
  }

  private int rwOracle(int op, Seg[] s, long sector, boolean persistent) {
    boolean flush = op == OP_FLUSH_DISKCACHE || op == OP_WRITE_BARRIER;
    if (s.length == 0 && !flush) {
      return RSP_ERROR;
    }
    long nsec = 0;
    for (Seg g : s) {
      if (g.last >= 8 || g.last < g.first) {
        return RSP_ERROR;
      }
      nsec += g.last - g.first + 1;
    }
    long end = sector + nsec;
    if (nsec > 0 && (Long.compareUnsigned(end, sector) < 0
        || Long.compareUnsigned(end, DISK_SECTORS) > 0)) {
      return RSP_ERROR;
    }
    for (Seg g : s) {
      if (!grantOk(g.gref, op == OP_READ, persistent)) {
        return RSP_ERROR;
      }
    }
    return RSP_OKAY;
  }

  private byte[][] expected;
  /** Per data page, the sectors a read of this batch filled (bit i: sector i). */
  private int[] checked;

  /**
   * Mirrors a successful request in order: a write's data (from pages nothing changes) goes to
   * the shadow; a read's segments must later hold the shadow's bytes.
   */
  private void applyToShadow(int op, Seg[] s, long sector) {
    long pos = sector * 512;
    byte[] buf = new byte[4096];
    for (Seg g : s) {
      int len = (g.last - g.first + 1) * 512;
      if (op == OP_READ) {
        int p = g.gref - JavaBlkfront.DATA_REF;
        if (expected[p] == null) {
          expected[p] = new byte[4096];
        }
        System.arraycopy(shadow, (int) pos, expected[p], g.first * 512, len);
        checked[p] |= ((1 << (g.last + 1)) - 1) & ~((1 << g.first) - 1);
      } else {
        long gpa = gpaOf(g.gref) + g.first * 512L;
        bed.front.guest().memory().read(gpa, buf, 0, len);
        System.arraycopy(buf, 0, shadow, (int) pos, len);
      }
      pos += len;
    }
  }

  private static long gpaOf(int gref) {
    return gref == RO_REF ? JavaBlkfront.DATA_GFN << 12
        : JavaBlkfront.dataAddress(gref - JavaBlkfront.DATA_REF);
  }
}
