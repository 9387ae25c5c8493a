package org.hospes.hv.sched;

import java.util.ArrayDeque;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;

/** Round robin over runnable vCPUs with a fixed timeslice; weights and caps are ignored. */
public final class RoundRobinScheduler implements Scheduler {
  public static final String NAME = "rr";
  /** 10 ms at the 1 GHz virtual clock. */
  public static final long DEFAULT_SLICE = 10_000_000L;

  private final ArrayDeque<Vcpu> queue = new ArrayDeque<>();
  private final long slice;

  public RoundRobinScheduler() {
    this(DEFAULT_SLICE);
  }

  public RoundRobinScheduler(long sliceCycles) {
    this.slice = sliceCycles;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public boolean usesWeight() {
    return false;
  }

  @Override
  public boolean usesCap() {
    return false;
  }

  @Override
  public void addVcpu(Vcpu v) {
    if (v.state() == VcpuState.RUNNABLE) {
      queue.addLast(v);
    }
  }

  @Override
  public void removeVcpu(Vcpu v) {
    queue.remove(v);
  }

  @Override
  public Vcpu pickNext(long now) {
    Vcpu v = queue.pollFirst();
    if (v != null) {
      queue.addLast(v);
    }
    return v;
  }

  @Override
  public long timeslice(Vcpu v, long now) {
    return slice;
  }

  @Override
  public void account(Vcpu v, long cycles, long now) {}

  @Override
  public void wake(Vcpu v, long now) {
    if (!queue.contains(v)) {
      queue.addLast(v);
    }
  }

  @Override
  public void sleep(Vcpu v, long now) {
    queue.remove(v);
  }
}
