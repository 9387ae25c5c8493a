package org.hospes.dom0.devicemodel;

import static org.assertj.core.api.Assertions.assertThatCode;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;

/** A device model's interrupt lines into a domain the toolstack destroyed lead nowhere. */
class PlatformInterruptsTest {
  @Test
  void aDeviceModelSignallingADomainThatIsGoneChangesNothing() {
    Hypervisor hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("g", DomainMode.HVM_EPT, 2);
    PlatformInterrupts lines = PlatformInterrupts.of(hv, d);
    lines.setIsaIrqLevel(4, true);
    hv.destroy(d, "test");
    // A completion in flight when the domain went: no platform left to tell.
    assertThatCode(() -> {
      lines.setIsaIrqLevel(4, false);
      lines.setPciIntxLevel(3, 0, true);
      lines.setPciLinkRoute(0, 11);
      lines.injectMsi(0xFEE0_0000L, 0x41);
    }).doesNotThrowAnyException();
  }
}
