package org.hospes.hv.time;

import java.util.Arrays;

/**
 * The machine's deadlines, in cycles of its {@link VirtualClock}: a binary min-heap of
 * {@link Timer}s ordered by deadline, then by registration order.
 *
 * <p>Timers are created up front with {@link #newTimer}; arming, cancelling and firing only move
 * references within a preallocated array, so a periodic tick allocates nothing. The run loop asks
 * for {@link #nextDeadline()}, runs the processor no further than that, and then calls
 * {@link #runExpired(long)}.
 *
 * <p>Not thread-safe: the queue belongs to the thread that runs the machine.
 */
public final class TimerQueue {

  /** What {@link #nextDeadline()} returns when no timer is armed. */
  public static final long NEVER = Long.MAX_VALUE;

  private Timer[] heap = new Timer[8];
  private int size;
  private int registered;
  private long fired;

  /** Creates a disarmed timer on this queue. */
  public Timer newTimer(String name, Timer.Callback callback) {
    Timer t = new Timer(this, name, registered++, callback);
    if (registered > heap.length) {
      heap = Arrays.copyOf(heap, heap.length * 2);
    }
    return t;
  }

  /** The earliest armed deadline, or {@link #NEVER}. */
  public long nextDeadline() {
    return size == 0 ? NEVER : heap[0].deadline;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  /** Timer callbacks run so far. */
  public long fired() {
    return fired;
  }

  /**
   * Fires, in deadline order, every timer whose deadline is at or before {@code now}. A timer
   * that re-arms itself at or before {@code now} fires again in the same call, so a device that
   * fell behind catches up edge by edge.
   *
   * @return the number of callbacks run
   */
  public int runExpired(long now) {
    int n = 0;
    while (size > 0 && heap[0].deadline <= now) {
      Timer t = heap[0];
      removeAt(0);
      n++;
      fired++;
      t.callback.expired(now);
    }
    return n;
  }

  void arm(Timer t, long deadline) {
    if (t.queue != this) {
      throw new IllegalArgumentException("timer " + t.name + " belongs to another queue");
    }
    if (deadline < 0) {
      throw new IllegalArgumentException("negative deadline " + deadline + " for " + t.name);
    }
    t.deadline = deadline;
    if (t.heapIndex < 0) {
      t.heapIndex = size;
      heap[size++] = t;
      siftUp(t.heapIndex);
    } else {
      siftDown(siftUp(t.heapIndex));
    }
  }

  void cancel(Timer t) {
    if (t.heapIndex >= 0) {
      removeAt(t.heapIndex);
    }
  }

  private void removeAt(int i) {
    Timer gone = heap[i];
    gone.heapIndex = -1;
    size--;
    if (i == size) {
      heap[size] = null;
      return;
    }
    Timer last = heap[size];
    heap[size] = null;
    heap[i] = last;
    last.heapIndex = i;
    siftDown(siftUp(i));
  }

  private static boolean before(Timer a, Timer b) {
    return a.deadline < b.deadline || (a.deadline == b.deadline && a.order < b.order);
  }

  private int siftUp(int i) {
    Timer t = heap[i];
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      Timer p = heap[parent];
      if (!before(t, p)) {
        break;
      }
      heap[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    heap[i] = t;
    t.heapIndex = i;
    return i;
  }

  private void siftDown(int i) {
    Timer t = heap[i];
    while (true) {
      int child = 2 * i + 1;
      if (child >= size) {
        break;
      }
      if (child + 1 < size && before(heap[child + 1], heap[child])) {
        child++;
      }
      if (!before(heap[child], t)) {
        break;
      }
      heap[i] = heap[child];
      heap[i].heapIndex = i;
      i = child;
    }
    heap[i] = t;
    t.heapIndex = i;
  }
}
