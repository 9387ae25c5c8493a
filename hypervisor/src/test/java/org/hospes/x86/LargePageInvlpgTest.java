package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * INVLPG of any address inside a 4 MiB (PSE) or 2 MiB (PAE) page drops the translations of the
 * whole large page (SDM vol. 3, 4.10.4.1), not only the 4 KiB piece that holds the address. Each
 * program touches two 4 KiB pieces of the large page at 0x400000 (a read at +0x5000, a write at
 * +0x6000), remaps the large page to 0x800000, invalidates its first byte and touches both again.
 */
class LargePageInvlpgTest {
  private final SystemFixture m = new SystemFixture();

  @Test
  void invlpgDropsEveryPieceOfA4MiBPage() {
    m.mem.write32(SystemFixture.PD + 4, 0x0040_0083);   // 4 MiB page at 0x400000
    m.mem.write32(0x405000, 0x1111);
    m.mem.write32(0x805000, 0x2222);
    // cr4.PSE = 1 ; eax = [0x405000] ; [0x406000] = 1 ; pde[1] = 0x800083 ;
    // invlpg [0x400000] ; ebx = [0x405000] ; [0x406000] = 2 ; hlt
    m.code(SystemFixture.RING0, "0f20e0 83c810 0f22e0 a100504000 c7050060400001000000"
        + " c7050400010083008000 0f013d00004000 8b1d00504000 c7050060400002000000 f4");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertRemapped();
  }

  @Test
  void invlpgDropsEveryPieceOfA2MiBPaePage() {
    m.mem.write32(0x13000, 0x14000 | 1);                 // PDPTE 0
    m.mem.write32(0x14000, 0x0000_0083);                 // 0-2 MiB identity (the code)
    m.mem.write32(0x14010, 0x0040_0083);                 // 2 MiB page at 0x400000
    m.mem.write32(0x405000, 0x1111);
    m.mem.write32(0x805000, 0x2222);
    // paging off ; cr4.PAE = 1 ; cr3 = 0x13000 ; paging on ; eax = [0x405000] ;
    // [0x406000] = 1 ; pde[2] = 0x800083 ; invlpg [0x400000] ; ebx = [0x405000] ;
    // [0x406000] = 2 ; hlt
    m.code(SystemFixture.RING0, "0f20c0 25ffffff7f 0f22c0 0f20e0 83c820 0f22e0 b800300100"
        + " 0f22d8 0f20c0 0d00000080 0f22c0 a100504000 c7050060400001000000"
        + " c7051040010083008000 0f013d00004000 8b1d00504000 c7050060400002000000 f4");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertRemapped();
  }

  /**
   * The same for instruction fetches: a routine in a 4 MiB page is called (its 4 KiB piece at
   * +0x5000 enters the code TLB), the large page is remapped and INVLPG'd at its first byte,
   * and the next call must run the routine at the new frame.
   */
  @Test
  void invlpgDropsTheCodeTranslationsOfA4MiBPage() {
    m.mem.write32(SystemFixture.PD + 4, 0x0040_0083);   // 4 MiB page at 0x400000
    m.code(0x405000, "b911110000 c3");                   // ecx = 0x1111 ; ret
    m.code(0x805000, "b922220000 c3");                   // ecx = 0x2222 ; ret
    // cr4.PSE = 1 ; eax = 0x405000 ; call eax ; edx = ecx ; pde[1] = 0x800083 ;
    // invlpg [0x400000] ; eax = 0x405000 ; call eax ; hlt
    m.code(SystemFixture.RING0, "0f20e0 83c810 0f22e0 b800504000 ffd0 89ca"
        + " c7050400010083008000 0f013d00004000 b800504000 ffd0 f4");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.reg(Cpu.EDX)).isEqualTo(0x1111);
    assertThat(m.cpu.reg(Cpu.ECX)).as("fetch after INVLPG of another piece").isEqualTo(0x2222);
  }

  private void assertRemapped() {
    assertThat(m.cpu.reg(Cpu.EAX)).isEqualTo(0x1111);
    assertThat(m.cpu.reg(Cpu.EBX)).as("read after INVLPG of another piece").isEqualTo(0x2222);
    assertThat(m.mem.read32(0x406000)).isEqualTo(1);
    assertThat(m.mem.read32(0x806000)).as("write after INVLPG of another piece").isEqualTo(2);
  }
}
