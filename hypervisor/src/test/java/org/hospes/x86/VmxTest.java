package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** VMX non-root operation: exits with their qualifications, EPT, MMIO, injection. */
class VmxTest {
  /** Guest RAM lives at machine 4 MiB; the guest sees it at guest-physical 0. */
  private static final long GUEST_BASE = 4L << 20;
  private static final long EPT_ROOT = 0x10000;
  private static final int CODE = 0x1000;

  private MemoryBus mem;
  private Cpu cpu;
  private Vmcs vmcs;

  @BeforeEach
  void setUp() {
    mem = new MemoryBus(8 << 20);
    cpu = new Cpu(mem, new IoBus());
    cpu.resetFlat32();
    cpu.setReg(Cpu.ESP, 0x8000);
    vmcs = new Vmcs();
    vmcs.write(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_ACTIVATE_SECONDARY
        | VmxControls.PROC_HLT_EXITING | VmxControls.PROC_UNCONDITIONAL_IO_EXITING);
    vmcs.write(VmcsField.SECONDARY_VM_EXEC_CONTROL, VmxControls.PROC2_ENABLE_EPT);
    vmcs.write(VmcsField.EPT_POINTER, EPT_ROOT | (3 << 3) | 6);
    buildIdentityEpt(2 << 20);
    cpu.setVmcs(vmcs);
  }

  /** Maps guest-physical [0, size) to machine [GUEST_BASE, ...) with 4 KiB RWX pages. */
  private void buildIdentityEpt(int size) {
    long pdpt = EPT_ROOT + 0x1000;
    long pd = EPT_ROOT + 0x2000;
    long pt = EPT_ROOT + 0x3000;
    mem.write64(EPT_ROOT, pdpt | 7);
    mem.write64(pdpt, pd | 7);
    for (int i = 0; i < size >>> 21; i++) {
      mem.write64(pd + 8L * i, (pt + 0x1000L * i) | 7);
    }
    for (int p = 0; p < size >>> 12; p++) {
      mem.write64(pt + 8L * p, (GUEST_BASE + ((long) p << 12)) | 7 | (6 << 3));
    }
  }

  private void unmapGuestPage(long gpa) {
    mem.write64(EPT_ROOT + 0x3000 + 8 * (gpa >>> 12), 0);
    cpu.invalidateTranslations();
  }

  private void load(String hex) {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    mem.write(GUEST_BASE + CODE, b, 0, b.length);
    cpu.setEip(CODE);
  }

  @Test
  void cpuidAlwaysExitsWithItsLength() {
    load("b801000000 0fa2");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.CPUID);
    assertThat(vmcs.exitInstructionLength()).isEqualTo(2);
    assertThat(cpu.eip()).isEqualTo(CODE + 5);
    cpu.skipInstruction();
    assertThat(cpu.eip()).isEqualTo(CODE + 7);
    assertThat(cpu.instructions()).isEqualTo(2);
  }

  @Test
  void outExitsWithPortSizeAndDirection() {
    // mov dx, 0x3f8 ; out dx, al ; in eax, 0x40
    load("66baf803 ee e540");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.IO_INSTRUCTION);
    assertThat(vmcs.exitQualification()).isEqualTo(0x3F8L << 16);
    cpu.skipInstruction();
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitQualification())
        .isEqualTo((0x40L << 16) | VmxControls.IO_QUAL_IMMEDIATE | VmxControls.IO_QUAL_IN | 3);
    assertThat(vmcs.exitInstructionLength()).isEqualTo(2);
  }

  @Test
  void ioBitmapLetsUnlistedPortsThrough() {
    vmcs.clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_UNCONDITIONAL_IO_EXITING);
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_USE_IO_BITMAPS);
    vmcs.interceptPorts(0xF4, 1, true);
    // out 0x80, al ; out 0xf4, al
    load("e680 e6f4");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(cpu.eip()).isEqualTo(CODE + 2);
    assertThat(vmcs.exitQualification() >>> 16).isEqualTo(0xF4);
  }

  @Test
  void hltExitsWhenAsked() {
    load("90 f4");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.HLT);
    assertThat(cpu.eip()).isEqualTo(CODE + 1);
  }

  @Test
  void guestMemoryIsReachedThroughEpt() {
    // mov dword [0x2000], 0x12345678 ; hlt
    load("c705 00200000 78563412 f4");
    cpu.run(100);
    assertThat(mem.read32(GUEST_BASE + 0x2000)).isEqualTo(0x12345678);
    assertThat(mem.read32(0x2000)).isZero();
  }

  @Test
  void anUnmappedGuestPageIsAnMmioExitThatCompletes() {
    unmapGuestPage(0x5000);
    // mov eax, [0x5004] ; add eax, 1 ; mov [0x5008], eax ; hlt
    load("a104500000 83c001 a308500000 f4");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.EPT_VIOLATION);
    assertThat(vmcs.read(VmcsField.GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x5004);
    assertThat(vmcs.exitQualification() & 7).isEqualTo(VmxControls.EPT_QUAL_READ);
    assertThat(cpu.mmioAddress()).isEqualTo(0x5004);
    assertThat(cpu.mmioSize()).isEqualTo(4);
    assertThat(cpu.mmioIsWrite()).isFalse();
    cpu.completeMmio(41);
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(cpu.mmioIsWrite()).isTrue();
    assertThat(cpu.mmioAddress()).isEqualTo(0x5008);
    assertThat(cpu.mmioWriteData()).isEqualTo(42);
    cpu.completeMmio(0);
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.HLT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(42);
  }

  @Test
  void exceptionBitmapTurnsADivideErrorIntoAnExit() {
    vmcs.write(VmcsField.EXCEPTION_BITMAP, 1 << Exceptions.DE);
    load("31c9 f7f1");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.EXCEPTION_NMI);
    assertThat(vmcs.read32(VmcsField.VM_EXIT_INTR_INFO)).isEqualTo(VmxControls.intrInfo(
        Exceptions.DE, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, false));
    assertThat(cpu.eip()).isEqualTo(CODE + 2);
  }

  @Test
  void anInjectedInterruptGoesThroughTheGuestIdt() {
    // IDT at 0x3000 with vector 0x20 -> handler at 0x1100 (32-bit interrupt gate, selector 8).
    int idt = 0x3000;
    int gdt = 0x3800;
    mem.write64(GUEST_BASE + gdt + 8, 0x00CF9A000000FFFFL);
    mem.write64(GUEST_BASE + gdt + 16, 0x00CF92000000FFFFL);
    long gate = (0x1100 & 0xFFFF) | (8L << 16) | (0x8E00L << 32);
    mem.write64(GUEST_BASE + idt + 0x20 * 8, gate);
    // lgdt/lidt through descriptors at 0x3f00/0x3f10
    mem.write16(GUEST_BASE + 0x3F00, 0x17);
    mem.write32(GUEST_BASE + 0x3F02, gdt);
    mem.write16(GUEST_BASE + 0x3F10, 0x20 * 8 + 7);
    mem.write32(GUEST_BASE + 0x3F12, idt);
    mem.write(GUEST_BASE + 0x1100, HexFormat.of().parseHex("b8aa000000f4"), 0, 6);
    // lgdt [0x3f00] ; lidt [0x3f10] ; sti ; nop ; jmp $
    load("0f0115003f0000 0f011d103f0000 fb 90 ebfe");
    assertThat(cpu.run(4)).isEqualTo(CpuExit.BUDGET);
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD,
        VmxControls.intrInfo(0x20, VmxControls.INTR_TYPE_EXTERNAL, false));
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.HLT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(0xAA);
    assertThat(cpu.eflags() & Flags.IF).isZero();
    assertThat(mem.read32(GUEST_BASE + 0x8000 - 12)).isEqualTo(CODE + 16);
  }

  /**
   * IDT, GDT and a handler for every vector below 0x81 (a 32-bit interrupt gate to an HLT at
   * 0x1100); the stack's page (ESP 0x8000 pushes into 0x7000-0x7FFF) has no EPT entry, so an
   * event's delivery ends in an EPT violation.
   */
  private void idtWithAnUnmappedStack() {
    int idt = 0x3000;
    int gdt = 0x3800;
    mem.write64(GUEST_BASE + gdt + 8, 0x00CF9A000000FFFFL);
    mem.write64(GUEST_BASE + gdt + 16, 0x00CF92000000FFFFL);
    long gate = (0x1100 & 0xFFFF) | (8L << 16) | (0x8E00L << 32);
    for (int v = 0; v <= 0x80; v++) {
      mem.write64(GUEST_BASE + idt + v * 8, gate);
    }
    mem.write16(GUEST_BASE + 0x3F00, 0x17);
    mem.write32(GUEST_BASE + 0x3F02, gdt);
    mem.write16(GUEST_BASE + 0x3F10, 0x81 * 8 - 1);
    mem.write32(GUEST_BASE + 0x3F12, idt);
    mem.write8(GUEST_BASE + 0x1100, 0xF4);
    unmapGuestPage(0x7000);
  }

  /**
   * SDM 27.2.3 and 27.2.4: an exit during the delivery of INT n, INT1 (ICEBP), INT3 or INTO
   * names it in the IDT-vectoring information as a software interrupt (4), a privileged
   * software exception (5) or a software exception (6), saves the instruction's length, and
   * leaves EIP at the instruction, which the hypervisor may run again.
   */
  @ParameterizedTest
  @CsvSource({"cd80, 0x80, 4", "f1, 1, 5", "cc, 3, 6", "ce, 4, 6"})
  void anExitDuringASoftwareEventsDeliveryNamesItsType(String insn, int vector, int type) {
    idtWithAnUnmappedStack();
    // lgdt [0x3f00] ; lidt [0x3f10] ; mov al, 0x7f ; add al, 1 (OF for INTO) ; the event
    load("0f0115003f0000 0f011d103f0000 b07f 0401 " + insn);
    int at = CODE + 18;
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.EPT_VIOLATION);
    assertThat(vmcs.read32(VmcsField.IDT_VECTORING_INFO_FIELD))
        .isEqualTo(VmxControls.intrInfo(vector, type, false));
    assertThat(vmcs.exitInstructionLength()).isEqualTo(insn.length() / 2);
    assertThat(cpu.eip()).isEqualTo(at);
  }

  /** The type VM entry injected is the type an exit during that delivery reports. */
  @Test
  void anExitDuringAnInjectedSoftwareExceptionsDeliveryKeepsItsType() {
    idtWithAnUnmappedStack();
    load("0f0115003f0000 0f011d103f0000 cc");
    assertThat(cpu.run(2)).isEqualTo(CpuExit.BUDGET);
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD,
        VmxControls.intrInfo(3, VmxControls.INTR_TYPE_SOFTWARE_EXCEPTION, false));
    vmcs.write(VmcsField.VM_ENTRY_INSTRUCTION_LEN, 1);
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.EPT_VIOLATION);
    assertThat(vmcs.read32(VmcsField.IDT_VECTORING_INFO_FIELD)).isEqualTo(
        VmxControls.intrInfo(3, VmxControls.INTR_TYPE_SOFTWARE_EXCEPTION, false));
    assertThat(vmcs.exitInstructionLength()).isEqualTo(1);
    assertThat(cpu.eip()).isEqualTo(CODE + 14);
  }

  /**
   * SDM 27.2.3: bit 11 of the IDT-vectoring information says whether the delivery pushes an
   * error code; in real mode (an unrestricted guest with CR0.PE clear) none does, so a #GP the
   * guest raises there is reported without one, and can be injected again as it is.
   */
  @Test
  void anExitDuringARealModeGpsDeliveryReportsNoErrorCode() {
    vmcs.write(VmcsField.SECONDARY_VM_EXEC_CONTROL, VmxControls.PROC2_ENABLE_EPT
        | VmxControls.PROC2_UNRESTRICTED_GUEST);
    cpu.startupIpi(CODE >>> 12);
    cpu.setReg(Cpu.ESP, 0x8000);
    mem.write32(GUEST_BASE + 13 * 4, 0x1100);
    unmapGuestPage(0x7000);
    // mov ax, [0xffff]: a word past DS's limit, #GP(0); its delivery pushes into 0x7FFx.
    byte[] b = HexFormat.of().parseHex("8b06ffff");
    mem.write(GUEST_BASE + CODE, b, 0, b.length);
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.EPT_VIOLATION);
    assertThat(vmcs.read32(VmcsField.IDT_VECTORING_INFO_FIELD)).isEqualTo(
        VmxControls.intrInfo(Exceptions.GP, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, false));
    assertThat(cpu.eip()).isZero();
  }

  @Test
  void interruptWindowExitsOnceInterruptsAreEnabled() {
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
        VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
    // nop ; sti ; nop ; nop
    load("90 fb 90 90");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.INTERRUPT_WINDOW);
    // The STI shadow lets exactly one instruction run after STI.
    assertThat(cpu.eip()).isEqualTo(CODE + 3);
  }

  @Test
  void theStiShadowEndsAfterOneInstructionWithNoWindowExiting() {
    // No interrupt-window exiting: IF gives the run loop no reason to look at a boundary, so
    // the shadow alone must send the one after STI through its checks, which end the shadow
    // after the next instruction. The exit in the middle of the following block shows it.
    // sti ; nop ; cpuid
    load("fb 90 0fa2");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.CPUID);
    assertThat(cpu.eip()).isEqualTo(CODE + 2);
    assertThat(cpu.interruptible()).isTrue();
  }

  @Test
  void monitorTrapFlagStopsAfterEachInstruction() {
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_MONITOR_TRAP_FLAG);
    load("40 40 40");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.MONITOR_TRAP_FLAG);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(1);
  }

  @Test
  void aMonitorTrapExitAfterStiKeepsTheInterruptShadow() {
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_MONITOR_TRAP_FLAG);
    // sti ; nop ; nop
    load("fb 90 90");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.MONITOR_TRAP_FLAG);
    assertThat(cpu.eip()).isEqualTo(CODE + 1);
    // Blocking by STI is part of the state at the exit: no event may come before the NOP (a
    // hypervisor that steps STI; HLT must not inject between the two).
    assertThat(cpu.interruptible()).isFalse();
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(cpu.eip()).isEqualTo(CODE + 2);
    assertThat(cpu.interruptible()).isTrue();
  }

  @Test
  void movToCr0ChecksTheValueTheGuestWroteNotTheOwnedBits() {
    // The hypervisor's real-mode emulator: real PG set under a guest with PE clear.
    vmcs.write(VmcsField.CR0_GUEST_HOST_MASK, Cpu.CR0_PG | Cpu.CR0_PE | Cpu.CR0_WP);
    vmcs.write(VmcsField.CR0_READ_SHADOW, Cpu.CR0_PE | Cpu.CR0_PG);
    // mov eax, cr0 ; or eax, 8 (TS) ; mov cr0, eax ; hlt
    load("0f20c0 83c808 0f22c0 f4");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.HLT);
    assertThat(cpu.cr0() & Cpu.CR0_TS).isNotZero();
    // A value with PG but no PE is #GP(0) even where the real PE and PG are both set.
    vmcs.write(VmcsField.CR0_READ_SHADOW, Cpu.CR0_PG);
    vmcs.setBits(VmcsField.EXCEPTION_BITMAP, 1L << Exceptions.GP);
    cpu.setEip(CODE);
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.EXCEPTION_NMI);
    assertThat(vmcs.read32(VmcsField.VM_EXIT_INTR_INFO) & 0xFF).isEqualTo(Exceptions.GP);
  }

  @Test
  void aTripleFaultIsAnExitNotAShutdown() {
    // No IDT: #UD -> #GP -> #DF -> triple fault.
    load("0f0b");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.TRIPLE_FAULT);
  }

  @Test
  void crAccessesExitWhenTheHostOwnsTheBits() {
    vmcs.write(VmcsField.CR0_GUEST_HOST_MASK, Cpu.CR0_PG);
    vmcs.write(VmcsField.CR0_READ_SHADOW, 0);
    // mov eax, cr0 ; or eax, 0x80000000 ; mov cr0, eax
    load("0f20c0 0d00000080 0f22c0");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.CR_ACCESS);
    assertThat(vmcs.exitQualification()).isEqualTo(0);
    assertThat(cpu.eip()).isEqualTo(CODE + 8);
  }

  @Test
  void vmcallExitsInNonRootAndIsUndefinedOutside() {
    load("0f01c1");
    assertThat(cpu.run(10)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.VMCALL);
    assertThat(vmcs.exitInstructionLength()).isEqualTo(3);
  }

  @Test
  void aHostInterruptExitsWhenExternalInterruptExitingIsOn() {
    vmcs.setBits(VmcsField.PIN_BASED_VM_EXEC_CONTROL,
        VmxControls.PIN_EXTERNAL_INTERRUPT_EXITING);
    load("40 40 40 ebfe");
    assertThat(cpu.run(2)).isEqualTo(CpuExit.BUDGET);
    cpu.raiseHostInterrupt();
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.EXTERNAL_INTERRUPT);
    assertThat(cpu.eip()).isEqualTo(CODE + 2);
  }

  @Test
  void thePreemptionTimerCountsDownAcrossRunsAndExitsAtZero() {
    vmcs.setBits(VmcsField.PIN_BASED_VM_EXEC_CONTROL, VmxControls.PIN_PREEMPTION_TIMER);
    vmcs.write(VmcsField.VMX_PREEMPTION_TIMER_VALUE, 10);
    load("40 ebfd");
    assertThat(cpu.run(4)).isEqualTo(CpuExit.BUDGET);
    assertThat(vmcs.read(VmcsField.VMX_PREEMPTION_TIMER_VALUE)).isEqualTo(6);
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.PREEMPTION_TIMER);
    assertThat(cpu.instructions()).isEqualTo(10);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(5);
  }
}
