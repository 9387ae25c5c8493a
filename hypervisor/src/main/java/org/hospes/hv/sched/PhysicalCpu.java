package org.hospes.hv.sched;

/**
 * One physical CPU of the hypervisor: its own virtual clock and what it did with it. The
 * hypervisor advances its pCPUs in lockstep (the one furthest behind runs next); an idle pCPU's
 * clock stands still until something wakes it, and the time it stood is its idle time.
 */
public final class PhysicalCpu {
  private final int id;
  /** Virtual time this pCPU has reached (while awake). */
  long clock;
  boolean idle;
  /** When it went idle. */
  long idleSince;
  /** While idle: when it looks for work again (a wake-up, a scheduler event), else MAX. */
  long wakeAt = Long.MAX_VALUE;
  long busyCycles;
  long idleCycles;
  long migrations;

  public PhysicalCpu(int id) {
    this.id = id;
  }

  public int id() {
    return id;
  }

  public long clock() {
    return clock;
  }

  public void setClock(long clock) {
    this.clock = clock;
  }

  public boolean idle() {
    return idle;
  }

  /** Goes idle at {@code at} until {@code wakeAt} (MAX: until woken). */
  public void goIdle(long at, long wakeAt) {
    idle = true;
    idleSince = at;
    this.wakeAt = wakeAt;
  }

  /** Something became runnable at {@code at}: an idle pCPU looks for work then. */
  public void kick(long at) {
    if (idle) {
      wakeAt = Math.min(wakeAt, Math.max(at, idleSince));
    }
  }

  /** When it next acts: its clock, or while idle its wake-up time (MAX: none in view). */
  public long nextAction() {
    return idle ? wakeAt : clock;
  }

  /** Ends its idle time at {@code at} (not before it went idle). */
  public void wakeUp(long at) {
    if (idle) {
      idle = false;
      clock = Math.max(at, idleSince);
      idleCycles += clock - idleSince;
      wakeAt = Long.MAX_VALUE;
    }
  }

  public void addBusy(long cycles) {
    busyCycles += cycles;
  }

  public void addIdle(long cycles) {
    idleCycles += cycles;
  }

  public void countMigration() {
    migrations++;
  }

  /** Cycles it ran vCPUs (guests' and service domains'). */
  public long busyCycles() {
    return busyCycles;
  }

  /** Cycles it idled, up to {@code now} if it is idle now. */
  public long idleCycles(long now) {
    return idleCycles + (idle ? Math.max(0, now - idleSince) : 0);
  }

  /** vCPUs that came to run here from another pCPU. */
  public long migrations() {
    return migrations;
  }
}
