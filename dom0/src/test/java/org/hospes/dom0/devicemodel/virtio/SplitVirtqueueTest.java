package org.hospes.dom0.devicemodel.virtio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import org.hospes.dom0.devicemodel.ArrayGuestDma;
import org.hospes.dom0.devicemodel.virtio.TestDriver.Seg;
import org.junit.jupiter.api.Test;

class SplitVirtqueueTest {
  private static final long SEED = 0x5EED_0013L;
  private static final int RAM = 1 << 20;
  private static final long INDIRECT = 0x8000;
  private static final long DATA = 0x10000;

  private record Expected(int head, Seg[] segs) {}

  private static Seg[] randomSegs(Random rnd, int n) {
    Seg[] s = new Seg[n];
    int readable = rnd.nextInt(n + 1);
    for (int i = 0; i < n; i++) {
      int len = rnd.nextInt(4) == 0 ? 0 : 1 + rnd.nextInt(3000);
      long addr = DATA + rnd.nextInt(RAM - (int) DATA - 4096);
      s[i] = new Seg(addr, len, i >= readable);
    }
    return s;
  }

  @Test
  void randomChainsDirectAndIndirectComeOutAsTheDriverMadeThem() {
    Random rnd = new Random(SEED);
    ArrayGuestDma mem = new ArrayGuestDma(RAM);
    SplitVirtqueue q = new SplitVirtqueue(mem, 64);
    q.configureLegacy(1);
    q.setIndirect(true);
    TestDriver drv = new TestDriver(mem, 64, 1, INDIRECT, DATA - INDIRECT);
    Deque<Expected> model = new ArrayDeque<>();
    long chains = 0;
    for (int round = 0; round < 3000; round++) {
      drv.resetIndirectArea(INDIRECT);
      int batch = 1 + rnd.nextInt(6);
      for (int b = 0; b < batch && drv.free() > 0; b++) {
        boolean indirect = rnd.nextBoolean();
        int n = indirect ? 1 + rnd.nextInt(32) : 1 + rnd.nextInt(Math.min(8, drv.free()));
        Seg[] segs = randomSegs(rnd, n);
        int head = indirect ? drv.addIndirect(segs, rnd) : drv.add(segs, rnd);
        model.add(new Expected(head, segs));
      }
      List<int[]> pushed = new ArrayList<>();
      DescriptorChain c;
      while ((c = q.pop()) != null) {
        Expected e = model.poll();
        String at = "seed " + Long.toHexString(SEED) + " round " + round;
        assertThat(e).as(at).isNotNull();
        assertThat(c.head()).as(at).isEqualTo(e.head());
        assertThat(c.count()).as(at).isEqualTo(e.segs().length);
        long r = 0;
        long w = 0;
        for (int i = 0; i < c.count(); i++) {
          Seg s = e.segs()[i];
          assertThat(c.address(i)).as(at).isEqualTo(s.addr());
          assertThat(c.length(i)).as(at).isEqualTo(s.len());
          assertThat(c.writable(i)).as(at).isEqualTo(s.write());
          if (s.write()) {
            w += s.len();
          } else {
            r += s.len();
          }
        }
        assertThat(c.readableBytes()).as(at).isEqualTo(r);
        assertThat(c.writableBytes()).as(at).isEqualTo(w);
        int len = rnd.nextInt(1 << 16);
        q.pushUsed(c.head(), len);
        pushed.add(new int[] {c.head(), len});
        chains++;
      }
      assertThat(model).as("seed %x round %d", SEED, round).isEmpty();
      List<int[]> used = drv.takeUsed();
      assertThat(used).as("seed %x round %d", SEED, round).containsExactlyElementsOf(pushed);
    }
    // The ring slots wrapped many times over (the 16-bit indices' own wrap is not reached).
    assertThat(chains).isGreaterThan(100 * 64);
    assertThat(q.popped()).isEqualTo(chains);
  }

  @Test
  void theReadableAndWritableStreamsSpanSegmentsAsOneByteStreamEach() {
    Random rnd = new Random(SEED + 1);
    ArrayGuestDma mem = new ArrayGuestDma(RAM);
    SplitVirtqueue q = new SplitVirtqueue(mem, 16);
    q.configureLegacy(1);
    TestDriver drv = new TestDriver(mem, 16, 1, INDIRECT, 0);
    for (int round = 0; round < 500; round++) {
      int n = 1 + rnd.nextInt(8);
      Seg[] segs = new Seg[n];
      long at = DATA;
      int readable = rnd.nextInt(n + 1);
      for (int i = 0; i < n; i++) {
        int len = rnd.nextInt(700);
        segs[i] = new Seg(at, len, i >= readable);
        at += len + rnd.nextInt(64);
      }
      rnd.nextBytes(mem.ram);
      java.io.ByteArrayOutputStream in = new java.io.ByteArrayOutputStream();
      for (Seg s : segs) {
        if (!s.write()) {
          in.write(mem.ram, (int) s.addr(), s.len());
        }
      }
      // The ring was overwritten by the random bytes: lay it out again.
      java.util.Arrays.fill(mem.ram, 4096, 3 * 4096, (byte) 0);
      q.configureLegacy(1);
      drv = new TestDriver(mem, 16, 1, INDIRECT, 0);
      drv.add(segs, rnd);
      DescriptorChain c = q.pop();
      byte[] model = in.toByteArray();
      byte[] got = new byte[model.length];
      c.read(mem, 0, got, 0, got.length);
      assertThat(got).as("seed %x round %d", SEED + 1, round).isEqualTo(model);
      int w = (int) c.writableBytes();
      byte[] out = new byte[w];
      rnd.nextBytes(out);
      int split = w == 0 ? 0 : rnd.nextInt(w);
      c.write(mem, 0, out, 0, split);
      c.write(mem, split, out, split, w - split);
      int k = 0;
      for (Seg s : segs) {
        if (s.write()) {
          for (int i = 0; i < s.len(); i++) {
            assertThat(mem.ram[(int) s.addr() + i]).isEqualTo(out[k++]);
          }
        }
      }
      assertThatThrownBy(() -> c.write(mem, w, new byte[1], 0, 1))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  private static SplitVirtqueue queueWith(ArrayGuestDma mem, int head) {
    SplitVirtqueue q = new SplitVirtqueue(mem, 8);
    q.configureLegacy(1);
    long avail = 4096 + 16 * 8;
    mem.put16(avail + 4, head);
    mem.put16(avail + 2, 1);
    return q;
  }

  private static void desc(ArrayGuestDma mem, long table, int i, long addr, int len, int flags,
      int next) {
    mem.put64(table + 16L * i, addr);
    mem.put32(table + 16L * i + 8, len);
    mem.put16(table + 16L * i + 12, flags);
    mem.put16(table + 16L * i + 14, next);
  }

  @Test
  void aDescriptorLoopEndsAtTheQueueSize() {
    ArrayGuestDma mem = new ArrayGuestDma(RAM);
    SplitVirtqueue q = queueWith(mem, 0);
    desc(mem, 4096, 0, DATA, 16, VirtioConstants.VIRTQ_DESC_F_NEXT, 1);
    desc(mem, 4096, 1, DATA, 16, VirtioConstants.VIRTQ_DESC_F_NEXT, 0);
    assertThatThrownBy(q::pop).isInstanceOf(VirtqueueException.class)
        .hasMessageContaining("longer than the queue size 8");
  }

  @Test
  void indicesPastTheTableAndRingsAheadAreRefused() {
    ArrayGuestDma mem = new ArrayGuestDma(RAM);
    assertThatThrownBy(queueWith(mem, 8)::pop).isInstanceOf(VirtqueueException.class)
        .hasMessageContaining("names descriptor 8");
    SplitVirtqueue q = queueWith(mem, 0);
    desc(mem, 4096, 0, DATA, 16, VirtioConstants.VIRTQ_DESC_F_NEXT, 9);
    assertThatThrownBy(q::pop).hasMessageContaining("descriptor 9 is past its table of 8");
    SplitVirtqueue ahead = queueWith(mem, 0);
    mem.put16(4096 + 16 * 8 + 2, 9);
    assertThatThrownBy(ahead::pop).hasMessageContaining("more than the queue size");
  }

  @Test
  void indirectTablesFollowTheRules() {
    ArrayGuestDma mem = new ArrayGuestDma(RAM);
    int ind = VirtioConstants.VIRTQ_DESC_F_INDIRECT;
    SplitVirtqueue q = queueWith(mem, 0);
    desc(mem, 4096, 0, INDIRECT, 32, ind, 0);
    assertThatThrownBy(q::pop).hasMessageContaining("without VIRTIO_RING_F_INDIRECT_DESC");
    q = queueWith(mem, 0);
    q.setIndirect(true);
    desc(mem, INDIRECT, 0, INDIRECT, 16, ind, 0);
    assertThatThrownBy(q::pop).hasMessageContaining("inside an indirect table");
    q = queueWith(mem, 0);
    q.setIndirect(true);
    desc(mem, 4096, 0, INDIRECT, 24, ind, 0);
    assertThatThrownBy(q::pop).hasMessageContaining("not a whole number");
    q = queueWith(mem, 0);
    q.setIndirect(true);
    desc(mem, 4096, 0, INDIRECT, 32, ind | VirtioConstants.VIRTQ_DESC_F_NEXT, 1);
    assertThatThrownBy(q::pop).hasMessageContaining("with NEXT set");
  }

  @Test
  void aReadableDescriptorAfterAWritableOneIsRefused() {
    ArrayGuestDma mem = new ArrayGuestDma(RAM);
    SplitVirtqueue q = queueWith(mem, 0);
    desc(mem, 4096, 0, DATA, 16,
        VirtioConstants.VIRTQ_DESC_F_WRITE | VirtioConstants.VIRTQ_DESC_F_NEXT, 1);
    desc(mem, 4096, 1, DATA, 16, 0, 0);
    assertThatThrownBy(q::pop).hasMessageContaining("readable descriptor after a writable");
  }

  @Test
  void ringsOutsideTheDomainsMemoryFailAsAVirtqueueError() {
    ArrayGuestDma mem = new ArrayGuestDma(RAM);
    SplitVirtqueue q = new SplitVirtqueue(mem, 8);
    q.configureLegacy(RAM / 4096 + 10);
    assertThatThrownBy(q::pop).isInstanceOf(VirtqueueException.class)
        .hasMessageContaining("ring memory");
    assertThatThrownBy(() -> q.pushUsed(0, 0)).isInstanceOf(VirtqueueException.class);
  }

  @Test
  void queueSizesMustBePowersOfTwo() {
    ArrayGuestDma mem = new ArrayGuestDma(4096);
    for (int bad : new int[] {0, 3, 100, 65536, -8}) {
      assertThatThrownBy(() -> new SplitVirtqueue(mem, bad))
          .isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(new SplitVirtqueue(mem, 32768).size()).isEqualTo(32768);
  }

  @Test
  void randomRingContentsOnlyEverGiveChainsOrVirtqueueErrors() {
    Random rnd = new Random(SEED + 2);
    for (int round = 0; round < 2000; round++) {
      ArrayGuestDma mem = new ArrayGuestDma(64 * 1024);
      byte[] noise = new byte[3 * 4096];
      rnd.nextBytes(noise);
      System.arraycopy(noise, 0, mem.ram, 4096, noise.length);
      if (rnd.nextBoolean()) {
        // Mostly-sane heads and small lengths, so some chains get far before breaking.
        for (int i = 0; i < 16; i++) {
          mem.ram[4096 + 16 * i + 12] &= 7;
          mem.ram[4096 + 16 * i + 14] &= 15;
          mem.ram[4096 + 16 * i + 15] = 0;
        }
      }
      mem.put16(4096 + 16 * 16 + 2, rnd.nextInt(17));
      SplitVirtqueue q = new SplitVirtqueue(mem, 16);
      q.configureLegacy(1);
      q.setIndirect(rnd.nextBoolean());
      try {
        for (int i = 0; i < 20 && q.pop() != null; i++) {
          DescriptorChain c = q.pop();
          if (c == null) {
            break;
          }
          assertThat(c.count()).isBetween(1, 16);
        }
      } catch (VirtqueueException e) {
        // what a hostile driver gets
      }
    }
  }
}
