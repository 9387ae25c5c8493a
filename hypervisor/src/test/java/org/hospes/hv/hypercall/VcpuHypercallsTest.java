package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.Hypercall;
import org.hospes.abi.Multicall;
import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.SharedInfo;
import org.hospes.abi.VcpuOp;
import org.hospes.abi.XenErrno;
import org.hospes.abi.XenVersion;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.hv.time.PvTime;
import org.hospes.x86.Cpu;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** vcpu_op, set_timer_op, the pvclock and multicall. */
class VcpuHypercallsTest {
  private static final int ARG = 0x2000;

  private Hypervisor hv;
  private Hypercalls hc;
  private Domain d;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    d = hv.createHvmDomain("d", DomainMode.PVH, 2);
  }

  private Vcpu v() {
    return d.vcpus().get(0);
  }

  private int call(Hypercall h, int a1, int a2, int a3) {
    return hc.dispatch(v(), h.number(), a1, a2, a3, 0, 0);
  }

  private void singleshot(long timeout, int flags) {
    ByteBuffer b = ByteBuffer.allocate(VcpuOp.SSHOT_SIZE).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(VcpuOp.SSHOT_TIMEOUT, timeout).putInt(VcpuOp.SSHOT_FLAGS, flags);
    d.memory().write(ARG, b.array(), 0, b.capacity());
  }

  private void runCode(String hex) {
    byte[] code = HexFormat.of().parseHex(hex.replace(" ", ""));
    d.memory().write(0x1000, code, 0, code.length);
    Cpu cpu = v().cpu();
    cpu.setEip(0x1000);
    cpu.setReg(Cpu.ESP, 0x8000);
    hv.unpause(d);
  }

  /**
   * Found by HypercallFuzzTest: a period near 2^63 made now + period overflow, and the timer
   * queue threw out of the hypercall path. Xen refuses periods above STIME_DELTA_MAX.
   */
  @Test
  void aPeriodicTimerPeriodPastStimeDeltaMaxIsRefused() {
    hv.unpause(d);
    hv.run(5_000_000); // so that now is no longer 0
    assertThat(hv.now()).isPositive();
    for (long period : new long[] {Long.MAX_VALUE, 1L << 62, -1, 999_999}) {
      d.memory().write(ARG, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
          .putLong(0, period).array(), 0, 8);
      assertThat(call(Hypercall.VCPU_OP, VcpuOp.SET_PERIODIC_TIMER, 0, ARG)).as("%x", period)
          .isEqualTo(XenErrno.EINVAL.negated());
    }
    d.memory().write(ARG, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(0, (1L << 62) - 1).array(), 0, 8);
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.SET_PERIODIC_TIMER, 0, ARG)).isZero();
    hv.run(5_000_000);
    assertThat(d.pvTime().firings(0)).isZero();
  }

  @Test
  void theSingleshotTimerFiresVirqTimerAtItsDeadlineAndWakesTheBlockedVcpu() {
    int port = d.eventChannels().bindVirq(EventChannelOp.VIRQ_TIMER, 0);
    singleshot(5_000_000, 0);
    // vcpu_op(set_singleshot_timer, 0, ARG) ; sched_op(block) ; cli ; hlt
    runCode("b818000000 bb08000000 31c9 ba00200000 0f01c1"
        + " b81d000000 bb01000000 0f01c1 fa f4");
    hv.run(3_000_000);
    assertThat(v().state()).isEqualTo(VcpuState.BLOCKED);
    assertThat(d.pvTime().firings(0)).isZero();
    hv.run(10_000_000);
    assertThat(d.pvTime().firings(0)).isEqualTo(1);
    assertThat(d.state()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(d.eventChannels().ops().isPending(port)).isTrue();
    // Woken at the deadline: the few instructions after it cost far less than a microsecond.
    assertThat(hv.now()).isBetween(5_000_000L, 5_010_000L);
    assertThat(d.totals().timerArms).isEqualTo(1);
  }

  @Test
  void aTimerThatFiredBeforeSchedopBlockIsNotSleptThrough() {
    d.eventChannels().bindVirq(EventChannelOp.VIRQ_TIMER, 0);
    singleshot(1_000, 0);
    // set_singleshot_timer(now + 1us) ; mov ecx, 20000 ; loop $ ; sched_op(block) ; cli ; hlt
    runCode("b818000000 bb08000000 31c9 ba00200000 0f01c1"
        + " b9204e0000 e2fe"
        + " b81d000000 bb01000000 0f01c1 fa f4");
    hv.run(100_000_000);
    assertThat(d.pvTime().firings(0)).isEqualTo(1);
    assertThat(d.state()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(hv.now()).isLessThan(1_000_000L);
  }

  @Test
  void aPastDeadlineWithTheFutureFlagIsEtimeAndOtherwiseFiresAtOnce() {
    d.eventChannels().bindVirq(EventChannelOp.VIRQ_TIMER, 0);
    runCode("ebfe");
    hv.run(1_000_000);
    hv.block(v());
    long now = hv.now();
    singleshot(now - 1, VcpuOp.SSHOTTMR_FUTURE);
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.SET_SINGLESHOT_TIMER, 0, ARG))
        .isEqualTo(XenErrno.ETIME.negated());
    singleshot(now - 1, 0);
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.SET_SINGLESHOT_TIMER, 0, ARG)).isZero();
    hv.step(1000);
    assertThat(d.pvTime().firings(0)).isEqualTo(1);
    assertThat(v().state()).isNotEqualTo(VcpuState.BLOCKED);
  }

  @Test
  void setTimerOpArmsAndZeroCancels() {
    assertThat(call(Hypercall.SET_TIMER_OP, 1_000_000, 0, 0)).isZero();
    assertThat(d.pvTime().singleshotDeadline(0)).isEqualTo(1_000_000);
    assertThat(call(Hypercall.SET_TIMER_OP, 0, 1, 0)).isZero();
    assertThat(d.pvTime().singleshotDeadline(0)).isEqualTo(1L << 32);
    assertThat(call(Hypercall.SET_TIMER_OP, 0, 0, 0)).isZero();
    assertThat(d.pvTime().singleshotDeadline(0)).isEqualTo(-1);
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.STOP_SINGLESHOT_TIMER, 0, 0)).isZero();
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.STOP_PERIODIC_TIMER, 0, 0)).isZero();
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.IS_UP, 0, 0)).isEqualTo(1);
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.IS_UP, 1, 0)).isEqualTo(XenErrno.ENOENT.negated());
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.SET_SINGLESHOT_TIMER, 0, 0x7FF000))
        .isEqualTo(XenErrno.EFAULT.negated());
  }

  private void period(long ns) {
    d.memory().write(ARG, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(0, ns).array(), 0, 8);
  }

  /**
   * Xen 4.17's compat_vcpu_op: the vCPU id first (-ENOENT), then the sub-op's own checks.
   * common_vcpu_op lets a domain set and stop the periodic timer of any of its vCPUs (Linux
   * stops every secondary vCPU's from the boot CPU); only the singleshot timer is the caller's
   * alone (-EINVAL), and in 4.17 its struct is copied in (-EFAULT) before that is checked. The
   * periodic timer of another vCPU used to be refused with -EINVAL.
   */
  @Test
  void aDomainSetsAndStopsThePeriodicTimerOfAnotherOfItsVcpus() {
    d = hv.createHvmDomain("smp", DomainMode.PVH, 2, 2);
    int bad = 0x7FF000; // past the domain's 2 MiB of RAM
    // An unknown vCPU is -ENOENT whatever the sub-op and argument.
    for (int cmd : new int[] {VcpuOp.SET_PERIODIC_TIMER, VcpuOp.STOP_PERIODIC_TIMER,
        VcpuOp.SET_SINGLESHOT_TIMER, VcpuOp.GET_PHYSID, 99}) {
      for (int id : new int[] {2, -1, Integer.MAX_VALUE}) {
        assertThat(call(Hypercall.VCPU_OP, cmd, id, bad)).as("cmd %d vcpu %d", cmd, id)
            .isEqualTo(XenErrno.ENOENT.negated());
      }
    }
    // Then the struct, then the period: for vCPU 1 as for vCPU 0.
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.SET_PERIODIC_TIMER, 1, bad))
        .isEqualTo(XenErrno.EFAULT.negated());
    period(999_999);
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.SET_PERIODIC_TIMER, 1, ARG))
        .isEqualTo(XenErrno.EINVAL.negated());
    period(10_000_000);
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.SET_PERIODIC_TIMER, 1, ARG)).isZero();
    runCode("ebfe");
    hv.run(25_000_000L);
    // vCPU 1's timer fired, every 10 ms of virtual time; vCPU 0 has none.
    assertThat(d.pvTime().firings(1)).isEqualTo(2);
    assertThat(d.pvTime().firings(0)).isZero();
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.STOP_PERIODIC_TIMER, 1, 0)).isZero();
    hv.run(30_000_000L);
    assertThat(d.pvTime().firings(1)).isEqualTo(2);

    // The singleshot timer is the caller's own: the struct first, then the vCPU.
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.SET_SINGLESHOT_TIMER, 1, bad))
        .isEqualTo(XenErrno.EFAULT.negated());
    singleshot(hv.now() + 1_000_000, 0);
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.SET_SINGLESHOT_TIMER, 1, ARG))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.STOP_SINGLESHOT_TIMER, 1, 0))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(d.pvTime().singleshotDeadline(1)).isEqualTo(-1);
    // get_physid is for the hardware domain's pinned vCPUs: -EINVAL, argument unread.
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.GET_PHYSID, 1, bad))
        .isEqualTo(XenErrno.EINVAL.negated());
  }

  /**
   * A PV guest's runstate and time areas are compat handles: compat_handle_okay refuses one
   * that reaches into the hypervisor hole with -EFAULT; the last bytes below it are fine.
   */
  @Test
  void aPvGuestsRunstateAndTimeAreasMustLieBelowTheHypervisorHole() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    Domain pv = PvTestDomains.create(hv, "pv");
    int hole = PvMmuAbi.HYPERVISOR_VIRT_START;
    int[][] cases = {{VcpuOp.REGISTER_RUNSTATE_MEMORY_AREA, VcpuOp.RUNSTATE_INFO_SIZE},
        {VcpuOp.REGISTER_VCPU_TIME_MEMORY_AREA, SharedInfo.TIME_INFO_SIZE}};
    for (int[] c : cases) {
      for (int[] addr : new int[][] {{hole - c[1] + 1, XenErrno.EFAULT.negated()},
          {hole, XenErrno.EFAULT.negated()}, {-4, XenErrno.EFAULT.negated()},
          {hole - c[1], 0}, {0x9000, 0}}) {
        byte[] a = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, addr[0])
            .array();
        assertThat(pv.pv().mmu().copyToGuest(ARG + 0x6000, a)).isTrue();
        assertThat(hc.dispatch(pv.vcpus().get(0), Hypercall.VCPU_OP.number(), c[0], 0,
            ARG + 0x6000, 0, 0)).as("cmd %d at %x", c[0], addr[0]).isEqualTo(addr[1]);
      }
    }
  }

  @Test
  void thePvclockFormulaWithMul2pow31AndShift1IsTheIdentity() {
    int mul = PvTime.TSC_TO_SYSTEM_MUL;
    int shift = PvTime.TSC_SHIFT;
    for (long delta : new long[] {0, 1, 999, 1L << 31, (1L << 32) + 7, 123_456_789_012L}) {
      assertThat(PvTime.systemTime(5_000 + delta, 5_000, 42, mul, shift)).isEqualTo(42 + delta);
    }
    // A 2 GHz TSC would be mul 2^31, shift 0: half.
    assertThat(PvTime.systemTime(2_000, 0, 0, 0x8000_0000, 0)).isEqualTo(1_000);
    // A 500 MHz TSC: mul 2^31, shift 2.
    assertThat(PvTime.systemTime(1_000, 0, 0, 0x8000_0000, 2)).isEqualTo(2_000);
  }

  @Test
  void theVcpuTimeInfoIsCoherentWithVirtualTimeAfterARun() {
    // A spinning guest: jmp $
    runCode("ebfe");
    hv.run(20_000_000L);
    MemoryBus m = hv.machineMemory();
    long t = (d.sharedInfoMfn() << 12) + SharedInfo.VI_TIME;
    assertThat(m.read32(t + SharedInfo.TIME_VERSION)).isEqualTo(2);
    // Later entries rewrite it once per cadence, not on every entry.
    d.pvTime().refresh(0, PvTime.CADENCE - 1);
    assertThat(m.read32(t + SharedInfo.TIME_VERSION)).isEqualTo(2);
    d.pvTime().refresh(0, PvTime.CADENCE + 5);
    assertThat(m.read32(t + SharedInfo.TIME_VERSION)).isEqualTo(4);
    d.pvTime().refresh(0, hv.now());
    int version = m.read32(t + SharedInfo.TIME_VERSION);
    assertThat(version).isEqualTo(6);
    long stamp = m.read64(t + SharedInfo.TIME_TSC_TIMESTAMP);
    long sys = m.read64(t + SharedInfo.TIME_SYSTEM_TIME);
    assertThat(stamp).isEqualTo(sys);
    assertThat(hv.now() - stamp).isBetween(0L, PvTime.CADENCE);
    assertThat(m.read32(t + SharedInfo.TIME_TSC_TO_SYSTEM_MUL)).isEqualTo(0x8000_0000);
    assertThat(m.read8(t + SharedInfo.TIME_TSC_SHIFT)).isEqualTo(1);
    assertThat(m.read8(t + SharedInfo.TIME_FLAGS)).isEqualTo(SharedInfo.PVCLOCK_TSC_STABLE);
    // The guest's TSC is virtual time, so its pvclock reads virtual time.
    long tsc = hv.now();
    assertThat(PvTime.systemTime(tsc, stamp, sys, m.read32(t + 24), 1)).isEqualTo(hv.now());
    long si = d.sharedInfoMfn() << 12;
    assertThat(m.read32(si + SharedInfo.WC_VERSION)).isEqualTo(2);
    assertThat(m.read32(si + SharedInfo.WC_SEC) & 0xFFFF_FFFFL)
        .isEqualTo(PvTime.WALLCLOCK_EPOCH_SEC);
  }

  @Test
  void registerVcpuInfoMovesEventDeliveryAndThePvclock() {
    ByteBuffer b = ByteBuffer.allocate(VcpuOp.REGISTER_VCPU_INFO_SIZE)
        .order(ByteOrder.LITTLE_ENDIAN).putLong(0, 0x30).putInt(8, 0x40);
    d.memory().write(ARG, b.array(), 0, b.capacity());
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, 0, ARG)).isZero();
    long vi = 0x30_040;
    // Xen marks everything pending after the move so nothing is lost.
    assertThat(d.memory().read8(vi + SharedInfo.VI_UPCALL_PENDING)).isEqualTo(1);
    assertThat(d.memory().read32(vi + SharedInfo.VI_TIME + SharedInfo.TIME_TSC_TO_SYSTEM_MUL))
        .isEqualTo(0x8000_0000);
    d.memory().write8(vi + SharedInfo.VI_UPCALL_PENDING, 0);
    d.memory().write32(vi + SharedInfo.VI_PENDING_SEL, 0);
    int port = d.eventChannels().bindIpi(0);
    assertThat(d.eventChannels().send(port)).isZero();
    assertThat(d.memory().read8(vi + SharedInfo.VI_UPCALL_PENDING)).isEqualTo(1);
    assertThat(d.memory().read32(vi + SharedInfo.VI_PENDING_SEL)).isEqualTo(1);
    // Once only; offsets must leave room for the 64-byte vcpu_info; own RAM only.
    assertThat(call(Hypercall.VCPU_OP, VcpuOp.REGISTER_VCPU_INFO, 0, ARG))
        .isEqualTo(XenErrno.EINVAL.negated());
    Domain e = hv.createHvmDomain("e", DomainMode.PVH, 2);
    b.putInt(8, 4096 - 63);
    e.memory().write(ARG, b.array(), 0, b.capacity());
    assertThat(hc.dispatch(e.vcpus().get(0), Hypercall.VCPU_OP.number(),
        VcpuOp.REGISTER_VCPU_INFO, 0, ARG, 0, 0)).isEqualTo(XenErrno.EINVAL.negated());
    b.putLong(0, 0x7FFFF).putInt(8, 0);
    e.memory().write(ARG, b.array(), 0, b.capacity());
    assertThat(hc.dispatch(e.vcpus().get(0), Hypercall.VCPU_OP.number(),
        VcpuOp.REGISTER_VCPU_INFO, 0, ARG, 0, 0)).isEqualTo(XenErrno.EINVAL.negated());
  }

  @Test
  void aMulticallRunsEntriesInOrderAndRejectsNesting() {
    ByteBuffer b = ByteBuffer.allocate(3 * Multicall.ENTRY_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(Multicall.ENTRY_OP, Hypercall.XEN_VERSION.number())
        .putInt(Multicall.ENTRY_RESULT, 0x55).putInt(Multicall.ENTRY_ARGS, XenVersion.VERSION);
    int e1 = Multicall.ENTRY_SIZE;
    b.putInt(e1 + Multicall.ENTRY_OP, Hypercall.MULTICALL.number())
        .putInt(e1 + Multicall.ENTRY_ARGS, ARG).putInt(e1 + Multicall.ENTRY_ARGS + 4, 1);
    int e2 = 2 * Multicall.ENTRY_SIZE;
    b.putInt(e2 + Multicall.ENTRY_OP, Hypercall.SET_TIMER_OP.number())
        .putInt(e2 + Multicall.ENTRY_ARGS, 777);
    d.memory().write(ARG, b.array(), 0, b.capacity());
    assertThat(call(Hypercall.MULTICALL, ARG, 3, 0)).isZero();
    assertThat(d.memory().read32(ARG + Multicall.ENTRY_RESULT))
        .isEqualTo(XenVersion.MAJOR << 16 | XenVersion.MINOR);
    assertThat(d.memory().read32(ARG + e1 + Multicall.ENTRY_RESULT))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(d.memory().read32(ARG + e2 + Multicall.ENTRY_RESULT)).isZero();
    assertThat(d.pvTime().singleshotDeadline(0)).isEqualTo(777);
    assertThat(v().counters().multicallEntries).isEqualTo(3);
    assertThat(call(Hypercall.MULTICALL, 0x7FF000, 1, 0)).isEqualTo(XenErrno.EFAULT.negated());
    assertThat(call(Hypercall.MULTICALL, ARG, -1, 0)).isEqualTo(XenErrno.EINVAL.negated());
  }
}
