package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.platform.IoApic;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.platform.Pit8254;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The PIT's interrupt in an HVM domain with two vCPUs, as Xen's vioapic_deliver routes it
 * (IRQ0_SPECIAL_ROUTING, since Xen 4.14): a lowest-priority message from GSI 2 goes to vCPU 0
 * while the PIT's channel 0 timer runs, when vCPU 0's APIC is among the destinations and
 * enabled; every other message takes the usual lowest-priority round robin, and fixed messages
 * are never rerouted.
 */
class Irq0RoutingTest {
  private static final int PIT_GSI = 2;
  private static final int VECTOR = 0x30;
  /** Lowest priority (delivery mode 1), logical destination, edge triggered. */
  private static final int LOWEST_LOGICAL = 1 << IoApic.DELIVERY_MODE_SHIFT | IoApic.DEST_LOGICAL;

  private HvmPlatform p;
  private LocalApic[] apics;

  @BeforeEach
  void setUp() {
    Hypervisor hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("guest", DomainMode.HVM_EPT, 4, 2);
    p = hv.platform(d);
    apics = new LocalApic[] {p.lapic(0), p.lapic(1)};
    for (LocalApic a : apics) {
      a.write(LocalApic.SVR, 4, LocalApic.SVR_ENABLE | 0xFF);
      // Flat logical mode: logical ID 1 << APIC ID.
      a.write(LocalApic.DFR, 4, -1);
      a.write(LocalApic.LDR, 4, 1 << (24 + a.apicId()));
    }
  }

  private void program(int pin, int low, int destination) {
    IoApic io = p.ioapic();
    io.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * pin + 1);
    io.write(IoApic.IOWIN, 4, destination << 24);
    io.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * pin);
    io.write(IoApic.IOWIN, 4, low);
  }

  /** Channel 0 as a rate generator (mode 2), as an OS programs its tick. */
  private void startPitTick() {
    Pit8254 pit = p.pit();
    pit.out(Pit8254.CONTROL, 1, 0x34);
    pit.out(Pit8254.CHANNEL0, 1, 0x9C);
    pit.out(Pit8254.CHANNEL0, 1, 0x2E);
  }

  /** One rising edge on {@code pin}; returns the vCPUs that took it (a bit each). */
  private int edge(int pin) {
    p.ioapic().setLevel(pin, false);
    p.ioapic().setLevel(pin, true);
    int took = 0;
    for (int i = 0; i < apics.length; i++) {
      if (apics[i].acknowledge() == VECTOR) {
        took |= 1 << i;
        apics[i].write(LocalApic.EOI, 4, 0);
      }
    }
    return took;
  }

  @Test
  void withoutAPitTickTheRoundRobinChooses() {
    assertThat(p.pit().channel0TimerActive()).isFalse();
    program(PIT_GSI, LOWEST_LOGICAL | VECTOR, 0x3);
    // Equal priorities: the search starts after the vCPU chosen last, and moves on each time.
    assertThat(edge(PIT_GSI)).isEqualTo(0b10);
    assertThat(edge(PIT_GSI)).isEqualTo(0b01);
    assertThat(edge(PIT_GSI)).isEqualTo(0b10);
  }

  @Test
  void whileThePitTicksItsInterruptGoesToVcpu0() {
    startPitTick();
    assertThat(p.pit().channel0TimerActive()).isTrue();
    program(PIT_GSI, LOWEST_LOGICAL | VECTOR, 0x3);
    for (int n = 0; n < 4; n++) {
      assertThat(edge(PIT_GSI)).as("edge %d", n).isEqualTo(0b01);
    }
    // Even when vCPU 0 has the higher priority (Xen does not compare it there).
    apics[0].write(LocalApic.TPR, 4, 0x20);
    assertThat(edge(PIT_GSI)).isEqualTo(0b01);
  }

  @Test
  void theRerouteLeavesTheRoundRobinWhereItWas() {
    startPitTick();
    program(PIT_GSI, LOWEST_LOGICAL | VECTOR, 0x3);
    program(5, LOWEST_LOGICAL | VECTOR, 0x3);
    assertThat(edge(5)).isEqualTo(0b10);
    assertThat(edge(PIT_GSI)).isEqualTo(0b01);
    // GSI 5 goes on from vCPU 1, the last one the round robin chose: vCPU 0.
    assertThat(edge(5)).isEqualTo(0b01);
    assertThat(edge(5)).isEqualTo(0b10);
  }

  @Test
  void vcpu0MustBeNamedAndEnabled() {
    startPitTick();
    program(PIT_GSI, LOWEST_LOGICAL | VECTOR, 0x2);
    assertThat(edge(PIT_GSI)).isEqualTo(0b10);
    program(PIT_GSI, LOWEST_LOGICAL | VECTOR, 0x3);
    apics[0].write(LocalApic.SVR, 4, 0xFF); // software-disabled
    assertThat(edge(PIT_GSI)).isEqualTo(0b10);
  }

  @Test
  void fixedMessagesAndOtherPinsAreNotRerouted() {
    startPitTick();
    program(PIT_GSI, IoApic.DEST_LOGICAL | VECTOR, 0x2);
    assertThat(edge(PIT_GSI)).isEqualTo(0b10);
    program(PIT_GSI, IoApic.DEST_LOGICAL | VECTOR, 0x3);
    assertThat(edge(PIT_GSI)).isEqualTo(0b11);
    program(0, LOWEST_LOGICAL | VECTOR, 0x3);
    assertThat(edge(0)).isEqualTo(0b10);
  }
}
