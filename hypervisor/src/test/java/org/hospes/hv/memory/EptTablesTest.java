package org.hospes.hv.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.function.LongSupplier;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/**
 * {@link EptTables#mapAll} builds a leaf table at a time; it must leave machine memory exactly as
 * {@link EptTables#map} of each populated frame, lowest first, does: the same entries, and the
 * same table frames taken in the same order (the domain gives them back by number).
 */
class EptTablesTest {
  private static final int MACHINE_FRAMES = 4096; // 16 MiB of machine memory

  /** Machine memory and a frame allocator handing out frames from the top down, as numbers. */
  private static final class Machine {
    final MemoryBus bus = new MemoryBus((long) MACHINE_FRAMES << 12);
    long next = MACHINE_FRAMES - 1;
    final LongSupplier allocator = () -> next >= 16 ? next-- : -1;
  }

  private static void assertSameAsPageByPage(P2m p2m, String layout) {
    Machine byPage = new Machine();
    EptTables expected = new EptTables(byPage.bus, byPage.allocator);
    for (long gfn = 0; gfn < p2m.size(); gfn++) {
      long mfn = p2m.lookup(gfn);
      if (mfn != P2m.INVALID) {
        expected.map(gfn, mfn);
      }
    }
    Machine whole = new Machine();
    EptTables actual = new EptTables(whole.bus, whole.allocator);
    actual.mapAll(p2m);

    assertThat(actual.tableFrameNumbers()).as(layout).isEqualTo(expected.tableFrameNumbers());
    assertThat(actual.eptPointer()).as(layout).isEqualTo(expected.eptPointer());
    byte[] a = new byte[4096];
    byte[] e = new byte[4096];
    for (long frame = 0; frame < MACHINE_FRAMES; frame++) {
      whole.bus.read(frame << 12, a, 0, a.length);
      byPage.bus.read(frame << 12, e, 0, e.length);
      assertThat(a).as("%s: machine frame %d", layout, frame).isEqualTo(e);
    }
    assertThat(whole.bus.backedFrames()).as(layout).isEqualTo(byPage.bus.backedFrames());
  }

  /** Guest frame numbers mapped to arbitrary, distinct, high machine frames (not tables). */
  private static long mfnFor(long gfn) {
    return 0x10_0000L + gfn * 7;
  }

  @Test
  void contiguousRamOfSeveralSizes() {
    for (int frames : new int[] {1, 511, 512, 513, 1024, 1500, 4096}) {
      P2m p2m = new P2m(frames);
      for (int gfn = 0; gfn < frames; gfn++) {
        p2m.set(gfn, mfnFor(gfn));
      }
      assertSameAsPageByPage(p2m, "contiguous " + frames);
    }
  }

  @Test
  void emptyMapBuildsNoTableBelowTheRoot() {
    assertSameAsPageByPage(new P2m(2048), "empty");
  }

  @Test
  void holesWholeLeafTablesAndSingleFrames() {
    P2m p2m = new P2m(3000);
    for (int gfn = 0; gfn < 3000; gfn++) {
      boolean hole = (gfn >= 512 && gfn < 1024) // a whole leaf table empty
          || gfn == 0 || gfn == 1535 || gfn % 97 == 5; // single frames missing
      if (!hole) {
        p2m.set(gfn, mfnFor(gfn));
      }
    }
    assertSameAsPageByPage(p2m, "holes");
  }

  @Test
  void framesMappedAboveRamAcrossTheUpperLevels() {
    // Grant frames in a PCI BAR: far above RAM, under another level-3 and level-2 entry.
    P2m p2m = new P2m(600);
    for (int gfn = 0; gfn < 600; gfn++) {
      p2m.set(gfn, mfnFor(gfn));
    }
    p2m.set(0xF0000, 0x1234);
    p2m.set(0xF0001, 0x1235);
    p2m.set(0xF0200, 0x1236);
    p2m.set(0x40000 + 3, 0x999); // beyond the first GiB: a second level-2 table
    assertSameAsPageByPage(p2m, "above RAM");
  }

  @Test
  void seededRandomLayouts() {
    long seed = new Random().nextLong();
    Random random = new Random(seed);
    for (int round = 0; round < 20; round++) {
      int frames = 1 + random.nextInt(5000);
      P2m p2m = new P2m(frames);
      double density = random.nextDouble();
      for (int gfn = 0; gfn < frames; gfn++) {
        if (random.nextDouble() < density) {
          p2m.set(gfn, random.nextInt(1 << 24));
        }
      }
      assertSameAsPageByPage(p2m, "seed " + seed + ", round " + round + ", " + frames
          + " frames, density " + density);
    }
  }

  @Test
  void mapAllKeepsEntriesAlreadyInTheTables() {
    // Entries made before mapAll (frames the p2m does not hold) stay as they were.
    P2m p2m = new P2m(1024);
    for (int gfn = 0; gfn < 1024; gfn += 2) {
      p2m.set(gfn, mfnFor(gfn));
    }
    Machine byPage = new Machine();
    EptTables expected = new EptTables(byPage.bus, byPage.allocator);
    expected.mapReadOnly(3, 0x77);
    expected.map(1001, 0x78);
    Machine whole = new Machine();
    EptTables actual = new EptTables(whole.bus, whole.allocator);
    actual.mapReadOnly(3, 0x77);
    actual.map(1001, 0x78);
    for (long gfn = 0; gfn < p2m.size(); gfn++) {
      if (p2m.lookup(gfn) != P2m.INVALID) {
        expected.map(gfn, p2m.lookup(gfn));
      }
    }
    actual.mapAll(p2m);
    assertThat(actual.tableFrameNumbers()).isEqualTo(expected.tableFrameNumbers());
    for (long frame : expected.tableFrameNumbers()) {
      for (int slot = 0; slot < 512; slot++) {
        long at = (frame << 12) + slot * 8L;
        assertThat(whole.bus.read64(at)).as("frame %d slot %d", frame, slot)
            .isEqualTo(byPage.bus.read64(at));
      }
    }
  }
}
