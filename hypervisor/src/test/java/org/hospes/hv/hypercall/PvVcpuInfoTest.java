package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.hospes.abi.Hypercall;
import org.hospes.abi.PvMmuAbi;
import org.hospes.abi.SharedInfo;
import org.hospes.abi.VcpuOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.pv.PageType;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * VCPUOP_register_vcpu_info from a classic PV guest (found by HypercallFuzzTest): the frame is a
 * machine frame, as for every PV frame number, and it must take the writable type (Xen's
 * map_vcpu_info), because the hypervisor writes vcpu_info there from then on. Before the fix
 * the number went through the P2M as a pfn and no type was taken, so a guest could have
 * vcpu_info (upcall_pending, pending_sel = ~0, the pvclock) written over its own validated
 * page tables: a present L2 entry naming a frame the guest had no right to.
 */
class PvVcpuInfoTest {
  private static final int ARG = 0x9000;

  private Hypervisor hv;
  private Hypercalls hc;
  private Domain d;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    hc = new Hypercalls(hv, hv.costModel());
    d = PvTestDomains.create(hv, "pv");
  }

  private int register(long frame, int offset) {
    byte[] b = ByteBuffer.allocate(VcpuOp.REGISTER_VCPU_INFO_SIZE).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(VcpuOp.REGISTER_VCPU_INFO_MFN, frame)
        .putInt(VcpuOp.REGISTER_VCPU_INFO_OFFSET, offset).array();
    assertThat(d.pv().mmu().copyToGuest(ARG, b)).isTrue();
    return hc.dispatch(d.vcpus().get(0), Hypercall.VCPU_OP.number(), VcpuOp.REGISTER_VCPU_INFO,
        0, ARG, 0, 0);
  }

  private byte[] frame(long mfn) {
    byte[] b = new byte[4096];
    hv.machineMemory().read(mfn << 12, b, 0, b.length);
    return b;
  }

  @Test
  void vcpuInfoNeverLandsOnAPageTable() {
    // pfns 0..3 are the L3, the L2, Xen's L2 and the L1, named by pfn and by machine frame.
    for (int pfn = 0; pfn < 4; pfn++) {
      long mfn = PvTestDomains.mfn(d, pfn);
      byte[] before = frame(mfn);
      assertThat(register(pfn, 0)).as("pfn %s", pfn).isEqualTo(XenErrno.EINVAL.negated());
      assertThat(register(mfn, 0)).as("mfn of pfn %s", pfn).isEqualTo(XenErrno.EINVAL.negated());
      assertThat(frame(mfn)).as("table at pfn %s", pfn).isEqualTo(before);
    }
    // Nor on another domain's frame, nor a misaligned offset (compat vcpu_info: 4 bytes).
    Domain other = PvTestDomains.create(hv, "other");
    assertThat(register(PvTestDomains.mfn(other, 10), 0)).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(register(PvTestDomains.mfn(d, 10), 2)).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(d.eventChannels().ops().vcpuInfo(0)).isEqualTo(d.sharedInfoMfn() << 12);
  }

  @Test
  void aPvGuestMovesVcpuInfoByMachineFrameAndTheFrameStaysWritable() {
    // pfn 40 is not mapped: nothing but vcpu_info gives it a type.
    long mfn = PvTestDomains.mfn(d, 40);
    d.pv().setUpcallMask(1);
    assertThat(register(mfn, 0x40)).isZero();
    long vi = (mfn << 12) + 0x40;
    MemoryBus m = hv.machineMemory();
    assertThat(d.eventChannels().ops().vcpuInfo(0)).isEqualTo(vi);
    // The upcall mask came along and is read at the new place.
    assertThat(m.read8(vi + SharedInfo.VI_UPCALL_MASK)).isEqualTo(1);
    m.write8(vi + SharedInfo.VI_UPCALL_MASK, 0);
    assertThat(d.pv().upcallMask()).isZero();
    assertThat(register(mfn, 0x80)).as("once only").isEqualTo(XenErrno.EINVAL.negated());
    // While vcpu_info lives there the frame cannot become a page table.
    assertThat(hv.pvPageInfo().type(mfn)).isEqualTo(PageType.WRITABLE_PAGE);
    assertThat(d.pv().mmu().extOp(PvMmuAbi.MMUEXT_PIN_L1_TABLE, (int) mfn, 0))
        .isEqualTo(XenErrno.EINVAL.negated());
    hv.destroy(d, "test");
    assertThat(hv.pvPageInfo().typeCount(mfn)).isZero();
    assertThat(hv.pvPageInfo().refCount(mfn)).isZero();
  }
}
