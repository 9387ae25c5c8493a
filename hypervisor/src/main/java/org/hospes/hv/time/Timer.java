package org.hospes.hv.time;

import java.util.Objects;

/**
 * One device's deadline on a {@link TimerQueue}. A device creates its timers once, when the
 * machine is built, and re-arms them as often as it likes: arming and firing allocate nothing.
 * A timer is armed at most once at a time; arming it again moves its deadline.
 */
public final class Timer {

  /** What a timer does when its deadline has passed. */
  @FunctionalInterface
  public interface Callback {
    /**
     * Called once per arming, when the queue's time has reached the deadline. {@code now} is the
     * time the queue was run at (at or after the deadline); the callback may re-arm the timer.
     */
    void expired(long now);
  }

  final TimerQueue queue;
  final Callback callback;
  final String name;
  /** Registration order: breaks ties between equal deadlines, so firing order is deterministic. */
  final int order;
  long deadline;
  /** Position in the queue's heap, or -1 while disarmed. */
  int heapIndex = -1;

  Timer(TimerQueue queue, String name, int order, Callback callback) {
    this.queue = queue;
    this.name = Objects.requireNonNull(name, "name");
    this.order = order;
    this.callback = Objects.requireNonNull(callback, "callback");
  }

  /** Arms (or moves) the timer to fire once virtual time reaches {@code deadline} cycles. */
  public void arm(long deadline) {
    queue.arm(this, deadline);
  }

  /** Disarms the timer; does nothing if it is not armed. */
  public void cancel() {
    queue.cancel(this);
  }

  public boolean isArmed() {
    return heapIndex >= 0;
  }

  /** The deadline of the current arming (meaningless while disarmed). */
  public long deadline() {
    return deadline;
  }

  public String name() {
    return name;
  }

  @Override
  public String toString() {
    return isArmed() ? name + "@" + deadline : name + "(disarmed)";
  }
}
