package org.hospes.dom0.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.hospes.dom0.net.FrameBacklog.Outcome;
import org.junit.jupiter.api.Test;

class FrameBacklogTest {
  /** A guest with a number of posted buffers; records what it was given. */
  private final List<byte[]> got = new ArrayList<>();
  private int buffers;
  private final FrameBacklog backlog = new FrameBacklog(3, (f, off, len) -> {
    if (buffers == 0) {
      return false;
    }
    buffers--;
    got.add(Arrays.copyOfRange(f, off, off + len));
    return true;
  });

  private static byte[] frame(int tag, int length) {
    byte[] b = new byte[length + 2];
    Arrays.fill(b, (byte) tag);
    return b;
  }

  @Test
  void framesGoStraightThroughWhileBuffersArePosted() {
    buffers = 1;
    assertThat(backlog.offer(frame(1, 60), 2, 60)).isEqualTo(Outcome.RECEIVED);
    assertThat(got).singleElement().satisfies(f -> assertThat(f).hasSize(60).containsOnly(1));
    assertThat(backlog.isEmpty()).isTrue();
  }

  @Test
  void waitingFramesKeepTheirOrderAndTheFullBacklogDrops() {
    assertThat(backlog.offer(frame(1, 60), 0, 60)).isEqualTo(Outcome.QUEUED);
    assertThat(backlog.offer(frame(2, 4000), 0, 4000)).isEqualTo(Outcome.QUEUED);
    // A buffer posted now does not let a new frame overtake the waiting ones.
    buffers = 1;
    assertThat(backlog.offer(frame(3, 70), 0, 70)).isEqualTo(Outcome.QUEUED);
    assertThat(got).isEmpty();
    assertThat(backlog.offer(frame(4, 80), 0, 80)).isEqualTo(Outcome.DROPPED);
    assertThat(backlog.size()).isEqualTo(3);
    assertThat(backlog.drain()).isEqualTo(1);
    buffers = 5;
    assertThat(backlog.drain()).isEqualTo(2);
    assertThat(got).extracting(f -> (int) f[0]).containsExactly(1, 2, 3);
    assertThat(got).extracting(f -> f.length).containsExactly(60, 4000, 70);
    assertThat(backlog.drain()).isZero();
  }

  @Test
  void clearForgetsTheWaitingFrames() {
    backlog.offer(frame(1, 60), 0, 60);
    backlog.offer(frame(2, 60), 0, 60);
    backlog.clear();
    buffers = 5;
    assertThat(backlog.drain()).isZero();
    assertThat(backlog.offer(frame(3, 60), 0, 60)).isEqualTo(Outcome.RECEIVED);
    assertThat(got).extracting(f -> (int) f[0]).containsExactly(3);
    assertThatThrownBy(() -> new FrameBacklog(0, (f, o, l) -> true))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
