package org.hospes.hv.sched;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;

/**
 * Xen's credit scheduler (credit1, {@code xen/common/sched/credit.c}) on the one physical CPU,
 * in virtual time. Written from Xen's documented behaviour; the constants keep Xen's values:
 *
 * <ul>
 *   <li>timeslice {@value #DEFAULT_TSLICE_MS} ms ({@code CSCHED_DEFAULT_TSLICE_MS}), split into
 *       {@value #TICKS_PER_TSLICE} ticks of 10 ms ({@code CSCHED_TICKS_PER_TSLICE});
 *   <li>{@value #CREDITS_PER_MSEC} credits per ms of CPU ({@code CSCHED_CREDITS_PER_MSEC}), so
 *       {@value #CREDITS_PER_TSLICE} credits per timeslice per physical CPU;
 *   <li>priorities BOOST {@value #PRI_BOOST}, UNDER {@value #PRI_UNDER}, OVER
 *       {@value #PRI_OVER}, IDLE {@value #PRI_IDLE} ({@code CSCHED_PRI_TS_*});
 *   <li>rate limit {@value #DEFAULT_RATELIMIT_US} µs ({@code sched_ratelimit_us}): a vCPU just
 *       scheduled in is not preempted before it has run that long;
 *   <li>weight 1..65535, default 256; cap in percent of one physical CPU, 0 = uncapped.
 * </ul>
 *
 * <p>The algorithm:
 *
 * <ul>
 *   <li><b>Burning.</b> The vCPU that ran is charged exactly for the cycles it used, 10 credits
 *       per ms, the sub-credit remainder carried over (Xen's {@code burn_credits}).
 *   <li><b>Ticks</b> (every 10 ms of virtual time, aligned on multiples of 10 ms). The vCPU
 *       running at a tick becomes <i>active</i> and, if it was boosted, loses its boost: it is
 *       using real CPU time, not just answering an event ({@code csched_vcpu_acct}). Timeslices
 *       are cut at tick instants so that ticks are exact.
 *   <li><b>Accounting</b> (every third tick, i.e. every 30 ms, {@code csched_acct}). The period's
 *       {@value #CREDITS_PER_TSLICE} credits are shared among the domains with active vCPUs in
 *       proportion to weight × active vCPUs (rounded up), limited for a capped domain to its cap
 *       (cap% of {@value #CREDITS_PER_TSLICE}), then split evenly among its active vCPUs. A vCPU
 *       is active for the period if it was runnable at its end or ran during it. A vCPU whose
 *       credit exceeds one timeslice's worth stops earning: its credit is halved, as Xen does.
 *       Every vCPU's priority is then recomputed: UNDER with credit ≥ 0, OVER below (this also
 *       ends any boost). Credit is floored at −{@value #CREDITS_PER_TSLICE} (a deviation: Xen
 *       lets it fall further) so that a domain squeezed by a cap elsewhere is not starved for a
 *       long time once the cap is lifted.
 *   <li><b>Caps</b> (Xen ≥ 4.10's budget model). A capped domain has a budget of cap% of the
 *       30 ms period in cycles, replenished at each accounting (debt carried over, never above
 *       one period's budget). Running uses budget; a domain whose budget is used up is
 *       <i>parked</i>: none of its vCPUs is picked until the next replenishment. Timeslices of a
 *       capped domain's vCPU end when its budget does, so the cap is exact. When only parked
 *       vCPUs are runnable the CPU idles ({@link #nextEvent} tells the hypervisor until when).
 *   <li><b>Picking.</b> One run queue ordered by priority, FIFO within a priority (a vCPU goes
 *       to the tail of its priority class when queued). The running vCPU keeps the CPU until its
 *       30 ms timeslice ends, it blocks, its domain is parked, or a vCPU of higher priority is
 *       queued (and the rate limit has passed) — then it goes back to the tail of its class.
 *   <li><b>Boost.</b> A vCPU woken from a block (not from a pause) whose priority is UNDER gets
 *       BOOST, so it is picked before all UNDER and OVER vCPUs and preempts the running one at
 *       the next scheduling decision (the hypervisor makes one at every timer deadline).
 * </ul>
 *
 * <p>Everything is integer arithmetic on virtual time with deterministic orders (domains by
 * domid, queue by insertion sequence), so identical runs schedule identically.
 */
public final class CreditScheduler implements Scheduler {
  public static final String NAME = "credit";

  public static final int DEFAULT_WEIGHT = 256;
  public static final int TICKS_PER_TSLICE = 3;
  public static final int DEFAULT_TSLICE_MS = 30;
  public static final int CREDITS_PER_MSEC = 10;
  public static final int CREDITS_PER_TSLICE = CREDITS_PER_MSEC * DEFAULT_TSLICE_MS;
  public static final int DEFAULT_RATELIMIT_US = 1000;

  public static final int PRI_BOOST = 0;
  public static final int PRI_UNDER = -1;
  public static final int PRI_OVER = -2;
  public static final int PRI_IDLE = -64;

  /** Cycles per millisecond of the 1 GHz virtual clock. */
  static final long CYCLES_PER_MS = Hypervisor.HZ / 1000;

  private final long tslice;
  private final long tick;
  private final long ratelimit;
  private final int creditsPerTslice;

  private final List<CreditVcpu> runq = new ArrayList<>();
  private final Map<Integer, CreditDomain> domains = new TreeMap<>();
  private CreditVcpu current;
  private long sliceStart;
  private long sliceEnd;
  private long nextTick;
  private long nextAccounting;
  private long sequence;

  public CreditScheduler() {
    this(DEFAULT_TSLICE_MS, DEFAULT_RATELIMIT_US);
  }

  /**
   * @param tsliceMs timeslice and accounting period, 1..1000 ms (Xen's {@code sched_credit_tslice_ms})
   * @param ratelimitUs minimum run time before preemption, 0 (off) or 100..500000 µs
   */
  public CreditScheduler(int tsliceMs, int ratelimitUs) {
    if (tsliceMs < 1 || tsliceMs > 1000) {
      throw new IllegalArgumentException("timeslice must be 1..1000 ms, got " + tsliceMs);
    }
    if (ratelimitUs != 0 && (ratelimitUs < 100 || ratelimitUs > 500_000)) {
      throw new IllegalArgumentException("ratelimit must be 0 or 100..500000 us, got "
          + ratelimitUs);
    }
    this.tslice = tsliceMs * CYCLES_PER_MS;
    this.tick = tslice / TICKS_PER_TSLICE;
    this.ratelimit = Math.min(ratelimitUs * CYCLES_PER_MS / 1000, tslice);
    this.creditsPerTslice = CREDITS_PER_MSEC * tsliceMs;
    this.nextTick = tick;
    this.nextAccounting = tslice;
  }

  @Override
  public String name() {
    return NAME;
  }

  /** Scheduler state of one vCPU. */
  static final class CreditVcpu {
    final Vcpu vcpu;
    final CreditDomain dom;
    int credit;
    /** Cycles run but not yet worth a whole credit. */
    long residual;
    int pri = PRI_UNDER;
    boolean queued;
    long seq;
    long ranThisPeriod;
    boolean blocked;
    /** Gave up its slice: the next decision prefers a waiting vCPU of at least its priority. */
    boolean yielded;

    CreditVcpu(Vcpu vcpu, CreditDomain dom) {
      this.vcpu = vcpu;
      this.dom = dom;
    }

    boolean runnable() {
      return vcpu.state() == VcpuState.RUNNABLE && vcpu.domain().state() == DomainState.RUNNING;
    }
  }

  /** Scheduler state of one domain. */
  static final class CreditDomain {
    final Domain domain;
    final List<CreditVcpu> vcpus = new ArrayList<>();
    /** Cycles the capped domain may still run this period. */
    long budget;
    boolean parked;
    int budgetCap;

    CreditDomain(Domain domain) {
      this.domain = domain;
    }
  }

  private CreditVcpu data(Vcpu v) {
    Object o = v.schedulerData();
    if (o instanceof CreditVcpu cv && cv.vcpu == v) {
      return cv;
    }
    CreditDomain dom = domains.computeIfAbsent(v.domain().domid(),
        id -> new CreditDomain(v.domain()));
    CreditVcpu cv = new CreditVcpu(v, dom);
    dom.vcpus.add(cv);
    v.setSchedulerData(cv);
    refreshCap(dom);
    return cv;
  }

  private long capBudget(Domain d) {
    return d.cap() * tslice / 100;
  }

  /** Brings a domain's budget in line with its (possibly changed) cap. */
  private void refreshCap(CreditDomain dom) {
    int cap = dom.domain.cap();
    if (cap == dom.budgetCap) {
      return;
    }
    dom.budgetCap = cap;
    if (cap == 0) {
      dom.parked = false;
      dom.budget = 0;
    } else {
      dom.budget = capBudget(dom.domain);
      dom.parked = false;
    }
  }

  private void enqueue(CreditVcpu cv) {
    if (!cv.queued && cv != current) {
      cv.queued = true;
      cv.seq = ++sequence;
      runq.add(cv);
    }
  }

  private void dequeue(CreditVcpu cv) {
    if (cv.queued) {
      cv.queued = false;
      runq.remove(cv);
    }
  }

  /** Highest priority, earliest queued, of the vCPUs whose domain is not parked. */
  private CreditVcpu best() {
    CreditVcpu best = null;
    for (CreditVcpu cv : runq) {
      if (cv.dom.parked) {
        continue;
      }
      if (best == null || cv.pri > best.pri || cv.pri == best.pri && cv.seq < best.seq) {
        best = cv;
      }
    }
    return best;
  }

  @Override
  public void addVcpu(Vcpu v) {
    CreditVcpu cv = data(v);
    if (cv.runnable()) {
      enqueue(cv);
    }
  }

  @Override
  public void removeVcpu(Vcpu v) {
    Object o = v.schedulerData();
    if (o instanceof CreditVcpu cv) {
      dequeue(cv);
      if (current == cv) {
        current = null;
      }
      cv.dom.vcpus.remove(cv);
      if (cv.dom.vcpus.isEmpty()) {
        domains.remove(v.domain().domid());
      }
      v.setSchedulerData(null);
    }
  }

  @Override
  public Vcpu pickNext(long now) {
    catchUp(now, null);
    CreditVcpu cur = current;
    if (cur != null) {
      if (!cur.runnable()) {
        current = null;
      } else if (cur.dom.parked) {
        current = null;
        enqueue(cur);
      } else {
        CreditVcpu waiting = best();
        boolean yielded = cur.yielded;
        cur.yielded = false;
        if (yielded && waiting != null) {
          // Xen's CSCHED_FLAG_VCPU_YIELD: the yield goes past the rate limit, and the vCPU
          // goes behind one runnable vCPU even of lower priority (__runq_insert), so a
          // boosted spinner lets the lock holder run.
          current = null;
          enqueue(cur);
          dequeue(waiting);
          current = waiting;
          sliceStart = now;
          sliceEnd = now + tslice;
          return waiting.vcpu;
        } else {
          boolean preempt = waiting != null && waiting.pri > cur.pri;
          if (now - sliceStart < ratelimit || now < sliceEnd && !preempt) {
            return cur.vcpu;
          }
          current = null;
          enqueue(cur);
        }
      }
    }
    CreditVcpu next = best();
    if (next == null) {
      return null;
    }
    dequeue(next);
    current = next;
    sliceStart = now;
    sliceEnd = now + tslice;
    return next.vcpu;
  }

  @Override
  public long timeslice(Vcpu v, long now) {
    long end = v == (current == null ? null : current.vcpu) ? sliceEnd : now + tslice;
    end = Math.min(end, nextTick);
    CreditVcpu cv = data(v);
    if (cv.dom.domain.cap() > 0) {
      end = Math.min(end, now + cv.dom.budget);
    }
    return Math.max(1, end - now);
  }

  @Override
  public void account(Vcpu v, long cycles, long now) {
    if (!(v.schedulerData() instanceof CreditVcpu cv) || cv.vcpu != v) {
      // Its domain ended while it ran (removeVcpu came first): only time moves on.
      catchUp(now, null);
      return;
    }
    long scaled = cycles * CREDITS_PER_MSEC + cv.residual;
    cv.credit -= (int) Math.min(scaled / CYCLES_PER_MS, Integer.MAX_VALUE);
    cv.residual = scaled % CYCLES_PER_MS;
    cv.credit = Math.max(cv.credit, -creditsPerTslice);
    cv.ranThisPeriod += cycles;
    CreditDomain dom = cv.dom;
    refreshCap(dom);
    if (dom.domain.cap() > 0) {
      dom.budget -= cycles;
      if (dom.budget <= 0) {
        dom.parked = true;
      }
    }
    catchUp(now, cv);
  }

  /** Runs the ticks (and accountings) due by {@code now}; {@code running} ran over them. */
  private void catchUp(long now, CreditVcpu running) {
    while (now >= nextTick) {
      if (running != null && running.vcpu.domain().state() == DomainState.RUNNING) {
        running.ranThisPeriod = Math.max(running.ranThisPeriod, 1);
        if (running.pri == PRI_BOOST) {
          running.pri = PRI_UNDER;
        }
      }
      if (nextTick >= nextAccounting) {
        accounting();
        nextAccounting += tslice;
      }
      nextTick += tick;
    }
  }

  private boolean active(CreditVcpu cv) {
    return cv.ranThisPeriod > 0 || cv.runnable();
  }

  /** The 30 ms accounting: credits by weight, priorities, cap budgets. */
  private void accounting() {
    long weightTotal = 0;
    for (CreditDomain dom : domains.values()) {
      int n = 0;
      for (CreditVcpu cv : dom.vcpus) {
        if (active(cv)) {
          n++;
        }
      }
      weightTotal += (long) dom.domain.weight() * n;
    }
    for (CreditDomain dom : domains.values()) {
      refreshCap(dom);
      int n = 0;
      for (CreditVcpu cv : dom.vcpus) {
        if (active(cv)) {
          n++;
        }
      }
      if (n > 0 && weightTotal > 0) {
        long fair = ceilDiv((long) creditsPerTslice * dom.domain.weight() * n, weightTotal);
        long peak = (long) creditsPerTslice * n;
        if (dom.domain.cap() > 0) {
          peak = Math.min(peak, ceilDiv((long) dom.domain.cap() * creditsPerTslice, 100));
        }
        fair = Math.min(fair, peak);
        long perVcpu = ceilDiv(fair, n);
        for (CreditVcpu cv : dom.vcpus) {
          if (!active(cv)) {
            continue;
          }
          cv.credit += (int) perVcpu;
          if (cv.credit > creditsPerTslice) {
            // Not using its share: it stops earning, and keeps half to start a little ahead.
            cv.credit /= 2;
          }
        }
      }
      for (CreditVcpu cv : dom.vcpus) {
        cv.pri = cv.credit < 0 ? PRI_OVER : PRI_UNDER;
        cv.ranThisPeriod = 0;
      }
      if (dom.domain.cap() > 0) {
        long max = capBudget(dom.domain);
        dom.budget = Math.min(dom.budget + max, max);
        dom.parked = dom.budget <= 0;
      } else {
        dom.parked = false;
      }
    }
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }

  @Override
  public void wake(Vcpu v, long now) {
    catchUp(now, null);
    CreditVcpu cv = data(v);
    if (cv == current || cv.queued) {
      return;
    }
    if (cv.blocked && cv.pri == PRI_UNDER) {
      cv.pri = PRI_BOOST;
    }
    cv.blocked = false;
    enqueue(cv);
  }

  @Override
  public void sleep(Vcpu v, long now) {
    CreditVcpu cv = data(v);
    cv.blocked = v.state() == VcpuState.BLOCKED;
    dequeue(cv);
    if (current == cv) {
      current = null;
    }
  }

  @Override
  public void yield(Vcpu v, long now) {
    data(v).yielded = true;
  }

  @Override
  public void parametersChanged(Vcpu v) {
    refreshCap(data(v).dom);
  }

  @Override
  public long nextEvent(long now) {
    for (CreditVcpu cv : runq) {
      if (cv.dom.parked && cv.runnable()) {
        return Math.max(nextAccounting, now + 1);
      }
    }
    if (current != null && current.dom.parked && current.runnable()) {
      return Math.max(nextAccounting, now + 1);
    }
    return Long.MAX_VALUE;
  }

  /** Credit of {@code v} (for tests and reports). */
  public int credit(Vcpu v) {
    return data(v).credit;
  }

  /** Priority of {@code v}: one of the {@code PRI_*} constants. */
  public int priority(Vcpu v) {
    return data(v).pri;
  }
}
