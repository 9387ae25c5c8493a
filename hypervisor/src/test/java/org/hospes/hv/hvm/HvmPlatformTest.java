package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Which legacy devices a domain's platform has, per mode (Xen's emulation flags). */
class HvmPlatformTest {
  private static final int[] PIC_PIT_PORTS =
      {0x20, 0x21, 0xA0, 0xA1, 0x40, 0x41, 0x42, 0x43, 0x61};

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void hvmDomainsHaveThePicAndPit(DomainMode mode) {
    Domain d = domain(mode);
    for (int port : PIC_PIT_PORTS) {
      assertThat(d.platformPorts().claims(port)).as("port 0x%x in %s", port, mode).isTrue();
    }
    // The PIT answers: a latched channel-0 read is not the all-ones of an empty bus.
    d.platformPorts().out(0x43, 1, 0x34);
    d.platformPorts().out(0x40, 1, 0x00);
    d.platformPorts().out(0x40, 1, 0x10);
    d.platformPorts().out(0x43, 1, 0x00);
    int lo = d.platformPorts().in(0x40, 1);
    int hi = d.platformPorts().in(0x40, 1);
    assertThat((hi << 8 | lo) & 0xFFFF).isNotEqualTo(0xFFFF);
  }

  @Test
  void pvhDomainsHaveOnlyTheLocalApicAsOnXen() {
    Domain d = domain(DomainMode.PVH);
    for (int port : PIC_PIT_PORTS) {
      assertThat(d.platformPorts().claims(port)).as("port 0x%x in PVH", port).isFalse();
    }
  }

  private static Domain domain(DomainMode mode) {
    Hypervisor hv = new Hypervisor(16, new RoundRobinScheduler(), new DefaultCostModel());
    return hv.createHvmDomain("d", mode, 2);
  }
}
