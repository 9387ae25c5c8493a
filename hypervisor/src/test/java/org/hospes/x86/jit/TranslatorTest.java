package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;
import org.hospes.x86.MmioDevice;
import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;
import org.junit.jupiter.api.Test;

class TranslatorTest {
  private static final int CODE = 0x1000;

  /** Creates a processor under {@code engine} with a translation threshold of 2. */
  static Cpu cpu(Engine engine, MemoryBus mem) {
    String saved = System.getProperty(Engine.PROPERTY);
    String savedThreshold = System.getProperty(Jit.THRESHOLD_PROPERTY);
    System.setProperty(Engine.PROPERTY, engine.cliName());
    System.setProperty(Jit.THRESHOLD_PROPERTY, "2");
    try {
      return new Cpu(mem, new IoBus());
    } finally {
      restore(Engine.PROPERTY, saved);
      restore(Jit.THRESHOLD_PROPERTY, savedThreshold);
    }
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }

  static Cpu load(Engine engine, byte[] code) {
    MemoryBus mem = new MemoryBus(1 << 20);
    mem.write(CODE, code, 0, code.length);
    Cpu c = cpu(engine, mem);
    c.resetFlat32();
    c.setEip(CODE);
    c.setReg(Cpu.ESP, 0x8000);
    return c;
  }

  static byte[] bytes(int... b) {
    byte[] out = new byte[b.length];
    for (int i = 0; i < b.length; i++) {
      out[i] = (byte) b[i];
    }
    return out;
  }

  /** bench-alu's loop: add, xor, rol, inc, dec, jnz; 1000 iterations, then HLT. */
  private static final byte[] ALU_LOOP = bytes(
      0xB8, 1, 0, 0, 0,             // mov eax, 1
      0xBB, 0xB9, 0x79, 0x37, 0x9E, // mov ebx, 0x9E3779B9
      0xB9, 0xE8, 0x03, 0, 0,       // mov ecx, 1000
      0x31, 0xD2,                   // xor edx, edx
      0x01, 0xD0,                   // 1: add eax, edx
      0x31, 0xC3,                   //    xor ebx, eax
      0xC1, 0xC3, 0x03,             //    rol ebx, 3
      0x42,                         //    inc edx
      0x49,                         //    dec ecx
      0x75, 0xF5,                   //    jnz 1b
      0xF4);                        // hlt

  @Test
  void theAluLoopEndsInTheSameStateAsInterpreted() {
    Cpu interp = load(Engine.INTERP, ALU_LOOP);
    Cpu jit = load(Engine.JIT, ALU_LOOP);
    runBothToHlt(interp, jit);
    assertThat(jit.instructions()).isEqualTo(interp.instructions()).isEqualTo(4 + 6000 + 1);
    assertThat(jit.jit().translations()).isGreaterThan(0);
  }

  /**
   * A self-loop whose 16-bit MOV and BSR the translator runs through the interpreter's dispatch
   * (the helper); EBX, which they read, is written later in the loop, so each iteration's
   * helper must see the previous iteration's value.
   */
  private static final byte[] HELPER_LOOP = bytes(
      0xBB, 1, 0, 0, 0,             // mov ebx, 1
      0xBA, 1, 0, 0, 0,             // mov edx, 1
      0xB9, 0xE8, 0x03, 0, 0,       // mov ecx, 1000
      0x66, 0x89, 0xD8,             // 1: mov ax, bx
      0x0F, 0xBD, 0xD3,             //    bsr edx, ebx
      0x83, 0xC3, 0x03,             //    add ebx, 3
      0x49,                         //    dec ecx
      0x75, 0xF4,                   //    jnz 1b
      0xF4);                        // hlt

  @Test
  void instructionsRunByTheHelperInATranslatedLoopSeeTheLoopsLatestRegisters() {
    Cpu interp = load(Engine.INTERP, HELPER_LOOP);
    Cpu jit = load(Engine.JIT, HELPER_LOOP);
    runBothToHlt(interp, jit);
    assertThat(jit.instructions()).isEqualTo(interp.instructions());
    assertThat(jit.jit().translations()).isGreaterThan(0);
  }

  @Test
  void lockstepChecksEveryTranslatedRunOfTheAluLoop() {
    Cpu c = load(Engine.LOCKSTEP, ALU_LOOP);
    assertThat(c.run(1_000_000)).isEqualTo(CpuExit.HLT);
    assertThat(c.jit().lockstep().checked()).isGreaterThan(990);
    assertThat(c.jit().lockstep().unchecked()).isZero();
  }

  @Test
  void aBudgetSmallerThanTheTranslationRunsTheInterpreterAndCountsStayExact() {
    Cpu interp = load(Engine.INTERP, ALU_LOOP);
    Cpu jit = load(Engine.JIT, ALU_LOOP);
    for (int step = 0; step < 700; step++) {
      int budget = 1 + step % 7;
      assertThat(jit.run(budget)).isEqualTo(interp.run(budget));
      assertThat(jit.instructions()).isEqualTo(interp.instructions());
      assertThat(jit.eip()).isEqualTo(interp.eip());
      assertThat(jit.eflags()).isEqualTo(interp.eflags());
    }
    assertThat(jit.jit().translations()).isGreaterThan(0);
  }

  /**
   * A loop over three blocks (the loop head ending in CALL, a function of shifts and rotates
   * by immediates ending in RET, the loop tail ending in JNZ): none loops to itself, so once
   * translated they run chained, translation to translation. ADC after each shift, and
   * PUSHF/POP, fold the shifts' CF and every flag into EDX and ESI.
   */
  private static final byte[] CHAIN_LOOP = bytes(
      0xB9, 0xE8, 0x03, 0, 0,       // 0: mov ecx, 1000
      0x31, 0xC0,                   // 5: xor eax, eax
      0x01, 0xC8,                   // 7: 1: add eax, ecx
      0xE8, 0x04, 0, 0, 0,          // 9:    call f
      0x49,                         // 14:   dec ecx
      0x75, 0xF6,                   // 15:   jnz 1b
      0xF4,                         // 17: hlt
      0xC1, 0xE0, 0x03,             // 18: f: shl eax, 3
      0x83, 0xD2, 0x00,             //    adc edx, 0
      0x9C,                         //    pushf
      0x5B,                         //    pop ebx
      0x01, 0xDE,                   //    add esi, ebx
      0xC1, 0xE8, 0x01,             //    shr eax, 1
      0x83, 0xD2, 0x00,             //    adc edx, 0
      0xC1, 0xF8, 0x02,             //    sar eax, 2
      0x83, 0xD2, 0x00,             //    adc edx, 0
      0xC1, 0xC8, 0x05,             //    ror eax, 5
      0x83, 0xD2, 0x00,             //    adc edx, 0
      0x9C,                         //    pushf
      0x5B,                         //    pop ebx
      0x01, 0xDE,                   //    add esi, ebx
      0xC1, 0xC0, 0x07,             //    rol eax, 7
      0x83, 0xD2, 0x00,             //    adc edx, 0
      0x83, 0xF0, 0x55,             //    xor eax, 0x55
      0xC3);                        //    ret

  @Test
  void chainedTranslationsWithInlineShiftsEndInTheSameStateAsInterpreted() {
    Cpu interp = load(Engine.INTERP, CHAIN_LOOP);
    Cpu jit = load(Engine.JIT, CHAIN_LOOP);
    runBothToHlt(interp, jit);
    assertThat(jit.reg(Cpu.EDX)).as("CF of the shifts was sometimes set").isPositive();
    assertThat(jit.eflags()).isEqualTo(interp.eflags());
    assertThat(jit.instructions()).isEqualTo(interp.instructions());
    assertThat(jit.jit().translations()).isEqualTo(3);
    // Nearly every block after the first few runs was entered from its predecessor directly.
    assertThat(jit.jit().chainedEntries()).isGreaterThan(2900);
  }

  @Test
  void chainingStopsAtTheBudgetAndCountsStayExact() {
    Cpu interp = load(Engine.INTERP, CHAIN_LOOP);
    Cpu jit = load(Engine.JIT, CHAIN_LOOP);
    for (int step = 0; step < 3000; step++) {
      int budget = 1 + step % 23;
      assertThat(jit.run(budget)).isEqualTo(interp.run(budget));
      assertThat(jit.instructions()).isEqualTo(interp.instructions());
      assertThat(jit.eip()).isEqualTo(interp.eip());
      assertThat(jit.eflags()).isEqualTo(interp.eflags());
    }
    assertThat(jit.jit().chainedEntries()).isPositive();
  }

  private static final int ARRAY = 0x20000;

  /**
   * bench-mem's loop with a PUSH and a POP: loads and stores through the inline TLB path
   * (the first iterations miss and fill the TLB through the processor's slow path).
   */
  private static final byte[] MEM_LOOP = bytes(
      0xBE, 0x00, 0x00, 0x02, 0x00, // 0: mov esi, 0x20000
      0xB9, 0xB8, 0x0B, 0, 0,       // 5: mov ecx, 3000
      0x31, 0xD2,                   // 10: xor edx, edx
      0x31, 0xDB,                   // 12: xor ebx, ebx
      0x8B, 0x04, 0x96,             // 14: 1: mov eax, [esi+edx*4]
      0x01, 0xC8,                   //    add eax, ecx
      0x89, 0x04, 0x96,             //    mov [esi+edx*4], eax
      0x50,                         //    push eax
      0x31, 0xC3,                   //    xor ebx, eax
      0x5F,                         //    pop edi
      0x01, 0xDF,                   //    add edi, ebx
      0x42,                         //    inc edx
      0x81, 0xE2, 0xFF, 0x03, 0, 0, //    and edx, 0x3FF
      0x49,                         //    dec ecx
      0x75, 0xE8,                   //    jnz 1b
      0xF4);                        // hlt

  @Test
  void theMemoryLoopStoresAndLoadsAsInterpreted() {
    Cpu interp = load(Engine.INTERP, MEM_LOOP);
    Cpu jit = load(Engine.JIT, MEM_LOOP);
    runBothToHlt(interp, jit);
    assertThat(jit.instructions()).isEqualTo(interp.instructions());
    assertThat(jit.tlbMisses()).isEqualTo(interp.tlbMisses());
    for (int w = 0; w < 0x400; w++) {
      assertThat(jit.memory().read32(ARRAY + 4L * w)).as("word %d", w)
          .isEqualTo(interp.memory().read32(ARRAY + 4L * w));
    }
    // The last value pushed, below the stack pointer.
    assertThat(jit.memory().read32(0x8000 - 4)).isEqualTo(interp.memory().read32(0x8000 - 4))
        .isNotZero();
    assertThat(jit.jit().translations()).isPositive();
  }

  /**
   * A loop whose loads and stores end at a page's last byte and cross into the next page:
   * mov ebx, 0x2FFD; then 100 times: eax = [ebx] + ecx into [ebx] (bytes 0x2FFD-0x3000, the
   * TLB's slow path), edx = [ebx - 1] + 1 into [ebx - 1] (0x2FFC-0x2FFF, the fast path).
   */
  private static final byte[] PAGE_EDGE_LOOP = bytes(
      0xBB, 0xFD, 0x2F, 0, 0,       // mov ebx, 0x2FFD
      0xB9, 100, 0, 0, 0,           // mov ecx, 100
      0x8B, 0x03,                   // 1: mov eax, [ebx]
      0x01, 0xC8,                   //    add eax, ecx
      0x89, 0x03,                   //    mov [ebx], eax
      0x8B, 0x53, 0xFF,             //    mov edx, [ebx - 1]
      0x83, 0xC2, 0x01,             //    add edx, 1
      0x89, 0x53, 0xFF,             //    mov [ebx - 1], edx
      0x49,                         //    dec ecx
      0x75, 0xEE,                   //    jnz 1b
      0xF4);                        // hlt

  @Test
  void loadsAndStoresAtAPagesEndAndAcrossItMatchTheInterpreter() {
    Cpu interp = load(Engine.INTERP, PAGE_EDGE_LOOP);
    Cpu jit = load(Engine.JIT, PAGE_EDGE_LOOP);
    runBothToHlt(interp, jit);
    assertThat(jit.instructions()).isEqualTo(interp.instructions());
    assertThat(jit.tlbMisses()).isEqualTo(interp.tlbMisses());
    for (int a = 0x2FF8; a <= 0x3004; a++) {
      assertThat(jit.memory().read8(a)).as("byte %x", a).isEqualTo(interp.memory().read8(a));
    }
    assertThat(interp.memory().read32(0x2FFC)).isNotZero();
    assertThat(jit.jit().translations()).isPositive();
  }

  /** A device just past the 1 MiB of RAM. */
  private static final int DEVICE = 0x10_0000;

  /**
   * A block longer than a translation covers (50 ADDs with a load from a device, which charges
   * an MMIO access, after the fifth, DEC and JNZ: 53 instructions, of which a translation covers
   * 40), looping 300 times.
   */
  private static byte[] longBlockLoop() {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.writeBytes(bytes(0xB9, 0x2C, 0x01, 0, 0));  // mov ecx, 300
    int top = out.size();
    for (int k = 0; k < 50; k++) {
      if (k == 5) {
        out.writeBytes(bytes(0x8B, 0x15, 0, 0, 0x10, 0)); // mov edx, [DEVICE]
      }
      out.writeBytes(bytes(0x83, 0xC0, k + 1));     // 1: add eax, k + 1
    }
    out.writeBytes(bytes(0x49));                    //    dec ecx
    int rel = top - (out.size() + 6);
    out.writeBytes(bytes(0x0F, 0x85, rel, rel >> 8, rel >> 16, rel >> 24)); // jnz 1b
    out.writeBytes(bytes(0xF4));                    // hlt
    return out.toByteArray();
  }

  /**
   * The instructions of a block that a translation leaves out run in the same block, as the
   * interpreter runs them: a translation adds no boundary of its own, where the run loop would
   * take events, look up a block in the middle of this one, or stop early because the
   * translated part charged cycles (the interpreter decides how much of a block to run at its
   * start). Budgets of many sizes against the interpreter, under jit and lockstep, with a device
   * access charging 7 cycles in the translated part.
   */
  @Test
  void aBlockLongerThanItsTranslationEndsWhereTheInterpretersDoes() {
    byte[] code = longBlockLoop();
    Cpu interp = load(Engine.INTERP, code);
    Cpu jit = load(Engine.JIT, code);
    Cpu lockstep = load(Engine.LOCKSTEP, code);
    org.hospes.x86.CpuCosts costs = new org.hospes.x86.CpuCosts(0, 0, 0, 0, 0, 7, 0, 0);
    for (Cpu c : new Cpu[] {interp, jit, lockstep}) {
      c.setCosts(costs);
      c.memory().mapMmio(DEVICE, 0x1000, new org.hospes.x86.MmioDevice() {
        @Override
        public int read(long offset, int size) {
          return 0x1234;
        }

        @Override
        public void write(long offset, int size, int value) {}
      });
    }
    int exit = -1;
    for (int step = 0; exit != CpuExit.HLT; step++) {
      int budget = 20 + step % 67;
      exit = interp.run(budget);
      assertThat(jit.run(budget)).as("step %d", step).isEqualTo(exit);
      assertThat(lockstep.run(budget)).as("step %d", step).isEqualTo(exit);
      for (Cpu c : new Cpu[] {jit, lockstep}) {
        assertThat(c.instructions()).as("step %d", step).isEqualTo(interp.instructions());
        assertThat(c.cycles()).as("step %d", step).isEqualTo(interp.cycles());
        assertThat(c.eip()).as("step %d", step).isEqualTo(interp.eip());
        assertThat(c.reg(Cpu.EAX)).as("step %d", step).isEqualTo(interp.reg(Cpu.EAX));
        assertThat(c.reg(Cpu.EDX)).as("step %d", step).isEqualTo(interp.reg(Cpu.EDX));
      }
    }
    assertThat(interp.instructions()).isEqualTo(1 + 300 * 53 + 1);
    assertThat(jit.jit().translations()).isPositive();
    assertThat(lockstep.jit().lockstep().checked()).isPositive();
  }

  /**
   * A kernel's delay loop (Linux's delay_tsc): PAUSE, then LFENCE; RDTSC until enough cycles
   * passed.
   * PAUSE is part of the loop's one block (it ended its block until session 48, and until the
   * translator handled it that one-instruction block stayed with the interpreter and broke every
   * iteration's chain); RDTSC reads the counter at its own index in the block. Budgets of many
   * sizes against the interpreter, under jit and lockstep.
   */
  @Test
  void aDelayLoopOnPauseAndRdtscIsTranslatedWholeAndReadsTheSameCounter() {
    byte[] code = bytes(
        0x0F, 0x31,                         // rdtsc
        0x89, 0xC3,                         // mov ebx, eax
        0xF3, 0x90,                         // 1: pause
        0x0F, 0xAE, 0xE8,                   //    lfence
        0x0F, 0x31,                         //    rdtsc
        0x89, 0xC1,                         //    mov ecx, eax
        0x29, 0xD9,                         //    sub ecx, ebx
        0x81, 0xF9, 0x88, 0x13, 0, 0,       //    cmp ecx, 5000
        0x72, 0xED,                         //    jb 1b
        0xF4);                              // hlt
    Cpu interp = load(Engine.INTERP, code);
    Cpu jit = load(Engine.JIT, code);
    Cpu lockstep = load(Engine.LOCKSTEP, code);
    int exit = -1;
    for (int step = 0; exit != CpuExit.HLT; step++) {
      int budget = 5 + step % 23;
      exit = interp.run(budget);
      assertThat(jit.run(budget)).as("step %d", step).isEqualTo(exit);
      assertThat(lockstep.run(budget)).as("step %d", step).isEqualTo(exit);
      for (Cpu c : new Cpu[] {jit, lockstep}) {
        assertThat(c.instructions()).as("step %d", step).isEqualTo(interp.instructions());
        assertThat(c.cycles()).as("step %d", step).isEqualTo(interp.cycles());
        assertThat(c.eip()).as("step %d", step).isEqualTo(interp.eip());
        for (int r = 0; r < 8; r++) {
          assertThat(c.reg(r)).as("step %d register %d", step, r).isEqualTo(interp.reg(r));
        }
      }
    }
    assertThat(interp.reg(Cpu.ECX)).isGreaterThanOrEqualTo(5000);
    // The loop is translated; nothing refused.
    assertThat(jit.jit().translations()).isPositive();
    assertThat(jit.jit().untranslatable()).isZero();
    assertThat(lockstep.jit().lockstep().checked()).isPositive();
    // Under lockstep a region ends before the first instruction without emitted code. Run
    // whole, the loop (PAUSE to JB, 7 instructions) is one block, translated entire: with PAUSE
    // ending its block it was two (PAUSE alone; LFENCE to JB), 1 + 6.
    Cpu whole = load(Engine.LOCKSTEP, code);
    assertThat(whole.run(1_000_000)).isEqualTo(CpuExit.HLT);
    assertThat(whole.jit().translatedInstructions()).isEqualTo(7);
    assertThat(whole.jit().translations()).isEqualTo(1);
  }

  /**
   * The same delay loop with RDTSC and PAUSE charged as the default cost model charges them (79
   * and 9 cycles beyond their own): each engine charges them in the same place, so counters,
   * cycles and registers agree at every budget, and the loop takes the number of iterations the
   * costs imply. The k-th RDTSC of the loop reads 95k - 2: 7k - 2 instructions up to and
   * including it, 79 for each RDTSC before it (k of them, the one before the loop included) and
   * 9 for each PAUSE (k). ECX = 95k - 3 reaches 5000 at k = 53, with 5032; at one cycle each
   * (CpuCosts.FREE, the test above) it would take 715 iterations.
   */
  @Test
  void rdtscAndPauseCostsAreChargedAlikeByEveryEngineAndShortenTheDelayLoop() {
    byte[] code = bytes(
        0x0F, 0x31,                         // rdtsc
        0x89, 0xC3,                         // mov ebx, eax
        0xF3, 0x90,                         // 1: pause
        0x0F, 0xAE, 0xE8,                   //    lfence
        0x0F, 0x31,                         //    rdtsc
        0x89, 0xC1,                         //    mov ecx, eax
        0x29, 0xD9,                         //    sub ecx, ebx
        0x81, 0xF9, 0x88, 0x13, 0, 0,       //    cmp ecx, 5000
        0x72, 0xED,                         //    jb 1b
        0xF4);                              // hlt
    org.hospes.x86.CpuCosts costs = new org.hospes.x86.CpuCosts(0, 0, 0, 0, 0, 0, 79, 9);
    Cpu interp = load(Engine.INTERP, code);
    Cpu jit = load(Engine.JIT, code);
    Cpu lockstep = load(Engine.LOCKSTEP, code);
    for (Cpu c : new Cpu[] {interp, jit, lockstep}) {
      c.setCosts(costs);
    }
    int exit = -1;
    for (int step = 0; exit != CpuExit.HLT; step++) {
      int budget = 5 + step % 23;
      exit = interp.run(budget);
      assertThat(jit.run(budget)).as("step %d", step).isEqualTo(exit);
      assertThat(lockstep.run(budget)).as("step %d", step).isEqualTo(exit);
      for (Cpu c : new Cpu[] {jit, lockstep}) {
        assertThat(c.instructions()).as("step %d", step).isEqualTo(interp.instructions());
        assertThat(c.cycles()).as("step %d", step).isEqualTo(interp.cycles());
        assertThat(c.chargedCycles()).as("step %d", step).isEqualTo(interp.chargedCycles());
        for (int r = 0; r < 8; r++) {
          assertThat(c.reg(r)).as("step %d register %d", step, r).isEqualTo(interp.reg(r));
        }
      }
    }
    int iterations = 53;
    assertThat(interp.reg(Cpu.EBX)).isEqualTo(1);
    assertThat(interp.reg(Cpu.ECX)).isEqualTo(95 * iterations - 3).isEqualTo(5032);
    assertThat(interp.instructions()).isEqualTo(2 + 7 * iterations + 1);
    assertThat(interp.chargedCycles()).isEqualTo(79 + (79 + 9) * iterations);
    assertThat(jit.jit().translations()).isGreaterThanOrEqualTo(2);
    assertThat(lockstep.jit().lockstep().checked()).isPositive();
  }

  /**
   * INC and DEC of a memory operand keep CF (ADC reads the carry of the ADD before them) and
   * store; a kernel's preemption count does this around every lock. Translated inline now: the
   * counts, registers, flags and memory match the interpreter's, under jit and lockstep.
   */
  @Test
  void incAndDecOfMemoryKeepTheCarryAndStoreAsInterpreted() {
    byte[] code = bytes(
        0xBB, 0, 0x30, 0, 0,                //    mov ebx, 0x3000
        0xB9, 0x2C, 0x01, 0, 0,             //    mov ecx, 300
        0x31, 0xD2,                         //    xor edx, edx
        0x05, 0, 0, 0, 0x70,                // 1: add eax, 0x70000000
        0xFF, 0x03,                         //    inc dword [ebx]
        0x83, 0xD2, 0x00,                   //    adc edx, 0
        0xFF, 0x4B, 0x04,                   //    dec dword [ebx+4]
        0x49,                               //    dec ecx
        0x75, 0xF0,                         //    jnz 1b
        0xF4);                              //    hlt
    Cpu interp = load(Engine.INTERP, code);
    Cpu jit = load(Engine.JIT, code);
    Cpu lockstep = load(Engine.LOCKSTEP, code);
    for (Cpu c : new Cpu[] {interp, jit, lockstep}) {
      assertThat(c.run(1_000_000)).isEqualTo(CpuExit.HLT);
    }
    for (Cpu c : new Cpu[] {jit, lockstep}) {
      for (int r = 0; r < 8; r++) {
        assertThat(c.reg(r)).as("register %d", r).isEqualTo(interp.reg(r));
      }
      assertThat(c.eflags()).isEqualTo(interp.eflags());
      assertThat(c.instructions()).isEqualTo(interp.instructions()).isEqualTo(3 + 300 * 6 + 1);
      assertThat(c.memory().read32(0x3000)).isEqualTo(300);
      assertThat(c.memory().read32(0x3004)).isEqualTo(-300);
    }
    // 0x70000000 added 300 times carries out 131 times.
    assertThat(interp.reg(Cpu.EDX)).isEqualTo(131);
    assertThat(lockstep.jit().lockstep().checked()).isPositive();
    assertThat(lockstep.jit().lockstep().unchecked()).isZero();
  }

  /**
   * A self-loop of the forms that went through the helper most on the Debian boot, now inline:
   * LODSB and SCASB (each direction), 8-bit TEST, CMP, OR, ADD, SUB, XOR, AND on low and high
   * byte registers, SETcc and CMOVcc of records whose kind is known inline (CF, ZF) and of
   * others (the processor's cond), IMUL r32 of a register and of memory (its CF/OF record read
   * by SETB and SETO), TEST of a memory byte and byte stores from AH and BL. Every flag result
   * is folded into registers or memory, so both must match the interpreter's.
   */
  private static final byte[] BYTE_BODY = bytes(
        0xAC,                         // 1: lodsb
        0xAE,                         //    scasb
        0x0F, 0x92, 0xC6,             //    setb dh
        0x0F, 0x9C, 0xC4,             //    setl ah
        0x84, 0xC0,                   //    test al, al
        0x0F, 0x94, 0xC3,             //    setz bl
        0x0F, 0x45, 0xD3,             //    cmovnz edx, ebx
        0x80, 0xF9, 0x7F,             //    cmp cl, 0x7f
        0x0F, 0x42, 0x45, 0x10,       //    cmovb eax, [ebp+0x10]
        0x0F, 0x97, 0xC7,             //    seta bh
        0x80, 0xCA, 0x22,             //    or dl, 0x22
        0x00, 0xC7,                   //    add bh, al
        0x2A, 0xC5,                   //    sub al, ch
        0x0F, 0x9C, 0xC2,             //    setl dl
        0x30, 0xD4,                   //    xor ah, dl
        0x20, 0xF3,                   //    and bl, dh
        0x84, 0xDC,                   //    test ah, bl
        0x0F, 0x44, 0xDA,             //    cmovz ebx, edx
        0xF6, 0xC7, 0x81,             //    test bh, 0x81
        0x0F, 0x95, 0xC0,             //    setnz al
        0x3C, 0x41,                   //    cmp al, 0x41
        0x0F, 0xAF, 0xD3,             //    imul edx, ebx
        0x0F, 0x92, 0xC4,             //    setb ah
        0x0F, 0xAF, 0x45, 0x10,       //    imul eax, [ebp+0x10]
        0x0F, 0x90, 0xC3,             //    seto bl
        0xF6, 0x45, 0x11, 0x80,       //    test byte [ebp+0x11], 0x80
        0x0F, 0x4C, 0x45, 0x14,       //    cmovl eax, [ebp+0x14]
        0x88, 0x65, 0x20,             //    mov [ebp+0x20], ah
        0x88, 0x5D, 0x21,             //    mov [ebp+0x21], bl
        0x01, 0x45, 0x10,             //    add [ebp+0x10], eax
        0x31, 0x55, 0x14,             //    xor [ebp+0x14], edx
        0x88, 0xFE,                   //    mov dh, bh
        0xC1, 0xC3, 0x03,             //    rol ebx, 3
        0x01, 0xD3,                   //    add ebx, edx
        0x49);                        //    dec ecx

  /**
   * A second loop body: CMP of a memory byte with an immediate, a register and the reverse,
   * read by SETcc; XCHG of two registers; byte stores of immediates to memory and to AH.
   */
  private static final byte[] BYTE_MEM_BODY = bytes(
        0xAC,                         // 1: lodsb
        0x80, 0x7D, 0x20, 0x40,       //    cmp byte [ebp+0x20], 0x40
        0x0F, 0x9F, 0xC4,             //    setg ah
        0x38, 0x45, 0x21,             //    cmp [ebp+0x21], al
        0x0F, 0x92, 0xC3,             //    setb bl
        0x3A, 0x75, 0x22,             //    cmp dh, [ebp+0x22]
        0x0F, 0x97, 0xC2,             //    seta dl
        0x87, 0xD8,                   //    xchg eax, ebx
        0xC6, 0x04, 0x29, 0x5A,       //    mov byte [ecx+ebp], 0x5a
        0xB4, 0x11,                   //    mov ah, 0x11
        0x01, 0xC3,                   //    add ebx, eax
        0xC1, 0xC3, 0x03,             //    rol ebx, 3
        0x01, 0xDA,                   //    add edx, ebx
        0x49);                        //    dec ecx

  /** Runs {@code body} (ending in DEC ECX) 600 times with DF clear or set, then HLT. */
  private static byte[] byteLoop(boolean down, byte[] body) {
    byte[] setup = bytes(
        0xBD, 0x00, 0x30, 0, 0,       // mov ebp, 0x3000
        0xBE, 0x00, 0x44, 0, 0,       // mov esi, 0x4400
        0xBF, 0x00, 0x54, 0, 0,       // mov edi, 0x5400
        0xB9, 0x58, 0x02, 0, 0,       // mov ecx, 600
        0xB8, 0x78, 0x56, 0x34, 0x12, // mov eax, 0x12345678
        0xBB, 0xB9, 0x79, 0x37, 0x9E, // mov ebx, 0x9E3779B9
        0xBA, 0x15, 0x7C, 0x4A, 0x7F, // mov edx, 0x7F4A7C15
        down ? 0xFD : 0xFC);          // std or cld
    byte[] code = new byte[setup.length + body.length + 3];
    System.arraycopy(setup, 0, code, 0, setup.length);
    System.arraycopy(body, 0, code, setup.length, body.length);
    int at = setup.length + body.length;
    code[at] = 0x75;                  //    jnz 1b
    code[at + 1] = (byte) -(body.length + 2);
    code[at + 2] = (byte) 0xF4;       //    hlt
    return code;
  }

  /** The data byteLoop reads: pseudo-random bytes at 0x3000-0x5FFF, some equal at ESI, EDI. */
  private static void byteData(Cpu c) {
    long x = 0x9E3779B97F4A7C15L;
    for (int a = 0x3000; a < 0x6000; a++) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
      c.memory().write8(a, (int) x);
    }
    for (int k = 0; k < 0x400; k += 3) {
      c.memory().write8(0x5000 + k, c.memory().read8(0x4000 + k));
      c.memory().write8(0x5400 + k, c.memory().read8(0x4400 + k));
    }
  }

  @Test
  void byteStringImulAndConditionalFormsRunInlineAsInterpreted() {
    byteLoopsAsInterpreted(BYTE_BODY, 35);
  }

  @Test
  void byteCompareOfMemoryXchgAndByteImmediateStoresRunInlineAsInterpreted() {
    byteLoopsAsInterpreted(BYTE_MEM_BODY, 14);
  }

  /** byteLoop of {@code body} ({@code insns} instructions) under every engine, DF both ways. */
  private static void byteLoopsAsInterpreted(byte[] body, int insns) {
    for (boolean down : new boolean[] {false, true}) {
      byte[] code = byteLoop(down, body);
      Cpu interp = load(Engine.INTERP, code);
      Cpu jit = load(Engine.JIT, code);
      Cpu lockstep = load(Engine.LOCKSTEP, code);
      for (Cpu c : new Cpu[] {interp, jit, lockstep}) {
        byteData(c);
        assertThat(c.run(1_000_000)).isEqualTo(CpuExit.HLT);
      }
      String dir = down ? "DF=1" : "DF=0";
      for (Cpu c : new Cpu[] {jit, lockstep}) {
        assertSameState(c, interp, dir);
        for (int a = 0x3000; a < 0x6000; a += 4) {
          assertThat(c.memory().read32(a)).as("%s: memory at 0x%x", dir, a)
              .isEqualTo(interp.memory().read32(a));
        }
      }
      assertThat(interp.instructions()).isEqualTo(8 + 600 * (insns + 1) + 1);
      assertThat(interp.reg(Cpu.ESI)).isEqualTo(down ? 0x4400 - 600 : 0x4400 + 600);
      assertThat(jit.jit().translations()).isPositive();
      assertThat(lockstep.jit().lockstep().checked()).isGreaterThan(590);
      assertThat(lockstep.jit().lockstep().unchecked()).isZero();
    }
  }

  /**
   * Runs both processors to their HLT and compares what {@link #assertSameState} compares:
   * a translation must leave the interpreter's registers, flags, EIP and counts.
   */
  private static void runBothToHlt(Cpu interp, Cpu jit) {
    assertThat(interp.run(1_000_000)).isEqualTo(CpuExit.HLT);
    assertThat(jit.run(1_000_000)).isEqualTo(CpuExit.HLT);
    assertSameState(jit, interp, "at HLT");
  }

  /** Registers, EFLAGS, EIP and the counts of {@code c} against the interpreter's. */
  static void assertSameState(Cpu c, Cpu interp, String what) {
    for (int r = 0; r < 8; r++) {
      assertThat(c.reg(r)).as("%s: register %d", what, r).isEqualTo(interp.reg(r));
    }
    assertThat(c.eflags()).as("%s: EFLAGS", what).isEqualTo(interp.eflags());
    assertThat(c.eip()).as("%s: EIP", what).isEqualTo(interp.eip());
    assertThat(c.instructions()).as("%s: instructions", what).isEqualTo(interp.instructions());
    assertThat(c.cycles()).as("%s: cycles", what).isEqualTo(interp.cycles());
  }

  /**
   * A self-loop whose flags cross the loop's back edge and every kind of record meets every
   * reader: ROL first (the record at the loop's top is the last iteration's, of a kind the
   * translation cannot know there), SETP reading the parity the rotate kept (the helper), ADC
   * reading the rotate's CF, DEC and INC keeping the CF of
   * an ADD and of a SUB (worked out inline from the record in locals), ADC reading those.
   */
  private static final byte[] FLAG_LOOP = bytes(
      0xBB, 0x0D, 0xF0, 0xAD, 0x8B, // mov ebx, 0x8BADF00D
      0xB9, 0x50, 0xC3, 0, 0,       // mov ecx, 50000
      0xC1, 0xC3, 0x01,             // 1: rol ebx, 1
      0x0F, 0x9A, 0xC0,             //    setp al (PF of the record the rotate kept)
      0x83, 0xD0, 0x00,             //    adc eax, 0
      0x01, 0xC5,                   //    add ebp, eax (sums PF and CF over the iterations)
      0x81, 0xC3, 0xB9, 0x79, 0x37, 0x9E, // add ebx, 0x9E3779B9
      0x4F,                         //    dec edi
      0x83, 0xD6, 0x00,             //    adc esi, 0
      0x81, 0xEB, 0x15, 0x7C, 0x4A, 0x7F, // sub ebx, 0x7F4A7C15
      0x42,                         //    inc edx
      0x83, 0xD6, 0x00,             //    adc esi, 0
      0x49,                         //    dec ecx
      0x75, 0xDE,                   //    jnz 1b
      0xF4);                        // hlt

  @Test
  void flagsCarriedAcrossTheBackEdgeOfASelfLoopReadAsInterpreted() {
    Cpu interp = load(Engine.INTERP, FLAG_LOOP);
    Cpu jit = load(Engine.JIT, FLAG_LOOP);
    assertThat(interp.run(10_000_000)).isEqualTo(CpuExit.HLT);
    assertThat(jit.run(10_000_000)).isEqualTo(CpuExit.HLT);
    assertSameState(jit, interp, "at HLT");
    // The carries were neither always set nor never.
    assertThat(interp.reg(Cpu.EBP)).isBetween(1, 99_999);
    assertThat(interp.reg(Cpu.ESI)).isBetween(1, 99_999);
    assertThat(jit.jit().translations()).isPositive();
  }

  /**
   * The instructions whose flag record each Jcc of {@link #jccLoop} reads, by kind: ADD, SUB,
   * CMP, CMP of bytes, TEST, AND, XOR, DEC, INC (keeping the CF of the DEC that kept a CMP's),
   * SHL and SHR (CF/OF given), IMUL (CF/OF), ROL after an ADD (ADD with CF and OF overridden)
   * and ADC (a record the translation reads back from the processor, kind unknown).
   */
  private static final int[][] JCC_RECORDS = {
      {0x01, 0xD3},                   // add ebx, edx
      {0x29, 0xD3},                   // sub ebx, edx
      {0x39, 0xD3},                   // cmp ebx, edx
      {0x38, 0xD3},                   // cmp bl, dl
      {0x85, 0xD3},                   // test ebx, edx
      {0x21, 0xD3},                   // and ebx, edx
      {0x31, 0xD3},                   // xor ebx, edx
      {0x4B},                         // dec ebx
      {0x4B, 0x43},                   // dec ebx; inc ebx
      {0xD1, 0xE3},                   // shl ebx, 1
      {0xD1, 0xEB},                   // shr ebx, 1
      {0x0F, 0xAF, 0xDA},             // imul ebx, edx
      {0x01, 0xD3, 0xD1, 0xC3},       // add ebx, edx; rol ebx, 1
      {0x11, 0xD3},                   // adc ebx, edx
  };

  /**
   * A loop of 400 iterations whose body runs all sixteen Jcc conditions (the short form, or
   * the near one when {@code near}) after {@code record}, each ending a block: EBX and EDX come
   * from a pseudo-random EAX masked to 0x80000003 (so equal, zero, signed-unsigned
   * disagreements and overflows all happen); the fall-through counts in EDI and both paths fold
   * EDI into ESI, so every branch's outcome shows in ESI. The back edge is DEC ECX; JG.
   */
  private static byte[] jccLoop(int[] record, boolean near) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    int[] setup = {
        0xB9, 0x90, 0x01, 0, 0,       // mov ecx, 400
        0xB8, 0x78, 0x56, 0x34, 0x12, // mov eax, 0x12345678
        0x31, 0xF6,                   // xor esi, esi
        0x31, 0xFF};                  // xor edi, edi
    int[] top = {
        0x05, 0xB9, 0x79, 0x37, 0x9E, // 1: add eax, 0x9E3779B9
        0xC1, 0xC0, 0x05};            //    rol eax, 5
    for (int b : setup) {
      out.write(b);
    }
    int loop = out.size();
    for (int b : top) {
      out.write(b);
    }
    for (int cc = 0; cc < 16; cc++) {
      int[] operands = {
          0x89, 0xC3,                 // mov ebx, eax
          0x81, 0xE3, 3, 0, 0, 0x80,  // and ebx, 0x80000003
          0x89, 0xC2,                 // mov edx, eax
          0xC1, 0xC2, 2 * cc + 3,     // rol edx, 2cc+3
          0x81, 0xE2, 3, 0, 0, 0x80,  // and edx, 0x80000003
          0x39, 0xDA};                // cmp edx, ebx (the carry DEC and INC keep)
      for (int b : operands) {
        out.write(b);
      }
      for (int b : record) {
        out.write(b);
      }
      if (near) {
        out.write(0x0F);              // jcc near +1
        out.write(0x80 + cc);
        out.write(1);
        out.write(0);
        out.write(0);
        out.write(0);
      } else {
        out.write(0x70 + cc);         // jcc short +1
        out.write(1);
      }
      out.write(0x47);                //    inc edi
      out.write(0x01);                //    add esi, edi
      out.write(0xFE);
      out.write(0xD1);                //    rol esi, 1
      out.write(0xC6);
    }
    out.write(0x49);                  //    dec ecx
    int rel = loop - (out.size() + 6);
    out.write(0x0F);                  //    jg 1b
    out.write(0x8F);
    for (int n = 0; n < 4; n++) {
      out.write(rel >>> (8 * n));
    }
    out.write(0xF4);                  // hlt
    return out.toByteArray();
  }

  @Test
  void everyJccConditionOfEveryRecordKindBranchesAsInterpreted() {
    for (int r = 0; r < JCC_RECORDS.length; r++) {
      for (boolean near : new boolean[] {false, true}) {
        byte[] code = jccLoop(JCC_RECORDS[r], near);
        Cpu interp = load(Engine.INTERP, code);
        Cpu jit = load(Engine.JIT, code);
        Cpu lockstep = load(Engine.LOCKSTEP, code);
        for (Cpu c : new Cpu[] {interp, jit, lockstep}) {
          assertThat(c.run(10_000_000)).isEqualTo(CpuExit.HLT);
        }
        String what = "record " + r + (near ? ", near" : ", short");
        assertSameState(jit, interp, what);
        assertSameState(lockstep, interp, what);
        // The branches went both ways, and the loop ran its 400 iterations.
        assertThat(interp.reg(Cpu.EDI)).as(what).isBetween(1, 16 * 400 - 1);
        assertThat(interp.reg(Cpu.ECX)).as(what).isZero();
        assertThat(jit.jit().translations()).as(what).isGreaterThan(16);
        assertThat(lockstep.jit().lockstep().checked()).as(what).isGreaterThan(16 * 390);
        assertThat(lockstep.jit().lockstep().unchecked()).as(what).isZero();
      }
    }
  }

  /**
   * A self-loop counts its iterations in locals and leaves when the budget would not cover one
   * more: budgets of many sizes, most ending inside the loop, against the interpreter.
   */
  @Test
  void aSelfLoopLeavesWhereTheInterpreterDoesForEveryBudget() {
    Cpu interp = load(Engine.INTERP, FLAG_LOOP);
    Cpu jit = load(Engine.JIT, FLAG_LOOP);
    int exit = -1;
    for (int step = 0; exit != CpuExit.HLT; step++) {
      int budget = 1 + (int) ((step * 7919L) % 20_011);
      exit = interp.run(budget);
      assertThat(jit.run(budget)).as("step %d", step).isEqualTo(exit);
      assertSameState(jit, interp, "step " + step);
    }
    assertThat(jit.jit().translations()).isPositive();
  }

  private static final int PD = 0x10000;
  private static final int PT = 0x11000;
  static final int MISSING = 0x2A000;

  /**
   * Paging on, then a load loop over an array one word per iteration: every page's first
   * access misses the TLB (the slow path), the other 1023 run inline and are counted in the
   * translation's locals; page 0x2A is not present.
   */
  private static final byte[] FAULT_LOOP = bytes(
      0xB8, 0x00, 0x00, 0x01, 0x00, // mov eax, PD
      0x0F, 0x22, 0xD8,             // mov cr3, eax
      0x0F, 0x20, 0xC0,             // mov eax, cr0
      0x0D, 0, 0, 0, 0x80,          // or eax, 0x80000000
      0x0F, 0x22, 0xC0,             // mov cr0, eax
      0xBE, 0x00, 0x00, 0x02, 0x00, // mov esi, 0x20000
      0xB9, 0xA0, 0x86, 0x01, 0x00, // mov ecx, 100000
      0x31, 0xD2,                   // xor edx, edx
      0x31, 0xDB,                   // xor ebx, ebx
      0x8B, 0x04, 0x96,             // 0x1021: 1: mov eax, [esi+edx*4]
      0x01, 0xC3,                   //    add ebx, eax
      0x42,                         //    inc edx
      0x49,                         //    dec ecx
      0x75, 0xF7,                   //    jnz 1b
      0xF4);                        // hlt

  private static Cpu faultLoop(Engine engine) {
    return pagedLoop(engine, FAULT_LOOP);
  }

  /** {@code code} with FAULT_LOOP's page tables (MISSING not present) and data at 0x20000. */
  /** FAULT_LOOP's first five instructions: CR3 at PD, then paging on. */
  static final byte[] PAGING_ON = bytes(
      0xB8, 0x00, 0x00, 0x01, 0x00, // mov eax, PD
      0x0F, 0x22, 0xD8,             // mov cr3, eax
      0x0F, 0x20, 0xC0,             // mov eax, cr0
      0x0D, 0, 0, 0, 0x80,          // or eax, 0x80000000
      0x0F, 0x22, 0xC0);            // mov cr0, eax

  static Cpu pagedLoop(Engine engine, byte[] code) {
    Cpu c = load(engine, code);
    MemoryBus mem = c.memory();
    mem.write32(PD, PT | 3);
    for (int page = 0; page < 256; page++) {
      mem.write32(PT + 4L * page, (page << 12) == MISSING ? 0 : page << 12 | 3);
    }
    for (int w = 0; w < (MISSING - 0x20000) / 4; w++) {
      mem.write32(0x20000 + 4L * w, w * 0x9E37_79B9);
    }
    c.setExceptionExitMask(1 << 14);
    return c;
  }

  /**
   * A page fault in iteration 10,241 of a translated self-loop, after runs of 1,023 iterations
   * that called nothing: the processor stops at the faulting load with the interpreter's
   * registers, flags (the record the translation kept in locals) and instruction count (the
   * iterations the translation kept in locals), in one run and with budgets of many sizes.
   */
  @Test
  void aFaultInIterationNOfASelfLoopLeavesTheInterpretersStateAndCounts() {
    Cpu interp = faultLoop(Engine.INTERP);
    Cpu jit = faultLoop(Engine.JIT);
    assertThat(interp.run(10_000_000)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(jit.run(10_000_000)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(interp.exceptionVector()).isEqualTo(14);
    assertThat(jit.exceptionVector()).isEqualTo(14);
    assertThat(interp.eip()).isEqualTo(CODE + 0x21);
    assertThat(interp.reg(Cpu.EDX)).isEqualTo((MISSING - 0x20000) / 4);
    assertSameState(jit, interp, "at the fault");
    assertThat(jit.faultAddress()).isEqualTo(interp.faultAddress()).isEqualTo(MISSING);
    assertThat(jit.tlbMisses()).isEqualTo(interp.tlbMisses());
    assertThat(jit.jit().translations()).isPositive();

    Cpu stepped = faultLoop(Engine.JIT);
    Cpu reference = faultLoop(Engine.INTERP);
    int exit = -1;
    for (int step = 0; exit != CpuExit.EXCEPTION; step++) {
      int budget = 1 + (int) ((step * 4099L) % 3001);
      exit = reference.run(budget);
      assertThat(stepped.run(budget)).as("step %d", step).isEqualTo(exit);
      assertSameState(stepped, reference, "step " + step);
    }
  }

  /**
   * FAULT_LOOP's paging, then a self-loop of inline byte forms: LODSB, SCASB (EDI walks toward
   * MISSING), SETB, CMP of a memory byte, and a byte store ahead of EDI that reaches MISSING
   * first, after LODSB and SCASB of the same iteration have moved ESI and EDI.
   */
  private static final byte[] BYTE_FAULT_LOOP = bytes(
      0xB8, 0x00, 0x00, 0x01, 0x00, // mov eax, PD
      0x0F, 0x22, 0xD8,             // mov cr3, eax
      0x0F, 0x20, 0xC0,             // mov eax, cr0
      0x0D, 0, 0, 0, 0x80,          // or eax, 0x80000000
      0x0F, 0x22, 0xC0,             // mov cr0, eax
      0xBE, 0x00, 0x00, 0x02, 0x00, // mov esi, 0x20000
      0xBF, 0x00, 0x10, 0x02, 0x00, // mov edi, 0x21000
      0xB9, 0xA0, 0x86, 0x01, 0x00, // mov ecx, 100000
      0x31, 0xD2,                   // xor edx, edx
      0x31, 0xDB,                   // xor ebx, ebx
      0xAC,                         // 0x1026: 1: lodsb
      0xAE,                         //    scasb
      0x0F, 0x92, 0xC2,             //    setb dl
      0x01, 0xD3,                   //    add ebx, edx
      0x80, 0x3E, 0x80,             //    cmp byte [esi], 0x80
      0x83, 0xD3, 0x00,             //    adc ebx, 0
      0x88, 0x5F, 0x3F,             // 0x1033: mov [edi+0x3f], bl
      0x49,                         //    dec ecx
      0x75, 0xED,                   //    jnz 1b
      0xF4);                        // hlt

  @Test
  void aByteStoreFaultingInATranslatedLoopOfByteFormsLeavesTheInterpretersState() {
    Cpu interp = pagedLoop(Engine.INTERP, BYTE_FAULT_LOOP);
    Cpu jit = pagedLoop(Engine.JIT, BYTE_FAULT_LOOP);
    Cpu lockstep = pagedLoop(Engine.LOCKSTEP, BYTE_FAULT_LOOP);
    for (Cpu c : new Cpu[] {interp, jit, lockstep}) {
      assertThat(c.run(10_000_000)).isEqualTo(CpuExit.EXCEPTION);
      assertThat(c.exceptionVector()).isEqualTo(14);
    }
    assertThat(interp.eip()).isEqualTo(CODE + 0x33);
    assertThat(interp.reg(Cpu.EDI)).isEqualTo(MISSING - 0x3F);
    assertThat(interp.reg(Cpu.ESI)).isEqualTo(0x20000 + MISSING - 0x3F - 0x21000);
    for (Cpu c : new Cpu[] {jit, lockstep}) {
      assertSameState(c, interp, "at the fault");
      assertThat(c.faultAddress()).isEqualTo(interp.faultAddress()).isEqualTo(MISSING);
      for (int a = 0x20000; a < MISSING; a += 4) {
        assertThat(c.memory().read32(a)).as("memory at 0x%x", a)
            .isEqualTo(interp.memory().read32(a));
      }
    }
    assertThat(jit.jit().translations()).isPositive();
    assertThat(lockstep.jit().lockstep().checked()).isPositive();
    assertThat(lockstep.jit().lockstep().unchecked()).isZero();

    Cpu stepped = pagedLoop(Engine.JIT, BYTE_FAULT_LOOP);
    Cpu reference = pagedLoop(Engine.INTERP, BYTE_FAULT_LOOP);
    int exit = -1;
    for (int step = 0; exit != CpuExit.EXCEPTION; step++) {
      int budget = 1 + (int) ((step * 4099L) % 3001);
      exit = reference.run(budget);
      assertThat(stepped.run(budget)).as("step %d", step).isEqualTo(exit);
      assertSameState(stepped, reference, "step " + step);
    }
  }

  /** A supervisor-only page among user pages. */
  private static final int SUPERVISOR = 0x28000;

  /**
   * At CPL 0: paging on, a read of the supervisor page (the TLB's supervisor half takes it),
   * HLT. At CODE + 0x40, run at CPL 3: FAULT_LOOP's loop, which reaches the supervisor page in
   * iteration 8,193, long after it was translated.
   */
  private static final byte[] USER_LOOP = bytes(
      0xB8, 0x00, 0x00, 0x01, 0x00, // mov eax, PD
      0x0F, 0x22, 0xD8,             // mov cr3, eax
      0x0F, 0x20, 0xC0,             // mov eax, cr0
      0x0D, 0, 0, 0, 0x80,          // or eax, 0x80000000
      0x0F, 0x22, 0xC0,             // mov cr0, eax
      0xA1, 0x00, 0x80, 0x02, 0x00, // mov eax, [0x28000]
      0xF4,                         // hlt
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0,
      0xBE, 0x00, 0x00, 0x02, 0x00, // 0x1040: mov esi, 0x20000
      0xB9, 0xA0, 0x86, 0x01, 0x00, // mov ecx, 100000
      0x31, 0xD2,                   // xor edx, edx
      0x31, 0xDB,                   // xor ebx, ebx
      0x8B, 0x04, 0x96,             // 1: mov eax, [esi+edx*4]
      0x01, 0xC3,                   //    add ebx, eax
      0x42,                         //    inc edx
      0x49,                         //    dec ecx
      0x75, 0xF7,                   //    jnz 1b
      0xF4);                        // hlt

  private static Cpu userLoop(Engine engine) {
    Cpu c = load(engine, USER_LOOP);
    MemoryBus mem = c.memory();
    mem.write32(PD, PT | 7);
    for (int page = 0; page < 256; page++) {
      mem.write32(PT + 4L * page, page << 12 | ((page << 12) == SUPERVISOR ? 3 : 7));
    }
    c.setExceptionExitMask(1 << 14);
    assertThat(c.run(1_000)).isEqualTo(CpuExit.HLT);
    c.loadCpl(3);
    c.setEip(CODE + 0x40);
    return c;
  }

  /**
   * Ring 3 reaching a supervisor page that ring 0 has just read: the inline TLB path of a
   * translated loop looks in the user half of the TLB (which misses), so the load faults as
   * under the interpreter (a protection fault from user mode), not in the supervisor half.
   */
  @Test
  void ring3InATranslatedLoopFaultsOnASupervisorPageRing0Cached() {
    assertSamePageFault(userLoop(Engine.INTERP), userLoop(Engine.JIT), SUPERVISOR, 5);
  }

  /**
   * Both processors run into a page fault with {@code errorCode} at {@code page}, reached by the
   * loop's index (EDX, words from 0x20000), in the same state, the second from a translation.
   */
  private static void assertSamePageFault(Cpu interp, Cpu jit, int page, int errorCode) {
    assertThat(interp.run(10_000_000)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(jit.run(10_000_000)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(interp.exceptionVector()).isEqualTo(14);
    assertThat(interp.exceptionErrorCode()).isEqualTo(errorCode);
    assertThat(interp.reg(Cpu.EDX)).isEqualTo((page - 0x20000) / 4);
    assertThat(jit.exceptionVector()).isEqualTo(14);
    assertThat(jit.exceptionErrorCode()).isEqualTo(errorCode);
    assertThat(jit.faultAddress()).isEqualTo(page);
    assertSameState(jit, interp, "at the fault");
    assertThat(jit.jit().translations()).isPositive();
  }

  /** A read-only page among writable ones. */
  private static final int READ_ONLY = 0x28000;

  /**
   * Paging on with CR0.WP, then a loop that reads each word and writes it back changed: the
   * read of page 0x28 puts it in the read TLB, and the write to it must fault.
   */
  private static final byte[] WRITE_LOOP = bytes(
      0xB8, 0x00, 0x00, 0x01, 0x00, // mov eax, PD
      0x0F, 0x22, 0xD8,             // mov cr3, eax
      0x0F, 0x20, 0xC0,             // mov eax, cr0
      0x0D, 0, 0, 0x01, 0x80,       // or eax, 0x80010000 (PG, WP)
      0x0F, 0x22, 0xC0,             // mov cr0, eax
      0xBE, 0x00, 0x00, 0x02, 0x00, // mov esi, 0x20000
      0xB9, 0xA0, 0x86, 0x01, 0x00, // mov ecx, 100000
      0x31, 0xD2,                   // xor edx, edx
      0x8B, 0x04, 0x96,             // 1: mov eax, [esi+edx*4]
      0x01, 0xC8,                   //    add eax, ecx
      0x89, 0x04, 0x96,             //    mov [esi+edx*4], eax
      0x42,                         //    inc edx
      0x49,                         //    dec ecx
      0x75, 0xF4,                   //    jnz 1b
      0xF4);                        // hlt

  private static Cpu writeLoop(Engine engine) {
    Cpu c = load(engine, WRITE_LOOP);
    MemoryBus mem = c.memory();
    mem.write32(PD, PT | 3);
    for (int page = 0; page < 256; page++) {
      mem.write32(PT + 4L * page, page << 12 | ((page << 12) == READ_ONLY ? 1 : 3));
    }
    c.setExceptionExitMask(1 << 14);
    return c;
  }

  /**
   * A translated loop's inline store looks in the write TLB, which never takes a read-only
   * page: the store to the page the loop has just read faults (present, write) as under the
   * interpreter, with the same state and the same bytes written before it.
   */
  @Test
  void aTranslatedStoreToAReadOnlyPageItHasReadFaults() {
    Cpu interp = writeLoop(Engine.INTERP);
    Cpu jit = writeLoop(Engine.JIT);
    assertSamePageFault(interp, jit, READ_ONLY, 3);
    for (int a = 0x20000; a < READ_ONLY + 0x1000; a += 4) {
      assertThat(jit.memory().read32(a)).as("word at %x", a).isEqualTo(interp.memory().read32(a));
    }
  }

  /** A device whose {@code n}-th and {@code m}-th reads ask the processor to stop. */
  private static final class StoppingDevice implements MmioDevice {
    private final Cpu cpu;
    private final int n;
    private final int m;
    private int reads;

    StoppingDevice(Cpu cpu, int n, int m) {
      this.cpu = cpu;
      this.n = n;
      this.m = m;
    }

    @Override
    public int read(long offset, int size) {
      reads++;
      if (reads == n || reads == m) {
        cpu.requestStop();
      }
      return reads * 0x0101_0101;
    }

    @Override
    public void write(long offset, int size, int value) {}
  }

  /**
   * A stop requested in the middle of a translated self-loop (by a device the loop reads) ends
   * the run at the same instruction as under the interpreter, twice, and the loop then runs
   * on to HLT as interpreted.
   */
  @Test
  void aStopRequestedMidLoopEndsTheRunWhereTheInterpretersEnds() {
    byte[] code = bytes(
        0xB9, 0xE8, 0x03, 0, 0,             //    mov ecx, 1000
        0x8B, 0x15, 0, 0, 0x10, 0,          // 1: mov edx, [DEVICE]
        0x01, 0xD0,                         //    add eax, edx
        0x49,                               //    dec ecx
        0x75, 0xF5,                         //    jnz 1b
        0xF4);                              //    hlt
    Cpu interp = load(Engine.INTERP, code);
    Cpu jit = load(Engine.JIT, code);
    for (Cpu c : new Cpu[] {interp, jit}) {
      c.memory().mapMmio(DEVICE, 0x1000, new StoppingDevice(c, 300, 701));
    }
    int[] expected = {CpuExit.STOPPED, CpuExit.STOPPED, CpuExit.HLT};
    for (int run = 0; run < expected.length; run++) {
      assertThat(interp.run(1_000_000)).as("run %d", run).isEqualTo(expected[run]);
      assertThat(jit.run(1_000_000)).as("run %d", run).isEqualTo(expected[run]);
      assertSameState(jit, interp, "run " + run);
    }
    assertThat(interp.instructions()).isEqualTo(1 + 1000 * 4 + 1);
    assertThat(jit.jit().translations()).isPositive();
  }

  /**
   * A self-loop that never calls out (INC, JMP back: no budget in sight) still returns to the
   * run loop often enough to see a stop request made from another thread; it stops at a block
   * boundary, with the count exact.
   */
  @Test
  void aStopRequestFromAnotherThreadEndsAnEndlessTranslatedLoop() {
    byte[] code = bytes(
        0x40,                               // 1: inc eax
        0xEB, 0xFD);                        //    jmp 1b
    Cpu c = load(Engine.JIT, code);
    AtomicBoolean done = new AtomicBoolean();
    Thread stopper = new Thread(() -> {
      while (!done.get()) {
        c.requestStop();
        Thread.onSpinWait();
      }
    });
    stopper.setDaemon(true);
    // Not host time in the result: the bound only keeps a broken build from hanging the suite.
    int exit = assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
      stopper.start();
      try {
        int x;
        do {
          x = c.run(Long.MAX_VALUE);
        } while (c.jit().translations() == 0 && x == CpuExit.STOPPED);
        // Translated now: stop again, from inside the translated loop.
        return c.run(Long.MAX_VALUE);
      } finally {
        done.set(true);
      }
    });
    assertThat(exit).isEqualTo(CpuExit.STOPPED);
    assertThat(c.instructions()).isEqualTo(2L * c.reg(Cpu.EAX));
    assertThat(c.jit().translations()).isPositive();
  }

  /**
   * PAUSE exiting from the middle of a block (SDM vol. 3, 25.1.3): the exit is taken at the
   * PAUSE, with the instructions before it retired and those after it not, under every engine,
   * the block's first runs interpreted and the later ones translated (threshold 2). The handler
   * skips the PAUSE each time, as Xen's does after its yield.
   */
  @Test
  void aPauseExitFromTheMiddleOfABlockLeavesAtThePauseUnderEveryEngine() {
    byte[] code = bytes(
        0xB9, 0x32, 0, 0, 0,                // mov ecx, 50
        0x40,                               // 1: inc eax
        0xF3, 0x90,                         //    pause
        0x43,                               //    inc ebx
        0x49,                               //    dec ecx
        0x75, 0xF9,                         //    jnz 1b
        0xF4);                              // hlt
    int pauseAt = CODE + 6;
    long[][] seen = new long[3][];
    Engine[] engines = {Engine.INTERP, Engine.JIT, Engine.LOCKSTEP};
    for (int e = 0; e < engines.length; e++) {
      Cpu c = load(engines[e], code);
      Vmcs vmcs = new Vmcs();
      vmcs.write(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
          VmxControls.PROC_PAUSE_EXITING | VmxControls.PROC_HLT_EXITING);
      c.setVmcs(vmcs);
      long[] trace = new long[51 * 3];
      int exits = 0;
      while (c.run(1_000) == CpuExit.VM_EXIT && vmcs.exitReason() == ExitReason.PAUSE) {
        assertThat(c.eip()).as("%s exit %d", engines[e], exits).isEqualTo(pauseAt);
        assertThat(vmcs.exitInstructionLength()).isEqualTo(2);
        // inc eax ran, inc ebx did not: one more than the exits before this one.
        assertThat(c.reg(Cpu.EAX)).as("%s exit %d", engines[e], exits).isEqualTo(exits + 1);
        assertThat(c.reg(Cpu.EBX)).as("%s exit %d", engines[e], exits).isEqualTo(exits);
        trace[3 * exits] = c.instructions();
        trace[3 * exits + 1] = c.cycles();
        trace[3 * exits + 2] = c.reg(Cpu.ECX);
        exits++;
        c.skipInstruction();
      }
      assertThat(vmcs.exitReason()).as("%s", engines[e]).isEqualTo(ExitReason.HLT);
      assertThat(exits).as("%s", engines[e]).isEqualTo(50);
      assertThat(c.reg(Cpu.EBX)).isEqualTo(50);
      seen[e] = trace;
      if (engines[e] != Engine.INTERP) {
        assertThat(c.jit().translations()).as("%s", engines[e]).isPositive();
      }
    }
    assertThat(seen[1]).isEqualTo(seen[0]);
    assertThat(seen[2]).isEqualTo(seen[0]);
  }
}
