package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Near transfers with a 16-bit operand size in 32-bit code (prefix 0x66) truncate EIP to 16 bits
 * (SDM vol. 2: JMP, Jcc, LOOP, CALL, RET "EIP <- tempEIP AND 0000FFFFH"). Each program runs at
 * 0x12340 (above 64 KiB) after XOR EAX, EAX (ZF=1), so the target is below 64 KiB, where a HLT
 * waits.
 */
class OperandSize16TransferTest {
  private static final int PROGRAM = 0x12340;

  private final SystemFixture m = new SystemFixture();

  private void runTo(String transfer, int target) {
    // mov eax, PROGRAM ; jmp eax
    m.code(SystemFixture.RING0, "b840230100 ffe0");
    m.code(PROGRAM, "31c0 " + transfer);
    m.code(target, "f4");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.eip()).isEqualTo(target + 1);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "jmp rel8,              66eb10,             0x2355",
      "jmp rel16,             66e91000,           0x2356",
      "jz rel8,               667410,             0x2355",
      "jz rel16,              660f841000,         0x2357",
      "loop rel8,             66e210,             0x2355",
      "jmp ax,                b853233412 66ffe0,  0x2353",
      "ret (16-bit pop),      66685323 66c3,      0x2353",
  })
  void truncatesEipTo16Bits(String form, String code, String target) {
    runTo(code, Integer.decode(target));
  }

  @Test
  void call16PushesAWordAndTruncatesEip() {
    int esp = 0x6000;   // the fixture's ring-0 stack
    runTo("66e81000", 0x2356);
    assertThat(m.cpu.reg(Cpu.ESP)).isEqualTo(esp - 2);
    assertThat(m.mem.read32(esp - 2) & 0xFFFF).as("16-bit return IP").isEqualTo(0x2346);
  }
}
