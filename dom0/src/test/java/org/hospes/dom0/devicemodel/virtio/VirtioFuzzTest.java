package org.hospes.dom0.devicemodel.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.hospes.dom0.devicemodel.FuzzDma;
import org.hospes.dom0.disk.MemoryDisk;
import org.hospes.hv.testing.TestProperties;
import org.junit.jupiter.api.Test;

/**
 * Hostile drivers against virtio-blk and virtio-net on the legacy PCI transport: descriptor
 * chains that loop, name descriptors past the table, point past guest RAM or straddle its end,
 * have huge or zero lengths, readable descriptors after writable ones, indirect tables that are
 * not negotiated, nested, carry NEXT or have a length that is no whole number of descriptors;
 * available indices that jump more than a queue ahead; garbage in the rings; queues placed past
 * RAM or across its end; resets and random register writes in between; and (net) frames from
 * the switch at any time. Every step is replayed on {@link VirtioModel}, an independent model
 * over a mirror of RAM: afterwards guest RAM must equal the mirror byte for byte (so nothing
 * outside what the descriptors name is written), the device must be in NEEDS_RESET exactly when
 * the model says the driver broke the queue rules, the disk must equal the model's, the frames
 * sent to the switch must be the model's, no exception may leave the device and no notification
 * may take more than a bounded number of memory accesses. The seed and step are printed on
 * failure.
 */
class VirtioFuzzTest {
  private static final long SEED = TestProperties.longValue("hospes.virtiofuzz.seed", 0x5EED_1010L);
  private static final int STEPS = TestProperties.count("hospes.virtiofuzz.steps", 60_000);
  private static final int RAM = 256 << 10;
  private static final long ZONE = 0x10000;
  private static final int DISK = 64 << 10;
  private static final byte[] ID = "fuzz-disk".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private Random rnd;
  private FuzzDma dma;
  private VirtioPciLegacy dev;
  private VirtioModel model;
  private int step;
  private String what = "";
  private long bump;
  private int breaches;
  private int served;

  // ---- the driver's side, on RAM and the mirror alike ----------------------------------

  private void poke(long gpa, byte[] b) {
    if (b.length > 0 && dma.inRam(gpa, b.length)) {
      System.arraycopy(b, 0, dma.ram, (int) gpa, b.length);
      System.arraycopy(b, 0, model.ram, (int) gpa, b.length);
    }
  }

  private void poke16(long gpa, int v) {
    poke(gpa, new byte[] {(byte) v, (byte) (v >>> 8)});
  }

  private int peek16(long gpa) {
    return dma.inRam(gpa, 2) ? (dma.ram[(int) gpa] & 0xFF) | (dma.ram[(int) gpa + 1] & 0xFF) << 8
        : 0;
  }

  private void desc(long table, long i, long addr, long len, int flags, int next) {
    byte[] d = new byte[16];
    VirtioModel.le32(d, 0, (int) addr);
    VirtioModel.le32(d, 4, (int) (addr >>> 32));
    VirtioModel.le32(d, 8, (int) len);
    d[12] = (byte) flags;
    d[13] = (byte) (flags >>> 8);
    d[14] = (byte) next;
    d[15] = (byte) (next >>> 8);
    poke(table + 16 * i, d);
  }

  /** A buffer of {@code len} bytes in the zone, or (now and then) somewhere hostile. */
  private long alloc(long len) {
    if (rnd.nextInt(25) == 0) {
      return switch (rnd.nextInt(7)) {
        case 0 -> RAM - Math.min(len, 64) / 2; // straddling the end of RAM
        case 1 -> RAM + rnd.nextInt(1 << 20);
        case 2 -> -1L - rnd.nextInt(4096);
        case 3 -> Long.MAX_VALUE - rnd.nextInt(64);
        case 4 -> 0x1000 + rnd.nextInt(0xC000); // over the rings
        case 5 -> 1L << 32;
        default -> rnd.nextInt(RAM);
      };
    }
    if (bump + len + 64 > RAM) {
      bump = ZONE;
    }
    long at = bump;
    bump = (bump + len + 16) & ~7L;
    return at;
  }

  private long hostileLen(long len) {
    return switch (rnd.nextInt(40)) {
      case 0 -> 0;
      case 1 -> 0xFFFF_FFFFL;
      case 2 -> 0x8000_0000L;
      case 3 -> len + 1 + rnd.nextInt(4096);
      default -> len;
    };
  }

  /** One segment of a chain as the driver means it. */
  private record Seg(long addr, long len, boolean writable) {}

  /**
   * Lays {@code segs} out as a chain in queue {@code q}'s table (directly or through an
   * indirect table), perhaps with a loop, a bad next, nesting or a bad head; returns the head.
   */
  private int chain(VirtioModel.Queue q, List<Seg> segs, List<Integer> freeSlots) {
    int size = model.queueSize;
    boolean useIndirect = rnd.nextInt(4) == 0 && !segs.isEmpty();
    if (useIndirect) {
      long table = alloc(16L * segs.size());
      for (int j = 0; j < segs.size(); j++) {
        Seg s = segs.get(j);
        int flags = (s.writable ? VirtioConstants.VIRTQ_DESC_F_WRITE : 0)
            | (j + 1 < segs.size() ? VirtioConstants.VIRTQ_DESC_F_NEXT : 0);
        if (rnd.nextInt(60) == 0) {
          flags |= VirtioConstants.VIRTQ_DESC_F_INDIRECT; // nested
        }
        int next = j + 1;
        if (rnd.nextInt(60) == 0) {
          next = rnd.nextBoolean() ? 0 : segs.size() + rnd.nextInt(5); // loop, or past the table
        }
        desc(table, j, s.addr, s.len, flags, next);
      }
      int head = freeSlots.isEmpty() ? rnd.nextInt(size) : freeSlots.remove(0);
      long len = 16L * segs.size();
      if (rnd.nextInt(30) == 0) {
        len = new long[] {0, len + 8, 0xFFFF_FFF0L, len - 16}[rnd.nextInt(4)];
      }
      int flags = VirtioConstants.VIRTQ_DESC_F_INDIRECT;
      if (rnd.nextInt(40) == 0) {
        flags |= VirtioConstants.VIRTQ_DESC_F_NEXT;
      }
      desc(q.desc, head, table, len, flags, rnd.nextInt(size));
      return rnd.nextInt(60) == 0 ? size + rnd.nextInt(1000) : head;
    }
    int[] idx = new int[Math.max(segs.size(), 1)];
    for (int j = 0; j < idx.length; j++) {
      idx[j] = freeSlots.isEmpty() ? rnd.nextInt(size) : freeSlots.remove(0);
    }
    if (segs.isEmpty()) {
      desc(q.desc, idx[0], alloc(16), 16, 0, 0);
    }
    for (int j = 0; j < segs.size(); j++) {
      Seg s = segs.get(j);
      boolean last = j + 1 == segs.size();
      int flags = (s.writable ? VirtioConstants.VIRTQ_DESC_F_WRITE : 0)
          | (last ? 0 : VirtioConstants.VIRTQ_DESC_F_NEXT);
      int next = last ? 0 : idx[j + 1];
      if (last && rnd.nextInt(50) == 0) {
        flags |= VirtioConstants.VIRTQ_DESC_F_NEXT;
        next = rnd.nextBoolean() ? idx[0] : size + rnd.nextInt(60000); // a loop, or past the table
      }
      desc(q.desc, idx[j], s.addr, s.len, flags, next);
    }
    return rnd.nextInt(80) == 0 ? size + rnd.nextInt(60000) : idx[0];
  }

  /** Makes {@code heads} available on queue {@code q} (with now and then an index that jumps). */
  private void makeAvailable(VirtioModel.Queue q, List<Integer> heads) {
    int size = model.queueSize;
    int idx = peek16(q.avail + 2);
    for (int j = 0; j < heads.size(); j++) {
      poke16(q.avail + 4 + 2L * ((idx + j) & (size - 1)), heads.get(j));
    }
    int newIdx = idx + heads.size();
    if (rnd.nextInt(40) == 0) {
      newIdx = q.lastAvail + size + 1 + rnd.nextInt(60000);
      what += ", avail index jumps to " + (newIdx & 0xFFFF);
    }
    poke16(q.avail + 2, newIdx);
    if (rnd.nextInt(10) == 0) {
      poke16(q.avail, rnd.nextInt(2)); // NO_INTERRUPT, or not
    }
  }

  private List<Integer> slots() {
    List<Integer> s = new ArrayList<>();
    for (int i = 0; i < model.queueSize; i++) {
      s.add(i);
    }
    java.util.Collections.shuffle(s, rnd);
    return s;
  }

  // ---- registers -----------------------------------------------------------------------

  /** A register write, to the device and to the model; a notify also runs the model. */
  private void reg(int port, int size, int value) {
    dev.out(port, size, value);
    if (port == VirtioPciLegacy.QUEUE_NOTIFY) {
      notifyModel(value & 0xFFFF);
    } else {
      model.out(port, value);
    }
  }

  /** Brings the device up as a driver does, the queues at {@code pfns}, zeroed. */
  private void init(int features, int... pfns) {
    reg(VirtioPciLegacy.DEVICE_STATUS, 1, 0);
    reg(VirtioPciLegacy.DEVICE_STATUS, 1, VirtioConstants.STATUS_ACKNOWLEDGE);
    reg(VirtioPciLegacy.DEVICE_STATUS, 1, VirtioConstants.STATUS_ACKNOWLEDGE
        | VirtioConstants.STATUS_DRIVER);
    reg(VirtioPciLegacy.DRIVER_FEATURES, 4, features);
    for (int i = 0; i < pfns.length; i++) {
      reg(VirtioPciLegacy.QUEUE_SELECT, 2, i);
      long at = (pfns[i] & 0xFFFF_FFFFL) * 4096;
      long bytes = SplitVirtqueue.legacyBytes(model.queueSize);
      if (dma.inRam(at, bytes)) {
        poke(at, new byte[(int) bytes]);
      }
      reg(VirtioPciLegacy.QUEUE_ADDRESS, 4, pfns[i]);
    }
    reg(VirtioPciLegacy.DEVICE_STATUS, 1, VirtioConstants.STATUS_ACKNOWLEDGE
        | VirtioConstants.STATUS_DRIVER | VirtioConstants.STATUS_DRIVER_OK);
  }

  private int randomFeatures() {
    int f = dev.in(VirtioPciLegacy.DEVICE_FEATURES, 4);
    return rnd.nextInt(4) == 0 ? rnd.nextInt() : rnd.nextInt(5) == 0
        ? f & ~(1 << VirtioConstants.F_RING_INDIRECT_DESC) : f;
  }

  /** A queue's page frame: usually a good one, now and then past RAM or across its end. */
  private int pfn(int good) {
    return switch (rnd.nextInt(12)) {
      case 0 -> RAM / 4096 - 1; // the rings run past the end of RAM
      case 1 -> RAM / 4096 + rnd.nextInt(1000);
      case 2 -> rnd.nextInt();
      default -> good;
    };
  }

  /** Random register traffic: writes to the known registers and anywhere, reads anywhere. */
  private void registerChaos() {
    int[] ports = {VirtioPciLegacy.DRIVER_FEATURES, VirtioPciLegacy.QUEUE_ADDRESS,
        VirtioPciLegacy.QUEUE_SELECT, VirtioPciLegacy.DEVICE_STATUS, VirtioPciLegacy.DEVICE_FEATURES,
        VirtioPciLegacy.QUEUE_SIZE, VirtioPciLegacy.ISR_STATUS, VirtioPciLegacy.CONFIG,
        rnd.nextInt(64)};
    int port = ports[rnd.nextInt(ports.length)];
    int size = new int[] {1, 2, 4}[rnd.nextInt(3)];
    int value = port == VirtioPciLegacy.QUEUE_SELECT ? rnd.nextInt(4)
        : port == VirtioPciLegacy.QUEUE_ADDRESS ? pfn(1 + rnd.nextInt(RAM / 4096 - 3))
        : port == VirtioPciLegacy.DEVICE_STATUS ? (rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(256))
        : rnd.nextInt();
    if (rnd.nextBoolean()) {
      what = "in(" + port + ", " + size + ")";
      dev.in(port, size);
    } else {
      what = "out(" + port + ", " + size + ", 0x" + Integer.toHexString(value) + ")";
      reg(port, size, value);
    }
  }

  // ---- the device-specific model parts --------------------------------------------------

  private interface Notifier {
    void notify(int queue);
  }

  private Notifier notifier;

  private void notifyModel(int queue) {
    notifier.notify(queue);
  }

  /** After each step: RAM equals the mirror, and the device's status is the model's. */
  private void check() {
    if (!Arrays.equals(dma.ram, model.ram)) {
      int at = Arrays.mismatch(dma.ram, model.ram);
      throw new AssertionError(String.format("guest RAM at 0x%x is 0x%02x, the model says 0x%02x"
          + " (model breach: %s)", at, dma.ram[at] & 0xFF, model.ram[at] & 0xFF, model.breach));
    }
    assertThat(dev.broken()).as("NEEDS_RESET (device: %s, model: %s)", dev.lastError(),
        model.breach).isEqualTo(model.broken);
    assertThat(dev.in(VirtioPciLegacy.DEVICE_STATUS, 1)).as("device status").isEqualTo(
        model.status);
  }

  private void runSteps(Runnable body) {
    try {
      for (this.step = 0; this.step < STEPS; this.step++) {
        dma.resetBudget();
        bump = ZONE + rnd.nextInt(0x100) * 8;
        body.run();
        check();
      }
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError("VirtioFuzzTest seed 0x" + Long.toHexString(SEED) + ", step "
          + step + " (" + what + "): " + e, e);
    }
  }

  // ---- virtio-blk ----------------------------------------------------------------------

  @Test
  void hostileBlockRequestsGetTheModelsAnswersAndTouchNothingElse() {
    long t0 = System.nanoTime();
    rnd = new Random(SEED);
    dma = new FuzzDma(RAM);
    MemoryDisk disk = new MemoryDisk(DISK);
    rnd.nextBytes(disk.data());
    byte[] modelDisk = disk.data().clone();
    VirtioBlk blk = new VirtioBlk(disk, "fuzz-disk");
    dev = new VirtioPciLegacy("virtio-blk fuzz", blk, dma);
    model = new VirtioModel(RAM, 1, VirtioBlk.QUEUE_SIZE, blk.features());
    rnd.nextBytes(dma.ram);
    System.arraycopy(dma.ram, 0, model.ram, 0, RAM);
    notifier = q -> blkNotify(q, modelDisk);
    init(blk.features(), 1);
    runSteps(() -> blkStep());
    assertThat(disk.data()).as("disk").isEqualTo(modelDisk);
    assertThat(breaches).isGreaterThan(STEPS / 50);
    assertThat(served).isGreaterThan(STEPS / 2);
    assertThat(blk.reads).isPositive();
    assertThat(blk.writes).isPositive();
    assertThat(blk.errors).isPositive();
    System.out.printf("virtio-blk fuzz: %d steps, %d chains served, %d NEEDS_RESET, %d DMA"
        + " accesses refused, in %.1f s%n", STEPS, served, breaches, dma.refused,
        (System.nanoTime() - t0) / 1e9);
  }

  private void blkStep() {
    VirtioModel.Queue q = model.queues[0];
    int k = rnd.nextInt(100);
    if (model.broken && rnd.nextInt(3) == 0 || k < 5) {
      what = "reset and init";
      init(randomFeatures(), pfn(1));
      return;
    }
    if (k < 10) {
      registerChaos();
      return;
    }
    if (k < 14) {
      what = "garbage in the rings";
      byte[] junk = new byte[1 + rnd.nextInt(32)];
      rnd.nextBytes(junk);
      poke(q.desc + rnd.nextInt(0x2400), junk);
      reg(VirtioPciLegacy.QUEUE_NOTIFY, 2, 0);
      return;
    }
    int n = rnd.nextInt(7);
    what = n + " requests";
    List<Integer> free = slots();
    List<Integer> heads = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      heads.add(chain(q, blkRequest(), free));
    }
    makeAvailable(q, heads);
    reg(VirtioPciLegacy.QUEUE_NOTIFY, 2, rnd.nextInt(30) == 0 ? 1 + rnd.nextInt(5) : 0);
  }

  /** One block request's segments: header, data, status, with hostile touches. */
  private List<Seg> blkRequest() {
    int type = switch (rnd.nextInt(20)) {
      case 0, 1, 2, 3, 4, 5, 6 -> VirtioBlk.T_IN;
      case 7, 8, 9, 10, 11, 12, 13 -> VirtioBlk.T_OUT;
      case 14 -> VirtioBlk.T_FLUSH;
      case 15 -> VirtioBlk.T_GET_ID;
      default -> rnd.nextInt();
    };
    long capacity = DISK / 512;
    long sector = rnd.nextInt(10) == 0 ? rnd.nextLong() : rnd.nextInt((int) capacity + 4);
    List<Seg> segs = new ArrayList<>();
    long hdr = alloc(16);
    byte[] h = new byte[16];
    VirtioModel.le32(h, 0, type);
    VirtioModel.le32(h, 8, (int) sector);
    VirtioModel.le32(h, 12, (int) (sector >>> 32));
    poke(hdr, h);
    segs.add(new Seg(hdr, rnd.nextInt(30) == 0 ? rnd.nextInt(16) : 16, false));
    int nData = type == VirtioBlk.T_FLUSH ? 0 : rnd.nextInt(4);
    boolean toGuest = type != VirtioBlk.T_OUT;
    for (int i = 0; i < nData; i++) {
      long len = rnd.nextInt(12) == 0 ? 1 + rnd.nextInt(1000) : 512L * (1 + rnd.nextInt(8));
      long at = alloc(len);
      if (!toGuest && dma.inRam(at, len)) {
        byte[] data = new byte[(int) len];
        rnd.nextBytes(data);
        poke(at, data);
      }
      segs.add(new Seg(at, hostileLen(len), toGuest));
    }
    if (rnd.nextInt(40) != 0) {
      segs.add(new Seg(alloc(1), rnd.nextInt(30) == 0 ? rnd.nextInt(3) : 1, true));
    }
    if (rnd.nextInt(40) == 0 && segs.size() > 1) {
      // A readable descriptor after a writable one.
      segs.add(new Seg(alloc(16), 16, false));
    }
    return segs;
  }

  private void blkNotify(int queue, byte[] disk) {
    VirtioModel.Queue q = queue < model.queues.length ? model.queues[queue] : null;
    if (q == null || model.broken || !q.ready) {
      return;
    }
    boolean any = false;
    try {
      VirtioModel.Chain c;
      while ((c = model.pop(q)) != null) {
        int written = blkServe(c, disk);
        model.pushUsed(q, c.head, written);
        any = true;
        served++;
      }
    } catch (VirtioModel.Breach b) {
      model.needsReset(b.getMessage());
      breaches++;
      return;
    }
    if (any) {
      model.usedBuffers(q);
    }
  }

  /** virtio-blk's request (5.2.6) as the model serves it; returns the bytes written. */
  private int blkServe(VirtioModel.Chain c, byte[] disk) {
    long in = c.bytes(true);
    if (in < 1) {
      return 0;
    }
    long data = in - 1;
    int status;
    long written = 0;
    try {
      if (c.bytes(false) < 16) {
        throw new VirtioModel.Fault();
      }
      byte[] h = new byte[16];
      model.move(c, false, 0, h, 0, 16);
      int type = VirtioModel.le32(h, 0);
      long sector = VirtioModel.le32(h, 8) & 0xFFFF_FFFFL | (long) VirtioModel.le32(h, 12) << 32;
      byte[] buf = bounce;
      if (type == VirtioBlk.T_IN) {
        inRange(sector, data);
        for (long done = 0; done < data; ) {
          int n = (int) Math.min(buf.length, data - done);
          System.arraycopy(disk, (int) (sector * 512 + done), buf, 0, n);
          model.move(c, true, done, buf, 0, n);
          done += n;
        }
        written = data;
        status = VirtioBlk.S_OK;
      } else if (type == VirtioBlk.T_OUT) {
        long len = c.bytes(false) - 16;
        inRange(sector, len);
        for (long done = 0; done < len; ) {
          int n = (int) Math.min(buf.length, len - done);
          model.move(c, false, 16 + done, buf, 0, n);
          System.arraycopy(buf, 0, disk, (int) (sector * 512 + done), n);
          done += n;
        }
        status = VirtioBlk.S_OK;
      } else if (type == VirtioBlk.T_FLUSH) {
        status = VirtioBlk.S_OK;
      } else if (type == VirtioBlk.T_GET_ID) {
        int n = (int) Math.min(20, data);
        byte[] id = new byte[n];
        System.arraycopy(ID, 0, id, 0, Math.min(n, ID.length));
        model.move(c, true, 0, id, 0, n);
        written = n;
        status = VirtioBlk.S_OK;
      } else {
        status = VirtioBlk.S_UNSUPP;
      }
    } catch (VirtioModel.Fault f) {
      status = VirtioBlk.S_IOERR;
      written = 0;
    }
    try {
      model.move(c, true, data, new byte[] {(byte) status}, 0, 1);
    } catch (VirtioModel.Fault f) {
      return (int) written;
    }
    return (int) Math.min(written + 1, Integer.MAX_VALUE);
  }

  private final byte[] bounce = new byte[65536];

  private static void inRange(long sector, long bytes) throws VirtioModel.Fault {
    long capacity = DISK / 512;
    if (bytes % 512 != 0 || sector < 0 || sector > capacity || bytes / 512 > capacity - sector) {
      throw new VirtioModel.Fault();
    }
  }

  // ---- virtio-net ----------------------------------------------------------------------

  private final ArrayDeque<byte[]> backlog = new ArrayDeque<>();
  private final List<byte[]> modelSent = new ArrayList<>();
  private final List<byte[]> sent = new ArrayList<>();

  @Test
  void hostileNetworkQueuesGetTheModelsAnswersAndTouchNothingElse() {
    long t0 = System.nanoTime();
    rnd = new Random(SEED + 1);
    dma = new FuzzDma(RAM);
    VirtioNet net = new VirtioNet("vnet-fuzz", VirtioNet.mac("00:16:3e:00:00:01"));
    dev = new VirtioPciLegacy("virtio-net fuzz", net, dma);
    net.attach((from, f, off, len) -> sent.add(Arrays.copyOfRange(f, off, off + len)));
    model = new VirtioModel(RAM, 2, VirtioNet.QUEUE_SIZE, net.features()) {
      @Override
      void resetDevice() {
        backlog.clear();
      }
    };
    rnd.nextBytes(dma.ram);
    System.arraycopy(dma.ram, 0, model.ram, 0, RAM);
    notifier = this::netNotify;
    init(net.features(), 1, 4);
    runSteps(() -> {
      netStep(net);
      assertThat(sent.size()).as("frames sent").isEqualTo(modelSent.size());
      for (int i = 0; i < sent.size(); i++) {
        assertThat(sent.get(i)).as("frame %d", i).isEqualTo(modelSent.get(i));
      }
      sent.clear();
      modelSent.clear();
    });
    assertThat(breaches).isGreaterThan(STEPS / 50);
    assertThat(net.txFrames).isPositive();
    assertThat(net.rxFrames).isPositive();
    System.out.printf("virtio-net fuzz: %d steps, %d chains served, %d NEEDS_RESET, %d DMA"
        + " accesses refused, %d frames in, %d out, in %.1f s%n", STEPS, served, breaches,
        dma.refused, net.rxFrames, net.txFrames, (System.nanoTime() - t0) / 1e9);
  }

  private void netStep(VirtioNet net) {
    int k = rnd.nextInt(100);
    if (model.broken && rnd.nextInt(3) == 0 || k < 4) {
      what = "reset and init";
      init(randomFeatures(), pfn(1), pfn(4));
      return;
    }
    if (k < 9) {
      registerChaos();
      return;
    }
    if (k < 12) {
      what = "garbage in the rings";
      byte[] junk = new byte[1 + rnd.nextInt(32)];
      rnd.nextBytes(junk);
      VirtioModel.Queue q = model.queues[rnd.nextInt(2)];
      poke(q.desc + rnd.nextInt(0x3800), junk);
      reg(VirtioPciLegacy.QUEUE_NOTIFY, 2, rnd.nextInt(2));
      return;
    }
    if (k < 40) {
      int n = 1 + rnd.nextInt(4);
      what = n + " frames from the switch";
      for (int i = 0; i < n; i++) {
        int len = rnd.nextInt(50) == 0 ? 65537 + rnd.nextInt(100) : 14 + rnd.nextInt(1600);
        byte[] f = new byte[len + 4];
        rnd.nextBytes(f);
        net.deliver(f, 2, len);
        netDeliver(Arrays.copyOfRange(f, 2, 2 + len));
      }
      return;
    }
    boolean rx = k < 65;
    VirtioModel.Queue q = model.queues[rx ? VirtioNet.RX : VirtioNet.TX];
    int n = rnd.nextInt(7);
    what = n + (rx ? " receive buffers" : " frames to send");
    List<Integer> free = slots();
    List<Integer> heads = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      heads.add(chain(q, rx ? rxBuffer() : txFrame(), free));
    }
    makeAvailable(q, heads);
    reg(VirtioPciLegacy.QUEUE_NOTIFY, 2, rnd.nextInt(30) == 0 ? 2 + rnd.nextInt(5)
        : rx ? VirtioNet.RX : VirtioNet.TX);
  }

  private List<Seg> rxBuffer() {
    List<Seg> segs = new ArrayList<>();
    int parts = 1 + rnd.nextInt(3);
    for (int i = 0; i < parts; i++) {
      long len = rnd.nextInt(8) == 0 ? rnd.nextInt(64) : 1600 / parts + rnd.nextInt(100);
      segs.add(new Seg(alloc(len), hostileLen(len), true));
    }
    if (rnd.nextInt(40) == 0) {
      segs.add(0, new Seg(alloc(16), 16, false));
    }
    return segs;
  }

  private List<Seg> txFrame() {
    List<Seg> segs = new ArrayList<>();
    long hdr = alloc(10);
    poke(hdr, new byte[10]);
    segs.add(new Seg(hdr, 10, false));
    int len = rnd.nextInt(20) == 0 ? rnd.nextInt(14) : 14 + rnd.nextInt(1500);
    int parts = 1 + rnd.nextInt(3);
    for (int i = 0; i < parts; i++) {
      int l = i + 1 == parts ? len - len / parts * (parts - 1) : len / parts;
      long at = alloc(l);
      if (dma.inRam(at, l)) {
        byte[] b = new byte[l];
        rnd.nextBytes(b);
        poke(at, b);
      }
      segs.add(new Seg(at, hostileLen(l), false));
    }
    if (rnd.nextInt(40) == 0) {
      segs.add(new Seg(alloc(16), 16, true));
    }
    return segs;
  }

  private void netNotify(int queue) {
    VirtioModel.Queue q = queue < model.queues.length ? model.queues[queue] : null;
    if (q == null || model.broken || !q.ready) {
      return;
    }
    try {
      if (queue == VirtioNet.TX) {
        boolean any = false;
        VirtioModel.Chain c;
        while ((c = model.pop(q)) != null) {
          long len = c.bytes(false) - VirtioNet.HEADER;
          if (len >= 14 && len <= VirtioNet.MAX_FRAME) {
            byte[] f = new byte[(int) len];
            try {
              model.move(c, false, VirtioNet.HEADER, f, 0, (int) len);
              if (model.driverOk()) {
                modelSent.add(f);
              }
            } catch (VirtioModel.Fault x) {
              // a transmit error: the frame is lost
            }
          }
          model.pushUsed(q, c.head, 0);
          any = true;
          served++;
        }
        if (any) {
          model.usedBuffers(q);
        }
      } else {
        int taken = 0;
        while (!backlog.isEmpty() && receive(backlog.peek())) {
          backlog.poll();
          taken++;
        }
        if (taken > 0) {
          model.usedBuffers(q);
        }
      }
    } catch (VirtioModel.Breach b) {
      model.needsReset(b.getMessage());
      breaches++;
    }
  }

  /** A frame from the switch, as the device takes it (its packet buffer holds 64). */
  private void netDeliver(byte[] f) {
    if (!model.driverOk() || f.length > VirtioNet.MAX_FRAME) {
      return;
    }
    try {
      if (backlog.isEmpty() && receive(f)) {
        model.usedBuffers(model.queues[VirtioNet.RX]);
        return;
      }
      if (backlog.size() < VirtioNet.BACKLOG) {
        backlog.add(f);
      }
    } catch (VirtioModel.Breach b) {
      model.needsReset(b.getMessage());
      breaches++;
    }
  }

  private boolean receive(byte[] f) throws VirtioModel.Breach {
    VirtioModel.Queue q = model.queues[VirtioNet.RX];
    if (!q.ready) {
      return false;
    }
    VirtioModel.Chain c = model.pop(q);
    if (c == null) {
      return false;
    }
    int written = 0;
    if (c.bytes(true) >= VirtioNet.HEADER + (long) f.length) {
      try {
        model.move(c, true, 0, new byte[VirtioNet.HEADER], 0, VirtioNet.HEADER);
        model.move(c, true, VirtioNet.HEADER, f, 0, f.length);
        written = VirtioNet.HEADER + f.length;
      } catch (VirtioModel.Fault x) {
        // dropped
      }
    }
    model.pushUsed(q, c.head, written);
    served++;
    return true;
  }

  /**
   * With MSI-X on, the legacy header has the two vector registers before the configuration:
   * random accesses of every size at every offset (and to the MSI-X table) never throw, and a
   * vector the table does not have reads back as NO_VECTOR.
   */
  @Test
  void randomRegisterAccessesWithMsixOnNeverThrow() {
    Random r = new Random(SEED + 2);
    FuzzDma mem = new FuzzDma(RAM);
    List<long[]> messages = new ArrayList<>();
    VirtioPciLegacy d = new VirtioPciLegacy("virtio-net msix fuzz",
        new VirtioNet("m", VirtioNet.mac("00:16:3e:00:00:02")), mem,
        (address, data) -> messages.add(new long[] {address, data}));
    d.function().write(VirtioPciLegacy.MSIX_CAP + 2, 2, 0x8000);
    for (int i = 0; i < 200_000; i++) {
      int port = r.nextInt(80);
      int size = new int[] {1, 2, 4}[r.nextInt(3)];
      if (r.nextBoolean()) {
        d.in(port, size);
      } else if (r.nextInt(50) == 0) {
        d.function().write(VirtioPciLegacy.MSIX_CAP + 2, 2, r.nextInt(2) << 15);
      } else if (r.nextInt(20) == 0) {
        d.msix().write(r.nextInt(64), size, r.nextInt());
      } else {
        int value = port == VirtioPciLegacy.QUEUE_ADDRESS ? r.nextInt(RAM / 4096 + 8)
            : port == VirtioPciLegacy.DEVICE_STATUS && r.nextBoolean() ? 0 : r.nextInt();
        d.out(port, size, value);
      }
    }
    d.function().write(VirtioPciLegacy.MSIX_CAP + 2, 2, 0x8000);
    d.out(VirtioPciLegacy.QUEUE_SELECT, 2, 0);
    d.out(VirtioPciLegacy.QUEUE_VECTOR, 2, 0x7777);
    assertThat(d.in(VirtioPciLegacy.QUEUE_VECTOR, 2)).isEqualTo(VirtioPciLegacy.NO_VECTOR);
  }
}
