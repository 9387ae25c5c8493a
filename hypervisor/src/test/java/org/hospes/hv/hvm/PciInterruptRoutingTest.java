package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PCI INTx pins through the four PIIX3 interrupt links to ISA IRQs, wire-ORed with the device
 * model's own ISA lines, as Xen's hvm_irq does it (dm_op set_pci_intx_level,
 * set_pci_link_route, set_isa_irq_level).
 */
class PciInterruptRoutingTest {
  private HvmPlatform p;
  private Domain d;

  @BeforeEach
  void setUp() {
    Hypervisor hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    d = hv.createHvmDomain("guest", DomainMode.HVM_EPT, 4);
    p = hv.platform(d);
  }

  @Test
  void pinsSwizzleOntoLinksAndLinksFollowTheirRoutes() {
    p.setPciLinkRoute(0, 10);
    p.setPciLinkRoute(1, 11);
    // Device 3 INTB: link (3 + 1) & 3 = 0.
    p.setPciIntxLevel(3, 1, true);
    assertThat(p.isaLineLevel(10)).isTrue();
    assertThat(p.isaLineLevel(11)).isFalse();
    // Rerouting an asserted link moves its level.
    p.setPciLinkRoute(0, 5);
    assertThat(p.isaLineLevel(10)).isFalse();
    assertThat(p.isaLineLevel(5)).isTrue();
    p.setPciLinkRoute(0, 0);
    assertThat(p.isaLineLevel(5)).as("disabled link").isFalse();
    p.setPciLinkRoute(0, 10);
    assertThat(p.isaLineLevel(10)).isTrue();
    p.setPciIntxLevel(3, 1, false);
    assertThat(p.isaLineLevel(10)).isFalse();
  }

  @Test
  void aLinkStaysAssertedWhileAnyOfItsPinsIsAndTheIsaLineIsWireOred() {
    p.setPciLinkRoute(2, 11);
    // Device 2 INTA and device 1 INTB both reach link 2.
    p.setPciIntxLevel(2, 0, true);
    p.setPciIntxLevel(1, 1, true);
    p.setPciIntxLevel(2, 0, true);
    p.setPciIntxLevel(2, 0, false);
    assertThat(p.isaLineLevel(11)).as("device 1 still asserts link 2").isTrue();
    p.setIsaIrqLevel(11, true);
    p.setPciIntxLevel(1, 1, false);
    assertThat(p.isaLineLevel(11)).as("the ISA source still drives it").isTrue();
    p.setIsaIrqLevel(11, false);
    assertThat(p.isaLineLevel(11)).isFalse();
    p.setPciIntxLevel(1, 1, false);
    assertThat(p.isaLineLevel(11)).as("a repeated deassert changes nothing").isFalse();
  }

  @Test
  void aLevelTriggeredLineShowsInThePicOnlyWhileHigh() {
    // ELCR: IRQ 10 level-triggered, as firmware leaves a PCI IRQ.
    d.platformPorts().out(0x4D1, 1, 0x04);
    p.setPciLinkRoute(0, 10);
    p.setPciIntxLevel(0, 0, true);
    assertThat(p.pic().irr() & 1 << 10).isNotZero();
    p.setPciIntxLevel(0, 0, false);
    assertThat(p.pic().irr() & 1 << 10).as("a level request goes with its line").isZero();
  }

  @Test
  void outOfRangeArgumentsAreRefused() {
    assertThatThrownBy(() -> p.setPciIntxLevel(32, 0, true))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> p.setPciIntxLevel(0, 4, true))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> p.setPciLinkRoute(4, 10))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> p.setPciLinkRoute(0, 16))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> p.setIsaIrqLevel(-1, true))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
