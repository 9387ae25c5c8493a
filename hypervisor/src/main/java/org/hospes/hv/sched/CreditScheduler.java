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
 * Xen's credit scheduler (credit1, {@code xen/common/sched/credit.c}) on one or more physical
 * CPUs, in virtual time. Written from Xen's documented behaviour; the constants keep Xen's values:
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
 *   <li><b>Picking.</b> One run queue per physical CPU ordered by priority, FIFO within a
 *       priority (a vCPU goes to the tail of its priority class when queued). The running vCPU
 *       keeps the CPU until its 30 ms timeslice ends, it blocks, its domain is parked, or a vCPU
 *       of higher priority is queued there (and the rate limit has passed) — then it goes back
 *       to the tail of its class.
 *   <li><b>Physical CPUs</b> ({@link #setPcpus}). Each pCPU has its own run queue, running
 *       vCPU, timeslice and 10 ms ticks on its own virtual clock; the accounting is global and
 *       shares {@value #CREDITS_PER_TSLICE} credits <i>per pCPU</i> per period (Xen's
 *       {@code prv->credit}). A vCPU belongs to the queue of the pCPU it last ran on ({@code
 *       v->processor}); a new vCPU goes to the pCPU with the fewest vCPUs. A woken vCPU is
 *       queued there; an idle pCPU then finds it by stealing.
 *   <li><b>Load balancing</b> ({@code csched_load_balance}). When the best vCPU a pCPU has to
 *       run (its queue and its running vCPU) is OVER, or it has none and would idle, it looks at
 *       its peers' queues in order from the next pCPU up (wrapping) and steals the first
 *       queued, not running, vCPU of higher priority than its own best that its hard affinity
 *       allows: an idle pCPU takes UNDER (or OVER) work, a pCPU left with OVER work takes UNDER
 *       work, so credit spreads over the pCPUs as Xen's does.
 *   <li><b>Unused credit</b> is given to the others: when a domain's fair share exceeds its peak
 *       (one pCPU per active vCPU, or its cap), the excess goes into the credit shared among the
 *       domains not yet served, weighted as Xen's {@code csched_acct} does.
 *   <li><b>Boost.</b> A vCPU woken from a block (not from a pause) whose priority is UNDER gets
 *       BOOST, so it is picked before all UNDER and OVER vCPUs. Its wake "tickles" the pCPU
 *       whose queue it joins ({@link #preemptAt}): if it outranks the running vCPU, that one
 *       loses the pCPU at once, or once the rate limit has passed since it was scheduled in.
 * </ul>
 *
 * <p>Everything is integer arithmetic on virtual time with deterministic orders (domains by
 * domid, queue by insertion sequence, peers by pCPU number), so identical runs schedule
 * identically. A vCPU is never picked by a pCPU whose clock is behind the time it became
 * runnable or last stopped running, so its TSC never goes back when it moves.
 */
public final class CreditScheduler implements Scheduler {
  public static final String NAME = "credit";

  public static final int DEFAULT_WEIGHT = 256;
  public static final int TICKS_PER_TSLICE = 3;
  public static final int DEFAULT_TSLICE_MS = 30;
  public static final int CREDITS_PER_MSEC = 10;
  public static final int CREDITS_PER_TSLICE = CREDITS_PER_MSEC * DEFAULT_TSLICE_MS;
  public static final int DEFAULT_RATELIMIT_US = 1000;
  /** Most physical CPUs (a bit per pCPU in a hard-affinity mask). */
  public static final int MAX_PCPUS = 64;

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

  private CreditPcpu[] pcpus;
  private final Map<Integer, CreditDomain> domains = new TreeMap<>();
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
    this.nextAccounting = tslice;
    this.pcpus = new CreditPcpu[] {new CreditPcpu(0, tick)};
  }

  @Override
  public String name() {
    return NAME;
  }

  /**
   * Gives the scheduler {@code n} physical CPUs (1..{@value #MAX_PCPUS}). Allowed until a vCPU
   * has run; vCPUs known so far are spread again over the pCPUs.
   */
  @Override
  public void setPcpus(int n) {
    if (n < 1 || n > MAX_PCPUS) {
      throw new IllegalArgumentException("physical CPUs must be 1.." + MAX_PCPUS + ", got " + n);
    }
    for (CreditPcpu pc : pcpus) {
      if (pc.current != null) {
        throw new IllegalStateException("physical CPUs are set before vCPUs run");
      }
    }
    List<CreditVcpu> known = new ArrayList<>();
    for (CreditDomain dom : domains.values()) {
      known.addAll(dom.vcpus);
    }
    List<CreditVcpu> queued = new ArrayList<>();
    for (CreditPcpu pc : pcpus) {
      queued.addAll(pc.runq);
    }
    queued.sort((a, b) -> Long.compare(a.seq, b.seq));
    CreditPcpu[] fresh = new CreditPcpu[n];
    for (int i = 0; i < n; i++) {
      fresh[i] = new CreditPcpu(i, pcpus[0].nextTick);
    }
    pcpus = fresh;
    for (CreditVcpu cv : known) {
      cv.queued = false;
      cv.processor = place(cv.dom);
      pcpus[cv.processor].assigned++;
    }
    for (CreditVcpu cv : queued) {
      enqueue(cv);
    }
  }

  /** The number of physical CPUs. */
  public int pcpus() {
    return pcpus.length;
  }

  /** Scheduler state of one physical CPU. */
  static final class CreditPcpu {
    final int id;
    final List<CreditVcpu> runq = new ArrayList<>();
    CreditVcpu current;
    long sliceStart;
    long sliceEnd;
    long nextTick;
    /** vCPUs whose home this pCPU is (for placing new ones). */
    int assigned;

    CreditPcpu(int id, long firstTick) {
      this.id = id;
      this.nextTick = firstTick;
    }
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
    /** The pCPU whose queue it belongs to (Xen's {@code v->processor}). */
    int processor;
    /** When it last stopped running (end of its last accounted run). */
    long lastEnd;
    /** No pCPU picks it at an earlier time than this (it woke or stopped then). */
    long readyAt;

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
    cv.processor = place(dom);
    pcpus[cv.processor].assigned++;
    dom.vcpus.add(cv);
    v.setSchedulerData(cv);
    refreshCap(dom);
    return cv;
  }

  /** The allowed pCPU with the fewest vCPUs (lowest number on a tie), for a new vCPU. */
  private int place(CreditDomain dom) {
    int best = -1;
    for (CreditPcpu pc : pcpus) {
      if (allowed(dom, pc.id) && (best < 0 || pc.assigned < pcpus[best].assigned)) {
        best = pc.id;
      }
    }
    return Math.max(best, 0);
  }

  /**
   * True if the domain's hard affinity lets it run on {@code pcpu}; a mask naming none of
   * this host's pCPUs counts as all of them (the toolstack refuses such masks).
   */
  private boolean allowed(CreditDomain dom, int pcpu) {
    long mask = dom.domain.hardAffinity();
    long all = pcpus.length == 64 ? -1L : (1L << pcpus.length) - 1;
    return (mask & all) == 0 || (mask >>> pcpu & 1) != 0;
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
    if (!allowed(cv.dom, cv.processor)) {
      cv.processor = place(cv.dom);
    }
    CreditPcpu pc = pcpus[cv.processor];
    if (!cv.queued && cv != pc.current) {
      cv.queued = true;
      cv.seq = ++sequence;
      cv.readyAt = Math.max(cv.readyAt, cv.lastEnd);
      pc.runq.add(cv);
    }
  }

  private void dequeue(CreditVcpu cv) {
    if (cv.queued) {
      cv.queued = false;
      pcpus[cv.processor].runq.remove(cv);
    }
  }

  /** True if {@code a} goes before {@code b} in a run queue: higher priority, then FIFO. */
  private static boolean before(CreditVcpu a, CreditVcpu b) {
    return b == null || a.pri > b.pri || a.pri == b.pri && a.seq < b.seq;
  }

  /**
   * Highest priority, earliest queued, of the vCPUs in {@code pc}'s queue whose domain is not
   * parked and that may run at {@code now}.
   */
  private CreditVcpu best(CreditPcpu pc, long now) {
    CreditVcpu best = null;
    for (CreditVcpu cv : pc.runq) {
      if (cv.dom.parked || cv.readyAt > now) {
        continue;
      }
      if (before(cv, best)) {
        best = cv;
      }
    }
    return best;
  }

  /**
   * Xen's load balancing: the first vCPU of priority above {@code pri} queued on a peer (peers
   * from {@code pc}'s successor up, wrapping) that may run on {@code pc} at {@code now}; it is
   * taken off that peer's queue and belongs to {@code pc} from now on. Null if none.
   */
  private CreditVcpu steal(CreditPcpu pc, int pri, long now) {
    int n = pcpus.length;
    for (int k = 1; k < n; k++) {
      CreditPcpu peer = pcpus[(pc.id + k) % n];
      CreditVcpu best = null;
      for (CreditVcpu cv : peer.runq) {
        if (cv.pri <= pri || cv.dom.parked || cv.readyAt > now || !allowed(cv.dom, pc.id)) {
          continue;
        }
        if (before(cv, best)) {
          best = cv;
        }
      }
      if (best != null) {
        dequeue(best);
        pcpus[best.processor].assigned--;
        best.processor = pc.id;
        pc.assigned++;
        return best;
      }
    }
    return null;
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
      CreditPcpu pc = pcpus[cv.processor];
      if (pc.current == cv) {
        pc.current = null;
      }
      pc.assigned--;
      cv.dom.vcpus.remove(cv);
      if (cv.dom.vcpus.isEmpty()) {
        domains.remove(v.domain().domid());
      }
      v.setSchedulerData(null);
    }
  }

  @Override
  public Vcpu pickNext(long now) {
    return pickNext(0, now);
  }

  @Override
  public Vcpu pickNext(int pcpu, long now) {
    CreditPcpu pc = pcpus[pcpu];
    catchUp(pc, now, null);
    CreditVcpu cur = pc.current;
    if (cur != null) {
      if (!cur.runnable()) {
        pc.current = null;
      } else if (cur.dom.parked || !allowed(cur.dom, pcpu)) {
        pc.current = null;
        enqueue(cur);
      } else {
        CreditVcpu waiting = best(pc, now);
        boolean yielded = cur.yielded;
        cur.yielded = false;
        if (yielded && waiting != null) {
          // Xen's CSCHED_FLAG_VCPU_YIELD: the yield goes past the rate limit, and the vCPU
          // goes behind one runnable vCPU even of lower priority (__runq_insert), so a
          // boosted spinner lets the lock holder run.
          pc.current = null;
          enqueue(cur);
          return run(pc, waiting, now);
        } else {
          boolean preempt = waiting != null && waiting.pri > cur.pri;
          if (now - pc.sliceStart < ratelimit || now < pc.sliceEnd && !preempt) {
            return cur.vcpu;
          }
          pc.current = null;
          enqueue(cur);
        }
      }
    }
    CreditVcpu next = best(pc, now);
    if (pcpus.length > 1 && (next == null || next.pri <= PRI_OVER)) {
      // Its best is OVER, or it would idle: more urgent work queued on a peer comes here.
      CreditVcpu stolen = steal(pc, next == null ? PRI_IDLE : next.pri, now);
      if (stolen != null) {
        return run(pc, stolen, now);
      }
    }
    if (next == null) {
      return null;
    }
    return run(pc, next, now);
  }

  private Vcpu run(CreditPcpu pc, CreditVcpu next, long now) {
    dequeue(next);
    pc.current = next;
    pc.sliceStart = now;
    pc.sliceEnd = now + tslice;
    return next.vcpu;
  }

  @Override
  public long timeslice(Vcpu v, long now) {
    return timeslice(0, v, now);
  }

  @Override
  public long timeslice(int pcpu, Vcpu v, long now) {
    CreditPcpu pc = pcpus[pcpu];
    boolean current = pc.current != null && v == pc.current.vcpu;
    long end = current ? pc.sliceEnd : now + tslice;
    end = Math.min(end, pc.nextTick);
    if (current && now - pc.sliceStart < ratelimit) {
      CreditVcpu waiting = best(pc, now);
      if (waiting != null && waiting.pri > pc.current.pri) {
        // Kept only by the rate limit: it runs until that has passed, then the waiting vCPU
        // preempts it (Xen's csched_schedule: tslice = ratelimit - runtime).
        end = Math.min(end, pc.sliceStart + ratelimit);
      }
    }
    CreditVcpu cv = data(v);
    if (cv.dom.domain.cap() > 0) {
      end = Math.min(end, now + cv.dom.budget);
    }
    return Math.max(1, end - now);
  }

  @Override
  public void account(Vcpu v, long cycles, long now) {
    account(0, v, cycles, now);
  }

  @Override
  public void account(int pcpu, Vcpu v, long cycles, long now) {
    CreditPcpu pc = pcpus[pcpu];
    if (!(v.schedulerData() instanceof CreditVcpu cv) || cv.vcpu != v) {
      // Its domain ended while it ran (removeVcpu came first): only time moves on.
      catchUp(pc, now, null);
      return;
    }
    long scaled = cycles * CREDITS_PER_MSEC + cv.residual;
    cv.credit -= (int) Math.min(scaled / CYCLES_PER_MS, Integer.MAX_VALUE);
    cv.residual = scaled % CYCLES_PER_MS;
    cv.credit = Math.max(cv.credit, -creditsPerTslice);
    cv.ranThisPeriod += cycles;
    cv.lastEnd = Math.max(cv.lastEnd, now);
    if (cv.queued) {
      // Woken (queued) while it still ran: no peer may take it before it stopped.
      cv.readyAt = Math.max(cv.readyAt, now);
    }
    CreditDomain dom = cv.dom;
    refreshCap(dom);
    if (dom.domain.cap() > 0) {
      dom.budget -= cycles;
      if (dom.budget <= 0) {
        dom.parked = true;
      }
    }
    catchUp(pc, now, cv);
  }

  /**
   * Runs {@code pc}'s ticks due by {@code now} (and the global accountings due at them);
   * {@code running} ran over them.
   */
  private void catchUp(CreditPcpu pc, long now, CreditVcpu running) {
    while (now >= pc.nextTick) {
      if (running != null && running.vcpu.domain().state() == DomainState.RUNNING) {
        running.ranThisPeriod = Math.max(running.ranThisPeriod, 1);
        if (running.pri == PRI_BOOST) {
          running.pri = PRI_UNDER;
        }
      }
      while (pc.nextTick >= nextAccounting) {
        accounting();
        nextAccounting += tslice;
      }
      pc.nextTick += tick;
    }
  }

  /** The accountings due by {@code now} (another pCPU's clock may not have reached them). */
  private void catchUpAccounting(long now) {
    while (now >= nextAccounting) {
      accounting();
      nextAccounting += tslice;
    }
  }

  private boolean active(CreditVcpu cv) {
    return cv.ranThisPeriod > 0 || cv.runnable();
  }

  private int activeVcpus(CreditDomain dom) {
    int n = 0;
    for (CreditVcpu cv : dom.vcpus) {
      if (active(cv)) {
        n++;
      }
    }
    return n;
  }

  /** The 30 ms accounting: credits by weight, priorities, cap budgets. */
  private void accounting() {
    long weightTotal = 0;
    for (CreditDomain dom : domains.values()) {
      weightTotal += (long) dom.domain.weight() * activeVcpus(dom);
    }
    // The period's credit: one timeslice's worth per physical CPU.
    long creditTotal = (long) creditsPerTslice * pcpus.length;
    long weightLeft = weightTotal;
    for (CreditDomain dom : domains.values()) {
      refreshCap(dom);
      int n = activeVcpus(dom);
      if (n > 0 && weightTotal > 0) {
        long weight = (long) dom.domain.weight() * n;
        weightLeft -= weight;
        long fair = ceilDiv(creditTotal * weight, weightTotal);
        long peak = (long) creditsPerTslice * n;
        if (dom.domain.cap() > 0) {
          peak = Math.min(peak, ceilDiv((long) dom.domain.cap() * creditsPerTslice, 100));
        }
        if (fair >= peak) {
          if (weightLeft > 0) {
            // What it cannot use goes to the domains still to be served (csched_acct).
            creditTotal += ceilDiv((fair - peak) * weightTotal, weightLeft);
          }
          fair = peak;
        }
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
    if (pcpus.length == 1) {
      catchUp(pcpus[0], now, null);
    } else {
      catchUpAccounting(now);
    }
    CreditVcpu cv = data(v);
    if (cv == pcpus[cv.processor].current || cv.queued) {
      return;
    }
    if (cv.blocked && cv.pri == PRI_UNDER) {
      cv.pri = PRI_BOOST;
    }
    cv.blocked = false;
    cv.readyAt = Math.max(now, cv.lastEnd);
    enqueue(cv);
  }

  /**
   * Xen's tickle (csched_vcpu_wake, __runq_tickle): a vCPU woken into the queue of a pCPU whose
   * running vCPU it outranks (a BOOSTed one over an UNDER one, say) makes that pCPU schedule
   * at once, when no idler can take it. The running vCPU keeps the pCPU until the rate limit
   * has passed since it was scheduled in (csched_schedule's rate limit), then loses it.
   */
  @Override
  public long preemptAt(int pcpu, Vcpu woken, long now) {
    CreditPcpu pc = pcpus[pcpu];
    CreditVcpu cur = pc.current;
    if (cur == null || !(woken.schedulerData() instanceof CreditVcpu cv) || cv.vcpu != woken
        || cv == cur || !cv.queued || cv.processor != pcpu || cv.dom.parked
        || cv.pri <= cur.pri) {
      return Long.MAX_VALUE;
    }
    return Math.max(now, pc.sliceStart + ratelimit);
  }

  @Override
  public void sleep(Vcpu v, long now) {
    CreditVcpu cv = data(v);
    cv.blocked = v.state() == VcpuState.BLOCKED;
    dequeue(cv);
    CreditPcpu pc = pcpus[cv.processor];
    if (pc.current == cv) {
      pc.current = null;
    }
  }

  @Override
  public void yield(Vcpu v, long now) {
    data(v).yielded = true;
  }

  @Override
  public void parametersChanged(Vcpu v) {
    CreditVcpu cv = data(v);
    refreshCap(cv.dom);
    if (cv.queued && !allowed(cv.dom, cv.processor)) {
      dequeue(cv);
      enqueue(cv);
    }
  }

  @Override
  public long nextEvent(long now) {
    return nextEvent(0, now);
  }

  @Override
  public long nextEvent(int pcpu, long now) {
    long next = Long.MAX_VALUE;
    for (CreditPcpu pc : pcpus) {
      for (CreditVcpu cv : pc.runq) {
        if (!cv.runnable()) {
          continue;
        }
        if (cv.dom.parked) {
          next = Math.min(next, Math.max(nextAccounting, now + 1));
        } else if (cv.readyAt > now && (pc.id == pcpu || allowed(cv.dom, pcpu))) {
          // Queued for a time this pCPU's clock has not reached.
          next = Math.min(next, cv.readyAt);
        }
      }
      CreditVcpu cur = pc.current;
      if (cur != null && cur.dom.parked && cur.runnable()) {
        next = Math.min(next, Math.max(nextAccounting, now + 1));
      }
    }
    return next;
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
