package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.hospes.abi.ControlOp;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.Hypercall;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * platform_op, sysctl, domctl and dm_op from a guest (found by HypercallFuzzTest, which asked
 * them of every domain: they answered -ENOSYS, which Xen never gives here, as all four are in
 * its PV32 and HVM32 tables). A domU gets what Xen 4.17's dummy XSM policy gives it, after the
 * checks Xen makes before the permission check and in their order.
 */
class ControlHypercallsTest {
  private static final int UOP = 0x8000;
  private static final int BUFS = 0x9000;
  private static final int BAD_PTR = 0x200000 - 8;
  private static final int NOBODY = 999;
  private static final int EPERM = XenErrno.EPERM.negated();

  private Hypervisor hv;
  private Hypercalls hc;
  private Domain a;
  private Domain b;
  private Domain pv;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    a = hv.createHvmDomain("a", DomainMode.PVH, 2);
    b = hv.createHvmDomain("b", DomainMode.PVH, 2);
    pv = PvTestDomains.create(hv, "pv");
  }

  private int call(Hypercall h, int a1, int a2, int a3) {
    return hc.dispatch(a.vcpus().get(0), h.number(), a1, a2, a3, 0, 0);
  }

  private int domctl(int cmd, int version, int domain) {
    ByteBuffer op = ByteBuffer.allocate(ControlOp.DOMCTL_SIZE).order(ByteOrder.LITTLE_ENDIAN)
        .putInt(ControlOp.DOMCTL_CMD, cmd).putInt(ControlOp.DOMCTL_VERSION, version)
        .putShort(ControlOp.DOMCTL_DOMAIN, (short) domain);
    a.memory().write(UOP, op.array(), 0, op.capacity());
    return call(Hypercall.DOMCTL, UOP, 0, 0);
  }

  @Test
  void domctlCopiesInThenChecksTheVersionThenTheDomainThenRefuses() {
    int v = ControlOp.DOMCTL_INTERFACE_VERSION;
    assertThat(call(Hypercall.DOMCTL, BAD_PTR, 0, 0)).isEqualTo(XenErrno.EFAULT.negated());
    assertThat(domctl(ControlOp.DOMCTL_DESTROYDOMAIN, 0x14, b.domid()))
        .isEqualTo(XenErrno.EACCES.negated());
    // rcu_lock_domain_by_id: a number that is no domain, and DOMID_SELF, which it does not know.
    assertThat(domctl(ControlOp.DOMCTL_PAUSEDOMAIN, v, NOBODY))
        .isEqualTo(XenErrno.ESRCH.negated());
    assertThat(domctl(ControlOp.DOMCTL_PAUSEDOMAIN, v, EventChannelOp.DOMID_SELF))
        .isEqualTo(XenErrno.ESRCH.negated());
    for (int dom : new int[] {b.domid(), a.domid(), 0, pv.domid()}) {
      assertThat(domctl(ControlOp.DOMCTL_DESTROYDOMAIN, v, dom)).as("destroy %s", dom)
          .isEqualTo(EPERM);
    }
    assertThat(b.state().isFinal()).isFalse();
    // The commands that name no domain, or need none, go straight to the permission check.
    assertThat(domctl(ControlOp.DOMCTL_CREATEDOMAIN, v, NOBODY)).isEqualTo(EPERM);
    assertThat(domctl(ControlOp.DOMCTL_GETDOMAININFO, v, NOBODY)).isEqualTo(EPERM);
    assertThat(domctl(ControlOp.DOMCTL_TEST_ASSIGN_DEVICE, v, ControlOp.DOMID_INVALID))
        .isEqualTo(EPERM);
    assertThat(domctl(ControlOp.DOMCTL_TEST_ASSIGN_DEVICE, v, NOBODY))
        .isEqualTo(XenErrno.ESRCH.negated());
    assertThat(domctl(ControlOp.DOMCTL_ASSIGN_DEVICE, v, ControlOp.DOMID_IO)).isEqualTo(EPERM);
    assertThat(domctl(ControlOp.DOMCTL_DEASSIGN_DEVICE, v, ControlOp.DOMID_INVALID))
        .isEqualTo(XenErrno.ESRCH.negated());
  }

  @Test
  void sysctlAndPlatformOpCheckTheVersionThenRefuse() {
    int[][] calls = {{Hypercall.SYSCTL.number(), ControlOp.SYSCTL_INTERFACE_VERSION},
        {Hypercall.PLATFORM_OP.number(), ControlOp.PLATFORM_INTERFACE_VERSION}};
    for (int[] c : calls) {
      Hypercall h = Hypercall.of(c[0]);
      assertThat(call(h, BAD_PTR, 0, 0)).as("%s", h).isEqualTo(XenErrno.EFAULT.negated());
      ByteBuffer op = ByteBuffer.allocate(ControlOp.SYSCTL_SIZE).order(ByteOrder.LITTLE_ENDIAN)
          .putInt(ControlOp.SYSCTL_CMD, ControlOp.SYSCTL_READCONSOLE)
          .putInt(ControlOp.SYSCTL_VERSION, c[1] + 1);
      a.memory().write(UOP, op.array(), 0, op.capacity());
      assertThat(call(h, UOP, 0, 0)).as("%s", h).isEqualTo(XenErrno.EACCES.negated());
      a.memory().write32(UOP + ControlOp.SYSCTL_VERSION, c[1]);
      assertThat(call(h, UOP, 0, 0)).as("%s", h).isEqualTo(EPERM);
      // A classic PV guest has them too (they are in Xen's pv32 column).
      assertThat(hc.dispatch(pv.vcpus().get(0), c[0], 0x7FFFF000, 0, 0, 0, 0)).as("%s", h)
          .isEqualTo(XenErrno.EFAULT.negated());
    }
  }

  @Test
  void dmOpIsForTheDomainsDeviceModelWhichNoGuestIs() {
    a.memory().write32(BUFS, UOP);
    a.memory().write32(BUFS + 4, 64);
    assertThat(call(Hypercall.DM_OP, b.domid(), 3, BUFS)).isEqualTo(XenErrno.E2BIG.negated());
    assertThat(call(Hypercall.DM_OP, b.domid(), 2, BAD_PTR + 4))
        .isEqualTo(XenErrno.EFAULT.negated());
    assertThat(call(Hypercall.DM_OP, NOBODY, 1, BUFS)).isEqualTo(XenErrno.ESRCH.negated());
    assertThat(call(Hypercall.DM_OP, EventChannelOp.DOMID_SELF, 1, BUFS))
        .isEqualTo(XenErrno.ESRCH.negated());
    // rcu_lock_remote_domain_by_id: not on itself.
    assertThat(call(Hypercall.DM_OP, a.domid(), 1, BUFS)).isEqualTo(EPERM);
    assertThat(call(Hypercall.DM_OP, pv.domid(), 1, BUFS)).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(call(Hypercall.DM_OP, b.domid(), 0, 0)).isEqualTo(EPERM);
    // The domid is a domid_t: only its low 16 bits count.
    assertThat(call(Hypercall.DM_OP, 0x10000 | b.domid(), 1, BUFS)).isEqualTo(EPERM);
  }
}
