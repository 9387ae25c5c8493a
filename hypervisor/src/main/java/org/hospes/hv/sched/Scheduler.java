package org.hospes.hv.sched;

import org.hospes.hv.domain.Vcpu;

/**
 * The scheduler extension point: which runnable vCPU runs next on a physical CPU and for how
 * long. Time is virtual, in cycles. Implementations are bound by name with Guice and may come
 * from plugin jars found with ServiceLoader.
 *
 * <p>A scheduler runs on one physical CPU unless it overrides {@link #setPcpus}; then the
 * hypervisor calls the pCPU-indexed forms ({@link #pickNext(int, long)} and the others), each
 * with the virtual clock of that pCPU. The one-pCPU forms are pCPU 0's.
 */
public interface Scheduler {

  String name();

  void addVcpu(Vcpu v);

  void removeVcpu(Vcpu v);

  /** The vCPU to run at {@code now}, or null when no vCPU may run (idle until an event). */
  Vcpu pickNext(long now);

  /** Longest time {@code v} may run before the scheduler wants control back. */
  long timeslice(Vcpu v, long now);

  /** Charges {@code v} for {@code cycles} it just ran. */
  void account(Vcpu v, long cycles, long now);

  /** {@code v} became runnable (an event woke it). */
  void wake(Vcpu v, long now);

  /** {@code v} blocked (HLT, SCHEDOP_block) or was paused. */
  void sleep(Vcpu v, long now);

  /**
   * {@code v} gave up the rest of its slice (SCHEDOP_yield, or an IPI that woke a sibling vCPU):
   * at the next decision another runnable vCPU of at least its priority runs first.
   */
  default void yield(Vcpu v, long now) {}

  /**
   * {@code woken} has just become runnable ({@link #wake}) while physical CPU {@code pcpu} runs
   * another vCPU, and no idle pCPU can take it: the time from which the running vCPU should give
   * up the pCPU so that the scheduler decides again, or {@code Long.MAX_VALUE} for not at all
   * (it runs on until its slice ends). Xen's credit scheduler "tickles" the pCPU when the woken
   * vCPU outranks the running one; this default, for schedulers that do not, never preempts.
   */
  default long preemptAt(int pcpu, Vcpu woken, long now) {
    return Long.MAX_VALUE;
  }

  /**
   * Whether a domain's weight changes what this scheduler does. One that ignores weights says
   * so here, and the hypervisor then refuses a weight other than the one the domain has, so that
   * a user's {@code --dom0-weight} or {@code weight=} is not taken and silently do nothing.
   */
  default boolean usesWeight() {
    return true;
  }

  /** As {@link #usesWeight()}, for a domain's cap. */
  default boolean usesCap() {
    return true;
  }

  /** Weight or cap of a domain changed at run time. */
  default void parametersChanged(Vcpu v) {}

  /**
   * When {@link #pickNext} returned null although some vCPU is runnable (held back by the
   * scheduler, e.g. a capped domain parked until its budget is replenished): the earliest time
   * at which it may have something to run again. {@code Long.MAX_VALUE} when only an external
   * event (a timer, an interrupt) can make a vCPU runnable.
   */
  default long nextEvent(long now) {
    return Long.MAX_VALUE;
  }

  /**
   * Sets the number of physical CPUs, 1..64, before any vCPU is scheduled. A scheduler that
   * places vCPUs on one pCPU only refuses more with an IllegalArgumentException saying so.
   */
  default void setPcpus(int n) {
    if (n != 1) {
      throw new IllegalArgumentException("the " + name() + " scheduler runs every vCPU on one"
          + " physical CPU; " + n + " physical CPUs need a scheduler that places vCPUs on"
          + " several (credit)");
    }
  }

  /** The vCPU physical CPU {@code pcpu} runs at its time {@code now}, or null (it idles). */
  default Vcpu pickNext(int pcpu, long now) {
    return pickNext(now);
  }

  /** As {@link #timeslice(Vcpu, long)}, for {@code v} on physical CPU {@code pcpu}. */
  default long timeslice(int pcpu, Vcpu v, long now) {
    return timeslice(v, now);
  }

  /** As {@link #account(Vcpu, long, long)}, for {@code v} that ran on {@code pcpu}. */
  default void account(int pcpu, Vcpu v, long cycles, long now) {
    account(v, cycles, now);
  }

  /**
   * As {@link #nextEvent(long)}, for idle physical CPU {@code pcpu}: when it may find something
   * to run without an event waking a vCPU (a parked domain's replenishment, work queued for a
   * later time on a peer).
   */
  default long nextEvent(int pcpu, long now) {
    return nextEvent(now);
  }
}
