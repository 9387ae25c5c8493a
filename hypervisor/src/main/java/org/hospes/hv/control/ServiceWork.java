package org.hospes.hv.control;

import java.util.ArrayDeque;
import java.util.function.LongSupplier;

/**
 * The pending work of one service domain's vCPU, in arrival order: events on its ports (for
 * xenstored, backends) and I/O requests it serves (a device model). The vCPU has no processor;
 * when the scheduler runs it, it takes items from the head while its slice lasts, each item's
 * modelled cycles being the vCPU's run time. With nothing left the vCPU blocks; new work wakes
 * it.
 *
 * <p>The vCPU is preempted as Xen preempts any vCPU: at the next scheduling point once its
 * slice has ended, whatever it runs. The slice's end is read again before each item, so a wake
 * that makes the scheduler want the pCPU back sooner (a boosted vCPU outranking this one) ends
 * the run at the next item. An item that serves many requests (a backend's whole ring) can stop
 * between two of them: it asks {@link #preemptionDue} after each, and when that is true it hands
 * what it has not done to {@link #resumeLater}, which runs first in the vCPU's next slice, ahead
 * of anything queued since, so nothing is lost, done twice or reordered. An item that does not
 * ask is not split: it finishes (as an instruction would) and the rest wait for the next slice.
 * A caller's cut of virtual time (the run's budget) falls only between items, never inside
 * one: where a caller cuts time is not a scheduling decision.
 */
public final class ServiceWork {
  /** One unit of service work. */
  @FunctionalInterface
  public interface Item {
    /** Does the work at virtual time {@code now}; returns its modelled cycles. */
    long run(long now);
  }

  private final ArrayDeque<Item> queue = new ArrayDeque<>();
  private final Runnable wake;
  private final java.util.function.LongConsumer present;
  private boolean running;
  private long itemsRun;
  /** Items that stopped at a preemption and left the rest of their work for the next slice. */
  private long preemptions;
  /** While a run goes on: when its vCPU's slice ends (read again, a wake may bring it closer). */
  private LongSupplier sliceEnd = NO_END;
  /** While an item runs: the virtual time it started at. */
  private long itemStart;
  private static final LongSupplier NO_END = () -> Long.MAX_VALUE;
  /** Cycles of privileged operations (grant and foreign maps) not yet part of a run. */
  private long charged;

  /**
   * @param wake called when work arrives for an idle service (the hypervisor wakes its vCPU)
   * @param present told the virtual time at which each item starts (what the hypervisor then
   *     takes as the present, e.g. for the runstate of a vCPU the item wakes)
   */
  public ServiceWork(Runnable wake, java.util.function.LongConsumer present) {
    this.wake = wake;
    this.present = present;
  }

  /** Queues {@code item} behind what is pending and wakes the service if it was idle. */
  public void submit(Item item) {
    boolean idle = queue.isEmpty();
    queue.add(item);
    if (idle && !running) {
      wake.run();
    }
  }

  public boolean hasWork() {
    return !queue.isEmpty();
  }

  /** Items waiting. */
  public int pending() {
    return queue.size();
  }

  /** Items run so far. */
  public long itemsRun() {
    return itemsRun;
  }

  /** True while items are being run (work they submit is queued, not run re-entrantly). */
  public boolean isRunning() {
    return running;
  }

  /** Items that were preempted part-way and left their rest for a later slice. */
  public long preemptions() {
    return preemptions;
  }

  /**
   * Runs items from {@code now} until {@code budget} cycles are used or none is left, with no
   * slice end (work run outside the scheduler's turns); returns the cycles used (at least the
   * whole of the last item).
   */
  public long run(long now, long budget) {
    return run(now, budget, NO_END);
  }

  /**
   * Runs items from {@code now} until {@code budget} cycles are used (the caller's cut: only
   * between items), the time {@code sliceEnd} gives is reached (the scheduler's end of the slice,
   * read before each item and by {@link #preemptionDue}), or none is left; returns the cycles
   * used (at least the whole of the last item, or of its part up to a preemption).
   */
  public long run(long now, long budget, LongSupplier sliceEnd) {
    if (running) {
      return 0;
    }
    running = true;
    this.sliceEnd = sliceEnd;
    long used = charged;
    charged = 0;
    try {
      while (used < budget && now + used < sliceEnd.getAsLong()) {
        Item item = queue.poll();
        if (item == null) {
          break;
        }
        itemsRun++;
        itemStart = now + used;
        present.accept(itemStart);
        used += Math.max(0, item.run(itemStart));
        used += charged;
        charged = 0;
      }
    } finally {
      running = false;
      this.sliceEnd = NO_END;
    }
    return used;
  }

  /**
   * Asked by the item that runs, between two of its requests: true when, having spent {@code
   * spent} cycles so far (the privileged operations it made are added), it has reached the end
   * of its vCPU's slice. It should then stop and hand the rest to {@link #resumeLater}. Always
   * false outside a scheduled run (a drain, a test serving by hand).
   */
  public boolean preemptionDue(long spent) {
    return running && itemStart + Math.max(0, spent) + charged >= sliceEnd.getAsLong();
  }

  /**
   * The item that runs stopped at a preemption: {@code rest}, the work it has not done, runs
   * first in the vCPU's next slice (before the items queued behind it and those submitted
   * since), so the vCPU stays runnable and nothing waits behind newer work.
   */
  public void resumeLater(Item rest) {
    queue.addFirst(rest);
    preemptions++;
  }

  /**
   * Adds the modelled cost of a privileged operation the service made (a mapping): part of the
   * item that made it, or of the next run when the toolstack made it outside one.
   */
  public void charge(long cycles) {
    charged += cycles;
  }

  /** Drops everything pending (the service domain is going away). */
  public void clear() {
    queue.clear();
  }
}
