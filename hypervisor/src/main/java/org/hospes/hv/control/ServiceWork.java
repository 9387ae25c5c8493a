package org.hospes.hv.control;

import java.util.ArrayDeque;

/**
 * The pending work of one service domain's vCPU, in arrival order: events on its ports (for
 * xenstored, backends) and I/O requests it serves (a device model). The vCPU has no processor;
 * when the scheduler runs it, it takes items from the head while its slice lasts, each item's
 * modelled cycles being the vCPU's run time. An item is not split: one that overruns the slice
 * finishes (as an instruction would) and the rest wait, in order, for the next slice. With
 * nothing left the vCPU blocks; new work wakes it.
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

  /**
   * Runs items from {@code now} until {@code budget} cycles are used or none is left; returns the
   * cycles used (at least the whole of the last item).
   */
  public long run(long now, long budget) {
    if (running) {
      return 0;
    }
    running = true;
    long used = charged;
    charged = 0;
    try {
      while (used < budget) {
        Item item = queue.poll();
        if (item == null) {
          break;
        }
        itemsRun++;
        present.accept(now + used);
        used += Math.max(0, item.run(now + used));
        used += charged;
        charged = 0;
      }
    } finally {
      running = false;
    }
    return used;
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
