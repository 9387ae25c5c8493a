package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Page-walk details found by the paging test kernel, each pinned by a small program. Layout:
 * code at 0x1000, 2-level page directory at 0x10000, identity page table at 0x11000 (first 4 MiB),
 * an empty page table at 0x12000 for 0x00400000-0x007FFFFF.
 */
class PagingTest {
  private static final int CODE = 0x1000;
  private static final int PD = 0x10000;
  private static final int PT_LOW = 0x11000;
  private static final int PT_EMPTY = 0x12000;
  private static final int PRESENT_RW = 0x3;
  private static final int ACCESSED = 0x20;

  private MemoryBus mem;
  private Cpu cpu;

  @BeforeEach
  void setUp() {
    mem = new MemoryBus(1 << 23);
    cpu = new Cpu(mem, new IoBus());
    cpu.resetFlat32();
    cpu.setExceptionExitMask(-1);
    cpu.setReg(Cpu.ESP, 0x8000);
    for (int i = 0; i < 1024; i++) {
      mem.write32(PT_LOW + 4L * i, (i << 12) | PRESENT_RW);
    }
    mem.write32(PD, PT_LOW | PRESENT_RW);
    mem.write32(PD + 4, PT_EMPTY | PRESENT_RW);
  }

  private void load(String hex) {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    mem.write(CODE, b, 0, b.length);
    cpu.setEip(CODE);
  }

  /** mov eax, PD ; mov cr3, eax ; mov eax, cr0 ; or eax, 0x80000000 ; mov cr0, eax */
  private static final String PAGING_ON = "b800000100 0f22d8 0f20c0 0d00000080 0f22c0";

  @Test
  void aPdeUsedToReachANotPresentPteIsMarkedAccessed() {
    // paging on ; mov eax, [0x00400000]
    load(PAGING_ON + " a100004000");
    assertThat(cpu.run(10)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(cpu.exceptionVector()).isEqualTo(Exceptions.PF);
    assertThat(cpu.exceptionErrorCode()).isZero();
    // SDM vol. 3, 4.8: an entry used in translation gets A set, even if a later level faults.
    assertThat(mem.read32(PD + 4) & ACCESSED).isEqualTo(ACCESSED);
  }

  /**
   * A CR3 load with CR4.PGE drops the non-global translations and keeps the global ones (SDM
   * vol. 3, 4.10.4.1), however many CR3 loads came before: a page table changed under both
   * (without INVLPG) is seen through the non-global page only, again after a second load.
   */
  @Test
  void aCr3LoadDropsNonGlobalTranslationsAndKeepsGlobalOnesEveryTime() {
    int global = 0x100;
    int[] frames = {0x200000, 0x201000, 0x202000, 0x203000, 0x204000, 0x205000};
    for (int k = 0; k < frames.length; k++) {
      mem.write32(frames[k], 0x1111 * (k + 1));
    }
    mem.write32(PT_EMPTY, frames[0] | PRESENT_RW | global);
    mem.write32(PT_EMPTY + 4, frames[1] | PRESENT_RW);
    // paging on; CR4.PGE; read both pages into EBX and ECX; hlt
    String readBoth = "a100004000 89c3 a100104000 89c1 f4";
    load(PAGING_ON + " 0f20e0 0d80000000 0f22e0 " + readBoth);
    assertThat(cpu.run(100)).isEqualTo(CpuExit.HLT);
    assertThat(cpu.reg(Cpu.EBX)).isEqualTo(0x1111);
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(0x2222);
    for (int round = 1; round <= 2; round++) {
      // Both entries now point elsewhere; only a CR3 load (mov eax, PD; mov cr3, eax) follows.
      mem.write32(PT_EMPTY, frames[2 * round] | PRESENT_RW | global);
      mem.write32(PT_EMPTY + 4, frames[2 * round + 1] | PRESENT_RW);
      load("b800000100 0f22d8 " + readBoth);
      assertThat(cpu.run(100)).isEqualTo(CpuExit.HLT);
      assertThat(cpu.reg(Cpu.EBX)).as("global page, round %d", round).isEqualTo(0x1111);
      assertThat(cpu.reg(Cpu.ECX)).as("non-global page, round %d", round)
          .isEqualTo(0x1111 * (2 * round + 2));
    }
  }

  /**
   * The global bit is per TLB: at one TLB index a global read entry and a non-global write
   * entry (two pages 16 MiB apart share the index), or a global write entry and a non-global
   * read entry. A CR3 load drops the non-global one of each pair and keeps the global one.
   */
  @Test
  void aCr3LoadDropsTheNonGlobalEntryOfEachTlbAtASharedIndex() {
    int pt = 0x13000;
    mem.write32(PD + 5 * 4, pt | PRESENT_RW);
    int global = 0x100;
    int g1 = 0x200000;
    int g2 = 0x201000;
    int n1 = 0x202000;
    int n1New = 0x203000;
    int n2 = 0x204000;
    int n2New = 0x205000;
    mem.write32(n2, 0x4444);
    mem.write32(n2New, 0x5555);
    mem.write32(PT_EMPTY, g1 | PRESENT_RW | global);
    mem.write32(PT_EMPTY + 4, g2 | PRESENT_RW | global);
    mem.write32(pt, n1 | PRESENT_RW);
    mem.write32(pt + 4, n2 | PRESENT_RW);
    // mov ebx, imm; mov [0x01400000], ebx (non-global write); mov ecx, [0x01401000]
    // (non-global read); hlt
    String touchNonGlobal = "891d00004001 8b0d00104001 f4";
    // paging on; CR4.PGE; mov eax, [0x00400000] (global read); mov ebx, 0x11111111;
    // mov [0x00401000], ebx (global write); then the non-global accesses. After the HLT:
    // mov eax, PD; mov cr3, eax; mov ebx, 0x22222222; the non-global accesses again. One
    // program, as rewriting code would flush the write TLB.
    load(PAGING_ON + " 0f20e0 0d80000000 0f22e0 a100004000 bb11111111 891d00104000 "
        + touchNonGlobal + " b800000100 0f22d8 bb22222222 " + touchNonGlobal);
    assertThat(cpu.run(100)).isEqualTo(CpuExit.HLT);
    assertThat(mem.read32(n1)).isEqualTo(0x11111111);
    assertThat(cpu.reg(Cpu.ECX)).isEqualTo(0x4444);
    mem.write32(pt, n1New | PRESENT_RW);
    mem.write32(pt + 4, n2New | PRESENT_RW);
    cpu.setEip(cpu.eip());
    assertThat(cpu.run(100)).isEqualTo(CpuExit.HLT);
    assertThat(mem.read32(n1New)).as("the write after the CR3 load").isEqualTo(0x22222222);
    assertThat(mem.read32(n1)).as("the old frame").isEqualTo(0x11111111);
    assertThat(cpu.reg(Cpu.ECX)).as("the read after the CR3 load").isEqualTo(0x5555);
  }
}
