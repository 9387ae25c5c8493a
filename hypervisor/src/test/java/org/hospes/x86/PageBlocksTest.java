package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A code page's blocks by offset, against a map from a fixed seed. */
class PageBlocksTest {
  private static final long SEED = 0x5EED_B10CL;

  private static Block block(int off) {
    return new Block(0x5000 + off, 0, new int[4], 1, 1, -1);
  }

  @Test
  void getPutAndRemoveAgreeWithAMapOverEveryOffset() {
    Random rnd = new Random(SEED);
    PageBlocks page = new PageBlocks();
    Map<Integer, Block> model = new HashMap<>();
    for (int step = 0; step < 20_000; step++) {
      int off = rnd.nextInt(4096);
      switch (rnd.nextInt(3)) {
        case 0 -> {
          Block b = block(off);
          page.put(off, b);
          model.put(off, b);
        }
        case 1 -> {
          // Removes only the block it names: another block at the offset stays.
          Block b = rnd.nextBoolean() ? model.get(off) : block(off);
          page.remove(off, b);
          if (b != null && model.get(off) == b) {
            model.remove(off);
          }
        }
        default -> assertThat(page.get(off)).as("offset %d, step %d, seed %x", off, step, SEED)
            .isSameAs(model.get(off));
      }
    }
    for (int off = 0; off < 4096; off++) {
      assertThat(page.get(off)).as("offset %d, seed %x", off, SEED).isSameAs(model.get(off));
    }
  }

  @Test
  void invalidateAllReachesTheFirstAndLastOffsetOfEveryChunk() {
    PageBlocks page = new PageBlocks();
    Map<Integer, Block> held = new HashMap<>();
    for (int chunk = 0; chunk < 4096; chunk += 64) {
      for (int off : new int[] {chunk, chunk + 63}) {
        Block b = block(off);
        page.put(off, b);
        held.put(off, b);
      }
    }
    page.invalidateAll();
    assertThat(held).hasSize(128);
    assertThat(held.values()).allSatisfy(b -> assertThat(b.valid).isFalse());
  }
}
