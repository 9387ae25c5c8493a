package org.hospes.hv.event;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.abi.EventChannelOp;
import org.hospes.abi.SharedInfo;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class EventChannelsTest {
  private Hypervisor hv;
  private Domain a;
  private Domain b;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    a = hv.createHvmDomain("a", DomainMode.PVH, 2);
    b = hv.createHvmDomain("b", DomainMode.PVH, 2);
  }

  private int pendingWord(Domain d, int port) {
    MemoryBus m = hv.machineMemory();
    return m.read32((d.sharedInfoMfn() << 12) + SharedInfo.EVTCHN_PENDING + 4 * (port >>> 5));
  }

  private int upcallPending(Domain d) {
    return hv.machineMemory().read8((d.sharedInfoMfn() << 12) + SharedInfo.VI_UPCALL_PENDING);
  }

  @Test
  void anInterdomainChannelCarriesEventsBothWays() {
    int ap = a.eventChannels().allocUnbound(EventChannelOp.DOMID_SELF, b.domid());
    assertThat(ap).isEqualTo(1);
    int bp = b.eventChannels().bindInterdomain(a.domid(), ap);
    assertThat(bp).isPositive();
    // Binding raises the local port, as Xen does.
    assertThat(pendingWord(b, bp) & (1 << bp)).isNotZero();
    assertThat(a.eventChannels().send(ap)).isZero();
    assertThat(pendingWord(b, bp) & (1 << bp)).isNotZero();
    assertThat(b.eventChannels().send(bp)).isZero();
    assertThat(pendingWord(a, ap) & (1 << ap)).isNotZero();
    assertThat(upcallPending(a)).isEqualTo(1);
    assertThat(a.eventChannels().status(ap))
        .containsExactly(EventChannelOp.STATUS_INTERDOMAIN, 0, b.domid(), bp);
  }

  @Test
  void onlyTheNamedDomainMayBind() {
    Domain c = hv.createHvmDomain("c", DomainMode.PVH, 2);
    int ap = a.eventChannels().allocUnbound(EventChannelOp.DOMID_SELF, b.domid());
    assertThat(c.eventChannels().bindInterdomain(a.domid(), ap))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(c.eventChannels().bindInterdomain(a.domid(), 999))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(c.eventChannels().bindInterdomain(4242, 1)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(a.eventChannels().allocUnbound(b.domid(), c.domid()))
        .isEqualTo(XenErrno.EPERM.negated());
  }

  @Test
  void closingOneEndLeavesThePeerUnbound() {
    int ap = a.eventChannels().allocUnbound(EventChannelOp.DOMID_SELF, b.domid());
    int bp = b.eventChannels().bindInterdomain(a.domid(), ap);
    assertThat(b.eventChannels().close(bp)).isZero();
    assertThat(a.eventChannels().status(ap)[0]).isEqualTo(EventChannelOp.STATUS_UNBOUND);
    assertThat(a.eventChannels().send(ap)).isZero();
    assertThat(b.eventChannels().close(bp)).isEqualTo(XenErrno.EINVAL.negated());
  }

  @Test
  void maskedPortsDoNotRaiseUpcallsUntilUnmasked() {
    int p = a.eventChannels().bindIpi(0);
    long mask = (a.sharedInfoMfn() << 12) + SharedInfo.EVTCHN_MASK;
    hv.machineMemory().write32(mask, 1 << p);
    assertThat(a.eventChannels().send(p)).isZero();
    assertThat(upcallPending(a)).isZero();
    assertThat(a.eventChannels().unmask(p)).isZero();
    assertThat(upcallPending(a)).isEqualTo(1);
  }

  @Test
  void virqsBindOncePerVcpu() {
    assertThat(a.eventChannels().bindVirq(EventChannelOp.VIRQ_TIMER, 0)).isPositive();
    assertThat(a.eventChannels().bindVirq(EventChannelOp.VIRQ_TIMER, 0))
        .isEqualTo(XenErrno.EEXIST.negated());
    assertThat(a.eventChannels().bindVirq(99, 0)).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(a.eventChannels().bindVirq(EventChannelOp.VIRQ_TIMER, 5))
        .isEqualTo(XenErrno.ENOENT.negated());
  }

  @Test
  void portsRunOutWithEnospc() {
    for (int i = 1; i < SharedInfo.NR_PORTS; i++) {
      assertThat(a.eventChannels().bindIpi(0)).isEqualTo(i);
    }
    assertThat(a.eventChannels().bindIpi(0)).isEqualTo(XenErrno.ENOSPC.negated());
  }

  @Test
  void aDeadDomainsPeersSeeTheirPortsUnbound() {
    int ap = a.eventChannels().allocUnbound(EventChannelOp.DOMID_SELF, b.domid());
    b.eventChannels().bindInterdomain(a.domid(), ap);
    hv.destroy(b, "test");
    assertThat(a.eventChannels().status(ap)[0]).isEqualTo(EventChannelOp.STATUS_UNBOUND);
    assertThat(a.eventChannels().send(ap)).isZero();
  }

  @Test
  void bindInterdomainToAPortNotUnboundForThisDomainFailsWithEinval() {
    Domain c = hv.createHvmDomain("c", DomainMode.PVH, 2);
    // Already bound to b: b cannot bind it a second time.
    int ap = a.eventChannels().allocUnbound(EventChannelOp.DOMID_SELF, b.domid());
    int bp = b.eventChannels().bindInterdomain(a.domid(), ap);
    assertThat(bp).isPositive();
    assertThat(b.eventChannels().bindInterdomain(a.domid(), ap))
        .isEqualTo(XenErrno.EINVAL.negated());
    // Offered to b once, then closed: the stale offer admits nobody.
    int closed = a.eventChannels().allocUnbound(EventChannelOp.DOMID_SELF, b.domid());
    assertThat(a.eventChannels().close(closed)).isZero();
    assertThat(b.eventChannels().bindInterdomain(a.domid(), closed))
        .isEqualTo(XenErrno.EINVAL.negated());
    // Ports in other states: an IPI, a VIRQ, the reserved port 0, one past the end.
    int ipi = a.eventChannels().bindIpi(0);
    int virq = a.eventChannels().bindVirq(EventChannelOp.VIRQ_TIMER, 0);
    for (int port : new int[] {ipi, virq, 0, SharedInfo.NR_PORTS, -1}) {
      assertThat(b.eventChannels().bindInterdomain(a.domid(), port)).as("port %d", port)
          .isEqualTo(XenErrno.EINVAL.negated());
    }
    // Offered to c: b may not take it, c may.
    int forC = a.eventChannels().allocUnbound(EventChannelOp.DOMID_SELF, c.domid());
    assertThat(b.eventChannels().bindInterdomain(a.domid(), forC))
        .isEqualTo(XenErrno.EINVAL.negated());
    assertThat(c.eventChannels().bindInterdomain(a.domid(), forC)).isPositive();
    // None of the refusals took a port of b's or changed a's ports.
    assertThat(b.eventChannels().status(bp + 1)[0]).isEqualTo(EventChannelOp.STATUS_CLOSED);
    assertThat(a.eventChannels().status(ipi)[0]).isEqualTo(EventChannelOp.STATUS_IPI);
  }

  @Test
  void anInterdomainSendLandsOnThePeersPortWhenThePortNumbersDiffer() {
    // a uses its low ports for other things, so its end gets a higher number than b's.
    for (int i = 0; i < 5; i++) {
      a.eventChannels().bindIpi(0);
    }
    int ap = a.eventChannels().allocUnbound(EventChannelOp.DOMID_SELF, b.domid());
    int bp = b.eventChannels().bindInterdomain(a.domid(), ap);
    assertThat(ap).isEqualTo(6);
    assertThat(bp).isEqualTo(1);
    long bPending = (b.sharedInfoMfn() << 12) + SharedInfo.EVTCHN_PENDING;
    long aPending = (a.sharedInfoMfn() << 12) + SharedInfo.EVTCHN_PENDING;
    hv.machineMemory().write32(bPending, 0);
    hv.machineMemory().write32(aPending, 0);
    assertThat(a.eventChannels().send(ap)).isZero();
    assertThat(pendingWord(b, 0)).isEqualTo(1 << bp);
    assertThat(pendingWord(a, 0)).isZero();
    hv.machineMemory().write32(bPending, 0);
    assertThat(b.eventChannels().send(bp)).isZero();
    assertThat(pendingWord(a, 0)).isEqualTo(1 << ap);
    assertThat(pendingWord(b, 0)).isZero();
  }

  @Test
  void allocUnboundChecksTheDomainThenPortsThenPermissionAsXenDoes() {
    // The remote need not exist yet (Xen does not look it up); DOMID_SELF means the caller.
    int p = a.eventChannels().allocUnbound(EventChannelOp.DOMID_SELF, 4242);
    assertThat(p).isPositive();
    assertThat(a.eventChannels().status(p)).containsExactly(EventChannelOp.STATUS_UNBOUND, 0,
        4242, 0);
    int self = a.eventChannels().allocUnbound(a.domid(), EventChannelOp.DOMID_SELF);
    assertThat(a.eventChannels().status(self)[2]).isEqualTo(a.domid());
    // ...and a loopback channel binds to it.
    int loop = a.eventChannels().bindInterdomain(EventChannelOp.DOMID_SELF, self);
    assertThat(loop).isPositive();
    assertThat(a.eventChannels().status(self)).containsExactly(EventChannelOp.STATUS_INTERDOMAIN,
        0, a.domid(), loop);
    assertThat(a.eventChannels().allocUnbound(4242, b.domid()))
        .isEqualTo(XenErrno.ESRCH.negated());
    assertThat(a.eventChannels().allocUnbound(b.domid(), a.domid()))
        .isEqualTo(XenErrno.EPERM.negated());
    // A full domain is -ENOSPC before the permission check.
    while (b.eventChannels().bindIpi(0) > 0) {
      // fill b's ports
    }
    assertThat(a.eventChannels().allocUnbound(b.domid(), a.domid()))
        .isEqualTo(XenErrno.ENOSPC.negated());
    assertThat(b.eventChannels().bindInterdomain(a.domid(), p))
        .isEqualTo(XenErrno.ENOSPC.negated());
  }

  @Test
  void portAndVcpuNumbersOutOfRangeAreErrorsNotCrashes() {
    int p = a.eventChannels().bindIpi(0);
    for (int bad : new int[] {0, -1, SharedInfo.NR_PORTS, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
      assertThat(a.eventChannels().unmask(bad)).as("unmask %d", bad)
          .isEqualTo(XenErrno.EINVAL.negated());
      assertThat(a.eventChannels().send(bad)).isEqualTo(XenErrno.EINVAL.negated());
      assertThat(a.eventChannels().close(bad)).isEqualTo(XenErrno.EINVAL.negated());
      assertThat(a.eventChannels().bindVcpu(bad, 0)).isEqualTo(XenErrno.EINVAL.negated());
    }
    for (int cpu : new int[] {2, -1, 1 << 20}) {
      assertThat(a.eventChannels().bindVcpu(p, cpu)).as("vcpu %d", cpu)
          .isEqualTo(XenErrno.ENOENT.negated());
      assertThat(a.eventChannels().bindIpi(cpu)).isEqualTo(XenErrno.ENOENT.negated());
    }
    assertThat(a.eventChannels().status(p)).containsExactly(EventChannelOp.STATUS_IPI, 0, 0, 0);
  }
}
