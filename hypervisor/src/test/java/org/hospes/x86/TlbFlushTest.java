package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * A CR3 load without CR4.PGE drops every translation (SDM vol. 3, 4.10.4.1), each time: the
 * program reads through a 4 MiB page, remaps it, reloads CR3 and reads again, twice over, so a
 * flush that skipped work it thought done (the TLB is only cleared when something was filled
 * since the last full flush) would leave the old frame visible.
 */
class TlbFlushTest {
  private final SystemFixture m = new SystemFixture();

  @Test
  void everyCr3ReloadDropsTheTranslationsFilledSinceTheLastOne() {
    m.mem.write32(SystemFixture.PD + 4, 0x0040_0083);   // 4 MiB page at 0x400000
    m.mem.write32(0x405000, 0x1111);
    m.mem.write32(0x805000, 0x2222);
    // cr4.PSE = 1 ; eax = [0x405000] ; pde[1] = 0x800083 ; ecx = cr3 ; cr3 = ecx ;
    // ebx = [0x405000] ; pde[1] = 0x400083 ; cr3 = ecx ; edx = [0x405000] ; hlt
    m.code(SystemFixture.RING0, "0f20e0 83c810 0f22e0 a100504000 c7050400010083008000"
        + " 0f20d9 0f22d9 8b1d00504000 c7050400010083004000 0f22d9 8b1500504000 f4");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.reg(Cpu.EAX)).isEqualTo(0x1111);
    assertThat(m.cpu.reg(Cpu.EBX)).as("read after the first CR3 reload").isEqualTo(0x2222);
    assertThat(m.cpu.reg(Cpu.EDX)).as("read after the second CR3 reload").isEqualTo(0x1111);
  }
}
