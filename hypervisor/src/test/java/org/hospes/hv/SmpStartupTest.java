package org.hospes.hv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.sched.CreditScheduler;
import org.hospes.hv.time.Runstate;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The INIT/SIPI state machine of a multi-vCPU HVM domain, driven through the BSP's ICR: APs
 * are offline waiting for SIPI from the start, a SIPI starts one in real mode at vector × 4096,
 * a SIPI to a started processor is ignored, INIT puts it back to waiting.
 */
class SmpStartupTest {
  private Hypervisor hv;
  private Domain d;
  private LocalApic bsp;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new CreditScheduler(), new DefaultCostModel());
    d = hv.createHvmDomain("smp", DomainMode.HVM_EPT, 4, 3);
    bsp = hv.platform(d).lapic(0);
  }

  private void icr(int high, int low) {
    bsp.write(LocalApic.ICR_HIGH, 4, high);
    bsp.write(LocalApic.ICR_LOW, 4, low);
  }

  @Test
  void applicationProcessorsWaitForSipiOfflineAndTheBspRuns() {
    hv.unpause(d);
    assertThat(d.vcpus()).hasSize(3);
    assertThat(d.vcpus().get(0).state()).isEqualTo(VcpuState.RUNNABLE);
    for (Vcpu ap : d.vcpus().subList(1, 3)) {
      assertThat(ap.state()).isEqualTo(VcpuState.OFFLINE);
      assertThat(ap.waitingForSipi()).isTrue();
      assertThat(ap.runstate().state()).isEqualTo(Runstate.OFFLINE);
      assertThat(hv.platform(d).lapic(ap.id()).readApicBase() & LocalApic.BSP).isZero();
      assertThat(hv.platform(d).lapic(ap.id()).read(LocalApic.ID, 4)).isEqualTo(ap.id() << 24);
    }
    assertThat(bsp.readApicBase() & LocalApic.BSP).isNotZero();
  }

  @Test
  void aSipiStartsTheApInRealModeAtVectorTimes4096() {
    hv.unpause(d);
    icr(2 << 24, 0x4500);
    icr(2 << 24, 0x469A);
    Vcpu ap = d.vcpus().get(2);
    Cpu cpu = ap.cpu();
    assertThat(ap.state()).isEqualTo(VcpuState.RUNNABLE);
    assertThat(ap.waitingForSipi()).isFalse();
    assertThat(cpu.segmentSelector(Cpu.CS)).isEqualTo(0x9A00);
    assertThat(cpu.segmentBase(Cpu.CS)).isEqualTo(0x9A000);
    assertThat(cpu.eip()).isZero();
    assertThat(cpu.cr0() & Cpu.CR0_PE).isZero();
    assertThat(d.vcpus().get(1).state()).as("the other AP").isEqualTo(VcpuState.OFFLINE);
    // A second SIPI finds it running: ignored.
    cpu.setEip(0x1234);
    icr(2 << 24, 0x4610);
    assertThat(cpu.eip()).isEqualTo(0x1234);
    assertThat(cpu.segmentSelector(Cpu.CS)).isEqualTo(0x9A00);
  }

  @Test
  void initStopsARunningApUntilTheNextSipi() {
    hv.unpause(d);
    icr(0, 3 << 18 | 0x4608);
    assertThat(d.vcpus().get(1).state()).isEqualTo(VcpuState.RUNNABLE);
    assertThat(d.vcpus().get(2).state()).isEqualTo(VcpuState.RUNNABLE);
    icr(1 << 24, 0x4500);
    Vcpu ap = d.vcpus().get(1);
    assertThat(ap.state()).isEqualTo(VcpuState.OFFLINE);
    assertThat(ap.waitingForSipi()).isTrue();
    assertThat(d.vcpus().get(2).state()).isEqualTo(VcpuState.RUNNABLE);
    icr(1 << 24, 0x4620);
    assertThat(ap.state()).isEqualTo(VcpuState.RUNNABLE);
    assertThat(ap.cpu().segmentBase(Cpu.CS)).isEqualTo(0x20000);
  }

  @Test
  void aSipiBeforeTheDomainRunsStartsNothing() {
    icr(1 << 24, 0x4608);
    assertThat(d.vcpus().get(1).state()).isEqualTo(VcpuState.OFFLINE);
    assertThat(d.vcpus().get(1).waitingForSipi()).isTrue();
  }

  @Test
  void vcpuCountsOutsideOneToSixtyFourAndShadowSmpAreRefused() {
    assertThatThrownBy(() -> hv.createHvmDomain("x", DomainMode.HVM_EPT, 4, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1..64");
    assertThatThrownBy(() -> hv.createHvmDomain("x", DomainMode.HVM_EPT, 4, 65))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1..64");
  }
}
