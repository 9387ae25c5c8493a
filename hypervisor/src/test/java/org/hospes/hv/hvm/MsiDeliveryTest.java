package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.platform.ApicBus.DeliveryMode;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.platform.MsiMessage;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Message-signalled interrupts into an HVM domain with two vCPUs (SDM vol. 3, 11.11): the
 * address's destination ID and mode choose the local APIC, the data its vector and delivery
 * mode; what the local APICs cannot take is dropped and counted.
 */
class MsiDeliveryTest {
  private HvmPlatform p;
  private LocalApic cpu0;
  private LocalApic cpu1;

  @BeforeEach
  void setUp() {
    Hypervisor hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("guest", DomainMode.HVM_EPT, 4, 2);
    p = hv.platform(d);
    cpu0 = p.lapic(0);
    cpu1 = p.lapic(1);
    for (LocalApic a : new LocalApic[] {cpu0, cpu1}) {
      a.write(LocalApic.SVR, 4, LocalApic.SVR_ENABLE | 0xFF);
      // Linux's flat logical mode: logical ID 1 << APIC ID.
      a.write(LocalApic.DFR, 4, -1);
      a.write(LocalApic.LDR, 4, 1 << (24 + a.apicId()));
    }
  }

  @Test
  void theFieldsDecodeAsTheSdmLaysThemOut() {
    MsiMessage m = new MsiMessage(0xFEE0_100CL, 0x8000 | 1 << 8 | 0x41);
    assertThat(m.toLocalApics()).isTrue();
    assertThat(m.destination()).isEqualTo(1);
    assertThat(m.logical()).isTrue();
    assertThat(m.redirectionHint()).isTrue();
    assertThat(m.deliveryMode()).isEqualTo(DeliveryMode.LOWEST_PRIORITY);
    assertThat(m.vector()).isEqualTo(0x41);
    assertThat(m.levelTriggered()).isTrue();
    assertThat(MsiMessage.of(1, true, true, DeliveryMode.LOWEST_PRIORITY, 0x41).address())
        .isEqualTo(0xFEE0_100CL);
    assertThat(new MsiMessage(0xFED0_0000L, 0x41).toLocalApics()).isFalse();
  }

  @Test
  void aPhysicalDestinationReachesThatApicOnly() {
    assertThat(p.injectMsi(MsiMessage.of(1, false, false, DeliveryMode.FIXED, 0x51).address(),
        0x51)).isTrue();
    assertThat(cpu1.pendingVector()).isEqualTo(0x51);
    assertThat(cpu0.pendingVector()).isEqualTo(-1);
    assertThat(p.msiDelivered()).isEqualTo(1);
  }

  @Test
  void aLogicalFlatDestinationWithTheHintClearIsStillLogical() {
    // Linux's flat mode sends logical ID 2 (CPU 1) with RH = 0: as physical ID 2 it would be lost.
    MsiMessage m = MsiMessage.of(2, true, false, DeliveryMode.FIXED, 0x62);
    assertThat(p.injectMsi(m.address(), m.data())).isTrue();
    assertThat(cpu1.pendingVector()).isEqualTo(0x62);
    assertThat(cpu0.pendingVector()).isEqualTo(-1);
    // Both bits set: both APICs take a fixed message.
    MsiMessage both = MsiMessage.of(3, true, false, DeliveryMode.FIXED, 0x63);
    p.injectMsi(both.address(), both.data());
    assertThat(cpu0.pendingVector()).isEqualTo(0x63);
    assertThat(cpu1.pendingVector()).isEqualTo(0x63);
  }

  @Test
  void lowestPriorityPicksTheApicOfLowerPriorityClass() {
    cpu0.write(LocalApic.TPR, 4, 0x20);
    MsiMessage m = MsiMessage.of(3, true, true, DeliveryMode.LOWEST_PRIORITY, 0x71);
    p.injectMsi(m.address(), m.data());
    assertThat(cpu1.pendingVector()).isEqualTo(0x71);
    assertThat(cpu0.pendingVector()).isEqualTo(-1);
  }

  /**
   * Xen's vmsi_deliver takes fixed and lowest-priority messages only: an NMI message is an
   * "Unsupported MSI delivery mode" (-EINVAL), dropped whatever vector it carries and whether
   * the vCPU it names is up or down. Counted here, and no NMI is pending anywhere.
   */
  @Test
  void anNmiMessageIsDroppedAsXensVmsiDeliverDropsIt() {
    for (int vector : new int[] {0, 0x02, 0x41}) {
      MsiMessage m = MsiMessage.of(0, false, false, DeliveryMode.NMI, vector);
      assertThat(p.injectMsi(m.address(), m.data())).isFalse();
      MsiMessage all = MsiMessage.of(0xFF, false, false, DeliveryMode.NMI, vector);
      assertThat(p.injectMsi(all.address(), all.data())).isFalse();
    }
    assertThat(cpu0.nmiPending()).isFalse();
    assertThat(cpu1.nmiPending()).isFalse();
    assertThat(p.msiDropped()).isEqualTo(6);
    assertThat(p.msiDelivered()).isZero();
  }

  @Test
  void whatNoApicCanTakeIsDroppedAndCounted() {
    // Outside the APIC window, INIT and ExtINT modes, a physical ID with no APIC, vector < 16.
    assertThat(p.injectMsi(0xFED0_0000L, 0x41)).isFalse();
    MsiMessage init = MsiMessage.of(1, false, false, DeliveryMode.INIT, 0);
    assertThat(p.injectMsi(init.address(), init.data())).isFalse();
    MsiMessage extint = MsiMessage.of(1, false, false, DeliveryMode.EXTINT, 0);
    assertThat(p.injectMsi(extint.address(), extint.data())).isFalse();
    MsiMessage nobody = MsiMessage.of(7, false, false, DeliveryMode.FIXED, 0x41);
    assertThat(p.injectMsi(nobody.address(), nobody.data())).isFalse();
    MsiMessage illegal = MsiMessage.of(0, false, false, DeliveryMode.FIXED, 3);
    assertThat(p.injectMsi(illegal.address(), illegal.data())).isFalse();
    assertThat(p.msiDropped()).isEqualTo(5);
    assertThat(p.msiDelivered()).isZero();
    assertThat(cpu0.pendingVector()).isEqualTo(-1);
    assertThat(cpu1.pendingVector()).isEqualTo(-1);
  }
}
