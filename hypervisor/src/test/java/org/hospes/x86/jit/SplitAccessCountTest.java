package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/**
 * The TLB misses and page-walk references of an access that straddles a 4 KiB page boundary.
 * Both are guest-facing (studies report them, walk references are charged to virtual time), so
 * a split access must count what a real TLB would: each of its two pages on its own, a page
 * whose translation is cached for the access (the read TLB for a load, the write TLB for a
 * store: filled only by a write walk, so the dirty bit is set) counts nothing, an uncached one
 * one miss and one walk (two references with 2-level paging). A page cached for reading only
 * is uncached for a store (the model's read entries carry no dirty bit nor write permission).
 *
 * <p>Each case flushes the TLB, runs a priming block that caches the pages the case says with
 * in-page accesses of the needed kind (same code page, same CPL), then the instruction under
 * test (after a NOP, so that it is a translation under jit and lockstep) and counts the
 * instruction's own misses and references. Every case runs three times on one processor, the
 * third run translated (threshold 2), under interp, jit and lockstep, at CPL 0 and 3, with the
 * PTEs' dirty bits clear and set beforehand.
 */
class SplitAccessCountTest {
  private static final int RAM = 1 << 22;
  private static final int PD = 0x10000;
  private static final int PT = 0x11000;
  /** The instruction under test (after a NOP) and the priming block share a code page. */
  private static final int CODE = 0x4000;
  private static final int PRIME = 0x4800;
  /** The low page; the high page follows it. */
  private static final int LOW = 0x300000;
  private static final int HIGH = LOW + 0x1000;
  private static final int RUNS = 3;
  /** References of one walk with 2-level paging: the PDE and the PTE. */
  private static final int WALK = 2;
  private static final int DIRTY = 0x40;

  /** The access under test: its code, its width, whether it writes, and its first byte. */
  enum Access {
    LOAD32("8b03", 4, false, 0xFFE), LOAD16("668b03", 2, false, 0xFFF),
    STORE32("8903", 4, true, 0xFFD), STORE16("668903", 2, true, 0xFFF),
    PUSH32("50", 4, true, 0xFFE);

    final String hex;
    final int bytes;
    final boolean write;
    final int offset;

    Access(String hex, int bytes, boolean write, int offset) {
      this.hex = hex;
      this.bytes = bytes;
      this.write = write;
      this.offset = offset;
    }

    int lin() {
      return LOW + offset;
    }
  }

  /** Which pages the priming block caches, and how (reads fill the read TLB only). */
  enum Primed {
    NEITHER(false, false, false), LOW(true, false, false), HIGH(false, true, false),
    BOTH(true, true, false), BOTH_READ_ONLY(true, true, true);

    final boolean low;
    final boolean high;
    final boolean byReads;

    Primed(boolean low, boolean high, boolean byReads) {
      this.low = low;
      this.high = high;
      this.byReads = byReads;
    }
  }

  record Count(long misses, long walkReferences) {}

  /**
   * One walk per page not cached for the access: a load's pages are primed by loads, a
   * store's by stores but for {@link Primed#BOTH_READ_ONLY}.
   */
  static Count expected(Access a, Primed p) {
    boolean usable = !a.write || !p.byReads;
    int uncached = (p.low && usable ? 0 : 1) + (p.high && usable ? 0 : 1);
    return new Count(uncached, (long) uncached * WALK);
  }

  @Test
  void aSplitAccessCountsOneMissAndOneWalkPerUncachedPageUnderEveryEngine() {
    List<String> wrong = new ArrayList<>();
    int cases = 0;
    for (Access a : Access.values()) {
      for (Primed p : Primed.values()) {
        if (p.byReads && !a.write) {
          continue; // the same as BOTH for a load
        }
        for (int cpl : new int[] {0, 3}) {
          for (boolean dirty : new boolean[] {false, true}) {
            for (Engine engine : Engine.values()) {
              cases++;
              Count want = expected(a, p);
              Cpu cpu = machine(engine, a, p, cpl);
              for (int run = 1; run <= RUNS; run++) {
                Count got = runOnce(cpu, a, p, dirty);
                if (!got.equals(want)) {
                  wrong.add(String.format("%s primed %s cpl %d dirty %s %s run %d: %d misses"
                      + " %d walk references, want %d and %d", a, p, cpl, dirty, engine, run,
                      got.misses, got.walkReferences, want.misses, want.walkReferences));
                }
              }
              if (engine != Engine.INTERP) {
                assertThat(cpu.jit().translations()).as("%s %s translated", a, engine)
                    .isPositive();
              }
            }
          }
        }
      }
    }
    assertThat(wrong).as("%d cases, each run %d times", cases, RUNS).isEmpty();
  }

  /**
   * A page cached for reads only is not cached for a store: with the high page read-only
   * (CR0.WP) and both pages in the read TLB, a split store and a PUSH must still walk both
   * pages before writing, fault on the high one (CR2 its base, error code P|W, and U at CPL 3)
   * and leave the low page's bytes as they were; each page counts its own miss and walk.
   */
  @Test
  void aPageCachedForReadsOnlyIsWalkedBeforeASplitStoreWritesAnything() {
    for (Access a : new Access[] {Access.STORE32, Access.PUSH32}) {
      for (int cpl : new int[] {0, 3}) {
        for (Engine engine : Engine.values()) {
          Cpu cpu = machine(engine, a, Primed.BOTH_READ_ONLY, cpl);
          for (int run = 1; run <= RUNS; run++) {
            String at = String.format("%s cpl %d %s run %d", a, cpl, engine, run);
            MemoryBus mem = cpu.memory();
            mem.write32(PT + 4L * (LOW >>> 12), LOW | 7);
            mem.write32(PT + 4L * (HIGH >>> 12), HIGH | 5);
            for (int k = -8; k < 8; k++) {
              mem.write8(HIGH + k, 0x5A);
            }
            cpu.invalidateTranslations();
            cpu.setReg(Cpu.EBX, a.lin());
            cpu.setReg(Cpu.ESP, a.lin() + 4);
            cpu.setEip(PRIME);
            assertThat(stopped(cpu, cpu.run(100))).as("priming block, %s", at).isTrue();
            cpu.setReg(Cpu.EAX, 0x8877_6655);
            cpu.setReg(Cpu.ESP, a.lin() + 4);
            long misses = cpu.tlbMisses();
            long walks = cpu.pageWalkReferences();
            cpu.setEip(CODE);
            assertThat(cpu.run(100)).as(at).isEqualTo(CpuExit.EXCEPTION);
            assertThat(cpu.exceptionVector()).as(at).isEqualTo(14);
            assertThat(cpu.exceptionErrorCode()).as(at).isEqualTo(3 | (cpl == 3 ? 4 : 0));
            assertThat(cpu.faultAddress()).as("CR2, %s", at).isEqualTo(HIGH);
            for (int k = -8; k < 0; k++) {
              assertThat(mem.read8(HIGH + k) & 0xFF).as("low page byte %d, %s", k, at)
                  .isEqualTo(0x5A);
            }
            assertThat(cpu.tlbMisses() - misses).as("misses, %s", at).isEqualTo(2);
            assertThat(cpu.pageWalkReferences() - walks).as("walk references, %s", at)
                .isEqualTo(2 * WALK);
          }
        }
      }
    }
  }

  /**
   * Flushes the TLB, sets the PTEs and the operands, primes, then runs the instruction: its
   * misses and walk references (checking it completed and left the bytes it should).
   */
  private static Count runOnce(Cpu cpu, Access a, Primed p, boolean dirty) {
    MemoryBus mem = cpu.memory();
    for (int page = LOW >>> 12; page <= HIGH >>> 12; page++) {
      mem.write32(PT + 4L * page, page << 12 | 7 | (dirty ? DIRTY : 0));
    }
    for (int k = -8; k < 8; k++) {
      mem.write8(HIGH + k, 0x5A);
    }
    cpu.invalidateTranslations();
    cpu.setReg(Cpu.EAX, 0x8877_6655);
    cpu.setReg(Cpu.EBX, a.lin());
    cpu.setReg(Cpu.ESP, a.lin() + 4);
    cpu.setEip(PRIME);
    assertThat(stopped(cpu, cpu.run(100))).as("priming block").isTrue();
    cpu.setReg(Cpu.EAX, 0x8877_6655);
    long misses = cpu.tlbMisses();
    long walks = cpu.pageWalkReferences();
    cpu.setEip(CODE);
    assertThat(stopped(cpu, cpu.run(100))).as("%s", a).isTrue();
    Count got = new Count(cpu.tlbMisses() - misses, cpu.pageWalkReferences() - walks);
    int value = 0;
    for (int k = 0; k < a.bytes; k++) {
      value |= (mem.read8(a.lin() + k) & 0xFF) << (8 * k);
    }
    int low = a.bytes == 4 ? 0x8877_6655 : 0x6655;
    if (a.write) {
      assertThat(value).as("%s stored", a).isEqualTo(low);
      for (int page = LOW >>> 12; page <= HIGH >>> 12; page++) {
        assertThat(mem.read32(PT + 4L * page) & DIRTY).as("%s: dirty bit", a).isNotZero();
      }
    } else {
      assertThat(cpu.reg(Cpu.EAX) & (a.bytes == 4 ? -1 : 0xFFFF)).as("%s loaded", a)
          .isEqualTo(value);
    }
    return got;
  }

  /** HLT at CPL 0; at CPL 3 it raises #GP, which leaves the run (the exit mask). */
  private static boolean stopped(Cpu cpu, int exit) {
    return exit == CpuExit.HLT || exit == CpuExit.EXCEPTION && cpu.exceptionVector() == 13;
  }

  /**
   * A processor under {@code engine} with 2-level identity paging (user, writable), the NOP,
   * the instruction and HLT at {@link #CODE}, and the priming block at {@link #PRIME}: an
   * in-page access (EDX, so EAX stays the value to store) at the middle of each page the case
   * caches.
   */
  private static Cpu machine(Engine engine, Access a, Primed p, int cpl) {
    MemoryBus mem = new MemoryBus(RAM);
    for (int i = 0; i < RAM >>> 12; i++) {
      mem.write32(PT + 4L * i, (i << 12) | 7);
    }
    mem.write32(PD, PT | 7);
    byte[] code = HexFormat.of().parseHex("90" + a.hex + "f4");
    mem.write(CODE, code, 0, code.length);
    byte[] prime = prime(a, p);
    mem.write(PRIME, prime, 0, prime.length);
    Cpu cpu = TranslatorTest.cpu(engine, mem);
    cpu.resetFlat32();
    cpu.loadControlRegisters(Cpu.CR0_PE | Cpu.CR0_PG | Cpu.CR0_WP, PD, 0);
    if (cpl == 3) {
      for (int s = 0; s < 6; s++) {
        int sel = s == Cpu.CS ? 0x1B : 0x23;
        cpu.loadSegmentState(s, sel, 0, -1, cpu.segmentAttributes(s) | (3 << 5));
      }
      cpu.loadCpl(3);
    }
    cpu.setExceptionExitMask(-1);
    return cpu;
  }

  /** The priming block: mov edx,[page+0x800] (loads) or mov [page+0x800],edx; hlt. */
  static byte[] prime(Access a, Primed p) {
    StringBuilder hex = new StringBuilder();
    String op = !a.write || p.byReads ? "8b15" : "8915";
    if (p.low) {
      hex.append(op).append(le(LOW + 0x800));
    }
    if (p.high) {
      hex.append(op).append(le(HIGH + 0x800));
    }
    return HexFormat.of().parseHex(hex.append("f4").toString());
  }

  private static String le(int v) {
    return String.format("%02x%02x%02x%02x", v & 0xFF, (v >>> 8) & 0xFF, (v >>> 16) & 0xFF,
        v >>> 24);
  }
}
