package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.platform.IoApic;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An HVM domain's interrupt wiring into its I/O APIC: ISA lines (IRQ 0 at GSI 2), PCI INTx at
 * Xen's hvm_pci_intx_gsi with shared GSIs wire-ORed, and level re-delivery through the vCPU's
 * local APIC EOI. PVH domains have no I/O APIC and no PM blocks.
 */
class IoApicRoutingTest {
  private Hypervisor hv;
  private HvmPlatform p;
  private IoApic ioapic;
  private LocalApic lapic;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("guest", DomainMode.HVM_EPT, 4);
    p = hv.platform(d);
    ioapic = p.ioapic();
    lapic = p.lapic();
    lapic.write(LocalApic.SVR, 4, LocalApic.SVR_ENABLE | 0xFF);
  }

  private void route(int gsi, int low) {
    ioapic.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * gsi);
    ioapic.write(IoApic.IOWIN, 4, low);
  }

  @Test
  void isaIrqZeroReachesGsiTwoAndTheOthersTheirOwnNumber() {
    p.setIsaIrqLevel(0, true);
    assertThat(ioapic.isAsserted(2)).isTrue();
    assertThat(ioapic.isAsserted(0)).isFalse();
    p.setIsaIrqLevel(4, true);
    assertThat(ioapic.isAsserted(4)).isTrue();
    // The PIC sees the same lines.
    assertThat(p.isaLineLevel(4)).isTrue();
  }

  @Test
  void aPciPinReachesItsGsiAndPinsSharingAGsiAreWireOred() {
    // Device 3 INTB: 16 + (12 + 0 + 1) = GSI 29; device 11 INTA: 16 + ((44 + 1 + 0) & 31) = 29.
    assertThat(HvmPlatform.pciIntxGsi(3, 1)).isEqualTo(29);
    assertThat(HvmPlatform.pciIntxGsi(11, 0)).isEqualTo(29);
    p.setPciIntxLevel(3, 1, true);
    p.setPciIntxLevel(11, 0, true);
    p.setPciIntxLevel(3, 1, false);
    assertThat(ioapic.isAsserted(29)).as("device 11 still asserts it").isTrue();
    p.setPciIntxLevel(11, 0, false);
    assertThat(ioapic.isAsserted(29)).isFalse();
  }

  @Test
  void aLevelPciInterruptIsDeliveredAgainAfterEoiWhileThePinStaysHigh() {
    int gsi = HvmPlatform.pciIntxGsi(5, 0);
    route(gsi, 0x41 | IoApic.TRIGGER_LEVEL);
    p.setPciIntxLevel(5, 0, true);
    assertThat(lapic.acknowledge()).isEqualTo(0x41);
    lapic.write(LocalApic.EOI, 4, 0);       // the driver did not clear the device yet
    assertThat(lapic.acknowledge()).isEqualTo(0x41);
    p.setPciIntxLevel(5, 0, false);
    lapic.write(LocalApic.EOI, 4, 0);
    assertThat(lapic.pendingVector()).isEqualTo(-1);
    assertThat(ioapic.delivered()).isEqualTo(2);
  }

  @Test
  void theSciIsIsaIrqNineAndAPowerButtonPressRaisesIt() {
    route(9, 0x59 | IoApic.TRIGGER_LEVEL);
    p.acpiPm().out(0xB002, 2, 1 << 8);        // PWRBTN_EN
    p.acpiPm().pressPowerButton();
    assertThat(ioapic.isAsserted(9)).isTrue();
    assertThat(lapic.acknowledge()).isEqualTo(0x59);
  }

  @Test
  void pvhDomainsHaveNeitherTheIoApicNorThePmBlocks() {
    Domain pvh = hv.createHvmDomain("pvh", DomainMode.PVH, 4);
    assertThat(hv.platform(pvh).ioapic()).isNull();
    assertThat(hv.platform(pvh).acpiPm()).isNull();
  }
}
