package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * A call site that ran into a page of code, after that page was remapped to other code (the
 * page-table entry rewritten, then INVLPG or a CR3 reload): the second call runs the new code.
 * The block that calls keeps its link to the old block, which is still valid (its frame was not
 * written); the link must not be taken again without the page's translation being the same.
 */
class CodeRemapTest {
  private static final int LINEAR = 0x30000;
  private static final int OTHER_FRAME = 0x31000;
  private static final int PTE = SystemFixture.PT + (LINEAR >>> 12) * 4;

  private final SystemFixture m = new SystemFixture();

  @Test
  void aCallAfterInvlpgOfTheRemappedPageRunsTheNewCode() {
    // ecx = 2 ; ebx = 0 ; jmp loop ; loop: call LINEAR ; ebx += eax ; pte = OTHER_FRAME | 7 ;
    // invlpg [LINEAR] ; dec ecx ; jnz loop ; hlt
    runTwice("0f013d" + SystemFixture.le(LINEAR), "e5");
  }

  @Test
  void aCallAfterACr3ReloadRunsTheNewCode() {
    // as above with edx = cr3 ; cr3 = edx in place of the INVLPG
    runTwice("0f20da 0f22da", "e6");
  }

  private void runTwice(String flush, String loopBack) {
    m.code(LINEAR, "b801000000 c3");        // eax = 1 ; ret
    m.code(OTHER_FRAME, "b802000000 c3");   // eax = 2 ; ret
    // The JMP ends a block, so that the CALL is a block of its own that runs twice.
    int call = LINEAR - (SystemFixture.RING0 + 14);
    m.code(SystemFixture.RING0, "b902000000 31db eb00 e8" + SystemFixture.le(call) + " 01c3"
        + " c705" + SystemFixture.le(PTE) + SystemFixture.le(OTHER_FRAME | 7) + flush
        + " 49 75" + loopBack + " f4");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.reg(Cpu.EBX)).as("the old code, then the new").isEqualTo(1 + 2);
  }
}
