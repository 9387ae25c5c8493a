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
}
