package org.hospes.x86.diff;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * MMX, SSE and SSE2 forms for the host-CPU differential test. The harness compares GPRs, EFLAGS
 * and the scratch window only, so every case is a sequence:
 *
 * <pre>
 *   fninit; ldmxcsr [S+MXCSR]; movdqu xmm0-7, [S+XMM]; movq mm0-7, [S+MM]    (prologue)
 *   the instruction under test
 *   movdqu [S+XMM], xmm0-7; movq [S+MM], mm0-7; stmxcsr [S+MXCSR]           (epilogue)
 * </pre>
 * and the final XMM, MMX and MXCSR state lands in the compared window. Operands are drawn from
 * float and double edge values (signed zeros, denormals, infinities, quiet and signalling NaNs,
 * the overflow and underflow boundaries, integers) and random bits; MXCSR takes every rounding
 * mode, DAZ and FTZ, and now and then unmasked exceptions (#XM). Aligned forms get a misaligned
 * operand now and then (#GP).
 */
final class SimdForms {
  static final int SCRATCH = 1024;
  /** The prologue and epilogue take about 310 bytes on the host. */
  static final int CODE_MAX = 384;
  static final int XMM = 0;
  static final int MM = 128;
  static final int MXCSR = 192;
  /** The memory operand area: 64 bytes, 16-byte aligned (SCRATCH_ADDR is). */
  static final int OPND = 208;
  static final int FXAREA = 512;

  enum K { X, M, R }

  /** One form: prefix (0 none), 0F opcode, reg kind, r/m kind, memory bytes, aligned, ... */
  record Form(String name, int pfx, int opc, K g, K e, int bytes, boolean align, boolean imm,
      int memRule, int group) {}

  static final int ANY = 0, MEM = 1, REG = 2;
  static final List<Form> FORMS = new ArrayList<>();

  private static void f(String n, int pfx, int opc, K g, K e, int bytes, boolean align,
      boolean imm, int memRule) {
    FORMS.add(new Form(n, pfx, opc, g, e, bytes, align, imm, memRule, -1));
  }

  static {
    K x = K.X, m = K.M, r = K.R;
    String[] arith = {"sqrt", "add", "mul", "sub", "min", "div", "max"};
    int[] arithOp = {0x51, 0x58, 0x59, 0x5C, 0x5D, 0x5E, 0x5F};
    for (int i = 0; i < arith.length; i++) {
      f(arith[i] + "ps", 0, arithOp[i], x, x, 16, true, false, ANY);
      f(arith[i] + "pd", 0x66, arithOp[i], x, x, 16, true, false, ANY);
      f(arith[i] + "ss", 0xF3, arithOp[i], x, x, 4, false, false, ANY);
      f(arith[i] + "sd", 0xF2, arithOp[i], x, x, 8, false, false, ANY);
    }
    f("cmpps", 0, 0xC2, x, x, 16, true, true, ANY);
    f("cmppd", 0x66, 0xC2, x, x, 16, true, true, ANY);
    f("cmpss", 0xF3, 0xC2, x, x, 4, false, true, ANY);
    f("cmpsd", 0xF2, 0xC2, x, x, 8, false, true, ANY);
    String[] logic = {"and", "andn", "or", "xor"};
    for (int i = 0; i < 4; i++) {
      f(logic[i] + "ps", 0, 0x54 + i, x, x, 16, true, false, ANY);
      f(logic[i] + "pd", 0x66, 0x54 + i, x, x, 16, true, false, ANY);
    }
    f("movups", 0, 0x10, x, x, 16, false, false, ANY);
    f("movupd", 0x66, 0x10, x, x, 16, false, false, ANY);
    f("movss", 0xF3, 0x10, x, x, 4, false, false, ANY);
    f("movsd", 0xF2, 0x10, x, x, 8, false, false, ANY);
    f("movups st", 0, 0x11, x, x, 16, false, false, ANY);
    f("movss st", 0xF3, 0x11, x, x, 4, false, false, ANY);
    f("movsd st", 0xF2, 0x11, x, x, 8, false, false, ANY);
    f("movaps", 0, 0x28, x, x, 16, true, false, ANY);
    f("movapd st", 0x66, 0x29, x, x, 16, true, false, ANY);
    f("movlps/movhlps", 0, 0x12, x, x, 8, false, false, ANY);
    f("movlpd", 0x66, 0x12, x, x, 8, false, false, MEM);
    f("movlps st", 0, 0x13, x, x, 8, false, false, MEM);
    f("movhps/movlhps", 0, 0x16, x, x, 8, false, false, ANY);
    f("movhpd", 0x66, 0x16, x, x, 8, false, false, MEM);
    f("movhpd st", 0x66, 0x17, x, x, 8, false, false, MEM);
    f("unpcklps", 0, 0x14, x, x, 16, true, false, ANY);
    f("unpckhps", 0, 0x15, x, x, 16, true, false, ANY);
    f("unpcklpd", 0x66, 0x14, x, x, 16, true, false, ANY);
    f("unpckhpd", 0x66, 0x15, x, x, 16, true, false, ANY);
    f("movntps", 0, 0x2B, x, x, 16, true, false, MEM);
    f("movmskps", 0, 0x50, r, x, 0, false, false, REG);
    f("movmskpd", 0x66, 0x50, r, x, 0, false, false, REG);
    f("shufps", 0, 0xC6, x, x, 16, true, true, ANY);
    f("shufpd", 0x66, 0xC6, x, x, 16, true, true, ANY);
    f("cvtpi2ps", 0, 0x2A, x, m, 8, false, false, ANY);
    f("cvtpi2pd", 0x66, 0x2A, x, m, 8, false, false, ANY);
    f("cvtsi2ss", 0xF3, 0x2A, x, r, 4, false, false, ANY);
    f("cvtsi2sd", 0xF2, 0x2A, x, r, 4, false, false, ANY);
    for (int t = 0; t < 2; t++) {
      String p = t == 0 ? "cvtt" : "cvt";
      f(p + "ps2pi", 0, 0x2C + t, m, x, 8, false, false, ANY);
      f(p + "pd2pi", 0x66, 0x2C + t, m, x, 16, true, false, ANY);
      f(p + "ss2si", 0xF3, 0x2C + t, r, x, 4, false, false, ANY);
      f(p + "sd2si", 0xF2, 0x2C + t, r, x, 8, false, false, ANY);
    }
    f("ucomiss", 0, 0x2E, x, x, 4, false, false, ANY);
    f("comiss", 0, 0x2F, x, x, 4, false, false, ANY);
    f("ucomisd", 0x66, 0x2E, x, x, 8, false, false, ANY);
    f("comisd", 0x66, 0x2F, x, x, 8, false, false, ANY);
    f("cvtps2pd", 0, 0x5A, x, x, 8, false, false, ANY);
    f("cvtpd2ps", 0x66, 0x5A, x, x, 16, true, false, ANY);
    f("cvtss2sd", 0xF3, 0x5A, x, x, 4, false, false, ANY);
    f("cvtsd2ss", 0xF2, 0x5A, x, x, 8, false, false, ANY);
    f("cvtdq2ps", 0, 0x5B, x, x, 16, true, false, ANY);
    f("cvtps2dq", 0x66, 0x5B, x, x, 16, true, false, ANY);
    f("cvttps2dq", 0xF3, 0x5B, x, x, 16, true, false, ANY);
    f("cvttpd2dq", 0x66, 0xE6, x, x, 16, true, false, ANY);
    f("cvtdq2pd", 0xF3, 0xE6, x, x, 8, false, false, ANY);
    f("cvtpd2dq", 0xF2, 0xE6, x, x, 16, true, false, ANY);
    int[] ints = {0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x74,
        0x75, 0x76, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF,
        0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xEF, 0xF1,
        0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE};
    for (int op : ints) {
      f(String.format("mmx %02x", op), 0, op, m, m, 8, false, false, ANY);
      f(String.format("sse2 %02x", op), 0x66, op, x, x, 16, true, false, ANY);
    }
    f("punpcklqdq", 0x66, 0x6C, x, x, 16, true, false, ANY);
    f("punpckhqdq", 0x66, 0x6D, x, x, 16, true, false, ANY);
    f("movd mm,r/m32", 0, 0x6E, m, r, 4, false, false, ANY);
    f("movd r/m32,mm", 0, 0x7E, m, r, 4, false, false, ANY);
    f("movq mm,mm/m64", 0, 0x6F, m, m, 8, false, false, ANY);
    f("movq mm/m64,mm", 0, 0x7F, m, m, 8, false, false, ANY);
    f("movd xmm,r/m32", 0x66, 0x6E, x, r, 4, false, false, ANY);
    f("movd r/m32,xmm", 0x66, 0x7E, x, r, 4, false, false, ANY);
    f("movdqa", 0x66, 0x6F, x, x, 16, true, false, ANY);
    f("movdqu", 0xF3, 0x6F, x, x, 16, false, false, ANY);
    f("movdqa st", 0x66, 0x7F, x, x, 16, true, false, ANY);
    f("movdqu st", 0xF3, 0x7F, x, x, 16, false, false, ANY);
    f("movq xmm,xmm/m64", 0xF3, 0x7E, x, x, 8, false, false, ANY);
    f("movq xmm/m64,xmm", 0x66, 0xD6, x, x, 8, false, false, ANY);
    f("movq2dq", 0xF3, 0xD6, x, m, 0, false, false, REG);
    f("movdq2q", 0xF2, 0xD6, m, x, 0, false, false, REG);
    f("pshufw", 0, 0x70, m, m, 8, false, true, ANY);
    f("pshufd", 0x66, 0x70, x, x, 16, true, true, ANY);
    f("pshufhw", 0xF3, 0x70, x, x, 16, true, true, ANY);
    f("pshuflw", 0xF2, 0x70, x, x, 16, true, true, ANY);
    f("pinsrw mm", 0, 0xC4, m, r, 2, false, true, ANY);
    f("pinsrw xmm", 0x66, 0xC4, x, r, 2, false, true, ANY);
    f("pextrw mm", 0, 0xC5, r, m, 0, false, true, REG);
    f("pextrw xmm", 0x66, 0xC5, r, x, 0, false, true, REG);
    f("pmovmskb mm", 0, 0xD7, r, m, 0, false, false, REG);
    f("pmovmskb xmm", 0x66, 0xD7, r, x, 0, false, false, REG);
    f("maskmovq", 0, 0xF7, m, m, 0, false, false, REG);
    f("maskmovdqu", 0x66, 0xF7, x, x, 0, false, false, REG);
    f("movntq", 0, 0xE7, m, m, 8, false, false, MEM);
    f("movntdq", 0x66, 0xE7, x, x, 16, true, false, MEM);
    f("movnti", 0, 0xC3, r, r, 4, false, false, MEM);
    int[][] groups = {{0x71, 2}, {0x71, 4}, {0x71, 6}, {0x72, 2}, {0x72, 4}, {0x72, 6},
        {0x73, 2}, {0x73, 6}};
    for (int[] gr : groups) {
      FORMS.add(new Form(String.format("mmx %02x /%d", gr[0], gr[1]), 0, gr[0], m, m, 0, false,
          true, REG, gr[1]));
      FORMS.add(new Form(String.format("sse2 %02x /%d", gr[0], gr[1]), 0x66, gr[0], x, x, 0,
          false, true, REG, gr[1]));
    }
    FORMS.add(new Form("psrldq", 0x66, 0x73, x, x, 0, false, true, REG, 3));
    FORMS.add(new Form("pslldq", 0x66, 0x73, x, x, 0, false, true, REG, 7));
  }

  private SimdForms() {}

  static DiffCase generate(SplittableRandom rnd) {
    DiffCase c = new DiffCase(SCRATCH);
    Gen g = new Gen(rnd, c, true);
    fillState(rnd, c);
    int kind = rnd.nextInt(40);
    Insn insn;
    String form;
    if (kind == 0) {
      insn = emms(g);
      form = "emms";
    } else if (kind == 1) {
      insn = mxcsrOp(g, c);
      form = "ldmxcsr/stmxcsr";
    } else if (kind == 2) {
      insn = fence(g);
      form = "fence";
    } else {
      Form f = FORMS.get(rnd.nextInt(FORMS.size()));
      insn = build(g, c, f);
      form = f.name();
    }
    List<Insn> seq = prologue();
    int before = 0;
    for (Insn i : seq) {
      before += i.ref().length - i.emu().length;
    }
    seq.add(insn);
    seq.addAll(epilogue());
    boolean fx = rnd.nextInt(8) == 0;
    if (fx) {
      seq.add(mem(0x0F, 0xAE, 0, FXAREA, -1, "fxsave"));
      // FIP/FCS/FOP/FDP/FDS (the host's last x87 instruction), the reserved bytes, the padding of
      // the ST slots and everything from byte 288 (the host also has XMM8-15) are not compared.
      c.maskMem(FXAREA + 5, 1, 0);
      // MXCSR_MASK is the host's (0x2FFFF on AMD parts); SimdUnitTest checks the emulator's.
      c.maskMem(FXAREA + 28, 4, 0);
      c.maskMem(FXAREA + 6, 18, 0);
      for (int i = 0; i < 8; i++) {
        c.maskMem(FXAREA + 32 + 16 * i + 10, 6, 0);
      }
      c.maskMem(FXAREA + 288, 224, 0);
      form = form + " ; fxsave";
    } else {
      c.maskMem(FXAREA, 512, 0);
    }
    byte[] ref = new byte[0];
    byte[] emu = new byte[0];
    for (Insn i : seq) {
      ref = HostForms.concat(ref, i.ref());
      emu = HostForms.concat(emu, i.emu());
    }
    c.refCode = ref;
    c.emuCode = emu;
    c.text = insn.text();
    c.form = form;
    c.maxSteps = seq.size();
    c.faultEipAdjust = before;
    return c;
  }

  /** The prologue (state from the window) and epilogue (state to the window) of a case. */
  static List<Insn> prologue() {
    List<Insn> seq = new ArrayList<>();
    seq.add(new Insn.Builder(true).op(0xDB, 0xE3).build("fninit"));
    seq.add(mem(0x0F, 0xAE, 2, MXCSR, -1, "ldmxcsr"));
    for (int i = 0; i < 8; i++) {
      seq.add(mem(0x0F, 0x6F, i, XMM + 16 * i, 0xF3, "movdqu xmm" + i));
    }
    for (int i = 0; i < 8; i++) {
      seq.add(mem(0x0F, 0x6F, i, MM + 8 * i, -1, "movq mm" + i));
    }
    return seq;
  }

  static List<Insn> epilogue() {
    List<Insn> seq = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      seq.add(mem(0x0F, 0x7F, i, XMM + 16 * i, 0xF3, "movdqu st xmm" + i));
    }
    for (int i = 0; i < 8; i++) {
      seq.add(mem(0x0F, 0x7F, i, MM + 8 * i, -1, "movq st mm" + i));
    }
    seq.add(mem(0x0F, 0xAE, 3, MXCSR, -1, "stmxcsr"));
    return seq;
  }

  /** One random form (not MASKMOV*, which needs EDI), for instruction streams. */
  static Insn randomInsn(SplittableRandom rnd, DiffCase c) {
    Form f;
    do {
      f = FORMS.get(rnd.nextInt(FORMS.size()));
    } while (f.opc() == 0xF7);
    return build(new Gen(rnd, new DiffCase(SCRATCH), true), c, f);
  }

  private static Insn mem(int op0, int op1, int reg, int off, int prefix, String text) {
    Insn.Builder b = new Insn.Builder(true);
    if (prefix >= 0) {
      b.prefix(prefix);
    }
    return b.op(op0, op1).modrmMem(reg, Mem.absolute(Layout.SCRATCH_ADDR + off, true)).build(text);
  }

  private static Insn emms(Gen g) {
    return g.b().op(0x0F, 0x77).build("emms");
  }

  private static Insn fence(Gen g) {
    int m = g.pick(0xE8, 0xF0, 0xF8) + g.rnd.nextInt(8);
    return g.b().op(0x0F, 0xAE, m).build("fence");
  }

  private static Insn mxcsrOp(Gen g, DiffCase c) {
    boolean load = g.rnd.nextBoolean();
    int v = mxcsrValue(g.rnd);
    if (load && g.rnd.nextInt(6) == 0) {
      // A reserved bit: #GP(0). Not bit 17, which AMD hosts define (MXCSR.MM; MXCSR_MASK
      // 0x2FFFF there) and the emulated Intel part does not.
      int bit = 16 + g.rnd.nextInt(16);
      v |= 1 << (bit == 17 ? 31 : bit);
    }
    putInt(c.mem, OPND, v);
    return g.b().op(0x0F, 0xAE).modrmMem(load ? 2 : 3,
        Mem.absolute(Layout.SCRATCH_ADDR + OPND, true)).build(load ? "ldmxcsr" : "stmxcsr");
  }

  private static Insn build(Gen g, DiffCase c, Form f) {
    SplittableRandom rnd = g.rnd;
    Insn.Builder b = g.b();
    if (f.pfx() != 0) {
      b.prefix(f.pfx());
    }
    b.op(0x0F, f.opc());
    int reg = f.group() >= 0 ? f.group() : rnd.nextInt(8);
    boolean memory = f.memRule() == MEM || f.memRule() == ANY && rnd.nextBoolean();
    String text = f.name();
    if (f.opc() == 0xF7) {
      c.regs[Regs.EDI] = Layout.SCRATCH_ADDR + OPND + rnd.nextInt(16);
    }
    if (memory) {
      int off = OPND;
      if (f.align() && rnd.nextInt(8) == 0) {
        off += 1 + rnd.nextInt(15);
      } else if (!f.align()) {
        off += rnd.nextInt(16);
      }
      b.modrmMem(reg, Mem.absolute(Layout.SCRATCH_ADDR + off, true));
      text += " [S+" + off + "]";
    } else {
      int rm = rnd.nextInt(8);
      if (f.e() == K.R && f.g() != K.R && rm == Regs.ESP && rnd.nextBoolean()) {
        rm = Regs.EAX;
      }
      b.modrmReg(reg, rm);
      text += " r" + reg + ", r" + rm;
    }
    if (f.imm()) {
      int imm = f.opc() == 0xC2 ? rnd.nextInt(8) : f.group() >= 0 ? shiftImm(rnd) : rnd.nextInt(256);
      b.imm(imm, 1);
      text += ", " + imm;
    }
    return b.build(text);
  }

  private static int shiftImm(SplittableRandom rnd) {
    return rnd.nextInt(3) == 0 ? rnd.nextInt(256) : rnd.nextInt(20);
  }

  // ------------------------------------------------------------------ state

  private static final int[] FLOATS = {
    0x0000_0000, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0000, 0x7FA0_0001,
    0xFF80_0001, 0x0000_0001, 0x807F_FFFF, 0x0040_0000, 0x0080_0000, 0x8080_0000, 0x7F7F_FFFF,
    0xFF7F_FFFF, 0x3F80_0000, 0xBF80_0000, 0x4000_0000, 0x3F00_0000, 0x4F00_0000, 0xCF00_0000,
    0x4EFF_FFFF, 0x3F80_0001, 0x7F00_0000, 0x0100_0000, 0x00FF_FFFF, 0x3FC0_0000, 0x4B00_0001
  };
  private static final long[] DOUBLES = {
    0L, 0x8000_0000_0000_0000L, 0x7FF0_0000_0000_0000L, 0xFFF0_0000_0000_0000L,
    0x7FF8_0000_0000_0000L, 0xFFF8_0000_0000_0000L, 0x7FF4_0000_0000_0001L, 0x7FF0_0000_0000_0001L,
    0x0000_0000_0000_0001L, 0x800F_FFFF_FFFF_FFFFL, 0x0010_0000_0000_0000L, 0x7FEF_FFFF_FFFF_FFFFL,
    0x3FF0_0000_0000_0000L, 0xBFF0_0000_0000_0000L, 0x41E0_0000_0000_0000L, 0xC1E0_0000_0000_0000L,
    0x41DF_FFFF_FFC0_0000L, 0x3FE0_0000_0000_0000L, 0x3FF8_0000_0000_0000L, 0x7FE0_0000_0000_0000L,
    0x0020_0000_0000_0000L, 0x3FF0_0000_0000_0001L, 0x47EF_FFFF_E000_0000L, 0x380F_FFFF_F000_0000L,
    0x36A0_0000_0000_0000L, 0x4330_0000_0000_0001L
  };

  static int floatValue(SplittableRandom rnd) {
    switch (rnd.nextInt(6)) {
      case 0: return FLOATS[rnd.nextInt(FLOATS.length)];
      case 1: return rnd.nextInt() & 0x807F_FFFF | rnd.nextInt(3) << 23; // denormal or tiny
      case 2: return rnd.nextInt() & 0x807F_FFFF | (0xFC + rnd.nextInt(3)) << 23; // huge
      case 3: return Float.floatToRawIntBits((float) (rnd.nextInt(2001) - 1000) / 8);
      case 4: return rnd.nextInt() & 0x83FF_FFFF | 0x3C00_0000; // near 1
      default: return rnd.nextInt();
    }
  }

  static long doubleValue(SplittableRandom rnd) {
    switch (rnd.nextInt(6)) {
      case 0: return DOUBLES[rnd.nextInt(DOUBLES.length)];
      case 1: return rnd.nextLong() & 0x800F_FFFF_FFFF_FFFFL | (long) rnd.nextInt(3) << 52;
      case 2: return rnd.nextLong() & 0x800F_FFFF_FFFF_FFFFL | (long) (0x7FC + rnd.nextInt(3)) << 52;
      case 3: return Double.doubleToRawLongBits((double) (rnd.nextInt(2_000_001) - 1_000_000) / 16);
      case 4: return rnd.nextLong() & 0x803F_FFFF_FFFF_FFFFL | 0x3FC0_0000_0000_0000L;
      default:
        // Operands whose results land near the float range's edges after a conversion.
        return rnd.nextBoolean() ? rnd.nextLong()
            : rnd.nextLong() & 0x800F_FFFF_FFFF_FFFFL | (long) (0x360 + rnd.nextInt(0x120)) << 52;
    }
  }

  /** 16 bytes of floats, doubles or integers. */
  static void fill16(SplittableRandom rnd, byte[] mem, int off) {
    int k = rnd.nextInt(3);
    for (int i = 0; i < 4; i += k == 1 ? 2 : 1) {
      if (k == 0) {
        putInt(mem, off + 4 * i, floatValue(rnd));
      } else if (k == 1) {
        long v = doubleValue(rnd);
        putInt(mem, off + 4 * i, (int) v);
        putInt(mem, off + 4 * i + 4, (int) (v >>> 32));
      } else {
        putInt(mem, off + 4 * i, rnd.nextInt(4) == 0 ? rnd.nextInt(65536) - 32768 : rnd.nextInt());
      }
    }
  }

  static int mxcsrValue(SplittableRandom rnd) {
    int v = 0x1F80 | rnd.nextInt(4) << 13;
    if (rnd.nextInt(4) == 0) {
      v |= 0x40; // DAZ
    }
    if (rnd.nextInt(4) == 0) {
      v |= 0x8000; // FTZ
    }
    if (rnd.nextInt(8) == 0) {
      v &= ~(rnd.nextInt(64) << 7); // unmask some: #XM
    }
    if (rnd.nextInt(4) == 0) {
      v |= rnd.nextInt(64); // sticky flags already set
    }
    return v;
  }

  private static void fillState(SplittableRandom rnd, DiffCase c) {
    for (int i = 0; i < 8; i++) {
      fill16(rnd, c.mem, XMM + 16 * i);
    }
    for (int i = 0; i < 4; i++) {
      fill16(rnd, c.mem, MM + 16 * i);
    }
    putInt(c.mem, MXCSR, mxcsrValue(rnd));
    for (int i = 0; i < 4; i++) {
      fill16(rnd, c.mem, OPND + 16 * i);
    }
    for (int r = 0; r < 8; r++) {
      if (rnd.nextInt(3) == 0) {
        c.regs[r] = rnd.nextBoolean() ? floatValue(rnd) : rnd.nextInt(2001) - 1000;
      }
    }
  }

  static void putInt(byte[] mem, int off, int v) {
    for (int i = 0; i < 4; i++) {
      mem[off + i] = (byte) (v >>> (8 * i));
    }
  }
}
