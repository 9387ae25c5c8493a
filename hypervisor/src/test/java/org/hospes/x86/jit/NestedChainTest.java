package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.x86.jit.TranslatorTest.MISSING;
import static org.hospes.x86.jit.TranslatorTest.PAGING_ON;
import static org.hospes.x86.jit.TranslatorTest.assertSameState;
import static org.hospes.x86.jit.TranslatorTest.bytes;
import static org.hospes.x86.jit.TranslatorTest.pagedLoop;

import java.io.ByteArrayOutputStream;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.junit.jupiter.api.Test;

/**
 * Translations of whole blocks run their successors' translations themselves, nested, where the
 * run loop's chain would run them ({@code Cpu.chainTarget}), up to
 * {@code Cpu.MAX_NESTED_CHAIN} deep. A loop of 40 small blocks (deeper than that) must end as
 * interpreted: at every budget, at a page fault in a block deep in a nested chain, with the same
 * TLB misses and cycles (the block the run loop goes on from decides which lookups probe the
 * code TLB, whose misses are charged to virtual time).
 */
class NestedChainTest {
  private static final int BLOCKS = 40;
  /** The block (0-based) whose load walks toward the page that is not present. */
  private static final int LOADING = 30;

  /**
   * Paging as TranslatorTest's FAULT_LOOP sets it up, then a loop of 40 blocks, each an ADD and
   * a JMP to the next; block 30 also loads [ESI], and the loop's tail moves ESI on by 64 bytes:
   * the load reaches MISSING in iteration 1,025 of the loop.
   */
  private static byte[] chainLoop() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(PAGING_ON);
    int esi = MISSING - 1024 * 64;
    out.writeBytes(bytes(0xBE, esi, esi >> 8, esi >> 16, esi >> 24)); // mov esi, ...
    out.writeBytes(bytes(0xB9, 0x10, 0x27, 0, 0));       // mov ecx, 10000
    out.writeBytes(bytes(0x31, 0xC0));                   // xor eax, eax
    int top = out.size();
    for (int k = 0; k < BLOCKS; k++) {
      out.writeBytes(bytes(0x83, 0xC0, k + 1));          // add eax, k + 1
      if (k == LOADING) {
        out.writeBytes(bytes(0x03, 0x16));               // add edx, [esi]
      }
      out.writeBytes(bytes(0xEB, 0x00));                 // jmp to the next block
    }
    out.writeBytes(bytes(0x83, 0xC6, 0x40));             // add esi, 64
    out.writeBytes(bytes(0x49));                         // dec ecx
    int rel = top - (out.size() + 6);
    out.writeBytes(bytes(0x0F, 0x85, rel, rel >> 8, rel >> 16, rel >> 24)); // jnz top
    out.writeBytes(bytes(0xF4));                         // hlt
    return out.toByteArray();
  }

  private static final int GDT = 0x30000;
  private static final int IDTR = 0x30100;
  private static final int IDT = 0x31000;
  private static final int HANDLER = 0x32000;

  /**
   * The chain loop (3,000 iterations) with the page faults delivered through the IDT to a
   * handler that moves ESI back by 8 KiB and returns to the faulting load, which then runs: a
   * fault every 128 iterations from iteration 1,025, each in block 30, deep in a nested chain,
   * and the loop goes on to HLT.
   */
  private static Cpu handledFaults(Engine engine, boolean nest) {
    byte[] loop = chainLoop();
    // 3,000 iterations instead of 10,000 (the loop's MOV ECX after the paging prefix and ESI).
    int ecx = PAGING_ON.length + 5;
    assertThat(loop[ecx] & 0xFF).isEqualTo(0xB9);
    loop[ecx + 1] = (byte) 0xB8;
    loop[ecx + 2] = 0x0B;
    byte[] code = new byte[7 + loop.length];
    System.arraycopy(bytes(0x0F, 0x01, 0x1D, IDTR, IDTR >> 8, IDTR >> 16, 0), 0, code, 0, 7);
    System.arraycopy(loop, 0, code, 7, loop.length); // lidt [IDTR], then the loop
    Cpu c = engine == Engine.JIT ? jit(code, nest) : pagedLoop(engine, code);
    org.hospes.x86.MemoryBus mem = c.memory();
    int[] gdt = {0, 0, 0xFFFF, 0x00CF9A00, 0xFFFF, 0x00CF9200};
    for (int i = 0; i < gdt.length; i++) {
      mem.write32(GDT + 4L * i, gdt[i]);
    }
    c.setGdtr(GDT, gdt.length * 4 - 1);
    mem.write32(IDTR, (IDT << 16) | 0x7FF);
    mem.write32(IDTR + 4, IDT >>> 16);
    mem.write32(IDT + 8L * 14, (0x08 << 16) | (HANDLER & 0xFFFF));
    mem.write32(IDT + 8L * 14 + 4, (HANDLER & 0xFFFF_0000) | 0x8E00);
    byte[] handler = bytes(
        0x83, 0xC4, 0x04,                   // add esp, 4 (the error code)
        0x81, 0xEE, 0x00, 0x20, 0x00, 0x00, // sub esi, 0x2000
        0xCF);                              // iret
    mem.write(HANDLER, handler, 0, handler.length);
    c.setExceptionExitMask(0);
    return c;
  }

  @Test
  void faultsDeliveredFromDeepInNestedChainsGoOnAsInterpreted() {
    Cpu interp = handledFaults(Engine.INTERP, false);
    Cpu jit = handledFaults(Engine.JIT, true);
    Cpu flat = handledFaults(Engine.JIT, false);
    for (Cpu c : new Cpu[] {interp, jit, flat}) {
      assertThat(c.run(10_000_000)).isEqualTo(CpuExit.HLT);
    }
    // 1 + 8 set-up instructions, 3,000 iterations of 84 (a faulting load retires once, when it
    // runs again), the handler's 3 per fault (16 faults: iteration 1,025 and every 128th after
    // it) and HLT.
    assertThat(interp.instructions()).isEqualTo(9 + 3000L * (2 * BLOCKS + 1 + 3) + 16 * 3 + 1);
    for (Cpu c : new Cpu[] {jit, flat}) {
      assertSameState(c, interp, "at HLT");
      assertThat(c.tlbMisses()).isEqualTo(interp.tlbMisses());
      assertThat(c.blockLookups()).isEqualTo(interp.blockLookups());
    }
    assertThat(jit.jit().chainedEntries()).isEqualTo(flat.jit().chainedEntries());
  }

  /** {@code code} under the jit engine, with translations nesting their successors or not. */
  private static Cpu jit(byte[] code, boolean nest) {
    String saved = System.getProperty(Jit.NEST_PROPERTY);
    System.setProperty(Jit.NEST_PROPERTY, Boolean.toString(nest));
    try {
      return pagedLoop(Engine.JIT, code);
    } finally {
      if (saved == null) {
        System.clearProperty(Jit.NEST_PROPERTY);
      } else {
        System.setProperty(Jit.NEST_PROPERTY, saved);
      }
    }
  }

  @Test
  void aFaultDeepInANestedChainLeavesTheInterpretersStateAndCounts() {
    byte[] code = chainLoop();
    Cpu interp = pagedLoop(Engine.INTERP, code);
    Cpu jit = jit(code, true);
    Cpu flat = jit(code, false);
    assertThat(interp.run(10_000_000)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(jit.run(10_000_000)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(interp.exceptionVector()).isEqualTo(14);
    assertThat(interp.faultAddress()).isEqualTo(MISSING);
    // 8 set-up instructions, 1,024 iterations of 84, then block 30's ADD and load of the next.
    assertThat(interp.instructions()).isEqualTo(8 + 1024L * (2 * BLOCKS + 1 + 3) + 2 * LOADING + 1);
    assertSameState(jit, interp, "at the fault");
    assertThat(jit.faultAddress()).isEqualTo(MISSING);
    assertThat(jit.tlbMisses()).isEqualTo(interp.tlbMisses());
    assertThat(jit.pageWalkReferences()).isEqualTo(interp.pageWalkReferences());
    // Every block of the loop translated, and most transitions chained: the same ones as
    // when the run loop's chain runs every translation itself.
    assertThat(jit.jit().translations()).isGreaterThanOrEqualTo(BLOCKS);
    assertThat(jit.jit().chainedEntries()).isGreaterThan(900L * BLOCKS);
    assertThat(flat.run(10_000_000)).isEqualTo(CpuExit.EXCEPTION);
    assertSameState(flat, interp, "at the fault, not nested");
    assertThat(jit.jit().chainedEntries()).isEqualTo(flat.jit().chainedEntries());
    assertThat(jit.jit().translations()).isEqualTo(flat.jit().translations());
    assertThat(jit.blockLookups()).isEqualTo(flat.blockLookups())
        .isEqualTo(interp.blockLookups());
  }

  @Test
  void aNestedChainStopsWhereTheInterpreterDoesAtEveryBudget() {
    byte[] code = chainLoop();
    Cpu interp = pagedLoop(Engine.INTERP, code);
    Cpu jit = jit(code, true);
    Cpu flat = jit(code, false);
    int exit = -1;
    for (int step = 0; exit != CpuExit.EXCEPTION; step++) {
      int budget = 1 + (int) ((step * 7919L) % 499);
      exit = interp.run(budget);
      assertThat(jit.run(budget)).as("step %d", step).isEqualTo(exit);
      assertSameState(jit, interp, "step " + step);
      assertThat(jit.tlbMisses()).as("step %d", step).isEqualTo(interp.tlbMisses());
      assertThat(flat.run(budget)).as("step %d", step).isEqualTo(exit);
      assertThat(jit.jit().chainedEntries()).as("step %d", step)
          .isEqualTo(flat.jit().chainedEntries());
      assertThat(jit.blockLookups()).as("step %d", step).isEqualTo(flat.blockLookups())
          .isEqualTo(interp.blockLookups());
    }
    assertThat(jit.jit().chainedEntries()).isPositive();
  }
}
