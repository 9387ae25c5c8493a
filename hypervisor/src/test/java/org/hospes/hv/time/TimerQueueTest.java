package org.hospes.hv.time;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TimerQueueTest {

  private final TimerQueue queue = new TimerQueue();
  private final List<String> fired = new ArrayList<>();

  private Timer timer(String name) {
    return queue.newTimer(name, now -> fired.add(name + "@" + now));
  }

  @Test
  void anEmptyQueueHasNoDeadline() {
    assertThat(queue.nextDeadline()).isEqualTo(TimerQueue.NEVER);
    assertThat(queue.runExpired(1000)).isZero();
  }

  @Test
  void timersFireInDeadlineOrderThenRegistrationOrder() {
    Timer a = timer("a");
    Timer b = timer("b");
    Timer c = timer("c");
    c.arm(50);
    b.arm(30);
    a.arm(50);
    assertThat(queue.nextDeadline()).isEqualTo(30);
    assertThat(queue.runExpired(49)).isEqualTo(1);
    assertThat(queue.runExpired(60)).isEqualTo(2);
    assertThat(fired).containsExactly("b@49", "a@60", "c@60");
    assertThat(queue.isEmpty()).isTrue();
  }

  @Test
  void reArmingMovesTheDeadlineAndCancelDisarms() {
    Timer a = timer("a");
    Timer b = timer("b");
    a.arm(100);
    b.arm(200);
    a.arm(300);
    assertThat(queue.nextDeadline()).isEqualTo(200);
    b.cancel();
    assertThat(b.isArmed()).isFalse();
    assertThat(queue.nextDeadline()).isEqualTo(300);
    b.cancel();
    queue.runExpired(1000);
    assertThat(fired).containsExactly("a@1000");
  }

  @Test
  void aPeriodicTimerThatFellBehindCatchesUpEdgeByEdge() {
    long[] deadline = {10};
    Timer[] self = new Timer[1];
    self[0] = queue.newTimer("tick", now -> {
      fired.add("tick" + deadline[0]);
      deadline[0] += 10;
      self[0].arm(deadline[0]);
    });
    self[0].arm(10);
    assertThat(queue.runExpired(45)).isEqualTo(4);
    assertThat(fired).containsExactly("tick10", "tick20", "tick30", "tick40");
    assertThat(queue.nextDeadline()).isEqualTo(50);
  }

  @Test
  void manyTimersKeepHeapOrder() {
    List<Timer> ts = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      ts.add(timer("t" + i));
    }
    for (int i = 0; i < 40; i++) {
      ts.get(i).arm((i * 17L) % 41);
    }
    for (int i = 0; i < 40; i += 3) {
      ts.get(i).cancel();
    }
    long last = -1;
    while (!queue.isEmpty()) {
      long d = queue.nextDeadline();
      assertThat(d).isGreaterThanOrEqualTo(last);
      last = d;
      queue.runExpired(d);
    }
    assertThat(fired).hasSize(40 - 14);
  }
}
