package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * REP STOS and REP MOVS store or copy the part of each page that their cached translations
 * cover at once (Cpu.storeRun, Cpu.copyRun). Each case runs the REP instruction and the same
 * elements one at a time (a {@code stos; dec ecx; jnz} loop) on identical machines with paging
 * on, and the two must agree on everything the guest and the statistics see: memory,
 * registers, the fault and its CR2, TLB misses and page-walk references.
 */
class RepStringTest {
  private static final int AREA = 0x100000;
  private static final int AREA_BYTES = 0x5000;

  /** The end state a case is compared on. */
  private record Outcome(int exit, int vector, int cr2, int ecx, int esi, int edi,
      long tlbMisses, long walkRefs, byte[] area) {}

  /**
   * Runs at ring 0 with paging on: EDI, ESI, ECX and EAX set, then {@code body} (the REP
   * instruction, or its loop), then HLT. {@code absent} is a page of the area left not present.
   */
  private static Outcome run(String body, int edi, int esi, int ecx, int eax, int absent,
      java.util.function.Consumer<MemoryBus> fill) {
    SystemFixture m = new SystemFixture();
    if (absent >= 0) {
      m.mem.write32(SystemFixture.PT + 4L * (absent >>> 12), 0);
    }
    fill.accept(m.mem);
    m.code(SystemFixture.RING0, "bf" + SystemFixture.le(edi) + " be" + SystemFixture.le(esi)
        + " b9" + SystemFixture.le(ecx) + " b8" + SystemFixture.le(eax) + body + " f4");
    int exit = m.cpu.run(100_000);
    byte[] area = new byte[AREA_BYTES];
    m.mem.read(AREA, area, 0, AREA_BYTES);
    return new Outcome(exit, exit == CpuExit.EXCEPTION ? m.cpu.exceptionVector() : -1,
        m.cpu.faultAddress(), m.cpu.reg(Cpu.ECX), m.cpu.reg(Cpu.ESI), m.cpu.reg(Cpu.EDI),
        m.cpu.tlbMisses(), m.cpu.walkRefs, area);
  }

  private static void pattern(MemoryBus mem) {
    for (int i = 0; i < AREA_BYTES; i++) {
      mem.write8(AREA + i, (i * 7 + 3) & 0xFF);
    }
  }

  /** The REP form and the loop of single elements agree on every field. */
  private static Outcome same(String op, int edi, int esi, int ecx, int eax, int absent) {
    Outcome rep = run(" f3" + op, edi, esi, ecx, eax, absent, RepStringTest::pattern);
    // l: op ; dec ecx ; jnz l
    int back = -(op.replace(" ", "").length() / 2 + 3);
    Outcome loop = run(" " + op + " 49 75" + String.format("%02x", back & 0xFF), edi, esi, ecx,
        eax, absent, RepStringTest::pattern);
    assertThat(rep.area()).isEqualTo(loop.area());
    assertThat(rep).usingRecursiveComparison().ignoringFields("area").isEqualTo(loop);
    return rep;
  }

  @Test
  void stosdAcrossPagesFromAnUnalignedStartFaultsAtTheStraddlingElement() {
    // 4-byte elements from 0x100FFE: the one at 0x101FFE straddles into 0x102000, not present.
    Outcome o = same("ab", AREA + 0xFFE, 0, 3000, 0x11223344, AREA + 0x2000);
    assertThat(o.vector()).isEqualTo(Exceptions.PF);
    assertThat(o.cr2()).isEqualTo(AREA + 0x2000);
    assertThat(o.edi()).isEqualTo(AREA + 0x1FFE);
    assertThat(o.ecx()).isEqualTo(3000 - 1024);
    // What was stored before the fault is there, bytes in little-endian order.
    assertThat(o.area()[0xFFE]).isEqualTo((byte) 0x44);
    assertThat(o.area()[0x1FFD]).isEqualTo((byte) 0x11);
  }

  @Test
  void stoswAndStosbFillWholePages() {
    Outcome w = same("66ab", AREA + 1, 0, 0x1801, 0xBEEF, -1);
    assertThat(w.exit()).isEqualTo(CpuExit.HLT);
    assertThat(w.ecx()).isZero();
    assertThat(w.edi()).isEqualTo(AREA + 1 + 2 * 0x1801);
    Outcome b = same("aa", AREA + 0x10, 0, 0x3000, 0x5A, -1);
    assertThat(b.area()[0x10 + 0x2FFF]).isEqualTo((byte) 0x5A);
    assertThat(b.area()[0x10 + 0x3000]).isNotEqualTo((byte) 0x5A);
  }

  @Test
  void movsbWhoseDestinationRunsOneAheadPropagatesTheFirstByte() {
    // The classic fill by overlapping copy: each element reads what the one before wrote.
    Outcome o = same("a4", AREA + 0x801, AREA + 0x800, 0x2400, 0, -1);
    for (int i = 0x801; i < 0x801 + 0x2400; i++) {
      assertThat(o.area()[i]).isEqualTo(o.area()[0x800]);
    }
  }

  @Test
  void movsdBackwardOverlapAndDistinctPagesCopyAsElements() {
    same("a5", AREA + 0x0FFE, AREA + 0x1000, 0x900, 0, -1);
    same("a5", AREA + 0x3003, AREA + 0x0005, 0x500, 0, -1);
    same("66a5", AREA + 0x2FFF, AREA + 0x0003, 0x900, 0, -1);
  }

  @Test
  void movsFaultingOnItsSourceStopsAtThatElement() {
    Outcome o = same("a5", AREA, AREA + 0x3800, 0x800, 0, AREA + 0x4000);
    assertThat(o.vector()).isEqualTo(Exceptions.PF);
    assertThat(o.cr2()).isEqualTo(AREA + 0x4000);
    assertThat(o.esi()).isEqualTo(AREA + 0x4000);
    assertThat(o.ecx()).isEqualTo(0x800 - 0x200);
  }
}
