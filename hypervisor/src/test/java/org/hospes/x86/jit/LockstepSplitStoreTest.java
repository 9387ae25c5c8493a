package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/**
 * Lockstep compares blocks whose translated stores cross a page: a 32-bit store at page
 * offsets 0xFFD-0xFFF and a PUSH whose four bytes straddle a page boundary are journaled frame
 * by frame (their blocks are counted checked, not unchecked), a wrong byte in either half of
 * such a store is caught, and the journaling adds no TLB miss or page-walk reference: the
 * lockstep machine's counters, registers and memory stay those of an interpreter-only machine
 * running the same guest. The stores go to frames no one wrote before (each run takes fresh
 * pages, which a split load has just read through the shared zero frame), so the journal sees
 * frames backed by the store itself; undo must restore the zeros the guest saw there. A split
 * store whose high page holds decoded code stays unjournaled (undo could not put back the
 * blocks it drops) and its block unchecked.
 *
 * <p>The block under test is {@code nop; mov edx,[ebx]; mov [ebx],eax; push eax; hlt}, at CPL 0
 * with 2-level identity paging, run {@link #RUNS} times per machine with a JIT threshold of 2:
 * the first two runs are interpreted, the later ones translated (under lockstep: run translated,
 * undone, rerun interpreted and compared).
 */
class LockstepSplitStoreTest {
  private static final int RAM = 1 << 22;
  private static final int PD = 0x10000;
  private static final int PT = 0x11000;
  /** The block: its page holds decoded code (low offset, so a store below stays off it). */
  private static final int CODE = 0x4100;
  private static final String BLOCK = "90" + "8b13" + "8903" + "50" + "f4";
  /** Each run's two fresh page pairs: the store's at {@link #base}, the stack's 0x2000 above. */
  private static final int FRESH = 0x200000;
  private static final int RUNS = 8;
  /** Runs before the block is translated (threshold 2: the second run translates it). */
  private static final int INTERPRETED = 2;

  /** The pages run {@code run} stores to: the store's low page; the stack's is 0x2000 above. */
  private static int base(int run) {
    return FRESH + run * 0x4000;
  }

  /** The store's first byte: 0xFFD, 0xFFE, 0xFFF of its low page in turn. */
  private static int storeAt(int run) {
    return base(run) + 0xFFD + run % 3;
  }

  /** ESP before the PUSH: it writes ESP - 4 .. ESP - 1, across the stack pages' boundary. */
  private static int stackTop(int run) {
    return base(run) + 0x3000 + 1 + run % 3;
  }

  @Test
  void splitStoresAndPushesAreComparedWithTheInterpretersCounters() {
    Cpu lock = machine(Engine.LOCKSTEP, CODE);
    Cpu ref = machine(Engine.INTERP, CODE);
    Lockstep ls = lock.jit().lockstep();
    for (int run = 0; run < RUNS; run++) {
      String at = "run " + (run + 1);
      for (int p = 0; p < 4; p++) {
        assertThat(lock.memory().isBacked((base(run) >>> 12) + p))
            .as("%s: page %d untouched before", at, p).isFalse();
      }
      long checked = ls.checked();
      long unchecked = ls.unchecked();
      int exitLock = runOnce(lock, run);
      int exitRef = runOnce(ref, run);
      assertThat(exitLock).as(at).isEqualTo(CpuExit.HLT).isEqualTo(exitRef);
      assertThat(ls.unchecked()).as("unchecked, %s", at).isEqualTo(unchecked);
      assertThat(ls.checked() - checked).as("checked, %s", at)
          .isEqualTo(run < INTERPRETED ? 0 : 1);
      assertSameMachine(lock, ref, at);
      assertThat(lock.memory().read32(storeAt(run))).as("stored, %s", at).isEqualTo(value(run));
      assertThat(lock.memory().read32(stackTop(run) - 4)).as("pushed, %s", at)
          .isEqualTo(value(run));
      assertThat(lock.reg(Cpu.EDX)).as("loaded through the zero frame, %s", at).isZero();
    }
    assertThat(ls.checked()).isEqualTo(RUNS - INTERPRETED);
    assertThat(ls.unchecked()).isZero();
    // Nothing wrote the shared zero frame: a frame no one touched still reads as zeros.
    long untouched = base(RUNS);
    assertThat(lock.memory().isBacked(untouched >>> 12)).isFalse();
    for (int k = 0; k < MemoryBus.FRAME_SIZE; k += 4) {
      assertThat(lock.memory().read32(untouched + k)).as("zero frame +0x%x", k).isZero();
    }
  }

  /** A wrong byte in the split store's low or high page, or in the PUSH's, is caught. */
  @Test
  void aWrongByteInEitherHalfOfASplitStoreOrPushIsCaught() {
    final int run = INTERPRETED;
    int store = storeAt(run);
    int stack = stackTop(run) - 4;
    int[] planted = {store, (store | 0xFFF) + 1, stack, (stack | 0xFFF) + 1};
    for (int pa : planted) {
      Cpu lock = machine(Engine.LOCKSTEP, CODE);
      for (int r = 0; r < INTERPRETED; r++) {
        assertThat(runOnce(lock, r)).isEqualTo(CpuExit.HLT);
      }
      lock.jit().lockstep().plantWrongStore(pa);
      int first = pa - store < 4 ? store : stack;
      int want = value(run) >>> (8 * (pa - first)) & 0xFF;
      assertThatThrownBy(() -> runOnce(lock, run)).as("planted at 0x%x", pa)
          .isInstanceOf(LockstepMismatch.class)
          .hasMessageContaining(String.format("byte at physical 0x%x: interpreter 0x%02x, jit"
              + " 0x%02x;", pa, want, want ^ 0x5A));
    }
  }

  /**
   * A split store whose high page holds the block's own decoded code cannot be undone (the
   * write drops the page's blocks): its runs stay unchecked, and end as the interpreter's.
   */
  @Test
  void aSplitStoreIntoAPageHoldingCodeStaysUnchecked() {
    int storeAt = (CODE & ~0xFFF) - 2; // the low page's last two bytes, the code page's first two
    Cpu lock = machine(Engine.LOCKSTEP, CODE);
    Cpu ref = machine(Engine.INTERP, CODE);
    Lockstep ls = lock.jit().lockstep();
    for (int run = 0; run < RUNS; run++) {
      for (Cpu cpu : new Cpu[] {lock, ref}) {
        setUp(cpu, run);
        // The same value every run: after the first, the store leaves the code page's bytes
        // as they are, so the block's translation is not dropped.
        cpu.setReg(Cpu.EAX, value(0));
        cpu.setReg(Cpu.EBX, storeAt);
        cpu.setEip(CODE);
        assertThat(cpu.run(100)).isEqualTo(CpuExit.HLT);
      }
      assertSameMachine(lock, ref, "run " + (run + 1));
    }
    assertThat(ls.checked()).isZero();
    assertThat(ls.unchecked()).isGreaterThanOrEqualTo(RUNS - INTERPRETED - 1);
  }

  private static int value(int run) {
    return 0x4433_2211 + run * 0x0101_0101;
  }

  private static void setUp(Cpu cpu, int run) {
    cpu.setReg(Cpu.EAX, value(run));
    cpu.setReg(Cpu.EBX, storeAt(run));
    cpu.setReg(Cpu.EDX, -1);
    cpu.setReg(Cpu.ESP, stackTop(run));
  }

  private static int runOnce(Cpu cpu, int run) {
    setUp(cpu, run);
    cpu.setEip(CODE);
    return cpu.run(100);
  }

  /** Registers, EIP, EFLAGS, instructions, TLB misses, walk references and the run's pages. */
  private static void assertSameMachine(Cpu lock, Cpu ref, String at) {
    for (int r = 0; r < 8; r++) {
      assertThat(lock.reg(r)).as("register %d, %s", r, at).isEqualTo(ref.reg(r));
    }
    assertThat(lock.eip()).as("EIP, %s", at).isEqualTo(ref.eip());
    assertThat(lock.eflags()).as("EFLAGS, %s", at).isEqualTo(ref.eflags());
    assertThat(lock.instructions()).as("instructions, %s", at).isEqualTo(ref.instructions());
    assertThat(lock.tlbMisses()).as("TLB misses, %s", at).isEqualTo(ref.tlbMisses());
    assertThat(lock.pageWalkReferences()).as("walk references, %s", at)
        .isEqualTo(ref.pageWalkReferences());
    byte[] a = new byte[RUNS * 0x4000 + 0x1000];
    byte[] b = new byte[a.length];
    lock.memory().read(FRESH, a, 0, a.length);
    ref.memory().read(FRESH, b, 0, b.length);
    assertThat(a).as("the fresh pages, %s", at).isEqualTo(b);
    a = new byte[0x2000];
    b = new byte[0x2000];
    lock.memory().read((CODE & ~0xFFF) - 0x1000, a, 0, a.length);
    ref.memory().read((CODE & ~0xFFF) - 0x1000, b, 0, b.length);
    assertThat(a).as("the code page and the one below, %s", at).isEqualTo(b);
  }

  /** A CPL-0 processor under {@code engine}, 2-level identity paging, the block at {@code code}. */
  private static Cpu machine(Engine engine, int code) {
    MemoryBus mem = new MemoryBus(RAM);
    for (int i = 0; i < RAM >>> 12; i++) {
      mem.write32(PT + 4L * i, (i << 12) | 7);
    }
    mem.write32(PD, PT | 7);
    byte[] bytes = HexFormat.of().parseHex(BLOCK);
    mem.write(code, bytes, 0, bytes.length);
    Cpu cpu = TranslatorTest.cpu(engine, mem);
    cpu.resetFlat32();
    cpu.loadControlRegisters(Cpu.CR0_PE | Cpu.CR0_PG | Cpu.CR0_WP, PD, 0);
    cpu.setExceptionExitMask(-1);
    return cpu;
  }
}
