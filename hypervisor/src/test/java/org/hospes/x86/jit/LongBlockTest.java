package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.x86.jit.TranslatorTest.MISSING;
import static org.hospes.x86.jit.TranslatorTest.PAGING_ON;
import static org.hospes.x86.jit.TranslatorTest.assertSameState;
import static org.hospes.x86.jit.TranslatorTest.bytes;
import static org.hospes.x86.jit.TranslatorTest.load;
import static org.hospes.x86.jit.TranslatorTest.pagedLoop;

import java.io.ByteArrayOutputStream;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.junit.jupiter.api.Test;

/**
 * Blocks longer than one translation covers ({@link Translator#MAX_INSNS}): the block's own
 * translation covers its first instructions, and the rest is translated in further pieces, each
 * once it has run often enough after the one before it. Every piece must leave the processor as
 * the interpreter does: at every budget, at a fault in a later piece, and at a store into the
 * block's own page.
 */
class LongBlockTest {
  private static final int CODE = 0x1000;
  private static final int DATA = 0x8000;
  /** Instructions of LONG's loop body: 3 per step, 50 steps, then DEC and JNZ. */
  private static final int BODY = 3 * 50 + 2;

  /**
   * 200 iterations of one 152-instruction block: per step an ADD of an immediate, an XOR of EBX
   * into EDX and a store of EAX to [ESI + 4 * step]. Covered by four translations of 40, 40, 40
   * and 32 instructions.
   */
  private static byte[] longLoop(int iterations) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(bytes(0xB9, iterations, iterations >> 8, 0, 0)); // mov ecx, iterations
    out.writeBytes(bytes(0xBE, DATA, DATA >> 8, 0, 0));             // mov esi, DATA
    out.writeBytes(bytes(0xBB, 0xB9, 0x79, 0x37, 0x9E));           // mov ebx, 0x9E3779B9
    int top = out.size();
    steps(out);
    loopTo(out, top);
    return out.toByteArray();
  }

  /** The loop's 50 steps: ADD EAX, XOR EDX, EBX and the store of EAX to [ESI + 4 * step]. */
  private static void steps(ByteArrayOutputStream out) {
    for (int k = 0; k < 50; k++) {
      out.writeBytes(bytes(0x83, 0xC0, 2 * k + 1));                 // add eax, 2k + 1
      out.writeBytes(bytes(0x31, 0xDA));                            // xor edx, ebx
      out.writeBytes(bytes(0x89, 0x86, 4 * k, 0, 0, 0));            // mov [esi + 4k], eax
    }
  }

  /** DEC ECX and JNZ back to {@code top}, then HLT. */
  private static void loopTo(ByteArrayOutputStream out, int top) {
    out.writeBytes(bytes(0x49));                                    // dec ecx
    int rel = top - (out.size() + 6);
    out.writeBytes(bytes(0x0F, 0x85, rel, rel >> 8, rel >> 16, rel >> 24)); // jnz top
    out.writeBytes(bytes(0xF4));                                    // hlt
  }

  @Test
  void aLongBlockIsTranslatedWholeInFourPiecesAndEndsAsInterpreted() {
    byte[] code = longLoop(200);
    Cpu interp = load(Engine.INTERP, code);
    Cpu jit = load(Engine.JIT, code);
    Cpu lockstep = load(Engine.LOCKSTEP, code);
    for (Cpu c : new Cpu[] {interp, jit, lockstep}) {
      assertThat(c.run(1_000_000)).isEqualTo(CpuExit.HLT);
    }
    assertThat(interp.instructions()).isEqualTo(3 + 200L * BODY + 1);
    for (Cpu c : new Cpu[] {jit, lockstep}) {
      assertSameState(c, interp, "at HLT");
      assertSameWords(c, interp, DATA);
      // The loop's block whole, in four pieces, and nothing else (the set-up runs once).
      assertThat(c.jit().translations()).isEqualTo(4);
      assertThat(c.jit().translatedInstructions()).isEqualTo(BODY);
    }
    assertThat(lockstep.jit().lockstep().unchecked()).isZero();
    // Each piece compared on every run it made: more checks than the loop's iterations.
    assertThat(lockstep.jit().lockstep().checked()).isGreaterThan(3 * 190);
  }

  /**
   * Budgets of many sizes: the interpreter decides at a block's start how far it runs, so a
   * later piece runs only when the budget covered it then, and the run stops where the
   * interpreter's does (some budgets end a run in the middle of the block, and the next run
   * starts a block there, which becomes hot and is translated in pieces too).
   */
  @Test
  void aLongBlockStopsWhereTheInterpreterDoesAtEveryBudget() {
    byte[] code = longLoop(200);
    Cpu interp = load(Engine.INTERP, code);
    Cpu jit = load(Engine.JIT, code);
    Cpu lockstep = load(Engine.LOCKSTEP, code);
    int exit = -1;
    for (int step = 0; exit != CpuExit.HLT; step++) {
      int budget = 1 + (int) ((step * 7919L) % 331);
      exit = interp.run(budget);
      for (Cpu c : new Cpu[] {jit, lockstep}) {
        assertThat(c.run(budget)).as("step %d", step).isEqualTo(exit);
        assertSameState(c, interp, "step " + step);
      }
    }
    assertSameWords(jit, interp, DATA);
    assertSameWords(lockstep, interp, DATA);
    assertThat(jit.jit().translations()).isGreaterThan(4);
    assertThat(lockstep.jit().lockstep().unchecked()).isZero();
    assertThat(lockstep.jit().lockstep().checked()).isGreaterThan(100);
  }

  private static void assertSameWords(Cpu c, Cpu interp, int at) {
    for (int k = 0; k < 50; k++) {
      assertThat(c.memory().read32(at + 4L * k)).as("word %d at 0x%x", k, at)
          .isEqualTo(interp.memory().read32(at + 4L * k));
    }
  }

  /**
   * The long loop with paging on, its stores walking toward the page that is not present: the
   * store that faults is step 43's (instruction 131 of 153, in the block's fourth translation),
   * in iteration 9 of the loop (ESI advances by 4 KiB per iteration), after all four pieces have
   * been translated.
   */
  private static byte[] pagedLongLoop() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(PAGING_ON);
    int esi = MISSING - 8 * 0x1000 - 0xAC;
    out.writeBytes(bytes(0xBE, esi, esi >> 8, esi >> 16, esi >> 24)); // mov esi, ...
    out.writeBytes(bytes(0xB9, 100, 0, 0, 0));           // mov ecx, 100
    out.writeBytes(bytes(0x31, 0xC0));                   // xor eax, eax
    int top = out.size();
    steps(out);
    out.writeBytes(bytes(0x81, 0xC6, 0x00, 0x10, 0, 0)); // add esi, 0x1000
    loopTo(out, top);
    return out.toByteArray();
  }

  @Test
  void aFaultInALaterTranslationOfTheBlockLeavesTheInterpretersState() {
    byte[] code = pagedLongLoop();
    Cpu interp = pagedLoop(Engine.INTERP, code);
    assertThat(interp.run(1_000_000)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(interp.exceptionVector()).isEqualTo(14);
    // Iteration 9's store of step 43, the first at or past MISSING.
    assertThat(interp.instructions()).isEqualTo(8 + 8L * (BODY + 1) + 131);
    assertThat(interp.faultAddress()).isEqualTo(MISSING);
    for (Engine e : new Engine[] {Engine.JIT, Engine.LOCKSTEP}) {
      Cpu c = pagedLoop(e, code);
      assertThat(c.run(1_000_000)).as("%s", e).isEqualTo(CpuExit.EXCEPTION);
      assertThat(c.exceptionVector()).isEqualTo(14);
      assertThat(c.faultAddress()).isEqualTo(MISSING);
      assertThat(c.exceptionErrorCode()).isEqualTo(interp.exceptionErrorCode());
      assertSameState(c, interp, e + " at the fault");
      assertThat(c.tlbMisses()).isEqualTo(interp.tlbMisses());
      assertThat(c.jit().translations()).as("%s", e).isEqualTo(4);
    }
  }

  /**
   * A store into the block's own page from its third translation (step 90's store goes to a
   * word of the code page after HLT): the block is dropped, and the processor stops after that
   * store as the interpreter does, then decodes the block again.
   */
  @Test
  void aStoreIntoTheBlocksOwnPageFromALaterTranslationStopsWhereTheInterpreterDoes() {
    byte[] code = longLoop(300);
    for (Engine e : new Engine[] {Engine.JIT, Engine.LOCKSTEP}) {
      Cpu interp = load(Engine.INTERP, code);
      Cpu c = load(e, code);
      // ESI points at the code page for iterations 100 to 109 only.
      int step = 0;
      int exit = -1;
      while (exit != CpuExit.HLT) {
        int budget = 1 + (int) ((step * 104_729L) % 977);
        if (interp.instructions() >= 3 + 100L * BODY && interp.instructions() < 3 + 110L * BODY) {
          interp.setReg(Cpu.ESI, CODE + 0xE00);
          c.setReg(Cpu.ESI, CODE + 0xE00);
        } else if (interp.reg(Cpu.ESI) != DATA) {
          interp.setReg(Cpu.ESI, DATA);
          c.setReg(Cpu.ESI, DATA);
        }
        exit = interp.run(budget);
        assertThat(c.run(budget)).as("%s step %d", e, step).isEqualTo(exit);
        assertSameState(c, interp, e + " step " + step);
        step++;
      }
      assertSameWords(c, interp, CODE + 0xE00);
    }
  }
}
