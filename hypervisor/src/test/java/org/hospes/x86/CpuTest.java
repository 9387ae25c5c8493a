package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class CpuTest {
  private static final int CODE = 0x1000;
  private MemoryBus mem;
  private IoBus io;
  private Cpu cpu;

  @BeforeEach
  void setUp() {
    mem = new MemoryBus(1 << 20);
    io = new IoBus();
    cpu = new Cpu(mem, io);
    cpu.resetFlat32();
    cpu.setExceptionExitMask(-1);
    cpu.setReg(Cpu.ESP, 0x8000);
  }

  private void load(String hex) {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    mem.write(CODE, b, 0, b.length);
    cpu.setEip(CODE);
  }

  @Test
  void addsRegistersAndSetsFlagsLazily() {
    // mov eax, 0x7fffffff ; add eax, 1
    load("b8ffffff7f 83c001");
    assertThat(cpu.run(2)).isEqualTo(CpuExit.BUDGET);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(0x80000000);
    assertThat(cpu.eflags() & Flags.STATUS).isEqualTo(Flags.OF | Flags.SF | Flags.AF | Flags.PF);
    assertThat(cpu.eip()).isEqualTo(CODE + 8);
    assertThat(cpu.instructions()).isEqualTo(2);
  }

  @Test
  void countsDownALoop() {
    // mov ecx, 10 ; xor eax, eax ; l: add eax, ecx ; dec ecx ; jnz l ; hlt
    load("b90a000000 31c0 01c8 49 75fb f4");
    assertThat(cpu.run(1000)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(55);
    assertThat(cpu.instructions()).isEqualTo(2 + 30 + 1);
  }

  @Test
  void runsExactlyTheBudgetInsideABlock() {
    load("40 40 40 40 f4");
    assertThat(cpu.run(3)).isEqualTo(CpuExit.BUDGET);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(3);
    assertThat(cpu.eip()).isEqualTo(CODE + 3);
  }

  @Test
  void callsAndReturns() {
    // call +1 ; hlt ; mov eax, 5 ; ret
    load("e801000000 f4 b805000000 c3");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(5);
    assertThat(cpu.reg(Cpu.ESP)).isEqualTo(0x8000);
  }

  @Test
  void divideByZeroRaisesDeAtTheFaultingInstruction() {
    // xor ecx, ecx ; div ecx
    load("31c9 f7f1");
    assertThat(cpu.run(10)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(cpu.exceptionVector()).isEqualTo(Exceptions.DE);
    assertThat(cpu.eip()).isEqualTo(CODE + 2);
    assertThat(cpu.instructions()).isEqualTo(1);
  }

  @Test
  void undefinedOpcodeRaisesUdAndIsCounted() {
    load("90 0f0b");
    assertThat(cpu.run(10)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(cpu.exceptionVector()).isEqualTo(Exceptions.UD);
    assertThat(cpu.eip()).isEqualTo(CODE + 1);
    assertThat(cpu.undefinedOpcodes()).isEqualTo(1);
  }

  @Test
  void theHintableNopsRunAsNopsWithRegisterOperandsToo() {
    // 0F 18-0F 1F with every ModRM form are NOPs from the P6 on (as the host CPU runs them),
    // PREFETCHh of 0F 18 /0-/3 included: 0f18c0 (/0, register) ... 0f18f8 (/7, register),
    // 0f1806 (prefetchnta [esi]), 0f19c0, 0f1fc0, 0f1f4000 (nop [eax+0]), then HLT.
    load("0f18c0 0f18c8 0f18d0 0f18d8 0f18e0 0f18e8 0f18f0 0f18f8 0f1806 0f19c0 0f1fc0 0f1f4000 f4");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.instructions()).isEqualTo(13);
    assertThat(cpu.undefinedOpcodes()).isZero();
    assertThat(cpu.eip()).isEqualTo(CODE + 12 * 3 + 1 + 1);
  }

  @Test
  void selfModifyingCodeInTheSameBlockTakesEffect() {
    // mov byte [CODE+8], 0x07 ; mov al, 0x01 ; hlt  -> patches the immediate of "mov al"
    // c6 05 <addr32> 07 (7 bytes at CODE..CODE+6) ; b0 01 at CODE+7..8 ; f4
    load("c605" + String.format("%08x", Integer.reverseBytes(CODE + 8)) + "07 b001 f4");
    assertThat(cpu.run(10)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.reg(Cpu.EAX) & 0xFF).isEqualTo(7);
  }

  @Test
  void repMovsCopiesForwardAndBackward() {
    byte[] src = "hello, world".getBytes();
    mem.write(0x4000, src, 0, src.length);
    // mov esi,0x4000 ; mov edi,0x5000 ; mov ecx,12 ; rep movsb ; hlt
    load("be00400000 bf00500000 b90c000000 f3a4 f4");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.HLT);
    byte[] out = new byte[12];
    mem.read(0x5000, out, 0, 12);
    assertThat(new String(out)).isEqualTo("hello, world");
    assertThat(cpu.reg(Cpu.ECX)).isZero();
    assertThat(cpu.reg(Cpu.ESI)).isEqualTo(0x400c);
  }

  @Test
  void portIoReachesDevices() {
    int[] seen = new int[2];
    io.register(0x3F8, 1, new PortDevice() {
      @Override
      public int in(int port, int size) {
        return 0x5A;
      }

      @Override
      public void out(int port, int size, int value) {
        seen[0] = port;
        seen[1] = value;
      }
    });
    // mov dx, 0x3f8 ; mov al, 'A' ; out dx, al ; in al, dx ; hlt
    load("66baf803 b041 ee ec f4");
    assertThat(cpu.run(100)).isEqualTo(CpuExit.HLT);
    assertThat(seen).containsExactly(0x3F8, 0x41);
    assertThat(cpu.reg(Cpu.EAX) & 0xFF).isEqualTo(0x5A);
  }
}
