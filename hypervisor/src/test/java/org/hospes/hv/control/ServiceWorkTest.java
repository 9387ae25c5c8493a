package org.hospes.hv.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServiceWorkTest {
  private int wakes;
  private final List<Long> present = new ArrayList<>();
  private final ServiceWork work = new ServiceWork(() -> wakes++, present::add);

  @Test
  void theFirstItemWakesTheServiceAndFurtherOnesQueueBehindIt() {
    work.submit(now -> 10);
    work.submit(now -> 20);
    assertThat(wakes).isEqualTo(1);
    assertThat(work.pending()).isEqualTo(2);
    assertThat(work.run(100, Long.MAX_VALUE)).isEqualTo(30);
    assertThat(present).containsExactly(100L, 110L);
    assertThat(work.hasWork()).isFalse();
    work.submit(now -> 5);
    assertThat(wakes).isEqualTo(2);
  }

  @Test
  void anItemThatOverrunsTheBudgetFinishesAndTheRestWaitInOrder() {
    List<Integer> ran = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      int n = i;
      work.submit(now -> {
        ran.add(n);
        return 40;
      });
    }
    assertThat(work.run(0, 50)).isEqualTo(80);
    assertThat(ran).containsExactly(0, 1);
    assertThat(work.run(80, 1)).isEqualTo(40);
    assertThat(work.run(120, 1000)).isEqualTo(40);
    assertThat(ran).containsExactly(0, 1, 2, 3);
    assertThat(work.itemsRun()).isEqualTo(4);
  }

  @Test
  void workSubmittedWhileRunningIsQueuedNotRunReentrantlyAndWakesNobody() {
    work.submit(now -> {
      work.submit(later -> 7);
      assertThat(work.run(now, 100)).isZero();
      return 3;
    });
    assertThat(work.run(0, 3)).isEqualTo(3);
    assertThat(wakes).isEqualTo(1);
    assertThat(work.pending()).isEqualTo(1);
  }

  @Test
  void chargedCyclesCountInTheItemThatMadeThemOrInTheNextRun() {
    work.charge(100);
    work.submit(now -> {
      work.charge(50);
      return 10;
    });
    assertThat(work.run(0, Long.MAX_VALUE)).isEqualTo(160);
    work.clear();
    assertThat(work.hasWork()).isFalse();
  }
}
