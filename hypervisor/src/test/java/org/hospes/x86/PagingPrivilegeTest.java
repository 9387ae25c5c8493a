package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Paging seen from ring 3: the U/S bit of every level counts (SDM vol. 3, 4.6), and an INVLPG
 * at CPL 0 removes what ring 3 cached for the page too. The page at 0x400000 is reached through
 * page directory entry 1 and the page table at 0x12000.
 */
class PagingPrivilegeTest {
  private static final int PT2 = 0x12000;
  /** mov eax, [0x400000] ; cli (#GP at CPL 3 ends the program). */
  private static final String USER_READ = "a100004000 fa";
  /** mov dword [0x400000], 1 ; cli. */
  private static final String USER_WRITE = "c7050000400001000000 fa";

  private final SystemFixture m = new SystemFixture();

  private void user(int pde, String code) {
    m.mem.write32(SystemFixture.PD + 4, PT2 | pde);
    m.mem.write32(PT2, 0x80_0007);
    m.mem.write32(0x800000, 0x1111);
    m.code(SystemFixture.RING0, SystemFixture.IRET_TO_USER);
    m.code(SystemFixture.USER, code);
  }

  private void expectFault(int vector, int error) {
    assertThat(m.run()).isEqualTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(vector);
    assertThat(m.cpu.exceptionErrorCode()).isEqualTo(error);
  }

  @Test
  void aSupervisorPdeDeniesRing3ReadsThoughThePteSaysUser() {
    user(0x3, USER_READ);
    expectFault(Exceptions.PF, Paging.PF_P | Paging.PF_U);
  }

  @Test
  void aSupervisorPdeDeniesRing3WritesThoughThePteSaysUser() {
    user(0x3, USER_WRITE);
    expectFault(Exceptions.PF, Paging.PF_P | Paging.PF_W | Paging.PF_U);
  }

  @Test
  void aReadOnlyPdeDeniesRing3WritesThoughThePteSaysWritable() {
    user(0x5, USER_WRITE);
    expectFault(Exceptions.PF, Paging.PF_P | Paging.PF_W | Paging.PF_U);
  }

  @Test
  void userPdeAndPteLetRing3Read() {
    user(0x7, USER_READ);
    expectFault(Exceptions.GP, 0);   // the CLI after the read
    assertThat(m.cpu.reg(Cpu.EAX)).isEqualTo(0x1111);
  }

  @Test
  void invlpgAtCpl0DropsRing3sTranslation() {
    m.mem.write32(0x801000, 0x2222);
    // ring 3: eax = [0x400000] ; int 0x80 ; ebx = [0x400000] ; cli
    user(0x7, "a100004000 cd80 8b1d00004000 fa");
    // ring 0: pte = 0x801007 ; invlpg [0x400000] ; iret
    m.code(SystemFixture.HANDLER, "c70500200100 07108000 0f013d00004000 cf");
    expectFault(Exceptions.GP, 0);
    assertThat(m.cpu.reg(Cpu.EAX)).isEqualTo(0x1111);
    assertThat(m.cpu.reg(Cpu.EBX)).as("ring 3 reads the new frame").isEqualTo(0x2222);
  }
}
