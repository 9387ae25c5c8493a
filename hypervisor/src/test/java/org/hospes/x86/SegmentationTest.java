package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Segment checks on accesses that the segments test kernel cannot compare with QEMU (its TCG does
 * not check data-segment limits and types, nor a null DS, on use): SDM vol. 3, 5.3 and 5.5.
 * GDT: 0x08 flat code, 0x10 flat data, 0x18 data at 0x10000 with limit 0xFFF, 0x20 flat
 * read-only data, 0x28 expand-down data at 0x10000 with limit 0xFFF, 0x30 flat code, 0x38 as
 * 0x28 but 16-bit (B=0: the segment ends at 0xFFFF).
 */
class SegmentationTest {
  private static final int CODE = 0x1000;
  private static final int GDT = 0x20000;

  private MemoryBus mem;
  private Cpu cpu;

  @BeforeEach
  void setUp() {
    mem = new MemoryBus(1 << 20);
    cpu = new Cpu(mem, new IoBus());
    cpu.resetFlat32();
    cpu.setExceptionExitMask(-1);
    cpu.setReg(Cpu.ESP, 0x8000);
    int[] gdt = {0, 0, 0xFFFF, 0x00CF9A00, 0xFFFF, 0x00CF9200, 0x0FFF, 0x00409201, 0xFFFF,
        0x00CF9000, 0x0FFF, 0x00409601, 0xFFFF, 0x00CF9A00, 0x0FFF, 0x00009601};
    for (int i = 0; i < gdt.length; i++) {
      mem.write32(GDT + 4L * i, gdt[i]);
    }
    mem.write32(0x1F00, (GDT << 16) | (gdt.length * 4 - 1));
    mem.write32(0x1F04, GDT >>> 16);
  }

  /** lgdt [0x1f00], then {@code hex}. */
  private void load(String hex) {
    byte[] b = HexFormat.of().parseHex(("0f011500 1f0000" + hex).replace(" ", ""));
    mem.write(CODE, b, 0, b.length);
    cpu.setEip(CODE);
  }

  private void expectFault(int vector, int error) {
    assertThat(cpu.run(20)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(cpu.exceptionVector()).isEqualTo(vector);
    assertThat(cpu.exceptionErrorCode()).isEqualTo(error);
  }

  @Test
  void aDwordThatCrossesTheLimitIsGp0() {
    load("66b81800 8ed8 a1fd0f0000");           // ds = 0x18 ; mov eax, [0xffd]
    expectFault(Exceptions.GP, 0);
  }

  @Test
  void aDwordEndingAtTheLimitIsFineAndUsesTheBase() {
    mem.write32(0x10FFC, 0x12345678);
    load("66b81800 8ed8 a1fc0f0000 f4");        // ds = 0x18 ; mov eax, [0xffc] ; hlt
    assertThat(cpu.run(20)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(0x12345678);
  }

  @Test
  void usingANullDsIsGp0() {
    load("31c0 8ed8 a100100000");               // ds = 0 (allowed) ; mov eax, [0x1000]
    expectFault(Exceptions.GP, 0);
  }

  @Test
  void writingThroughReadOnlyDataIsGp0() {
    load("66b82000 8ec0 26c70500010000 01000000"); // es = 0x20 ; mov dword es:[0x100], 1
    expectFault(Exceptions.GP, 0);
  }

  /**
   * BOUND's two bounds are each checked against the limit: with a 16-bit operand the upper
   * bound is the word at offset+2. It used to be read at the linear address + 2 unchecked, so
   * a pair that crossed the limit by its upper word gave #BR (bounds read past the limit)
   * instead of #GP(0).
   */
  @Test
  void bound16ChecksItsUpperBoundAgainstTheLimit() {
    load("66b81800 8ed8 66 6205fd0f0000");       // ds = 0x18 ; bound ax, [0xffd]
    expectFault(Exceptions.GP, 0);
  }

  @Test
  void bound16WithinTheLimitAndBoundsRuns() {
    mem.write32(0x10FFC, 0x7FFF_FFF0);          // lower -16, upper 0x7fff
    load("66b81800 8ed8 66 6205fc0f0000 f4");   // ds = 0x18 ; bound ax (0x18), [0xffc] ; hlt
    assertThat(cpu.run(20)).isEqualTo(CpuExit.HLT);
  }

  @Test
  void bound16BelowTheUpperBoundIsBr() {
    mem.write32(0x10FFC, 0x0017_FFF0);          // lower -16, upper 0x17 < ax
    load("66b81800 8ed8 66 6205fc0f0000 f4");   // ds = 0x18 ; bound ax (0x18), [0xffc] ; hlt
    expectFault(Exceptions.BR, 0);
  }

  @Test
  void expandDownSegmentsRejectOffsetsAtOrBelowTheLimit() {
    load("66b82800 8ee0 64a1ff0f0000");         // fs = 0x28 ; mov eax, fs:[0xfff]
    expectFault(Exceptions.GP, 0);
  }

  @Test
  void expandDownSegmentsAcceptOffsetsAboveTheLimit() {
    mem.write32(0x11000, 0xCAFE);
    load("66b82800 8ee0 64a100100000 f4");      // fs = 0x28 ; mov eax, fs:[0x1000] ; hlt
    assertThat(cpu.run(20)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(0xCAFE);
  }

  @Test
  void anExpandDownAccessMustFitBelowTheUpperBoundAsAWhole() {
    load("66b83800 8ee0 64a1feff0000");         // fs = 0x38 (B=0) ; mov eax, fs:[0xfffe]
    expectFault(Exceptions.GP, 0);
  }

  @Test
  void anExpandDownWordEndingAtTheUpperBoundIsFine() {
    mem.write32(0x1FFFE, 0xBEEF);
    load("66b83800 8ee0 6466a1feff0000 f4");    // fs = 0x38 ; mov ax, fs:[0xfffe] ; hlt
    assertThat(cpu.run(20)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.reg(Cpu.EAX) & 0xFFFF).isEqualTo(0xBEEF);
  }

  @Test
  void aBigExpandDownAccessMustNotWrapPast4GiB() {
    load("66b82800 8ee0 64a1feffffff");         // fs = 0x28 (B=1) ; mov eax, fs:[0xfffffffe]
    expectFault(Exceptions.GP, 0);
  }

  @Test
  void ebpAndEspBasedOperandsDefaultToSs() {
    // SS = 0x18 (base 0x10000) and DS flat: the same offsets hold different values.
    for (int off : new int[] {0x104, 0x204}) {
      mem.write32(off, 0xD000 + off);
      mem.write32(0x10000 + off, 0x5000 + off);
    }
    // ss = 0x18 ; ebp = 0x100 ; eax = [ebp+4] ; esp = 0x200 ; ebx = [esp+4] ; esi = 4 ;
    // ecx = [ebp+esi] (base EBP: SS) ; edx = [esi+ebp*1] (base ESI, index EBP: DS) ; hlt
    load("66b81800 8ed0 bd00010000 8b4504 bc00020000 8b5c2404 be04000000 8b4c3500 8b142e f4");
    assertThat(cpu.run(20)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(0x5104);
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(0x5204);
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(0x5104);
    assertThat(cpu.reg(Cpu.EDX)).isEqualTo(0xD104);
  }

  @Test
  void bpBased16BitAddressingDefaultsToSs() {
    for (int off : new int[] {0x104, 0x108}) {
      mem.write32(off, 0xD000 + off);
      mem.write32(0x10000 + off, 0x5000 + off);
    }
    // ss = 0x18 ; ebp = 0x100 ; esi = 4 ; a16 mov eax, [bp+si] ; a16 mov ebx, [bp+8] ; hlt
    load("66b81800 8ed0 bd00010000 be04000000 678b02 678b5e08 f4");
    assertThat(cpu.run(20)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.reg(Cpu.EAX)).isEqualTo(0x5104);
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(0x5108);
  }

  @Test
  void aPushBeyondTheStackLimitIsSs0() {
    load("66b81800 8ed0 bc02100000 50");        // ss = 0x18 ; mov esp, 0x1002 ; push eax
    expectFault(Exceptions.SS, 0);
  }

  @Test
  void aFarJumpMarksTheCodeDescriptorAccessed() {
    // jmp 0x30:target ; target: hlt  (the far jump is 7 bytes at CODE + 7)
    int target = CODE + 7 + 7;
    load(String.format("ea%02x%02x%02x%02x 3000 f4", target & 0xFF, (target >> 8) & 0xFF,
        (target >> 16) & 0xFF, target >>> 24));
    assertThat(cpu.run(20)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.segmentSelector(Cpu.CS)).isEqualTo(0x30);
    assertThat(mem.read32(GDT + 0x30 + 4)).isEqualTo(0x00CF9B00);
  }
}
