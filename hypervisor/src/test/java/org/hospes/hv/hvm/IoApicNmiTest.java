package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.platform.IoApic;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An I/O APIC pin programmed for NMI delivery, as Xen's vioapic_deliver (dest_NMI) handles it:
 * each vCPU the destination names gets its NMI latched and is kicked; one that is down keeps
 * the NMI and stays down.
 */
class IoApicNmiTest {
  private static final int PIN = 5;
  private Domain d;
  private HvmPlatform p;
  private IoApic ioapic;

  @BeforeEach
  void setUp() {
    Hypervisor hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    d = hv.createHvmDomain("guest", DomainMode.HVM_EPT, 4, 2);
    p = hv.platform(d);
    ioapic = p.ioapic();
  }

  /** Redirection entry {@code PIN}: NMI delivery, edge, physical {@code destination}. */
  private void programNmi(int destination) {
    ioapic.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * PIN + 1);
    ioapic.write(IoApic.IOWIN, 4, destination << 24);
    ioapic.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * PIN);
    ioapic.write(IoApic.IOWIN, 4, 4 << IoApic.DELIVERY_MODE_SHIFT);
  }

  private void pulse() {
    p.setIsaIrqLevel(PIN, true);
    p.setIsaIrqLevel(PIN, false);
  }

  @Test
  void anNmiPinLatchesTheNmiOfAVcpuThatIsDownAndLeavesItDown() {
    Vcpu ap = d.vcpus().get(1);
    assertThat(ap.state()).isEqualTo(VcpuState.OFFLINE); // never started: waits for SIPI
    programNmi(1);
    pulse();
    assertThat(p.lapic(1).nmiPending()).isTrue();
    assertThat(p.lapic(0).nmiPending()).isFalse();
    assertThat(ap.state()).isEqualTo(VcpuState.OFFLINE);
    assertThat(ioapic.delivered()).isEqualTo(1);
    assertThat(ioapic.undeliverable()).isZero();

    // Broadcast: both latch (the APICs' software enable gates no NMI); a second edge while one
    // is pending adds nothing (test_and_set_bool).
    programNmi(0xFF);
    pulse();
    pulse();
    assertThat(p.lapic(0).nmiPending()).isTrue();
    assertThat(p.lapic(1).nmiPending()).isTrue();
    assertThat(ap.state()).isEqualTo(VcpuState.OFFLINE);
    assertThat(ioapic.delivered()).isEqualTo(3);

    // A destination no APIC has: nothing latched, counted as undeliverable.
    p.lapic(0).clearNmi();
    programNmi(7);
    pulse();
    assertThat(p.lapic(0).nmiPending()).isFalse();
    assertThat(ioapic.undeliverable()).isEqualTo(1);
  }
}
