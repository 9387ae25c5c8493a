package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The hypervisor's real-mode emulator ({@link Cpu#emulateStep}) runs in root operation: a
 * guest in real mode whose VMCS has no "unrestricted guest" (shadow paging) is not entered but
 * emulated, one instruction a step. No VM entry check applies (the VMCS below, unrestricted
 * guest without EPT, would fail one), the event the hypervisor queued is delivered by the
 * emulator through the IVT without an error code, and what it cannot finish (an OUT) comes
 * back as the exit the controls name.
 */
class EmulatorStepTest {
  private static final int CODE = 0x1000;
  private static final int HANDLER = 0x2000;
  private static final int SP = 0x8000;

  private MemoryBus mem;
  private Cpu cpu;
  private Vmcs vmcs;

  @BeforeEach
  void setUp() {
    mem = new MemoryBus(1 << 20);
    cpu = new Cpu(mem, new IoBus());
    vmcs = new Vmcs();
    vmcs.write(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_ACTIVATE_SECONDARY
        | VmxControls.PROC_HLT_EXITING | VmxControls.PROC_UNCONDITIONAL_IO_EXITING);
    vmcs.write(VmcsField.SECONDARY_VM_EXEC_CONTROL, VmxControls.PROC2_UNRESTRICTED_GUEST);
    cpu.setVmcs(vmcs);
    // Real mode at 0100:0000: mov ax, 0x1234 ; out 0x80, al ; hlt. The handler at
    // 0000:HANDLER: mov bx, 0x5678 ; iret.
    write(CODE, "b83412 e680 f4");
    write(HANDLER, "bb7856 cf");
    cpu.startupIpi(CODE >>> 12);
    cpu.setReg(Cpu.ESP, SP);
    cpu.setEflags(0x202);
  }

  private void write(int at, String hex) {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    mem.write(at, b, 0, b.length);
  }

  @Test
  void aVmEntryRefusesTheControlsTheEmulatorRunsUnder() {
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_ENTRY_FAILED);
    assertThat(vmcs.read(VmcsField.VM_INSTRUCTION_ERROR)).isEqualTo(7);
    assertThat(cpu.eip()).isZero();
  }

  @Test
  void eachStepIsOneInstructionAndAnOutIsHandedBackAsAnIoExit() {
    assertThat(cpu.emulateStep(100)).isEqualTo(CpuExit.EMULATED);
    assertThat(cpu.eip()).isEqualTo(3);
    assertThat(cpu.reg(Cpu.EAX) & 0xFFFF).isEqualTo(0x1234);
    assertThat(cpu.emulateStep(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.IO_INSTRUCTION);
    assertThat(vmcs.exitQualification() >>> 16).isEqualTo(0x80);
    assertThat(cpu.eip()).isEqualTo(3);
  }

  /**
   * A queued #GP with the deliver-error-code bit (as a hypervisor without unrestricted guest
   * queues it): delivered through the IVT with no error code, the valid bit cleared, and the
   * handler's first instruction run in the same step.
   */
  @Test
  void aQueuedExceptionGoesThroughTheIvtWithoutAnErrorCode() {
    queue(13, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true);
    vmcs.write(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
    assertThat(cpu.emulateStep(100)).isEqualTo(CpuExit.EMULATED);
    assertThat(vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD) & VmxControls.INTR_INFO_VALID)
        .isZero();
    assertThat(cpu.segmentSelector(Cpu.CS)).isZero();
    assertThat(cpu.eip()).isEqualTo(HANDLER + 3);
    assertThat(cpu.reg(Cpu.EBX) & 0xFFFF).isEqualTo(0x5678);
    // IP, CS and FLAGS of the interrupted instruction, and nothing more.
    assertThat(cpu.reg(Cpu.ESP)).isEqualTo(SP - 6);
    assertThat(mem.read16(SP - 6)).isZero();
    assertThat(mem.read16(SP - 4)).isEqualTo(CODE >>> 4);
    assertThat(mem.read16(SP - 2)).isEqualTo(0x202);
    // The IRET returns to the guest's first instruction, with interrupts on again.
    assertThat(cpu.emulateStep(100)).isEqualTo(CpuExit.EMULATED);
    assertThat(cpu.eip()).isZero();
    assertThat(cpu.eflags() & 0x200).isNotZero();
  }

  /** INT n queued again (its first delivery exited): it returns past the instruction. */
  @Test
  void aQueuedSoftwareInterruptReturnsPastItsInstruction() {
    queue(0x50, VmxControls.INTR_TYPE_SOFTWARE_INTERRUPT, false);
    vmcs.write(VmcsField.VM_ENTRY_INSTRUCTION_LEN, 2);
    assertThat(cpu.emulateStep(100)).isEqualTo(CpuExit.EMULATED);
    assertThat(cpu.eip()).isEqualTo(HANDLER + 3);
    assertThat(mem.read16(SP - 6)).isEqualTo(2);
  }

  /**
   * The emulator's memory goes through the hypervisor's identity shadow: a push of the event's
   * delivery onto a page the shadow does not map yet is a #PF handed back (the exception
   * bitmap names it) with the event in the IDT-vectoring information, nothing delivered; the
   * hypervisor maps the page, queues the event again, and the next step delivers it.
   */
  @Test
  void aShadowFaultDuringTheDeliveryNamesTheEvent() {
    int pd = 0x10000;
    int pt = 0x11000;
    mem.write32(pd, pt | 7);
    for (int i = 0; i < 1024; i++) {
      mem.write32(pt + 4 * i, i == 7 ? 0 : i << 12 | 7);
    }
    cpu.loadEmulatorControlRegisters(0, pd, 0);
    vmcs.write(VmcsField.EXCEPTION_BITMAP, 1L << Exceptions.PF);
    mem.write32(0x30 * 4, HANDLER);
    int event = VmxControls.intrInfo(0x30, VmxControls.INTR_TYPE_EXTERNAL, false);
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, event & 0xFFFF_FFFFL);
    assertThat(cpu.emulateStep(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.EXCEPTION_NMI);
    assertThat(vmcs.read32(VmcsField.VM_EXIT_INTR_INFO) & 0xFF).isEqualTo(Exceptions.PF);
    assertThat(vmcs.exitQualification()).isEqualTo(SP - 2);
    assertThat(vmcs.read32(VmcsField.IDT_VECTORING_INFO_FIELD)).isEqualTo(event);
    assertThat(cpu.eip()).isZero();
    assertThat(cpu.reg(Cpu.ESP)).isEqualTo(SP);

    mem.write32(pt + 4 * 7, 7 << 12 | 7);
    cpu.invalidateTranslations();
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, event & 0xFFFF_FFFFL);
    assertThat(cpu.emulateStep(100)).isEqualTo(CpuExit.EMULATED);
    assertThat(cpu.eip()).isEqualTo(HANDLER + 3);
    assertThat(vmcs.read32(VmcsField.IDT_VECTORING_INFO_FIELD)).isZero();
  }

  /** An external interrupt queued for the emulator goes through its IVT vector too. */
  @Test
  void aQueuedExternalInterruptGoesThroughTheIvt() {
    queue(0x30, VmxControls.INTR_TYPE_EXTERNAL, false);
    assertThat(cpu.emulateStep(100)).isEqualTo(CpuExit.EMULATED);
    assertThat(cpu.eip()).isEqualTo(HANDLER + 3);
    assertThat(cpu.eflags() & 0x200).as("IF cleared by the delivery").isZero();
    assertThat(cpu.reg(Cpu.ESP)).isEqualTo(SP - 6);
  }

  /** Points IVT entry {@code vector} at the handler and queues the event for the next step. */
  private void queue(int vector, int type, boolean errorCode) {
    mem.write32(vector * 4, HANDLER);
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD,
        VmxControls.intrInfo(vector, type, errorCode) & 0xFFFF_FFFFL);
  }
}
