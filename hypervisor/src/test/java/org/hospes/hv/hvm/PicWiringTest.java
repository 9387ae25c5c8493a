package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.platform.IoApic;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.ApicBaseMsr;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Which vCPU of an HVM domain the PIC's INTR reaches, against Xen's vlapic_accept_pic_intr,
 * __vlapic_accept_pic_intr and vlapic_adjust_i8259_target: the i8259 target is the first vCPU
 * whose LINT0 is an unmasked ExtINT entry, or whose APIC the I/O APIC's pin 0 names as an
 * unmasked ExtINT destination (that APIC enabled), or whose APIC is globally disabled; else
 * vCPU 0. It is chosen when a LINT0 entry or pin 0's entry is written, and the PIC's
 * interrupt goes to it only while its wiring holds and its APIC is globally enabled.
 */
class PicWiringTest {
  private static final int IRQ1_VECTOR = 0x31;
  private Hypervisor hv;
  private Domain d;
  private HvmPlatform p;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    d = hv.createHvmDomain("guest", DomainMode.HVM_EPT, 4, 2);
    p = hv.platform(d);
    for (Vcpu v : d.vcpus()) {
      v.cpu().setEflags(v.cpu().eflags() | 0x200);
    }
    // The PIC at vector base 0x30 with IRQ 1 open, and IRQ 1 raised.
    var ports = d.platformPorts();
    ports.out(0x20, 1, 0x11);
    ports.out(0x21, 1, 0x30);
    ports.out(0x21, 1, 0x04);
    ports.out(0x21, 1, 0x01);
    ports.out(0x21, 1, 0xFD);
    p.setIsaIrqLevel(1, true);
  }

  /** What the entry of vCPU {@code id} injects: the vector, or -1 for nothing. */
  private int injected(int id) {
    Vcpu v = d.vcpus().get(id);
    v.vmcs().write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0);
    p.prepareEntry(v, 0);
    int info = v.vmcs().read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD);
    return (info & VmxControls.INTR_INFO_VALID) == 0 ? -1 : info & 0xFF;
  }

  private LocalApic enabledApic(int id) {
    LocalApic a = p.lapic(id);
    a.write(LocalApic.SVR, 4, LocalApic.SVR_ENABLE | 0xFF);
    return a;
  }

  /** Without firmware's virtual-wire set-up nothing chose a target: no vCPU takes the PIC. */
  @Test
  void atPowerUpThePicReachesNoVcpu() {
    assertThat(p.picTarget()).isEqualTo(-1);
    assertThat(injected(0)).isEqualTo(-1);
    assertThat(injected(1)).isEqualTo(-1);
  }

  @Test
  void lint0AsExtIntWiresThePicToThatVcpu() {
    enabledApic(0).write(LocalApic.LVT_LINT0, 4, 0x700);
    assertThat(p.picTarget()).isZero();
    assertThat(injected(1)).isEqualTo(-1);
    assertThat(injected(0)).isEqualTo(IRQ1_VECTOR);
  }

  /** The first vCPU wired by LINT0 is the target, vCPU 0 or not; a masked LINT0 wires none. */
  @Test
  void anApplicationProcessorsLint0CanTakeThePic() {
    enabledApic(0).write(LocalApic.LVT_LINT0, 4, 0x700 | LocalApic.LVT_MASKED);
    enabledApic(1).write(LocalApic.LVT_LINT0, 4, 0x700);
    assertThat(p.picTarget()).isEqualTo(1);
    assertThat(injected(0)).isEqualTo(-1);
    assertThat(injected(1)).isEqualTo(IRQ1_VECTOR);
  }

  /** hvmloader's way: the I/O APIC's pin 0 as an unmasked ExtINT entry to APIC 1. */
  @Test
  void theIoApicsPin0AsExtIntWiresThePicToItsDestination() {
    enabledApic(1);
    IoApic io = p.ioapic();
    io.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 1);
    io.write(IoApic.IOWIN, 4, 1 << 24);
    assertThat(p.picTarget()).as("written while still masked").isZero();
    assertThat(injected(0)).isEqualTo(-1);
    io.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION);
    io.write(IoApic.IOWIN, 4, 7 << IoApic.DELIVERY_MODE_SHIFT);
    assertThat(p.picTarget()).isEqualTo(1);
    assertThat(injected(1)).isEqualTo(IRQ1_VECTOR);
  }

  /**
   * Software-disabling the target's APIC masks its LINT0 and does not choose again (only a
   * LINT0 or pin 0 write does): the PIC reaches nobody, even with vCPU 1 wired meanwhile
   * through pin 0's destination, until the next such write.
   */
  @Test
  void theTargetIsChosenOnlyWhenLint0OrPin0IsWritten() {
    enabledApic(0).write(LocalApic.LVT_LINT0, 4, 0x700);
    assertThat(p.picTarget()).isZero();
    p.lapic(0).write(LocalApic.SVR, 4, 0xFF);
    assertThat(p.lapic(0).lint0() & LocalApic.LVT_MASKED).isNotZero();
    assertThat(injected(0)).isEqualTo(-1);
    enabledApic(1);
    assertThat(p.picTarget()).isZero();
    assertThat(injected(1)).isEqualTo(-1);
    p.lapic(1).write(LocalApic.LVT_LINT0, 4, 0x700);
    assertThat(p.picTarget()).isEqualTo(1);
    assertThat(injected(1)).isEqualTo(IRQ1_VECTOR);
  }

  /**
   * A globally disabled APIC counts as wired when the target is chosen (its LINT0 would be the
   * processor's INTR), but vlapic_accept_pic_intr refuses a vCPU whose APIC is globally
   * disabled before it looks at anything else.
   */
  @Test
  void aGloballyDisabledApicsVcpuIsChosenButTakesNothing() {
    assertThat(p.lapic(0).writeApicBase(p.lapic(0).readApicBase() & ~ApicBaseMsr.ENABLE))
        .isTrue();
    enabledApic(1).write(LocalApic.LVT_LINT0, 4, 0x700);
    assertThat(p.picTarget()).as("vCPU 0 comes first").isZero();
    assertThat(injected(0)).isEqualTo(-1);
    assertThat(injected(1)).isEqualTo(-1);
  }
}
