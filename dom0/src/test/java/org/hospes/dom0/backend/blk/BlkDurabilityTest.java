package org.hospes.dom0.backend.blk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.Blkif.*;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Durability: a write acknowledged before an acknowledged FLUSH_DISKCACHE (or WRITE_BARRIER)
 * survives a power cut. The disk is a {@link CrashSimulatingImage}, which keeps at the cut only
 * what was flushed; random write/flush sequences (fixed seeds, printed on failure) are cut at a
 * random point and the survivors compared with what the frontend was promised.
 */
class BlkDurabilityTest {
  private static final int SECTORS = 2048;

  @Test
  void everyWriteAcknowledgedBeforeAFlushSurvivesAPowerCut() {
    for (long seed = 1; seed <= 40; seed++) {
      Random rnd = new Random(seed);
      CrashSimulatingImage disk = new CrashSimulatingImage(SECTORS * 512);
      BlkTestbed b = new BlkTestbed(disk, rnd.nextBoolean(), true);
      b.front.connect(rnd.nextBoolean());
      byte[] promised = new byte[SECTORS * 512];
      byte[] written = new byte[SECTORS * 512];
      byte[] page = new byte[4096];
      int steps = 5 + rnd.nextInt(60);
      for (int s = 0; s < steps; s++) {
        int kind = rnd.nextInt(10);
        if (kind < 7) {
          int pages = 1 + rnd.nextInt(kind < 5 ? 11 : 40);
          long sector = (long) rnd.nextInt(SECTORS / 8 - pages) * 8;
          for (int i = 0; i < pages; i++) {
            rnd.nextBytes(page);
            b.front.fill(i, page, 0);
            System.arraycopy(page, 0, written, (int) (sector * 512) + i * 4096, 4096);
          }
          assertThat(b.front.io(OP_WRITE, sector, pages)).as("seed %d", seed).isZero();
        } else {
          int op = kind == 9 ? OP_WRITE_BARRIER : OP_FLUSH_DISKCACHE;
          assertThat(b.front.io(op, 0, 0)).as("seed %d", seed).isZero();
          // Acknowledged: everything written so far is now promised.
          System.arraycopy(written, 0, promised, 0, written.length);
        }
      }
      byte[] survivor = disk.powerCut();
      assertThat(Arrays.mismatch(survivor, promised)).as("seed %d: first lost byte", seed)
          .isEqualTo(-1);
    }
  }

  @Test
  void theSimulatedCutReallyLosesWhatWasNotFlushed() {
    CrashSimulatingImage disk = new CrashSimulatingImage(SECTORS * 512);
    BlkTestbed b = new BlkTestbed(disk);
    b.front.connect(true);
    byte[] page = new byte[4096];
    Arrays.fill(page, (byte) 0x77);
    b.front.fill(0, page, 0);
    assertThat(b.front.io(OP_WRITE, 0, 1)).isZero();
    assertThat(disk.powerCut()[0]).isZero();
    assertThat(b.front.io(OP_FLUSH_DISKCACHE, 0, 0)).isZero();
    assertThat(disk.powerCut()[0]).isEqualTo((byte) 0x77);
    assertThat(disk.flushes()).isEqualTo(1);
  }
}
