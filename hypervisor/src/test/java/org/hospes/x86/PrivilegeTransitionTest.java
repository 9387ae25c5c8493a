package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Events that move from ring 3 to ring 0, found by the ring3 and doublefault test kernels. The
 * program sets up a GDT (ring 0 and ring 3 flat segments, a TSS), an IDT whose #GP gate leads to a
 * HLT at 0x3000, identity paging for the low 4 MiB with every page user-accessible except the
 * ring-0 stack page at 0x8000, and IRETs to a CLI at 0x4000 in ring 3.
 */
class PrivilegeTransitionTest {
  private static final int SETUP = 0x1000;
  private static final int HANDLER = 0x3000;
  private static final int USER_CODE = 0x4000;
  private static final int USER_ESP = 0x7000;
  private static final int KERNEL_STACK_PAGE = 0x8000;
  private static final int ESP0 = 0x9000;
  private static final int PD = 0x10000;
  private static final int PT = 0x11000;
  private static final int GDT = 0x20000;
  private static final int TSS = 0x21000;
  private static final int IDT = 0x22000;

  private MemoryBus mem;
  private Cpu cpu;

  @BeforeEach
  void setUp() {
    mem = new MemoryBus(1 << 23);
    cpu = new Cpu(mem, new IoBus());
    cpu.resetFlat32();
    cpu.setReg(Cpu.ESP, 0x6000);
    int[] gdt = {0, 0, 0xFFFF, 0x00CF9A00, 0xFFFF, 0x00CF9200, 0xFFFF, 0x00CFFA00, 0xFFFF,
        0x00CFF200, (TSS << 16) | 0x67, 0x8900 | (TSS >>> 16),
        (0x08 << 16) | HANDLER, 0xEC00};   // 0x30: 32-bit call gate, DPL 3, to 0x08:HANDLER
    for (int i = 0; i < gdt.length; i++) {
      mem.write32(GDT + 4L * i, gdt[i]);
    }
    mem.write32(TSS + 4, ESP0);
    mem.write32(TSS + 8, 0x10);
    mem.write32(TSS + 0x64, 0x68 << 16);
    mem.write32(IDT + 13 * 8, (0x08 << 16) | HANDLER);
    mem.write32(IDT + 13 * 8 + 4, 0x8E00);
    mem.write32(0x1F00, (GDT << 16) | (gdt.length * 4 - 1));
    mem.write32(0x1F04, GDT >>> 16);
    mem.write32(0x1F08, (IDT << 16) | 0x7FF);
    mem.write32(0x1F0C, IDT >>> 16);
    for (int i = 0; i < 1024; i++) {
      mem.write32(PT + 4L * i, (i << 12) | 0x7);
    }
    mem.write32(PD, PT | 0x7);
    mem.write8(HANDLER, 0xF4);    // hlt
    mem.write8(USER_CODE, 0xFA);  // cli: #GP(0) at CPL 3 with IOPL 0
    load(SETUP, "0f01 15 001f0000"    // lgdt [0x1f00]
        + "0f01 1d 081f0000"          // lidt [0x1f08]
        + "66b82800 0f00d8"           // mov ax, 0x28 ; ltr ax
        + "b800000100 0f22d8"         // mov eax, PD ; mov cr3, eax
        + "0f20c0 0d00000080 0f22c0"  // paging on
        + "6a23 6800700000 6a02 6a1b 6800400000 cf"); // iret to 0x1b:0x4000, ss:esp 0x23:0x7000
    cpu.setEip(SETUP);
  }

  private void load(int at, String hex) {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    mem.write(at, b, 0, b.length);
  }

  private void kernelStackPage(int pteFlags) {
    mem.write32(PT + 4L * (KERNEL_STACK_PAGE >>> 12), KERNEL_STACK_PAGE | pteFlags);
  }

  @Test
  void theRing0StackIsWrittenWithSupervisorAccessesDuringAStackSwitch() {
    kernelStackPage(0x3);           // present, writable, supervisor only
    assertThat(cpu.run(100)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.cpl()).isZero();
    assertThat(cpu.eip()).isEqualTo(HANDLER + 1);
    // SS, ESP, EFLAGS, CS, EIP and the error code on the ring-0 stack.
    assertThat(cpu.reg(Cpu.ESP)).isEqualTo(ESP0 - 24);
    assertThat(mem.read32(ESP0 - 4)).isEqualTo(0x23);
    assertThat(mem.read32(ESP0 - 8)).isEqualTo(USER_ESP);
    assertThat(mem.read32(ESP0 - 16)).isEqualTo(0x1B);
    assertThat(mem.read32(ESP0 - 20)).isEqualTo(USER_CODE);
    // Loading the handler's CS and the ring-0 SS marks both descriptors accessed.
    assertThat(mem.read32(GDT + 8 + 4)).isEqualTo(0x00CF9B00);
    assertThat(mem.read32(GDT + 16 + 4)).isEqualTo(0x00CF9300);
  }

  @Test
  void aCallGateIntoRing0PushesOntoASupervisorStack() {
    kernelStackPage(0x3);
    load(USER_CODE, "9a 00000000 3300");  // call far 0x33:0
    assertThat(cpu.run(100)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.cpl()).isZero();
    assertThat(cpu.reg(Cpu.ESP)).isEqualTo(ESP0 - 16);
    assertThat(mem.read32(ESP0 - 4)).isEqualTo(0x23);
    assertThat(mem.read32(ESP0 - 8)).isEqualTo(USER_ESP);
    assertThat(mem.read32(ESP0 - 12)).isEqualTo(0x1B);
    assertThat(mem.read32(ESP0 - 16)).isEqualTo(USER_CODE + 7);
    assertThat(mem.read32(GDT + 8 + 4)).as("CS descriptor accessed").isEqualTo(0x00CF9B00);
  }

  @Test
  void aCallGateWhoseInnerStackFaultsLeavesRing3StateIntact() {
    kernelStackPage(0x0);
    load(USER_CODE, "9a 00000000 3300");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.TRIPLE_FAULT);
    assertThat(cpu.cpl()).isEqualTo(3);
    assertThat(cpu.segmentSelector(Cpu.SS)).isEqualTo(0x23);
    assertThat(cpu.reg(Cpu.ESP)).isEqualTo(USER_ESP);
    assertThat(cpu.eip()).isEqualTo(USER_CODE);
  }

  @Test
  void aFaultWhileSwitchingStacksLeavesTheInterruptedRing3StateIntact() {
    kernelStackPage(0x0);           // not present: every delivery faults, then a triple fault
    assertThat(cpu.run(100)).isEqualTo(CpuExit.TRIPLE_FAULT);
    assertThat(cpu.cpl()).isEqualTo(3);
    assertThat(cpu.segmentSelector(Cpu.SS)).isEqualTo(0x23);
    assertThat(cpu.reg(Cpu.ESP)).isEqualTo(USER_ESP);
    assertThat(cpu.segmentSelector(Cpu.CS)).isEqualTo(0x1B);
    assertThat(cpu.eip()).isEqualTo(USER_CODE);
  }
}
