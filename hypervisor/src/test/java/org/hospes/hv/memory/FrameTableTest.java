package org.hospes.hv.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link FrameTable#allocate(int, int)} gives a domain's RAM in one call: the frames, their
 * order and the table's state after (next frame, free count, each owner's range for freeAll)
 * must be those of as many {@link FrameTable#allocate(int)} calls.
 */
class FrameTableTest {
  private static final int FRAMES = 1024;

  /** The same history of allocations and frees on a table, from a seed. */
  private static FrameTable fragmented(long seed) {
    Random random = new Random(seed);
    FrameTable t = new FrameTable((long) FRAMES << 12, 16L << 12);
    List<Long> held = new ArrayList<>();
    int steps = random.nextInt(3000);
    for (int i = 0; i < steps; i++) {
      if (held.isEmpty() || (random.nextInt(3) > 0 && t.freeFrames() > 0)) {
        held.add(t.allocate(1 + random.nextInt(4)));
      } else {
        t.free(held.remove(random.nextInt(held.size())));
      }
    }
    return t;
  }

  @Test
  void manyAtOnceAreTheFramesOneAtATimeGive() {
    long seed = new Random().nextLong();
    Random random = new Random(seed);
    for (int round = 0; round < 200; round++) {
      long history = random.nextLong();
      FrameTable one = fragmented(history);
      FrameTable many = fragmented(history);
      int domid = random.nextInt(6);
      int count = random.nextInt(one.freeFrames() + 1);
      String as = "seed " + seed + ", round " + round + ", " + count + " frames";

      long[] expected = new long[count];
      for (int i = 0; i < count; i++) {
        expected[i] = one.allocate(domid);
      }
      assertThat(many.allocate(domid, count)).as(as).isEqualTo(expected);
      assertThat(many.freeFrames()).as(as).isEqualTo(one.freeFrames());
      for (int f = 0; f < FRAMES; f++) {
        assertThat(many.owner(f)).as("%s: frame %d", as, f).isEqualTo(one.owner(f));
      }
      // The next frame handed out, and what freeAll finds of the domain, are the same too.
      if (one.freeFrames() > 0) {
        assertThat(many.allocate(99)).as(as).isEqualTo(one.allocate(99));
      }
      List<Long> freedOne = new ArrayList<>();
      List<Long> freedMany = new ArrayList<>();
      assertThat(many.freeAll(domid, freedMany::add)).as(as)
          .isEqualTo(one.freeAll(domid, freedOne::add));
      assertThat(freedMany).as(as).isEqualTo(freedOne);
    }
  }

  @Test
  void tooManyTakesNone() {
    FrameTable t = new FrameTable(64L << 12, 16L << 12);
    assertThatThrownBy(() -> t.allocate(1, 49)).isInstanceOf(IllegalStateException.class);
    assertThat(t.freeFrames()).isEqualTo(48);
    assertThat(t.allocate(1, 48)).hasSize(48).startsWith(16, 17).endsWith(63);
    assertThat(t.allocate(1, 0)).isEmpty();
  }
}
