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
 * Blocking by NMI in VMX non-root operation (SDM vol. 3, 6.7.1, 24.4.2, 25.2, 25.3, 26.6.1.2,
 * 27.2.2): an injected NMI blocks NMIs until the guest's IRET, even one that faults; the state
 * is bit 3 of the guest interruptibility-state field across exits and entries; the NMI-window
 * exit comes when the blocking ends; an IRET fault that exits says it unblocked NMIs (bit 12).
 */
class VmxNmiBlockingTest {
  /** Guest RAM lives at machine 4 MiB; the guest sees it at guest-physical 0. */
  private static final long GUEST_BASE = 4L << 20;
  private static final long EPT_ROOT = 0x10000;
  private static final int CODE = 0x1000;
  private static final int NMI_HANDLER = 0x1100;
  /** An NMI handler whose IRET frame names a CS past the GDT: the IRET faults with #GP. */
  private static final int BAD_IRET_HANDLER = 0x1180;
  private static final int GP_HANDLER = 0x1200;
  private static final int COUNT = 0x2000;
  private static final int IDT = 0x3000;
  private static final int NMI_INFO = VmxControls.intrInfo(Exceptions.NMI,
      VmxControls.INTR_TYPE_NMI, false);

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
    vmcs.write(VmcsField.PIN_BASED_VM_EXEC_CONTROL,
        VmxControls.PIN_NMI_EXITING | VmxControls.PIN_VIRTUAL_NMIS);
    vmcs.write(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_ACTIVATE_SECONDARY
        | VmxControls.PROC_HLT_EXITING | VmxControls.PROC_UNCONDITIONAL_IO_EXITING);
    vmcs.write(VmcsField.SECONDARY_VM_EXEC_CONTROL, VmxControls.PROC2_ENABLE_EPT);
    vmcs.write(VmcsField.EPT_POINTER, EPT_ROOT | (3 << 3) | 6);
    long pdpt = EPT_ROOT + 0x1000;
    long pd = EPT_ROOT + 0x2000;
    long pt = EPT_ROOT + 0x3000;
    mem.write64(EPT_ROOT, pdpt | 7);
    mem.write64(pdpt, pd | 7);
    mem.write64(pd, pt | 7);
    for (int p = 0; p < 512; p++) {
      mem.write64(pt + 8L * p, (GUEST_BASE + ((long) p << 12)) | 7 | (6 << 3));
    }
    cpu.setVmcs(vmcs);
    // GDT at 0x3800: 0x08 flat code, 0x10 flat data (limit 0x17: selector 0x18 is past it).
    int gdt = 0x3800;
    mem.write64(GUEST_BASE + gdt + 8, 0x00CF9A000000FFFFL);
    mem.write64(GUEST_BASE + gdt + 16, 0x00CF92000000FFFFL);
    mem.write16(GUEST_BASE + 0x3F00, 0x17);
    mem.write32(GUEST_BASE + 0x3F02, gdt);
    mem.write16(GUEST_BASE + 0x3F10, 0x100 * 8 - 1);
    mem.write32(GUEST_BASE + 0x3F12, IDT);
    gate(Exceptions.NMI, NMI_HANDLER);
    gate(Exceptions.GP, GP_HANDLER);
    // NMI handler: inc dword [COUNT] ; cpuid ; nop ; iret
    code(NMI_HANDLER, "ff05" + "00200000" + "0fa2" + "90" + "cf");
    // mov dword [esp + 4], 0x18 ; iret
    code(BAD_IRET_HANDLER, "c744240418000000" + "cf");
    // #GP handler: cpuid ; jmp $
    code(GP_HANDLER, "0fa2 ebfe");
    // lgdt [0x3f00] ; lidt [0x3f10] ; cpuid ; nop ; cpuid ; jmp $
    code(CODE, "0f0115003f0000 0f011d103f0000 0fa2 90 0fa2 ebfe");
    cpu.setEip(CODE);
  }

  /** A 32-bit interrupt gate, selector 0x08, DPL 0. */
  private void gate(int vector, int handler) {
    mem.write64(GUEST_BASE + IDT + 8L * vector,
        (handler & 0xFFFF) | (8L << 16) | (0x8E00L << 32) | ((long) (handler >>> 16) << 48));
  }

  private void code(int at, String hex) {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    mem.write(GUEST_BASE + at, b, 0, b.length);
  }

  private int interruptibility() {
    return vmcs.read32(VmcsField.GUEST_INTERRUPTIBILITY_INFO);
  }

  /** Runs to the first CPUID of the main code (descriptor tables loaded) and steps over it. */
  private void toMainCode() {
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.CPUID);
    assertThat(cpu.eip()).isEqualTo(CODE + 14);
    cpu.skipInstruction();
  }

  private void exitsWith(ExitReason reason, int eip) {
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(reason);
    assertThat(cpu.eip()).isEqualTo(eip);
  }

  @Test
  void anInjectedNmiBlocksNmisUntilTheHandlersIretAndTheWindowExitComesThen() {
    toMainCode();
    assertThat(interruptibility()).isZero();
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, NMI_INFO);
    exitsWith(ExitReason.CPUID, NMI_HANDLER + 6);
    assertThat(mem.read32(GUEST_BASE + COUNT)).isEqualTo(1);
    // The exit saved the blocking in the interruptibility state.
    assertThat(interruptibility()).isEqualTo(Cpu.INTR_NMI);
    assertThat(cpu.nmiBlocked()).isTrue();

    // A second NMI waits: the hypervisor asks for the NMI window. The handler's NOP runs
    // (still blocked), its IRET returns, and the exit comes before the next instruction.
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_NMI_WINDOW_EXITING);
    cpu.skipInstruction();
    long before = cpu.instructions();
    exitsWith(ExitReason.NMI_WINDOW, CODE + 16);
    assertThat(cpu.instructions() - before).isEqualTo(2); // NOP and IRET
    assertThat(interruptibility()).isZero();

    // Injected now, it is taken at once and blocks again.
    vmcs.clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_NMI_WINDOW_EXITING);
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, NMI_INFO);
    exitsWith(ExitReason.CPUID, NMI_HANDLER + 6);
    assertThat(mem.read32(GUEST_BASE + COUNT)).isEqualTo(2);
    assertThat(interruptibility()).isEqualTo(Cpu.INTR_NMI);
  }

  @Test
  void withNoBlockingTheWindowExitComesRightAfterTheEntry() {
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_NMI_WINDOW_EXITING);
    exitsWith(ExitReason.NMI_WINDOW, CODE);
    assertThat(cpu.instructions()).isZero();
    // Blocking written into the field by the hypervisor holds the window shut.
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_NMI);
    assertThat(cpu.nmiBlocked()).isTrue();
    exitsWith(ExitReason.CPUID, CODE + 14);
    assertThat(interruptibility()).isEqualTo(Cpu.INTR_NMI);
  }

  @Test
  void theInterruptibilityFieldIsTheProcessorsOwnState() {
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_STI);
    assertThat(cpu.interruptible()).isFalse();
    assertThat(cpu.nmiBlocked()).isFalse();
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_MOV_SS | Cpu.INTR_NMI);
    assertThat(interruptibility()).isEqualTo(Cpu.INTR_MOV_SS | Cpu.INTR_NMI);
    vmcs.clearBits(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_MOV_SS | Cpu.INTR_NMI);
    assertThat(interruptibility()).isZero();
    assertThat(cpu.interruptible()).isFalse(); // IF is clear, but no shadow is left
    assertThat(cpu.nmiBlocked()).isFalse();
    // STI's shadow at a monitor-trap exit after it is bit 0.
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_MONITOR_TRAP_FLAG);
    code(0x1400, "fb 90");
    cpu.setEip(0x1400);
    exitsWith(ExitReason.MONITOR_TRAP_FLAG, 0x1401);
    assertThat(interruptibility()).isEqualTo(Cpu.INTR_STI);
  }

  /** SDM 6.7.1: an IRET unblocks NMIs even if it faults; the fault's handler runs unblocked. */
  @Test
  void anIretThatFaultsStillUnblocksNmis() {
    gate(Exceptions.NMI, BAD_IRET_HANDLER);
    toMainCode();
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, NMI_INFO);
    exitsWith(ExitReason.CPUID, GP_HANDLER);
    assertThat(mem.read32(GUEST_BASE + 0x8000 - 12 - 16)).isEqualTo(0x18); // #GP(0x18)
    assertThat(interruptibility()).isZero();
  }

  /** With the NMI window asked for, it opens at the faulting IRET's #GP handler. */
  @Test
  void theWindowOpensAtTheHandlerOfAFaultingIret() {
    gate(Exceptions.NMI, BAD_IRET_HANDLER);
    toMainCode();
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, NMI_INFO);
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_NMI_WINDOW_EXITING);
    exitsWith(ExitReason.NMI_WINDOW, GP_HANDLER);
  }

  /**
   * SDM 27.2.2: when the IRET's fault exits instead (the exception bitmap), the exit says the
   * IRET had unblocked NMIs (bit 12), and the state saved is unblocked; the hypervisor that
   * will run the IRET again blocks them again through the field. Another fault says nothing.
   */
  @Test
  void anIretFaultThatExitsSaysItUnblockedNmis() {
    gate(Exceptions.NMI, BAD_IRET_HANDLER);
    vmcs.write(VmcsField.EXCEPTION_BITMAP, 1 << Exceptions.GP);
    toMainCode();
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, NMI_INFO);
    exitsWith(ExitReason.EXCEPTION_NMI, BAD_IRET_HANDLER + 8);
    assertThat(vmcs.read32(VmcsField.VM_EXIT_INTR_INFO)).isEqualTo(VmxControls.intrInfo(
        Exceptions.GP, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true)
        | VmxControls.NMI_UNBLOCKED_BY_IRET);
    assertThat(interruptibility()).isZero();
    vmcs.setBits(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_NMI);
    assertThat(cpu.nmiBlocked()).isTrue();

    // The same #GP from a far jump to the bad selector, NMIs not blocked: no bit 12.
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
    code(0x1400, "ea00000000" + "1800");
    cpu.setEip(0x1400);
    exitsWith(ExitReason.EXCEPTION_NMI, 0x1400);
    assertThat(vmcs.read32(VmcsField.VM_EXIT_INTR_INFO) & VmxControls.NMI_UNBLOCKED_BY_IRET)
        .isZero();
  }

  /**
   * SDM 25.3: with NMI exiting and no virtual NMIs, IRET leaves blocking by NMI alone (it
   * belongs to the host); with neither, IRET unblocks as outside VMX.
   */
  @Test
  void iretUnblocksUnlessNmiExitingIsOnWithoutVirtualNmis() {
    for (int pin : new int[] {VmxControls.PIN_NMI_EXITING, 0}) {
      setUp();
      vmcs.write(VmcsField.PIN_BASED_VM_EXEC_CONTROL, pin);
      toMainCode();
      vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, NMI_INFO);
      exitsWith(ExitReason.CPUID, NMI_HANDLER + 6);
      cpu.skipInstruction();
      exitsWith(ExitReason.CPUID, CODE + 17); // back in the main code after the IRET
      assertThat(interruptibility()).as("pin controls %x", pin)
          .isEqualTo(pin == 0 ? 0 : Cpu.INTR_NMI);
    }
  }

  /** An NMI whose delivery exits was not delivered: it leaves nothing blocked. */
  @Test
  void anNmiWhoseDeliveryExitsBlocksNothing() {
    mem.write64(GUEST_BASE + IDT + 8L * Exceptions.NMI,
        (NMI_HANDLER & 0xFFFF) | (8L << 16) | (0x0E00L << 32)); // not present
    vmcs.write(VmcsField.EXCEPTION_BITMAP, 1 << Exceptions.NP);
    toMainCode();
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, NMI_INFO);
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.EXCEPTION_NMI);
    assertThat(vmcs.read32(VmcsField.IDT_VECTORING_INFO_FIELD)).isEqualTo(NMI_INFO);
    assertThat(interruptibility()).isZero();
  }

  private static final long ENTRY_FAILED_GUEST_STATE =
      (ExitReason.ENTRY_FAIL_GUEST_STATE.code() | VmxControls.EXIT_REASON_ENTRY_FAILURE)
          & 0xFFFF_FFFFL;

  /**
   * Runs an entry that must fail its guest-state checks (SDM 26.3.1.5, 26.7): exit reason 33
   * with bit 31, the qualification given, and nothing else touched: the injection still valid,
   * no guest instruction run, the interruptibility state and the IDT-vectoring information as
   * they were.
   */
  private void entryFails(int qualification) {
    int state = interruptibility();
    int eip = cpu.eip();
    long insns = cpu.instructions();
    int info = vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD);
    vmcs.write(VmcsField.IDT_VECTORING_INFO_FIELD, 0x8000_0321L); // left from an older exit
    assertThat(cpu.run(100)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.read(VmcsField.VM_EXIT_REASON)).isEqualTo(ENTRY_FAILED_GUEST_STATE);
    assertThat(vmcs.entryFailed()).isTrue();
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.ENTRY_FAIL_GUEST_STATE);
    assertThat(vmcs.exitQualification()).isEqualTo(qualification);
    assertThat(vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD)).isEqualTo(info);
    assertThat(vmcs.read(VmcsField.IDT_VECTORING_INFO_FIELD)).isEqualTo(0x8000_0321L);
    assertThat(interruptibility()).isEqualTo(state);
    assertThat(cpu.eip()).isEqualTo(eip);
    assertThat(cpu.instructions()).isEqualTo(insns);
    vmcs.write(VmcsField.IDT_VECTORING_INFO_FIELD, 0);
  }

  /**
   * SDM 26.3.1.5: an NMI cannot be injected over blocking by MOV SS (qualification 0) nor, on
   * this processor, over blocking by STI (qualification 3, the SDM's implementation-specific
   * case); with neither it is delivered.
   */
  @Test
  void anNmiOverAMovSsOrStiShadowIsAFailedEntry() {
    toMainCode();
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, NMI_INFO);
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_MOV_SS);
    entryFails(VmxControls.ENTRY_FAIL_QUAL_DEFAULT);
    cpu.setEflags(cpu.eflags() | Flags.IF); // STI's shadow needs IF, as after STI
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_STI);
    entryFails(VmxControls.ENTRY_FAIL_QUAL_NMI_STI);
    assertThat(mem.read32(GUEST_BASE + COUNT)).isZero();
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
    exitsWith(ExitReason.CPUID, NMI_HANDLER + 6);
    assertThat(mem.read32(GUEST_BASE + COUNT)).isEqualTo(1);
  }

  /**
   * Under "virtual NMIs" an NMI cannot be injected while virtual-NMI blocking is in effect;
   * without that control the SDM does not require bit 3 clear, and the NMI goes in.
   */
  @Test
  void anNmiOverVirtualNmiBlockingIsAFailedEntryOnlyWithVirtualNmis() {
    toMainCode();
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, NMI_INFO);
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_NMI);
    entryFails(VmxControls.ENTRY_FAIL_QUAL_DEFAULT);
    vmcs.write(VmcsField.PIN_BASED_VM_EXEC_CONTROL, VmxControls.PIN_NMI_EXITING);
    exitsWith(ExitReason.CPUID, NMI_HANDLER + 6);
    assertThat(mem.read32(GUEST_BASE + COUNT)).isEqualTo(1);
  }

  /**
   * An external interrupt needs RFLAGS.IF (26.3.1.4) and neither an STI nor a MOV SS shadow
   * (26.3.1.5); an exception is injected whatever they are.
   */
  @Test
  void anExternalInterruptNeedsIfAndNoShadow() {
    gate(0x20, NMI_HANDLER);
    toMainCode();
    int extInt = VmxControls.intrInfo(0x20, VmxControls.INTR_TYPE_EXTERNAL, false);
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, extInt);
    entryFails(VmxControls.ENTRY_FAIL_QUAL_DEFAULT); // IF is clear
    cpu.setEflags(cpu.eflags() | Flags.IF);
    for (int shadow : new int[] {Cpu.INTR_STI, Cpu.INTR_MOV_SS}) {
      vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, shadow);
      entryFails(VmxControls.ENTRY_FAIL_QUAL_DEFAULT);
    }
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
    exitsWith(ExitReason.CPUID, NMI_HANDLER + 6);
    assertThat(mem.read32(GUEST_BASE + COUNT)).isEqualTo(1);
    assertThat(interruptibility()).isZero(); // an external interrupt blocks no NMI

    // A #GP with a MOV SS shadow and IF clear is no external interrupt: it goes in.
    cpu.skipInstruction();
    cpu.setEflags(cpu.eflags() & ~Flags.IF);
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_MOV_SS);
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, VmxControls.intrInfo(Exceptions.GP,
        VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true));
    vmcs.write(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
    exitsWith(ExitReason.CPUID, GP_HANDLER);
  }

  /**
   * SDM 26.6.1: a vectoring entry leaves no blocking by STI or MOV SS. A #GP injected over an
   * STI shadow into a trap gate (IF stays set) meets the interrupt window at once, before the
   * handler's first instruction, instead of running that instruction in the shadow.
   */
  @Test
  void aVectoringEntryEndsTheStiShadow() {
    toMainCode();
    mem.write64(GUEST_BASE + IDT + 8L * Exceptions.GP, (GP_HANDLER & 0xFFFF) | (8L << 16)
        | (0x8F00L << 32)); // trap gate
    cpu.setEflags(cpu.eflags() | Flags.IF);
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_STI);
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, VmxControls.intrInfo(Exceptions.GP,
        VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true));
    vmcs.write(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
    long before = cpu.instructions();
    exitsWith(ExitReason.INTERRUPT_WINDOW, GP_HANDLER);
    assertThat(cpu.instructions()).isEqualTo(before);
    assertThat(interruptibility()).isZero();
  }
}
