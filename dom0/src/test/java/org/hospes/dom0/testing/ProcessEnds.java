package org.hospes.dom0.testing;

import java.time.Duration;
import java.util.Optional;

/**
 * Whether a process that is not the test's own child ends, for the tests that check that a
 * signal to a launcher or CLI leaves no process of it behind.
 *
 * <p>A process the test did not start can be seen alive for a while after it was ended: until
 * its parent reaps it, it is a zombie, which {@link ProcessHandle#isAlive} counts as alive, and
 * once its parent is gone it waits for init (here, seconds). So a check made the moment the
 * launcher has exited races with the end it checks; this waits for the end with a deadline
 * instead. The handle is taken while the process surely runs (before the signal), so that its
 * pid, once free, taken by another process does not read as the same process still alive.
 */
public final class ProcessEnds {
  private ProcessEnds() {}

  /** The handle of the running process {@code pid}; fails if there is none. */
  public static ProcessHandle running(long pid) {
    Optional<ProcessHandle> h = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
    if (h.isEmpty()) {
      throw new AssertionError("process " + pid + " is not running");
    }
    return h.get();
  }

  /**
   * True once {@code process} has ended, false if it still runs at the {@code deadline}: the
   * deadline is for a slow host, and is well short of how long the processes these tests check
   * would run if nothing ended them.
   */
  public static boolean within(ProcessHandle process, Duration deadline)
      throws InterruptedException {
    long end = System.nanoTime() + deadline.toNanos();
    while (process.isAlive()) {
      if (System.nanoTime() - end >= 0) {
        return false;
      }
      Thread.sleep(20);
    }
    return true;
  }
}
