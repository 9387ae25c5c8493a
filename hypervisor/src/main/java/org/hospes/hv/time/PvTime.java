package org.hospes.hv.time;

import org.hospes.abi.EventChannelOp;
import org.hospes.abi.SharedInfo;
import org.hospes.hv.domain.Domain;
import org.hospes.x86.MemoryBus;

/**
 * A domain's paravirtual time (Xen's time.c and the vCPU timers of domain.c): Xen system time
 * is the hypervisor's virtual time in nanoseconds (1 cycle = 1 ns at the nominal 1 GHz), and the
 * guest's TSC runs at the same rate, equal to virtual time (VMCS TSC offset, see HvmPlatform).
 *
 * <ul>
 *   <li>pvclock: each vCPU's vcpu_time_info (in its vcpu_info, wherever the guest registered
 *       it) holds tsc_timestamp = system_time = virtual time at the update, mul 0x80000000 and
 *       shift 1, so time = system_time + ((((tsc - tsc_timestamp) << 1) * 0x80000000) >> 32)
 *       = system_time + (tsc - tsc_timestamp) exactly, and TSC_STABLE. The version is odd while
 *       the fields change. Because TSC and system time advance together, an update is only
 *       needed so that tsc - tsc_timestamp stays below 2^31 (guests that multiply in 64 bits
 *       stay exact): at most once per {@link #CADENCE} of virtual time, at VM entry.
 *   <li>wallclock: wc_sec/wc_nsec in shared_info are the wall time at system time 0, a fixed
 *       epoch ({@link #WALLCLOCK_EPOCH_SEC}, 2026-01-01T00:00:00Z) so runs are deterministic.
 *   <li>the singleshot timer of each vCPU (VCPUOP_set_singleshot_timer, set_timer_op) fires
 *       VIRQ_TIMER on that vCPU; the event's upcall wakes the vCPU if it is blocked.
 * </ul>
 */
public final class PvTime {
  /** Longest interval between pvclock updates of a running vCPU: 2^30 ns (about 1.07 s). */
  public static final long CADENCE = 1L << 30;
  public static final int TSC_TO_SYSTEM_MUL = 0x8000_0000;
  public static final int TSC_SHIFT = 1;
  /** Wall-clock seconds at system time 0: 2026-01-01T00:00:00Z. */
  public static final long WALLCLOCK_EPOCH_SEC = 1_767_225_600L;

  private final Domain domain;
  private final MemoryBus machine;
  private final Timer[] singleshot;
  private final long[] lastUpdate;
  private final long[] firings;

  private final TimerQueue queue;

  public PvTime(Domain domain, MemoryBus machine, TimerQueue queue) {
    this.queue = queue;
    this.domain = domain;
    this.machine = machine;
    int n = domain.vcpus().size();
    this.singleshot = new Timer[n];
    this.lastUpdate = new long[n];
    this.firings = new long[n];
    java.util.Arrays.fill(lastUpdate, Long.MIN_VALUE);
    for (int i = 0; i < n; i++) {
      final int vcpu = i;
      singleshot[i] = queue.newTimer(domain.name() + ".v" + i + ".singleshot",
          now -> fire(vcpu));
    }
    writeWallclock();
  }

  private Timer[] periodic;
  private long[] period;

  /** VCPUOP_set_periodic_timer: VIRQ_TIMER every {@code periodNs}, the first one period away. */
  public void setPeriodic(int vcpu, long periodNs, long now) {
    if (periodic == null) {
      int n = singleshot.length;
      periodic = new Timer[n];
      period = new long[n];
    }
    if (periodic[vcpu] == null) {
      periodic[vcpu] = queue.newTimer(domain.name() + ".v" + vcpu + ".periodic", at -> {
        fire(vcpu);
        // A run of the queue a period or more late (the domain did not run meanwhile) sends
        // one event and counts the next period from now, as Xen's
        // vcpu_periodic_timer_work does, rather than one event per missed period.
        long next = periodic[vcpu].deadline() + period[vcpu];
        periodic[vcpu].arm(next > at ? next : at + period[vcpu]);
      });
    }
    period[vcpu] = periodNs;
    periodic[vcpu].arm(now + periodNs);
  }

  public void stopPeriodic(int vcpu) {
    if (periodic != null && periodic[vcpu] != null) {
      periodic[vcpu].cancel();
    }
  }

  private void fire(int vcpu) {
    firings[vcpu]++;
    if (!domain.state().isFinal()) {
      domain.eventChannels().raiseVirq(vcpu, EventChannelOp.VIRQ_TIMER);
    }
  }

  /** Times the singleshot timer of {@code vcpu} has fired. */
  public long firings(int vcpu) {
    return firings[vcpu];
  }

  /** Arms {@code vcpu}'s singleshot timer at absolute system time {@code deadlineNs}. */
  public void setSingleshot(int vcpu, long deadlineNs) {
    singleshot[vcpu].arm(Math.max(deadlineNs, 0));
  }

  public void stopSingleshot(int vcpu) {
    singleshot[vcpu].cancel();
  }

  /** The armed deadline, or -1. */
  public long singleshotDeadline(int vcpu) {
    return singleshot[vcpu].isArmed() ? singleshot[vcpu].deadline() : -1;
  }

  /** At VM entry: rewrites the pvclock if it has not been for {@link #CADENCE}. Cheap. */
  public void refresh(int vcpu, long now) {
    long last = lastUpdate[vcpu];
    if (last == Long.MIN_VALUE || now - last >= CADENCE || now < last) {
      update(vcpu, now);
    }
  }

  /** Rewrites {@code vcpu}'s vcpu_time_info for virtual time {@code now} (version odd, even). */
  public void update(int vcpu, long now) {
    if (domain.state().isFinal()) {
      return;
    }
    long t = domain.eventChannels().ops().vcpuInfo(vcpu) + SharedInfo.VI_TIME;
    int version = (machine.read32(t + SharedInfo.TIME_VERSION) + 1) | 1;
    machine.write32(t + SharedInfo.TIME_VERSION, version);
    machine.write64(t + SharedInfo.TIME_TSC_TIMESTAMP, now);
    machine.write64(t + SharedInfo.TIME_SYSTEM_TIME, now);
    machine.write32(t + SharedInfo.TIME_TSC_TO_SYSTEM_MUL, TSC_TO_SYSTEM_MUL);
    machine.write8(t + SharedInfo.TIME_TSC_SHIFT, TSC_SHIFT);
    machine.write8(t + SharedInfo.TIME_FLAGS, SharedInfo.PVCLOCK_TSC_STABLE);
    machine.write32(t + SharedInfo.TIME_VERSION, version + 1);
    lastUpdate[vcpu] = now;
    copyToTimeArea(vcpu, t);
  }

  /** register_vcpu_time_memory_area: the same 32 bytes at the guest-virtual address too. */
  private void copyToTimeArea(int vcpu, long timeInfo) {
    org.hospes.hv.domain.Vcpu v = domain.vcpus().get(vcpu);
    int va = v.timeAreaVa();
    if (va == 0) {
      return;
    }
    byte[] img = new byte[32];
    machine.read(timeInfo, img, 0, img.length);
    if (!new org.hospes.hv.hypercall.GuestAccess(v).write(va, img)) {
      v.setTimeAreaVa(0);
    }
  }

  /** Forces the next {@link #refresh} to rewrite (the vcpu_info moved). */
  public void invalidate(int vcpu) {
    lastUpdate[vcpu] = Long.MIN_VALUE;
  }

  private void writeWallclock() {
    long si = domain.sharedInfoMfn() << 12;
    machine.write32(si + SharedInfo.WC_VERSION, 1);
    machine.write32(si + SharedInfo.WC_SEC, (int) WALLCLOCK_EPOCH_SEC);
    machine.write32(si + SharedInfo.WC_NSEC, 0);
    machine.write32(si + SharedInfo.WC_SEC_HI, (int) (WALLCLOCK_EPOCH_SEC >>> 32));
    machine.write32(si + SharedInfo.WC_VERSION, 2);
  }

  /**
   * The guest's computation (pvclock_read): system time for a TSC reading, from the fields of a
   * vcpu_time_info, with the multiplication done in 128 bits as Linux does.
   */
  public static long systemTime(long tsc, long tscTimestamp, long systemTime, int mul,
      int shift) {
    long delta = tsc - tscTimestamp;
    delta = shift >= 0 ? delta << shift : delta >>> -shift;
    long scaled = Math.multiplyHigh(delta, mul & 0xFFFF_FFFFL) << 32
        | ((delta * (mul & 0xFFFF_FFFFL)) >>> 32);
    return systemTime + scaled;
  }
}
