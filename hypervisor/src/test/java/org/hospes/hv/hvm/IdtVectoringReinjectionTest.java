package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.hv.hvm.GuestCode.le;
import static org.hospes.hv.hvm.GuestCode.write;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * An exit during an event's delivery under shadow paging (a hidden #PF on the IDT or the
 * stack), against Xen's vmx_idtv_reinject and hvm_event_needs_reinjection: external
 * interrupts, NMIs and hardware exceptions are queued for redelivery; software interrupts and
 * software exceptions (types 4, 5, 6) are not, since their instruction runs again.
 */
class IdtVectoringReinjectionTest {
  private static final int CODE = 0x1000;
  private static final int HANDLER = 0x1800;
  /** The handler counts its runs here and records the EIP it would return to. */
  private static final int COUNT = 0x6000;
  private static final int RETURN = 0x6004;

  private Vmcs exitDuringDelivery(int idt, int error) {
    Cpu cpu = new Cpu(new MemoryBus(1 << 20), new IoBus());
    Vmcs vmcs = new Vmcs();
    cpu.setVmcs(vmcs);
    vmcs.write(VmcsField.IDT_VECTORING_INFO_FIELD, idt & 0xFFFF_FFFFL);
    vmcs.write(VmcsField.IDT_VECTORING_ERROR_CODE, error);
    vmcs.write(VmcsField.VM_EXIT_INSTRUCTION_LEN, 2);
    IdtVectoring.reinject(vmcs, idt);
    return vmcs;
  }

  private static int entryInfo(Vmcs vmcs) {
    return vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD);
  }

  @Test
  void externalInterruptsNmisAndHardwareExceptionsAreDeliveredAgain() {
    int external = VmxControls.intrInfo(0x30, VmxControls.INTR_TYPE_EXTERNAL, false);
    assertThat(entryInfo(exitDuringDelivery(external, 0))).isEqualTo(external);

    int gp = VmxControls.intrInfo(13, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true);
    Vmcs vmcs = exitDuringDelivery(gp, 0x1234);
    assertThat(entryInfo(vmcs)).isEqualTo(gp);
    assertThat(vmcs.read(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE)).isEqualTo(0x1234);

    // Reserved bits 30:12 (bit 12 is "NMI unblocking due to IRET" in the exit fields only)
    // do not go into the entry field.
    int nmi = VmxControls.intrInfo(2, VmxControls.INTR_TYPE_NMI, false);
    vmcs = exitDuringDelivery(nmi | 1 << 12 | 1 << 20, 0);
    assertThat(entryInfo(vmcs)).isEqualTo(nmi);
  }

  @Test
  void anNmiWhoseDeliveryWasCutLeavesNoBlockingByNmi() {
    Cpu cpu = new Cpu(new MemoryBus(1 << 20), new IoBus());
    Vmcs vmcs = new Vmcs();
    cpu.setVmcs(vmcs);
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_NMI);
    IdtVectoring.reinject(vmcs,
        VmxControls.intrInfo(2, VmxControls.INTR_TYPE_NMI, false));
    assertThat(cpu.nmiBlocked()).isFalse();
  }

  /** SVM's INT3 and INTO arrive as hardware exceptions; Xen's common check keeps them out. */
  @Test
  void hardwareExceptionsThreeAndFourAreNotDeliveredAgain() {
    for (int vector : new int[] {3, 4}) {
      int info = VmxControls.intrInfo(vector, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, false);
      assertThat(entryInfo(exitDuringDelivery(info, 0)) & VmxControls.INTR_INFO_VALID)
          .as("vector %d", vector).isZero();
    }
  }

  @ParameterizedTest
  @CsvSource({"0x80, 4", "1, 5", "3, 6", "4, 6"})
  void softwareInterruptsAndExceptionsAreNotDeliveredAgain(int vector, int type) {
    Vmcs vmcs = exitDuringDelivery(VmxControls.intrInfo(vector, type, false), 0);
    assertThat(entryInfo(vmcs) & VmxControls.INTR_INFO_VALID).isZero();
  }

  /**
   * A shadow-paged guest runs INT n, INT1 (ICEBP) or INT3 with its stack on a page it never
   * touched, so the event's delivery takes a hidden #PF: the instruction runs again once the
   * shadow entry is there, and the handler runs once and returns past the instruction. INT1 is
   * a privileged software exception (type 5), which the processor reports as such with its
   * instruction length: redelivered as a hardware #DB it would return to the ICEBP itself.
   */
  @ParameterizedTest
  @CsvSource({"cd21, 0x21", "f1, 1", "cc, 3"})
  void anInstructionWhoseEventsDeliveryFaultedRunsAgain(String insn, int vector) {
    Hypervisor hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("g", DomainMode.HVM_SHADOW, 2);
    var m = d.memory();
    // GDT (null, flat code 0x08, flat data 0x10) at 0x3010, its descriptor at 0x3000; the
    // IDT's 0x22 gates at 0x2000, all to the handler, its descriptor at 0x3008.
    FlatDescriptorTables.write(m, 0x3010, 0x3000, 0x2000, 0x3008, 0x22, g -> HANDLER);
    // inc dword [COUNT] ; mov eax, [esp] ; mov [RETURN], eax ; iret
    write(d, HANDLER, "ff05" + le(COUNT) + " 8b0424 a3" + le(RETURN) + " cf");
    // lgdt [0x3000] ; lidt [0x3008] ; cli ; the instruction ; hlt
    write(d, CODE, "0f011500300000 0f011d08300000 fa " + insn + " f4");
    Cpu cpu = d.vcpus().get(0).cpu();
    cpu.setEip(CODE);
    // The stack's page, 0x8000-0x8FFF, is first touched by the event's delivery.
    cpu.setReg(Cpu.ESP, 0x9000);
    hv.unpause(d);
    hv.run(100_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(d.vcpus().get(0).counters().shadowFaults).as("hidden faults").isPositive();
    assertThat(m.read32(COUNT)).as("handler runs").isEqualTo(1);
    assertThat(m.read32(RETURN)).as("return EIP")
        .isEqualTo(CODE + 15 + insn.length() / 2);
  }
}
