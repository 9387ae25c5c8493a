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
 * The VM entry checks on the event-injection fields (SDM vol. 3, 26.2.1.3), one test per
 * check: a VM entry that fails one is VMfailValid with VM-instruction error 7 ("VM entry with
 * invalid control field(s)"), runs nothing of the guest and writes no exit information; one
 * that passes them injects its event.
 */
class VmxEntryControlChecksTest {
  private static final long GUEST_BASE = 4L << 20;
  private static final long EPT_ROOT = 0x10000;
  private static final int CODE = 0x1000;
  private static final int HANDLER = 0x1100;
  /** An exit reason no entry writes, to see that a failed one leaves the field alone. */
  private static final long UNTOUCHED = 0x1234;

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
        | VmxControls.PROC_HLT_EXITING);
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
    // GDT at 0x3800, IDT at 0x3000 with every vector below 0x81 going to HANDLER, which sets
    // EAX to 0xAA and halts.
    mem.write64(GUEST_BASE + 0x3808, 0x00CF9A000000FFFFL);
    mem.write64(GUEST_BASE + 0x3810, 0x00CF92000000FFFFL);
    long gate = HANDLER | (8L << 16) | (0x8E00L << 32);
    for (int v = 0; v <= 0x80; v++) {
      mem.write64(GUEST_BASE + 0x3000 + v * 8, gate);
    }
    mem.write16(GUEST_BASE + 0x3F00, 0x17);
    mem.write32(GUEST_BASE + 0x3F02, 0x3800);
    mem.write16(GUEST_BASE + 0x3F10, 0x81 * 8 - 1);
    mem.write32(GUEST_BASE + 0x3F12, 0x3000);
    write(HANDLER, "b8aa000000 f4");
    // lgdt [0x3f00] ; lidt [0x3f10] ; mov eax, 42 ; hlt
    write(CODE, "0f0115003f0000 0f011d103f0000 b82a000000 f4");
    cpu.setEip(CODE);
    assertThat(cpu.run(2)).isEqualTo(CpuExit.BUDGET);
    cpu.setReg(Cpu.EAX, 0);
    vmcs.write(VmcsField.VM_EXIT_REASON, UNTOUCHED);
  }

  private void write(int at, String hex) {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    mem.write(GUEST_BASE + at, b, 0, b.length);
  }

  /** A VM entry injecting {@code info} with {@code err} and {@code length}. */
  private int enter(int info, int err, int length) {
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, info & 0xFFFF_FFFFL);
    vmcs.write(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE, err);
    vmcs.write(VmcsField.VM_ENTRY_INSTRUCTION_LEN, length);
    return cpu.run(100);
  }

  /** VMfailValid(7), with nothing of the guest run and nothing else in the VMCS changed. */
  private void assertRefused(int info, int err, int length) {
    int eip = cpu.eip();
    assertThat(enter(info, err, length)).as("0x%08x", info).isEqualTo(CpuExit.VM_ENTRY_FAILED);
    assertThat(vmcs.read(VmcsField.VM_INSTRUCTION_ERROR)).isEqualTo(7);
    assertThat(vmcs.read(VmcsField.VM_EXIT_REASON)).isEqualTo(UNTOUCHED);
    assertThat(vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD)).isEqualTo(info);
    assertThat(cpu.eip()).isEqualTo(eip);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
  }

  /** The entry went in and its event reached the guest's handler. */
  private void assertDelivered(int info, int err, int length) {
    assertThat(enter(info, err, length)).as("0x%08x", info).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.HLT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(0xAA);
  }

  private static int info(int vector, int type, boolean err) {
    return VmxControls.intrInfo(vector, type, err);
  }

  @Test
  void interruptionType1IsReserved() {
    assertRefused(info(0x30, 1, false), 0, 0);
  }

  @Test
  void anNmiHasVector2() {
    assertRefused(info(3, VmxControls.INTR_TYPE_NMI, false), 0, 0);
    assertDelivered(info(2, VmxControls.INTR_TYPE_NMI, false), 0, 0);
  }

  @Test
  void aHardwareExceptionHasAVectorBelow32() {
    assertRefused(info(32, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, false), 0, 0);
    assertDelivered(info(31, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, false), 0, 0);
  }

  /**
   * Type 7 is not reserved on a processor with the monitor trap flag; its vector must be 0,
   * and then it is a pending MTF VM exit, taken before any instruction runs (26.5.2).
   */
  @Test
  void otherEventHasVector0AndIsAPendingMtfExit() {
    assertRefused(info(1, VmxControls.INTR_TYPE_OTHER_EVENT, false), 0, 0);
    int eip = cpu.eip();
    assertThat(enter(info(0, VmxControls.INTR_TYPE_OTHER_EVENT, false), 0, 0))
        .isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.MONITOR_TRAP_FLAG);
    assertThat(cpu.eip()).isEqualTo(eip);
    assertThat(cpu.reg(Cpu.EAX)).isZero();
    assertThat(vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD) & VmxControls.INTR_INFO_VALID)
        .isZero();
  }

  /**
   * The deliver-error-code bit is set exactly for a hardware exception whose vector pushes an
   * error code: missing for #GP, or present for #UD, an external interrupt or INT n, refused.
   */
  @Test
  void theErrorCodeBitMatchesTheVector() {
    assertRefused(info(13, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, false), 0, 0);
    assertRefused(info(6, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true), 0, 0);
    assertRefused(info(0x30, VmxControls.INTR_TYPE_EXTERNAL, true), 0, 0);
    assertRefused(info(0x80, VmxControls.INTR_TYPE_SOFTWARE_INTERRUPT, true), 0, 2);
    assertDelivered(info(13, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true), 0, 0);
  }

  /**
   * With "unrestricted guest" and CR0.PE clear (real mode) no exception takes an error code:
   * #GP with the bit is refused, without it goes through the IVT.
   */
  @Test
  void anUnrestrictedGuestInRealModeTakesNoErrorCode() {
    vmcs.write(VmcsField.SECONDARY_VM_EXEC_CONTROL, VmxControls.PROC2_ENABLE_EPT
        | VmxControls.PROC2_UNRESTRICTED_GUEST);
    // Real mode at 0100:0000 (CODE), a HLT there; the IVT's #GP vector -> 0000:HANDLER, which
    // sets AX to 0xAA (mov ax, 0xaa ; hlt).
    cpu.startupIpi(CODE >>> 12);
    cpu.setReg(Cpu.ESP, 0x8000);
    cpu.setReg(Cpu.EAX, 0);
    write(CODE, "f4");
    mem.write32(GUEST_BASE + 13 * 4, HANDLER);
    write(HANDLER, "b8aa00 f4");
    assertRefused(info(13, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true), 0, 0);
    assertDelivered(info(13, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, false), 0, 0);
  }

  /**
   * SDM 26.2.1.1: "unrestricted guest" without "enable EPT" is refused (error 7) even with no
   * event to inject; with EPT it goes in, and with "activate secondary controls" clear the
   * secondary controls count as 0, so the same bits do not stop the entry.
   */
  @Test
  void unrestrictedGuestRequiresEpt() {
    vmcs.write(VmcsField.SECONDARY_VM_EXEC_CONTROL, VmxControls.PROC2_UNRESTRICTED_GUEST);
    assertRefused(0, 0, 0);
    vmcs.clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_ACTIVATE_SECONDARY);
    // No EPT now: the guest's next instructions (mov eax, 42 ; hlt, after the LGDT and LIDT)
    // are read at its physical addresses.
    cpu.vmcsChanged();
    byte[] next = HexFormat.of().parseHex("b82a000000f4");
    mem.write(cpu.eip(), next, 0, next.length);
    assertThat(enter(0, 0, 0)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.HLT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(42);
  }

  @Test
  void unrestrictedGuestWithEptGoesIn() {
    vmcs.write(VmcsField.SECONDARY_VM_EXEC_CONTROL, VmxControls.PROC2_UNRESTRICTED_GUEST
        | VmxControls.PROC2_ENABLE_EPT);
    assertThat(enter(0, 0, 0)).isEqualTo(CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.HLT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(42);
  }

  @Test
  void reservedBits30To12AreZero() {
    int ud = info(6, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, false);
    assertRefused(ud | 1 << 12, 0, 0);
    assertRefused(ud | 1 << 30, 0, 0);
    assertDelivered(ud, 0, 0);
  }

  @Test
  void anErrorCodeHasBits31To15Clear() {
    int gp = info(13, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true);
    assertRefused(gp, 0x8000, 0);
    assertDelivered(gp, 0x7FFF, 0);
    assertThat(mem.read32(GUEST_BASE + 0x8000 - 16)).isEqualTo(0x7FFF);
  }

  /** INT n, INT1 and INT3 need an instruction length of 1 to 15. */
  @Test
  void softwareEventsHaveAnInstructionLengthFrom1To15() {
    for (int type : new int[] {VmxControls.INTR_TYPE_SOFTWARE_INTERRUPT,
        VmxControls.INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION,
        VmxControls.INTR_TYPE_SOFTWARE_EXCEPTION}) {
      int vector = type == VmxControls.INTR_TYPE_SOFTWARE_INTERRUPT ? 0x80
          : type == VmxControls.INTR_TYPE_SOFTWARE_EXCEPTION ? 3 : 1;
      assertRefused(info(vector, type, false), 0, 0);
      assertRefused(info(vector, type, false), 0, 16);
    }
    int eip = cpu.eip();
    assertDelivered(info(0x80, VmxControls.INTR_TYPE_SOFTWARE_INTERRUPT, false), 0, 15);
    // The return address pushed is past the 15 bytes.
    assertThat(mem.read32(GUEST_BASE + 0x8000 - 12)).isEqualTo(eip + 15);
  }
}
