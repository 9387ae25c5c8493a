package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Virtual-8086 mode (SDM vol. 3, chapter 20): a ring-0 monitor enters it with IRETD (and with
 * a task switch); 8086 addressing; the IOPL-sensitive instructions and I/O fault with #GP(0)
 * at IOPL 0 and work at IOPL 3; an event from VM86 mode pushes GS, FS, DS, ES, SS, ESP,
 * EFLAGS, CS, EIP on the ring-0 stack and nulls the data segments; IRETD returns to VM86.
 */
class Vm86Test {
  private static final int R0 = SystemFixture.RING0;
  /** VM86 code at 0500:0000 (linear 0x5000), stack 0600:0F00, ES/DS/FS/GS 0x40/0x50/0x60/0x70. */
  private static final int V86_CODE = 0x5000;
  private static final int VM = 1 << 17;

  private final SystemFixture m = new SystemFixture();

  /** push gs, fs, ds, es, ss, esp, eflags, cs, eip (as dwords) ; iretd. */
  private void enterWithIret(int eflags) {
    m.code(R0, "6870000000 6860000000 6850000000 6840000000 6800060000 68000f0000 68"
        + SystemFixture.le(eflags) + " 6800050000 6800000000 cf");
  }

  /** Runs VM86 {@code code} until a #GP, delivered to a HLT; returns its pushed error code. */
  private int gpErrorAfter(String code, int eflags) {
    m.gate(Exceptions.GP, SystemFixture.HANDLER + 0x10, 0);
    m.code(SystemFixture.HANDLER + 0x10, "f4");
    m.code(V86_CODE, code);
    enterWithIret(eflags);
    runTo(CpuExit.HLT);
    return m.mem.read32(m.cpu.reg(Cpu.ESP));
  }

  private void runTo(int exit) {
    assertThat(m.run()).isEqualTo(exit);
  }

  @Test
  void iretEntersVm86WithEightySixAddressing() {
    m.mem.write16(0x510, 0xBEEF);  // DS 0x50 : 0x10
    m.mem.write16(0x6EFE, 0);      // below the VM86 stack top
    // mov ax, ds ; mov bx, [0x10] ; push ax ; hlt
    m.code(V86_CODE, "8cd8 8b1e1000 50 f4");
    enterWithIret(VM | 2);
    runTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.GP);
    assertThat(m.cpu.exceptionErrorCode()).isZero();
    assertThat(m.cpu.eip()).as("HLT at CPL 3 faults").isEqualTo(7);
    assertThat(m.cpu.cpl()).isEqualTo(3);
    assertThat(m.cpu.eflags() & VM).isNotZero();
    assertThat(m.cpu.reg(Cpu.EAX) & 0xFFFF).isEqualTo(0x50);
    assertThat(m.cpu.reg(Cpu.EBX) & 0xFFFF).isEqualTo(0xBEEF);
    assertThat(m.cpu.reg(Cpu.ESP)).isEqualTo(0xEFE);
    assertThat(m.mem.read16(0x6EFE)).as("push to SS*16 + SP").isEqualTo(0x50);
  }

  @Test
  void iopl0MakesCliStiPushfPopfIntIretAndIoFault() {
    // cli ; sti ; pushf ; popf ; int 0x21 ; iret ; in al, 0x80 ; nop ; hlt
    m.code(V86_CODE, "fa fb 9c 9d cd21 cf e480 90 f4");
    enterWithIret(VM | 2);
    int[] faulting = {0, 1, 2, 3, 4, 6, 7};
    int[] length = {1, 1, 1, 1, 2, 1, 2};
    for (int k = 0; k < faulting.length; k++) {
      runTo(CpuExit.EXCEPTION);
      assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.GP);
      assertThat(m.cpu.exceptionErrorCode()).isZero();
      assertThat(m.cpu.eip()).isEqualTo(faulting[k]);
      m.cpu.setEip(faulting[k] + length[k]);
    }
    runTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.eip()).as("NOP ran, HLT faults").isEqualTo(10);
  }

  @Test
  void int3IsNotIoplSensitiveAndMeetsTheGateDplCheck() {
    // int3 at IOPL 0 through a DPL 0 gate 3: #GP with the gate's error code, not #GP(0)
    m.gate(3, SystemFixture.HANDLER, 0);
    assertThat(gpErrorAfter("cc", VM | 2)).as("the gate's DPL, not IOPL").isEqualTo(3 * 8 + 2);
  }

  @Test
  void iopl3LetsCliStiPushfPopfWorkButNotChangeIopl() {
    // cli ; pushf ; pop ax ; push 0x0200 (IF, IOPL 0) ; popf ; pushf ; pop bx ; hlt
    m.code(V86_CODE, "fa 9c 58 680002 9d 9c 5b f4");
    enterWithIret(VM | 0x3202);
    runTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.eip()).isEqualTo(9);
    assertThat(m.cpu.reg(Cpu.EAX) & 0xFFFF).as("PUSHF after CLI").isEqualTo(0x3002);
    assertThat(m.cpu.reg(Cpu.EBX) & 0xFFFF).as("POPF set IF, kept IOPL").isEqualTo(0x3202);
    assertThat(m.cpu.eflags() & VM).isNotZero();
  }

  @Test
  void anEventFromVm86PushesTheVm86FrameOnTheRing0Stack() {
    m.cpu.setExceptionExitMask(~(1 << Exceptions.GP));
    m.gate(Exceptions.GP, SystemFixture.HANDLER, 0);
    m.code(SystemFixture.HANDLER, "f4");
    m.code(V86_CODE, "90 f4");
    enterWithIret(VM | 2);
    runTo(CpuExit.HLT);
    assertThat(m.cpu.eip()).isEqualTo(SystemFixture.HANDLER + 1);
    assertThat(m.cpu.cpl()).isZero();
    assertThat(m.cpu.eflags() & VM).isZero();
    int sp = m.cpu.reg(Cpu.ESP);
    assertThat(sp).isEqualTo(0x9000 - 40);
    int[] frame = new int[10];
    for (int k = 0; k < 10; k++) {
      frame[k] = m.mem.read32(sp + 4 * k);
    }
    assertThat(frame).containsExactly(0, 1, 0x500, VM | 2, 0xF00, 0x600, 0x40, 0x50, 0x60, 0x70);
    assertThat(m.cpu.segmentSelector(Cpu.DS)).isZero();
    assertThat(m.cpu.segmentSelector(Cpu.GS)).isZero();
  }

  @Test
  void aSixteenBitGatePushesTheFrameAsWords() {
    // A 16-bit interrupt gate (type 6) for #GP to HANDLER.
    m.mem.write32(SystemFixture.IDT + 8L * Exceptions.GP, (0x08 << 16) | SystemFixture.HANDLER);
    m.mem.write32(SystemFixture.IDT + 8L * Exceptions.GP + 4, 0x8600);
    m.cpu.setExceptionExitMask(~(1 << Exceptions.GP));
    m.code(SystemFixture.HANDLER, "f4");
    m.code(V86_CODE, "90 f4");
    enterWithIret(VM | 2);
    runTo(CpuExit.HLT);
    int sp = m.cpu.reg(Cpu.ESP);
    assertThat(sp).isEqualTo(0x9000 - 20);
    int[] frame = new int[10];
    for (int k = 0; k < 10; k++) {
      frame[k] = m.mem.read16(sp + 2 * k);
    }
    assertThat(frame).containsExactly(0, 1, 0x500, 2, 0xF00, 0x600, 0x40, 0x50, 0x60, 0x70);
  }

  @Test
  void intThroughADpl3GateAtIopl3AndIretdBackToVm86() {
    m.gate(0x21, SystemFixture.HANDLER, 3);
    // handler: inc dword ss:[0x8000] (DS is null now) ; iretd
    m.code(SystemFixture.HANDLER, "36ff0500800000 cf");
    // int 0x21 ; mov ax, es ; hlt
    m.code(V86_CODE, "cd21 8cc0 f4");
    enterWithIret(VM | 0x3002);
    runTo(CpuExit.EXCEPTION);
    assertThat(m.mem.read32(0x8000)).as("handler ran once").isEqualTo(1);
    assertThat(m.cpu.eip()).isEqualTo(4);
    assertThat(m.cpu.eflags() & VM).isNotZero();
    assertThat(m.cpu.reg(Cpu.EAX) & 0xFFFF).as("ES restored by IRETD").isEqualTo(0x40);
    assertThat(m.cpu.reg(Cpu.ESP)).isEqualTo(0xF00);
  }

  @Test
  void intThroughADpl0GateFaultsWithTheGateError() {
    m.gate(0x21, SystemFixture.HANDLER, 0);
    assertThat(gpErrorAfter("cd21", VM | 0x3002)).as("#GP error code: the IDT entry")
        .isEqualTo(0x21 * 8 + 2);
    assertThat(m.mem.read32(m.cpu.reg(Cpu.ESP) + 4)).as("EIP of the INT").isZero();
  }

  @Test
  void theIoBitmapDecidesInAndOutInVm86EvenAtIopl3() {
    // TSS limit past a bitmap at 0x68 allowing port 0x80 only (bytes 0x10: bit 0 clear).
    m.mem.write32(SystemFixture.TSS + 0x64, 0x68 << 16);
    for (int p = 0; p < 0x2000; p++) {
      m.mem.write8(SystemFixture.TSS + 0x68 + p, p == 0x10 ? 0xFE : 0xFF);
    }
    m.mem.write8(SystemFixture.TSS + 0x68 + 0x2000, 0xFF);
    m.mem.write32(SystemFixture.GDT + 0x28, (SystemFixture.TSS << 16) | 0x2068);
    // out 0x80, al ; out 0x81, al ; hlt
    m.code(V86_CODE, "e680 e681 f4");
    enterWithIret(VM | 0x3002);
    runTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.GP);
    assertThat(m.cpu.eip()).as("port 0x80 allowed, 0x81 denied").isEqualTo(2);
  }

  @Test
  void aTaskSwitchEntersAVm86Task() {
    int tss = 0x23000;
    m.mem.write32(tss + 0x1C, SystemFixture.PD);   // CR3
    m.mem.write32(tss + 0x20, 0);                   // EIP
    m.mem.write32(tss + 0x24, VM | 2);              // EFLAGS
    m.mem.write32(tss + 0x38, 0xF00);               // ESP
    int[] segs = {0x40, 0x500, 0x600, 0x50, 0x60, 0x70};  // ES CS SS DS FS GS
    for (int s = 0; s < 6; s++) {
      m.mem.write32(tss + 0x48 + 4 * s, segs[s]);
    }
    m.mem.write32(tss + 0x64, 0x68 << 16);
    m.mem.write32(SystemFixture.GDT + 0x30, (tss << 16) | 0x67);
    m.mem.write32(SystemFixture.GDT + 0x34, 0x8900 | (tss >>> 16));
    // jmp 0x30:0
    m.code(R0, "ea000000003000");
    m.code(V86_CODE, "8cd8 f4");
    runTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.GP);
    assertThat(m.cpu.eip()).isEqualTo(2);
    assertThat(m.cpu.cpl()).isEqualTo(3);
    assertThat(m.cpu.reg(Cpu.EAX) & 0xFFFF).isEqualTo(0x50);
  }

}
