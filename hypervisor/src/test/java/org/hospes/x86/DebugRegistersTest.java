package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The debug features (SDM vol. 3, chapter 18): single-step with EFLAGS.TF (a trap after the
 * instruction, held back by MOV SS), instruction breakpoints (a fault, suppressed by RF), data
 * breakpoints (a trap after the access, by R/W and LEN), DR7.GD, and IA32_DEBUGCTL.BTF. Every
 * exception leaves {@link Cpu#run} (the fixture's exit mask), so the test reads #DB's EIP and DR6.
 */
class DebugRegistersTest {
  private static final int R0 = SystemFixture.RING0;
  /** pushf ; or dword [esp], 0x100 ; popf : TF set by POPF (1 + 7 + 1 = 9 bytes). */
  private static final String SET_TF = "9c 810c2400010000 9d";
  private static final int AFTER_SET_TF = R0 + 9;

  private final SystemFixture m = new SystemFixture();

  private void expectDebugAt(int eip) {
    assertThat(m.run()).isEqualTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.DB);
    assertThat(m.cpu.eip()).isEqualTo(eip);
  }

  @Test
  void singleStepTrapsAfterTheInstructionFollowingThePopfThatSetTf() {
    m.code(R0, SET_TF + " 43 43 f4");
    expectDebugAt(AFTER_SET_TF + 1);
    assertThat(m.cpu.reg(Cpu.EBX)).as("one INC ran").isEqualTo(1);
    assertThat(m.cpu.dr[6] & Breakpoints.DR6_BS).isNotZero();
    expectDebugAt(AFTER_SET_TF + 2);
    assertThat(m.cpu.reg(Cpu.EBX)).isEqualTo(2);
  }

  @Test
  void movSsHoldsTheSingleStepUntilAfterTheNextInstruction() {
    // mov ax, 0x10 ; mov ss, ax ; inc ebx ; inc ebx
    m.code(R0, SET_TF + " 66b81000 8ed0 43 43 f4");
    expectDebugAt(AFTER_SET_TF + 4);
    expectDebugAt(AFTER_SET_TF + 7);
    assertThat(m.cpu.reg(Cpu.EBX)).isEqualTo(1);
  }

  @Test
  void popSsHoldsTheSingleStepToo() {
    // push ss ; pop ss ; inc ebx ; inc ebx
    m.code(R0, SET_TF + " 16 17 43 43 f4");
    expectDebugAt(AFTER_SET_TF + 1);
    expectDebugAt(AFTER_SET_TF + 3);
    assertThat(m.cpu.reg(Cpu.EBX)).isEqualTo(1);
  }

  @Test
  void aFaultingInstructionReportsItsFaultNotASingleStep() {
    // ud2 after TF is set
    m.code(R0, SET_TF + " 0f0b");
    assertThat(m.run()).isEqualTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.UD);
    assertThat(m.cpu.eip()).isEqualTo(AFTER_SET_TF);
  }

  @Test
  void instructionBreakpointFaultsBeforeTheInstructionAndRfLetsItRun() {
    int target = R0 + 16;
    // mov eax, target ; mov dr0, eax ; mov eax, 1 (L0) ; mov dr7, eax ; inc ebx ; hlt
    m.code(R0, "b8" + SystemFixture.le(target) + " 0f23c0 b801000000 0f23f8 43 f4");
    expectDebugAt(target);
    assertThat(m.cpu.reg(Cpu.EBX)).isZero();
    assertThat(m.cpu.dr[6] & 0xF).isEqualTo(1);
    m.cpu.setEflags(m.cpu.eflags() | Flags.RF);
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.reg(Cpu.EBX)).isEqualTo(1);
    assertThat(m.cpu.eflags() & Flags.RF).as("RF cleared after the instruction").isZero();
  }

  @Test
  void disabledBreakpointDoesNothing() {
    int target = R0 + 16;
    // as above with DR7 = 0x400 (R/W0 = execute but L0/G0 clear)
    m.code(R0, "b8" + SystemFixture.le(target) + " 0f23c0 b800040000 0f23f8 43 f4");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.reg(Cpu.EBX)).isEqualTo(1);
  }

  /** DR1 = 0x5000, L1, R/W1 and LEN1 = 4 bytes, then {@code access}, then INC EBX ; HLT. */
  private int dataBreakpoint(int rw, String access) {
    int dr7 = 0x4 | (rw << 20) | (3 << 22);
    m.code(R0, "b800500000 0f23c8 b8" + SystemFixture.le(dr7) + " 0f23f8 " + access + " 43 f4");
    return R0 + 16 + access.replace(" ", "").length() / 2;
  }

  @Test
  void writeBreakpointTrapsAfterAWriteIntoItsRange() {
    // mov [0x5003], bl
    int after = dataBreakpoint(1, "881d03500000");
    expectDebugAt(after);
    assertThat(m.cpu.dr[6] & 0xF).isEqualTo(2);
    assertThat(m.cpu.reg(Cpu.EBX)).isZero();
  }

  @Test
  void writeBreakpointIgnoresReadsAndWritesOutsideItsRange() {
    // mov eax, [0x5000] ; mov [0x5004], ebx ; mov [0x4ffc], ebx
    dataBreakpoint(1, "a100500000 891d04500000 891dfc4f0000");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.reg(Cpu.EBX)).isEqualTo(1);
  }

  @Test
  void readWriteBreakpointTrapsOnAReadAndOnAPageCrossingAccess() {
    int after = dataBreakpoint(3, "a100500000");
    expectDebugAt(after);
    assertThat(m.cpu.dr[6] & 0xF).isEqualTo(2);
    SystemFixture n = new SystemFixture();
    // mov eax, 0x4ffe ; DR1 = 0x5000 (L1, R/W 11, 4 bytes) ; mov ebx, [eax] (crosses the page)
    int dr7 = 0x4 | (3 << 20) | (3 << 22);
    n.code(R0, "b800500000 0f23c8 b8" + SystemFixture.le(dr7) + " 0f23f8 b8fe4f0000 8b18 f4");
    assertThat(n.run()).isEqualTo(CpuExit.EXCEPTION);
    assertThat(n.cpu.exceptionVector()).isEqualTo(Exceptions.DB);
    assertThat(n.cpu.eip()).isEqualTo(R0 + 23);
  }

  @Test
  void stackPushIsADataWrite() {
    // esp = 0x6000 from setup: push ebx writes 0x5ffc-0x5fff; DR1 = 0x5ffc, write, 4 bytes
    int dr7 = 0x4 | (1 << 20) | (3 << 22);
    m.code(R0, "b8fc5f0000 0f23c8 b8" + SystemFixture.le(dr7) + " 0f23f8 53 f4");
    expectDebugAt(R0 + 17);
  }

  @Test
  void generalDetectFaultsOnMovDrAndClearsGd() {
    // mov eax, 0x2400 ; mov dr7, eax ; mov eax, dr6
    m.code(R0, "b800240000 0f23f8 0f21f0 f4");
    expectDebugAt(R0 + 8);
    assertThat(m.cpu.dr[6] & Breakpoints.DR6_BD).isNotZero();
    assertThat(m.cpu.dr[7] & Breakpoints.DR7_GD).isZero();
    assertThat(m.run()).as("the handler may now read DR6").isEqualTo(CpuExit.HLT);
  }

  @Test
  void debugCtlReadsBackBtfAndRejectsReservedBits() {
    // ecx = 0x1d9 ; eax = 2 ; edx = 0 ; wrmsr ; rdmsr ; mov esi, eax ; eax = 1 ; wrmsr
    m.code(R0, "b9d9010000 b802000000 31d2 0f30 31c0 0f32 89c6 b801000000 0f30 f4");
    assertThat(m.run()).isEqualTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.GP);
    assertThat(m.cpu.reg(Cpu.ESI)).isEqualTo(2);
    assertThat(m.cpu.eip()).isEqualTo(R0 + 25);
  }

  @Test
  void btfStepsOnlyOnBranches() {
    // wrmsr DEBUGCTL = BTF ; set TF ; inc ebx ; jmp +1 ; nop ; inc ebx ; hlt
    m.code(R0, "b9d9010000 b802000000 31d2 0f30 " + SET_TF + " 43 eb01 90 43 f4");
    int start = R0 + 14 + 9;
    expectDebugAt(start + 4);
    assertThat(m.cpu.reg(Cpu.EBX)).isEqualTo(1);
  }

}
