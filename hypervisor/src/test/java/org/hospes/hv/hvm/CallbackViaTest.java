package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.hospes.abi.SharedInfo;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;

/** HVM_PARAM_CALLBACK_IRQ decoded as Xen does, and the GSI line following upcall_pending. */
class CallbackViaTest {

  @Test
  void decodesEachMethodAsParamsHDescribesIt() {
    assertThat(CallbackVia.decode(0)).isEqualTo(CallbackVia.NONE);
    assertThat(CallbackVia.decode(11)).isEqualTo(
        new CallbackVia(CallbackVia.Type.GSI, 11, 0, 0, 0));
    // Linux's get_callback_via for 00:03.0 pin A: segment 0, bus 0, devfn 0x18, INTA#.
    CallbackVia pci = CallbackVia.decode(1L << 56 | 0x18L << 8);
    assertThat(pci.type()).isEqualTo(CallbackVia.Type.PCI_INTX);
    assertThat(pci.device()).isEqualTo(3);
    assertThat(pci.intx()).isZero();
    assertThat(pci.describe()).isEqualTo("PCI INTx 00:03 INTA#");
    assertThat(CallbackVia.decode(2L << 56 | 0xF3).describe()).isEqualTo("vector 0xf3");
    // Vectors below 16 are exceptions, types above 2 unknown: no callback.
    assertThat(CallbackVia.decode(2L << 56 | 0x0E)).isEqualTo(CallbackVia.NONE);
    assertThat(CallbackVia.decode(3L << 56 | 5)).isEqualTo(CallbackVia.NONE);
    assertThat(CallbackVia.decode(0xFFL << 56 | 5)).isEqualTo(CallbackVia.NONE);
  }

  @Test
  void anyValueDecodesToAValidMethodOrNone() {
    long seed = 0x5853_0001L;
    Random r = new Random(seed);
    for (int i = 0; i < 100_000; i++) {
      long v = r.nextLong();
      CallbackVia via = CallbackVia.decode(v);
      String why = "seed " + seed + " value 0x" + Long.toHexString(v);
      switch (via.type()) {
        case GSI -> assertThat(via.gsi()).as(why).isBetween(1, 255);
        case PCI_INTX -> {
          assertThat(via.device()).as(why).isBetween(0, 31);
          assertThat(via.intx()).as(why).isBetween(0, 3);
        }
        case VECTOR -> assertThat(via.vector()).as(why).isBetween(0x10, 0xFF);
        case NONE -> assertThat(via).as(why).isEqualTo(CallbackVia.NONE);
      }
    }
  }

  @Test
  void theGsiLineFollowsVcpuZerosUpcallPendingLikeXens() {
    Hypervisor hv = new Hypervisor(16, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("d", DomainMode.PVHVM, 2);
    HvmPlatform p = hv.platform(d);
    p.callbackParamChanged(10);
    assertThat(p.callbackVia().describe()).isEqualTo("GSI 10");
    assertThat(p.callbackAsserted()).isFalse();
    int port = d.eventChannels().bindIpi(0);
    assertThat(port).isPositive();
    d.eventChannels().send(port);
    // Raised at once (hvm_assert_evtchn_irq), and IRQ 10 is requested at the PIC.
    assertThat(p.callbackAsserted()).isTrue();
    assertThat(p.callbackAssertions()).isEqualTo(1);
    assertThat(p.pic().irr() & 1 << 10).isNotZero();
    // The guest's handler clears upcall_pending: the next entry lowers the line.
    long vi = d.eventChannels().ops().vcpuInfo(0);
    hv.machineMemory().write8(vi + SharedInfo.VI_UPCALL_PENDING, 0);
    p.syncCallbackLine();
    assertThat(p.callbackAsserted()).isFalse();
    // Pending again (as the next entry sees it); then switching to the vector method releases
    // the line for good.
    hv.machineMemory().write8(vi + SharedInfo.VI_UPCALL_PENDING, 1);
    p.syncCallbackLine();
    assertThat(p.callbackAsserted()).isTrue();
    assertThat(p.callbackAssertions()).isEqualTo(2);
    p.callbackParamChanged(2L << 56 | 0xF3);
    assertThat(p.callbackAsserted()).isFalse();
    assertThat(d.callbackVector()).isEqualTo(-1); // the hypercall, not this test, sets the param
  }

  @Test
  void aGsiAboveFifteenWithoutAnIoapicIsCountedNotLost() {
    Hypervisor hv = new Hypervisor(16, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("d", DomainMode.PVHVM, 2);
    HvmPlatform p = hv.platform(d);
    p.callbackParamChanged(28);
    int port = d.eventChannels().bindIpi(0);
    d.eventChannels().send(port);
    assertThat(p.callbackUnrouted()).isEqualTo(1);
  }
}
