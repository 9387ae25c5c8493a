package org.hospes.x86.diff;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.hospes.hv.testing.TestProperties;
import org.hospes.x86.Cpu;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;
import org.hospes.x86.jit.Engine;
import org.hospes.x86.jit.Jit;
import org.hospes.x86.jit.LockstepMismatch;
import org.junit.jupiter.api.Test;

/**
 * Random instruction streams from the differential generator ({@link HostForms}), run in a loop
 * so that their blocks become hot, once under the lockstep engine (every translated block run is
 * compared with the interpreter) and once under the interpreter alone on a separate machine; the
 * final states must be equal too. Each generated instruction is preceded by MOVs that give the
 * registers the values its case was generated with, so memory operands land in the scratch
 * window as the generator intended. The seed is printed on failure; more streams with
 * {@code -Dhospes.diff.jit=N}.
 */
class JitLockstepStreamTest {
  private static final long SEED = TestProperties.longValue("hospes.diff.jit.seed", 0x1CE_0F_B10CL);
  private static final int STREAMS = TestProperties.count("hospes.diff.jit", 600);
  private static final int CASES_PER_STREAM = 6;
  private static final int ITERATIONS = 8;
  private static final int SCRATCH = 256;

  @Test
  void randomStreamsAgreeWithTheInterpreterAtEveryTranslatedBlock() {
    MemoryBus lockMem = new MemoryBus(Layout.RAM_BYTES);
    MemoryBus refMem = new MemoryBus(Layout.RAM_BYTES);
    Cpu lock = create(Engine.LOCKSTEP, lockMem);
    Cpu ref = create(Engine.INTERP, refMem);
    SplittableRandom root = new SplittableRandom(SEED);
    for (int s = 0; s < STREAMS; s++) {
      long seed = root.nextLong();
      Stream st = stream(new SplittableRandom(seed));
      String where = String.format("stream %d, seed 0x%x (base seed 0x%x): %s", s, seed, SEED,
          st.text);
      start(lock, lockMem, st);
      start(ref, refMem, st);
      int budget = ITERATIONS * st.instructions;
      int lockExit;
      try {
        lockExit = lock.run(budget);
      } catch (LockstepMismatch m) {
        fail(where + "\n" + m.getMessage());
        return;
      }
      int refExit = ref.run(budget);
      assertThat(lockExit).as(where).isEqualTo(refExit);
      for (int r = 0; r < 8; r++) {
        assertThat(lock.reg(r)).as("register %d, %s", r, where).isEqualTo(ref.reg(r));
      }
      assertThat(lock.eip()).as(where).isEqualTo(ref.eip());
      assertThat(lock.eflags()).as(where).isEqualTo(ref.eflags());
      assertThat(lock.instructions()).as(where).isEqualTo(ref.instructions());
      assertThat(lock.exceptionVector()).as(where).isEqualTo(ref.exceptionVector());
      byte[] a = new byte[SCRATCH];
      byte[] b = new byte[SCRATCH];
      lockMem.read(Layout.SCRATCH_ADDR, a, 0, SCRATCH);
      refMem.read(Layout.SCRATCH_ADDR, b, 0, SCRATCH);
      assertThat(a).as(where).isEqualTo(b);
    }
    assertThat(lock.jit().lockstep().checked()).isGreaterThan(STREAMS);
  }

  private static Cpu create(Engine engine, MemoryBus mem) {
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

  private record Stream(byte[] code, int[] regs, int eflags, byte[] scratch, int instructions,
      String text) {}

  private static Stream stream(SplittableRandom rnd) {
    ByteArrayOutputStream code = new ByteArrayOutputStream();
    StringBuilder text = new StringBuilder();
    DiffCase first = null;
    int insns = 0;
    for (int k = 0; k < CASES_PER_STREAM; k++) {
      DiffCase c = HostForms.generate(rnd, SCRATCH, false);
      if (first == null) {
        first = c;
      }
      for (int r = 0; r < 8; r++) {
        code.write(0xB8 + r); // mov r32, imm32
        for (int i = 0; i < 4; i++) {
          code.write(c.regs[r] >>> (8 * i));
        }
      }
      code.write(c.emuCode, 0, c.emuCode.length);
      insns += 8 + Math.max(1, c.maxSteps);
      text.append(k == 0 ? "" : " | ").append(c.text);
      if (rnd.nextInt(3) == 0) {
        insns += stackSnippet(rnd, code, text);
      }
      if (rnd.nextInt(3) == 0) {
        insns += stringSnippet(rnd, code, text);
      }
      if (rnd.nextInt(2) == 0) {
        insns += flagSnippet(rnd, code, text);
      }
    }
    // jmp rel32 back to the start: the stream loops until the budget ends.
    int back = -(code.size() + 5);
    code.write(0xE9);
    for (int i = 0; i < 4; i++) {
      code.write(back >>> (8 * i));
    }
    insns++;
    return new Stream(code.toByteArray(), first.regs.clone(), first.eflags, first.mem.clone(),
        insns, text.toString());
  }

  /**
   * The generator has no stack forms: PUSH/POP, CALL/RET (with a release count) on a stack in
   * the scratch window. Returns the instructions added.
   */
  private static int stackSnippet(SplittableRandom rnd, ByteArrayOutputStream code,
      StringBuilder text) {
    int r = rnd.nextInt(8);
    int r2 = (r + 1 + rnd.nextInt(6)) & 7;
    if (r2 == 4) {
      r2 = 5;
    }
    code.write(0xBC); // mov esp, scratch + 0x80
    le32(code, Layout.SCRATCH_ADDR + 0x80);
    switch (rnd.nextInt(4)) {
      case 0:
        code.write(r == 4 ? 0x54 : 0x50 + r); // push r
        code.write(0x58 + r2); // pop r2
        text.append(" | push/pop");
        return 3;
      case 1:
        code.write(0x68); // push imm32
        le32(code, rnd.nextInt());
        code.write(0x58 + r2);
        text.append(" | push imm/pop");
        return 3;
      case 2:
        code.write(0xE8); // call the next instruction
        le32(code, 0);
        code.write(0x58 + r2);
        text.append(" | call/pop");
        return 3;
      default: {
        code.write(0x68); // push imm32 (released by the RET)
        le32(code, rnd.nextInt());
        int after = Layout.INSN_ADDR + code.size() + 5 + 3;
        code.write(0x68); // push the return address
        le32(code, after);
        code.write(0xC2); // ret 4
        code.write(4);
        code.write(0);
        text.append(" | push/ret 4");
        return 4;
      }
    }
  }

  private static final String[] STRING_OPS = {"movsb", "movsd", "cmpsb", "cmpsd", "stosb",
      "stosd", "lodsb", "lodsd", "scasb", "scasd"};

  /**
   * The generator has no string forms: one of MOVS, CMPS, STOS, LODS, SCAS (byte or dword),
   * without REP, with REP/REPE or with REPNE, a count of 0 to 5 and DF clear or set, on source
   * and destination windows of the scratch area that a count of 5 cannot leave in either
   * direction. DF is cleared again after it. Returns the instructions added.
   */
  private static int stringSnippet(SplittableRandom rnd, ByteArrayOutputStream code,
      StringBuilder text) {
    int esi = Layout.SCRATCH_ADDR + 0x20 + rnd.nextInt(0x20);
    int edi = Layout.SCRATCH_ADDR + 0xA0 + rnd.nextInt(0x20);
    int ecx = rnd.nextInt(6);
    boolean down = rnd.nextBoolean();
    int op = rnd.nextInt(STRING_OPS.length);
    int rep = rnd.nextInt(3); // none, F3, F2
    code.write(0xBE); // mov esi, imm32
    le32(code, esi);
    code.write(0xBF); // mov edi, imm32
    le32(code, edi);
    code.write(0xB9); // mov ecx, imm32
    le32(code, ecx);
    code.write(down ? 0xFD : 0xFC); // std / cld
    if (rep == 1) {
      code.write(0xF3);
    } else if (rep == 2) {
      code.write(0xF2);
    }
    code.write(new int[] {0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF}[op]);
    code.write(0xFC); // cld
    text.append(String.format(" | %s%s ecx=%d%s", rep == 0 ? "" : rep == 1 ? "rep " : "repne ",
        STRING_OPS[op], ecx, down ? " std" : ""));
    return 6 + (rep == 0 ? 0 : ecx);
  }

  private static final int[] FLAG_VALUES = {0, 1, -1, 0x7FFF_FFFF, 0x8000_0000, 0x80, 0x7F,
      0xFF, 0x8000, 0xFFFF};

  private static int flagValue(SplittableRandom rnd) {
    return rnd.nextBoolean() ? FLAG_VALUES[rnd.nextInt(FLAG_VALUES.length)] : rnd.nextInt();
  }

  /**
   * A flag producer straight followed by a reader, so the translator's inline conditions are
   * exercised on records of a kind it knows: ADD, ADC, SUB, SBB, CMP, AND, OR, XOR, TEST, INC,
   * DEC, NEG, SHL/SHR/SAR by an immediate or IMUL on registers loaded with edge values, then
   * SETcc, CMOVcc, a short Jcc over an INC (a block boundary inside the loop) or PUSHF/POP, with
   * a random condition. Returns the instructions added.
   */
  private static int flagSnippet(SplittableRandom rnd, ByteArrayOutputStream code,
      StringBuilder text) {
    int a = pickReg(rnd, -1);
    int b = pickReg(rnd, a);
    code.write(0xB8 + a);
    le32(code, flagValue(rnd));
    code.write(0xB8 + b);
    le32(code, flagValue(rnd));
    int modrm = 0xC0 | (b << 3) | a; // op a, b
    int form = rnd.nextInt(16);
    switch (form) {
      case 0 -> { code.write(0x01); code.write(modrm); text.append(" | add"); }
      case 1 -> { code.write(0x11); code.write(modrm); text.append(" | adc"); }
      case 2 -> { code.write(0x29); code.write(modrm); text.append(" | sub"); }
      case 3 -> { code.write(0x19); code.write(modrm); text.append(" | sbb"); }
      case 4 -> { code.write(0x39); code.write(modrm); text.append(" | cmp"); }
      case 5 -> { code.write(0x21); code.write(modrm); text.append(" | and"); }
      case 6 -> { code.write(0x09); code.write(modrm); text.append(" | or"); }
      case 7 -> { code.write(0x31); code.write(modrm); text.append(" | xor"); }
      case 8 -> { code.write(0x85); code.write(modrm); text.append(" | test"); }
      case 9 -> { code.write(0x40 + a); text.append(" | inc"); }
      case 10 -> { code.write(0x48 + a); text.append(" | dec"); }
      case 11 -> { code.write(0xF7); code.write(0xD8 | a); text.append(" | neg"); }
      case 12, 13, 14 -> {
        int ext = form == 12 ? 4 : form == 13 ? 5 : 7;
        int count = rnd.nextInt(33);
        code.write(0xC1);
        code.write(0xC0 | (ext << 3) | a);
        code.write(count);
        text.append(String.format(" | %s %d", form == 12 ? "shl" : form == 13 ? "shr" : "sar",
            count));
      }
      default -> {
        code.write(0x0F);
        code.write(0xAF);
        code.write(0xC0 | (a << 3) | b);
        text.append(" | imul");
      }
    }
    int cc = rnd.nextInt(16);
    int d = pickReg(rnd, -1);
    switch (rnd.nextInt(4)) {
      case 0 -> {
        code.write(0x0F);
        code.write(0x90 + cc);
        code.write(0xC0 | (d & 3)); // setcc on AL, CL, DL or BL
        text.append(String.format("/set%x", cc));
        return 4;
      }
      case 1 -> {
        code.write(0x0F);
        code.write(0x40 + cc);
        code.write(0xC0 | (d << 3) | b);
        text.append(String.format("/cmov%x", cc));
        return 4;
      }
      case 2 -> {
        code.write(0x70 + cc);
        code.write(1);
        code.write(0x40 + d); // inc d, skipped when taken
        text.append(String.format("/j%x", cc));
        return 5;
      }
      default -> {
        code.write(0xBC); // mov esp, scratch + 0x80 (flags unchanged)
        le32(code, Layout.SCRATCH_ADDR + 0x80);
        code.write(0x9C); // pushf: every flag, as the record makes it
        code.write(0x58 + d);
        text.append("/pushf");
        return 6;
      }
    }
  }

  /** A general register other than ESP and {@code not}. */
  private static int pickReg(SplittableRandom rnd, int not) {
    while (true) {
      int r = rnd.nextInt(8);
      if (r != 4 && r != not) {
        return r;
      }
    }
  }

  private static void le32(ByteArrayOutputStream out, int v) {
    for (int i = 0; i < 4; i++) {
      out.write(v >>> (8 * i));
    }
  }

  private static void start(Cpu cpu, MemoryBus mem, Stream st) {
    byte[] filler = new byte[Layout.CODE_SIZE];
    Arrays.fill(filler, Layout.HLT);
    mem.write(Layout.CODE_ADDR, filler, 0, filler.length);
    mem.write(Layout.INSN_ADDR, st.code, 0, st.code.length);
    mem.write(Layout.SCRATCH_ADDR, st.scratch, 0, st.scratch.length);
    cpu.resetFlat32();
    cpu.setExceptionExitMask(-1);
    for (int r = 0; r < 8; r++) {
      cpu.setReg(r, st.regs[r]);
    }
    cpu.setEflags(st.eflags);
    cpu.setEip(Layout.INSN_ADDR);
  }
}
