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
}
