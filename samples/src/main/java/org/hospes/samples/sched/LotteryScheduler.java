package org.hospes.samples.sched;

import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.sched.Scheduler;

/**
 * A third-party scheduler: lottery scheduling (Waldspurger and Weihl, OSDI'94). Each runnable
 * vCPU holds as many tickets as its domain's weight; at every decision one ticket is drawn and
 * its holder runs for a fixed quantum. Over many draws each domain's share of the CPU tends to
 * its share of the tickets. Caps are not honoured (a sample, not a policy to rely on), and it
 * says so ({@link #usesCap}), so that the hypervisor refuses a cap rather than ignore it.
 *
 * <p>The draws come from a seeded generator, so runs stay deterministic.
 */
public final class LotteryScheduler implements Scheduler {
  public static final String NAME = "lottery";
  /** 1 ms at the 1 GHz virtual clock: many draws, so shares settle quickly. */
  public static final long QUANTUM = 1_000_000L;
  public static final long DEFAULT_SEED = 0x5EEDL;

  private final List<Vcpu> runnable = new ArrayList<>();
  private long state;
  private long draws;

  public LotteryScheduler() {
    this(DEFAULT_SEED);
  }

  public LotteryScheduler(long seed) {
    this.state = seed == 0 ? 1 : seed;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public boolean usesCap() {
    return false;
  }

  /** xorshift64*: small, fast and deterministic. */
  private long nextRandom() {
    state ^= state >>> 12;
    state ^= state << 25;
    state ^= state >>> 27;
    return state * 0x2545F4914F6CDD1DL;
  }

  @Override
  public void addVcpu(Vcpu v) {
    if (v.state() == VcpuState.RUNNABLE) {
      wake(v, 0);
    }
  }

  @Override
  public void removeVcpu(Vcpu v) {
    runnable.remove(v);
  }

  @Override
  public Vcpu pickNext(long now) {
    long total = 0;
    for (Vcpu v : runnable) {
      total += v.domain().weight();
    }
    if (total == 0) {
      return null;
    }
    draws++;
    long ticket = Long.remainderUnsigned(nextRandom(), total);
    for (Vcpu v : runnable) {
      ticket -= v.domain().weight();
      if (ticket < 0) {
        return v;
      }
    }
    throw new AssertionError("ticket beyond the total");
  }

  @Override
  public long timeslice(Vcpu v, long now) {
    return QUANTUM;
  }

  @Override
  public void account(Vcpu v, long cycles, long now) {}

  @Override
  public void wake(Vcpu v, long now) {
    if (!runnable.contains(v)) {
      runnable.add(v);
    }
  }

  @Override
  public void sleep(Vcpu v, long now) {
    runnable.remove(v);
  }

  /** Number of lotteries held so far. */
  public long draws() {
    return draws;
  }
}
