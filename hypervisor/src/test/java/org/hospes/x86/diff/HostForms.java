package org.hospes.x86.diff;

import static org.hospes.x86.Flags.DF;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Instruction forms whose semantics are the same in 64-bit mode with 8/16/32-bit operands, for
 * the host-CPU differential test. Each generator fills one {@link DiffCase} through a
 * {@link Gen}; the form key it sets groups mismatches in reports.
 */
final class HostForms {
  record Form(String family, int weight, Consumer<Gen> gen) {}

  static final String[] ALU = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
  static final String[] SHIFT = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
  static final String[] CC = {
    "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"
  };

  static final List<Form> FORMS = List.of(
      new Form("alu", 14, HostForms::alu),
      new Form("test", 3, HostForms::test),
      new Form("incdec", 3, HostForms::incDec),
      new Form("negnot", 3, HostForms::negNot),
      new Form("shift", 12, HostForms::shift),
      new Form("shxd", 5, HostForms::shiftDouble),
      new Form("muldiv", 6, HostForms::mulDiv),
      new Form("imul", 4, HostForms::imul),
      new Form("bt", 6, HostForms::bitTest),
      new Form("bsf", 3, HostForms::bitScan),
      new Form("bswap", 1, HostForms::bswap),
      new Form("xchg", 3, HostForms::xchg),
      new Form("xadd", 2, HostForms::xadd),
      new Form("cmpxchg", 3, HostForms::cmpxchg),
      new Form("cmpxchg8b", 1, HostForms::cmpxchg8b),
      new Form("cmov", 3, HostForms::cmov),
      new Form("setcc", 2, HostForms::setcc),
      new Form("movx", 3, HostForms::movx),
      new Form("mov", 5, HostForms::mov),
      new Form("lea", 3, HostForms::lea),
      new Form("convert", 1, HostForms::convert),
      new Form("flagops", 2, HostForms::flagOps),
      new Form("string", 10, HostForms::string),
      new Form("nop", 1, HostForms::nop),
      new Form("xlat", 1, HostForms::xlat),
      new Form("invalid", 1, HostForms::invalid));

  private static final int TOTAL_WEIGHT = FORMS.stream().mapToInt(Form::weight).sum();

  private HostForms() {}

  static DiffCase generate(SplittableRandom rnd, int scratchSize, boolean host) {
    DiffCase c = new DiffCase(scratchSize);
    Gen g = new Gen(rnd, c, host);
    place(rnd, c);
    int w = rnd.nextInt(TOTAL_WEIGHT);
    for (Form f : FORMS) {
      w -= f.weight();
      if (w < 0) {
        f.gen().accept(g);
        if (rnd.nextInt(4) == 0) {
          c.refCode = shufflePrefixes(rnd, c.refCode);
          c.emuCode = shufflePrefixes(rnd, c.emuCode);
        }
        if (rnd.nextInt(5) == 0 && !f.family().equals("invalid")) {
          appendFlagReader(rnd, c);
        }
        return c;
      }
    }
    throw new AssertionError();
  }

  /**
   * Follows the instruction with one that reads flags it defines: SETcc into a register, LAHF,
   * or ADC/SBB with an immediate. The flags then travel through a second path of the emulator
   * (condition evaluation, carry-in) besides {@code Cpu.eflags()}. Only conditions made of
   * compared flags are chosen, and only registers whose every bit is compared are written.
   */
  static void appendFlagReader(SplittableRandom rnd, DiffCase c) {
    int mask = c.flagMask;
    int kind = rnd.nextInt(3);
    Insn reader = null;
    String name = null;
    if (kind == 0) {
      int cc = rnd.nextInt(16);
      int r = rnd.nextInt(8);
      if ((QemuForms.ccReads(cc) & ~mask) == 0 && c.regMask[Regs.full(8, r)] == -1) {
        reader = new Insn.Builder(true).op(0x0F, 0x90 + cc).modrmReg(0, r)
            .build("set" + CC[cc] + " " + Regs.name(8, r));
        name = "setcc";
      }
    } else if (kind == 1) {
      int read = org.hospes.x86.Flags.SF | org.hospes.x86.Flags.ZF | org.hospes.x86.Flags.AF
          | org.hospes.x86.Flags.PF | org.hospes.x86.Flags.CF;
      if ((read & ~mask) == 0 && c.regMask[Regs.EAX] == -1) {
        reader = new Insn.Builder(true).op(0x9F).build("lahf");
        name = "lahf";
      }
    } else {
      int r = rnd.nextInt(8);
      boolean sbb = rnd.nextBoolean();
      if ((mask & org.hospes.x86.Flags.CF) != 0 && c.regMask[r] == -1) {
        int imm = rnd.nextInt(256);
        reader = new Insn.Builder(true).op(0x83).modrmReg(sbb ? 3 : 2, r).imm(imm, 1)
            .build((sbb ? "sbb " : "adc ") + Regs.r32(r) + ", " + Hex.imm((byte) imm, 32));
        name = sbb ? "sbb" : "adc";
        c.flagMask = DefinedFlags.all();
      }
    }
    if (reader == null) {
      return;
    }
    c.refCode = concat(c.refCode, reader.ref());
    c.emuCode = concat(c.emuCode, reader.emu());
    c.text = c.text + "; " + reader.text();
    c.form = c.form + " ; " + name;
    c.maxSteps = 2;
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /**
   * Permutes the leading legacy prefixes (segment, 66, 67, LOCK, REP): the SDM lets groups 1-4
   * come in any order. Only for single instructions, whose first non-prefix byte is the opcode.
   */
  static byte[] shufflePrefixes(SplittableRandom rnd, byte[] code) {
    int n = 0;
    while (n < code.length - 1 && isPrefix(code[n] & 0xFF)) {
      n++;
    }
    byte[] out = code.clone();
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      byte t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }

  static boolean isPrefix(int b) {
    return b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x66 || b == 0x67 || b == 0xF0
        || b == 0xF2 || b == 0xF3;
  }

  /**
   * Sometimes starts the code a few bytes below {@link Layout#INSN_ADDR}, a page boundary, so
   * that it straddles two pages; and picks how the emulator runs it.
   */
  static void place(SplittableRandom rnd, DiffCase c) {
    if (rnd.nextInt(4) == 0) {
      c.codeAddr = Layout.INSN_ADDR - 1 - rnd.nextInt(7);
    }
    c.asBlock = rnd.nextBoolean();
  }

  static String suffix(int size) {
    return String.valueOf(size);
  }

  /** ADD OR ADC SBB AND SUB XOR CMP in all eight encodings. */
  static void alu(Gen g) {
    int op = g.rnd.nextInt(8);
    int variant = g.rnd.nextInt(6);
    int size = variant >= 4 ? g.size1632() : variant == 3 ? 8 : g.size();
    String n = ALU[op];
    Insn.Builder b = g.b();
    String seg = "";
    String text;
    String form;
    // A memory destination a LOCK prefix may go on (no split lock: Gen.memRm).
    boolean memDest = false;
    switch (variant) {
      case 0, 1 -> {
        int r = g.reg();
        g.setReg(size, r, g.val(size));
        Gen.Rm rm = g.rm(size, Gen.bit(size, r));
        seg = rm.isMem ? g.seg(b, 0.15, variant == 0 && op != 7) : "";
        Gen.opsize(b, size);
        b.op(Gen.w(op * 8 + (variant == 0 ? 0 : 2), size));
        rm.modrm(b, r);
        memDest = variant == 0 && Gen.lockable(rm);
        text = variant == 0 ? n + " " + rm.text() + ", " + Regs.name(size, r)
            : n + " " + Regs.name(size, r) + ", " + rm.text();
        form = n + (variant == 0 ? " r/m, r" : " r, r/m") + size + " " + rm.kind();
      }
      case 2 -> {
        int imm = g.val(size);
        g.setReg(size, Regs.EAX, g.val(size));
        Gen.opsize(b, size);
        b.op(Gen.w(op * 8 + 4, size)).imm(imm, Gen.immBytes(size));
        text = n + " " + Regs.name(size, 0) + ", " + Hex.imm(imm, size);
        form = n + " acc, imm" + size;
      }
      default -> {
        Gen.Rm rm = g.rm(size, 0);
        seg = rm.isMem ? g.seg(b, 0.15, op != 7) : "";
        Gen.opsize(b, size);
        int immSize = variant == 5 ? 8 : size;
        int imm = g.val(immSize);
        b.op(variant == 3 ? 0x80 : variant == 4 ? 0x81 : 0x83);
        rm.modrm(b, op);
        b.imm(imm, Gen.immBytes(immSize));
        int shown = variant == 5 ? (byte) imm : imm;
        memDest = Gen.lockable(rm);
        text = n + " " + rm.text() + ", " + Hex.imm(shown, size);
        form = n + " r/m" + size + ", imm" + immSize + " (" + Hex.h32(variant == 3 ? 0x80
            : variant == 4 ? 0x81 : 0x83) + ") " + rm.kind();
      }
    }
    if (memDest && op != 7 && g.chance(0.25)) {
      b.prefix(0xF0);
      text = "lock " + text;
      form = "lock " + form;
    }
    g.c.form = form;
    g.c.setInsn(b.build(seg + text));
    g.c.flagMask = op == 1 || op == 4 || op == 6 ? DefinedFlags.logic() : DefinedFlags.all();
  }

  static void test(Gen g) {
    int variant = g.rnd.nextInt(3);
    int size = g.size();
    Insn.Builder b = g.b();
    String text;
    if (variant == 0) {
      int r = g.reg();
      g.setReg(size, r, g.val(size));
      Gen.Rm rm = g.rm(size, Gen.bit(size, r));
      Gen.opsize(b, size);
      b.op(Gen.w(0x84, size));
      rm.modrm(b, r);
      text = "test " + rm.text() + ", " + Regs.name(size, r);
      g.c.form = "test r/m, r" + size + " " + rm.kind();
    } else if (variant == 1) {
      int imm = g.val(size);
      g.setReg(size, 0, g.val(size));
      Gen.opsize(b, size);
      b.op(Gen.w(0xA8, size)).imm(imm, Gen.immBytes(size));
      text = "test " + Regs.name(size, 0) + ", " + Hex.imm(imm, size);
      g.c.form = "test acc, imm" + size;
    } else {
      Gen.Rm rm = g.rm(size, 0);
      int imm = g.val(size);
      Gen.opsize(b, size);
      b.op(Gen.w(0xF6, size));
      rm.modrm(b, 0);
      b.imm(imm, Gen.immBytes(size));
      text = "test " + rm.text() + ", " + Hex.imm(imm, size);
      g.c.form = "test r/m" + size + ", imm " + rm.kind();
    }
    g.c.setInsn(b.build(text));
    g.c.flagMask = DefinedFlags.logic();
  }

  /** INC/DEC through FE/FF (the one-byte 40-4F forms are REX prefixes on the host). */
  static void incDec(Gen g) {
    int size = g.size();
    int op = g.rnd.nextInt(2);
    Insn.Builder b = g.b();
    Gen.Rm rm = g.rm(size, 0);
    String seg = rm.isMem ? g.seg(b, 0.1, true) : "";
    Gen.opsize(b, size);
    b.op(Gen.w(0xFE, size));
    rm.modrm(b, op);
    String text = (op == 0 ? "inc " : "dec ") + rm.text();
    String form = (op == 0 ? "inc" : "dec") + " r/m" + size + " " + rm.kind();
    if (Gen.lockable(rm) && g.chance(0.25)) {
      b.prefix(0xF0);
      text = "lock " + text;
      form = "lock " + form;
    }
    g.c.form = form;
    g.c.setInsn(b.build(seg + text));
  }

  static void negNot(Gen g) {
    int size = g.size();
    int op = 2 + g.rnd.nextInt(2);
    Insn.Builder b = g.b();
    Gen.Rm rm = g.rm(size, 0);
    Gen.opsize(b, size);
    b.op(Gen.w(0xF6, size));
    rm.modrm(b, op);
    String n = op == 2 ? "not" : "neg";
    String text = n + " " + rm.text();
    String form = n + " r/m" + size + " " + rm.kind();
    if (Gen.lockable(rm) && g.chance(0.25)) {
      b.prefix(0xF0);
      text = "lock " + text;
      form = "lock " + form;
    }
    g.c.form = form;
    g.c.setInsn(b.build(text));
  }

  /** ROL ROR RCL RCR SHL SHR SAR by 1, by CL and by imm8. */
  static void shift(Gen g) {
    int size = g.size();
    int kind = g.pick(0, 1, 2, 3, 4, 5, 7);
    int how = g.rnd.nextInt(3); // 0: by 1, 1: CL, 2: imm8
    int count = how == 0 ? 1 : g.count();
    Insn.Builder b = g.b();
    String countText;
    int avoid = 0;
    if (how == 1) {
      g.setReg(8, Regs.ECX, count);
      countText = "cl";
      avoid = 1 << Regs.ECX;
    } else {
      countText = how == 0 ? "1" : Hex.h32(count);
    }
    Gen.Rm rm = g.chance(0.5) ? g.memRm(size, avoid) : g.regRm(size, g.reg());
    if (how == 1) {
      count = g.getReg(8, Regs.ECX); // the r/m may be CL, CH or ECX itself
    }
    Gen.opsize(b, size);
    b.op(how == 0 ? Gen.w(0xD0, size) : how == 1 ? Gen.w(0xD2, size) : Gen.w(0xC0, size));
    rm.modrm(b, kind);
    if (how == 2) {
      b.imm(count, 1);
    }
    String n = SHIFT[kind];
    g.c.form = n + " r/m" + size + ", " + (how == 0 ? "1" : how == 1 ? "cl" : "imm8") + " " + rm.kind();
    g.c.setInsn(b.build(n + " " + rm.text() + ", " + countText));
    g.c.flagMask = kind <= 3 ? DefinedFlags.rotate(count) : DefinedFlags.shift(kind, size, count);
  }

  static void shiftDouble(Gen g) {
    int size = g.size1632();
    boolean right = g.chance(0.5);
    boolean cl = g.chance(0.5);
    int count = g.count();
    int avoid = 0;
    if (cl) {
      g.setReg(8, Regs.ECX, count);
      avoid = 1 << Regs.ECX;
    }
    int r = g.reg();
    g.setReg(size, r, g.val(size));
    Gen.Rm rm = g.chance(0.5) ? g.memRm(size, avoid | (1 << r)) : g.regRm(size, g.reg());
    if (cl) {
      count = g.getReg(8, Regs.ECX);
    }
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    b.op(0x0F, (right ? 0xAC : 0xA4) + (cl ? 1 : 0));
    rm.modrm(b, r);
    if (!cl) {
      b.imm(count, 1);
    }
    String n = right ? "shrd" : "shld";
    g.c.form = n + " r/m" + size + ", r, " + (cl ? "cl" : "imm8") + " " + rm.kind();
    g.c.setInsn(b.build(n + " " + rm.text() + ", " + Regs.name(size, r) + ", "
        + (cl ? "cl" : Hex.h32(count))));
    g.c.flagMask = DefinedFlags.shiftDouble(size, count);
    if (DefinedFlags.shiftDoubleResultUndefined(size, count)) {
      rm.maskOut();
    }
  }

  /** MUL, one-operand IMUL, DIV, IDIV (F6/F7 /4-/7), with dividends chosen to fault sometimes. */
  static void mulDiv(Gen g) {
    int size = g.size();
    int op = 4 + g.rnd.nextInt(4);
    boolean div = op >= 6;
    boolean signed = op == 5 || op == 7;
    int avoid = size == 8 ? 1 : 1 | 1 << Regs.EDX;
    Gen.Rm rm = g.chance(0.5) ? g.memRm(size, avoid) : g.regRm(size, g.reg());
    if (div) {
      setDividend(g, rm, size, signed);
    } else {
      g.setReg(size, Regs.EAX, g.val(size));
    }
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    b.op(Gen.w(0xF6, size));
    rm.modrm(b, op);
    String n = new String[] {"mul", "imul", "div", "idiv"}[op - 4];
    g.c.form = n + " r/m" + size + " " + rm.kind();
    g.c.setInsn(b.build(n + " " + rm.text()));
    g.c.flagMask = div ? DefinedFlags.divide() : DefinedFlags.multiply();
  }

  /**
   * Sets the dividend so that about three cases in four divide cleanly: quotient and remainder
   * are chosen first (one case in eight puts the quotient at the overflow boundary, just inside
   * or just past it). The rest keep random values (#DE by overflow) or a zero divisor.
   */
  private static void setDividend(Gen g, Gen.Rm rm, int size, boolean signed) {
    int mode = g.rnd.nextInt(8);
    if (mode == 0) {
      rm.set(0);
    } else if (mode == 1 && signed) {
      // The one signed overflow: the most negative dividend divided by -1.
      rm.set(-1);
      if (size == 8) {
        g.setReg(16, Regs.EAX, 0x8000);
      } else {
        g.setReg(size, Regs.EAX, 0);
        g.setReg(size, Regs.EDX, 1 << (size - 1));
      }
      if (g.chance(0.5)) { // or one less, which divides cleanly
        rm.set(1);
      }
    }
    long d = signed ? signExtend(rm.value(), size) : rm.value() & mask64(size);
    if (mode >= 2 && d != 0) {
      long q = signed ? signExtend(g.val(size), size) >> g.rnd.nextInt(size)
          : (g.val(size) & mask64(size)) >>> g.rnd.nextInt(size);
      if (mode == 2) {
        // The overflow boundary: the largest quotient that fits, or one past it (#DE).
        long max = signed ? (1L << (size - 1)) - 1 : mask64(size);
        long[] edge = signed ? new long[] {max, max + 1, -max - 1, -max - 2}
            : new long[] {max, max + 1};
        q = edge[g.rnd.nextInt(edge.length)];
      }
      long ad = Math.abs(d);
      long rem = Math.floorMod(g.rnd.nextLong(), ad);
      java.math.BigInteger dividend = java.math.BigInteger.valueOf(q).multiply(
          java.math.BigInteger.valueOf(d));
      boolean negative = dividend.signum() < 0 || (dividend.signum() == 0 && signed && g.chance(0.5));
      dividend = dividend.add(java.math.BigInteger.valueOf(signed && negative ? -rem : rem));
      long lo = dividend.longValue();
      if (size == 8) {
        g.setReg(16, Regs.EAX, (int) lo);
      } else {
        g.setReg(size, Regs.EAX, (int) lo);
        g.setReg(size, Regs.EDX, (int) (lo >> size));
      }
    }
    // The divisor may itself be AL/AH/EAX/EDX: its value then follows the dividend.
  }

  static long signExtend(int v, int size) {
    return size == 32 ? v : size == 16 ? (short) v : (byte) v;
  }

  static long mask64(int size) {
    return (1L << size) - 1;
  }

  /** IMUL r, r/m (0F AF); IMUL r, r/m, imm (69); IMUL r, r/m, imm8 (6B). */
  static void imul(Gen g) {
    int size = g.size1632();
    int variant = g.rnd.nextInt(3);
    int r = g.reg();
    g.setReg(size, r, g.val(size));
    Gen.Rm rm = g.rm(size, Gen.bit(size, r));
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    String text;
    if (variant == 0) {
      b.op(0x0F, 0xAF);
      rm.modrm(b, r);
      text = "imul " + Regs.name(size, r) + ", " + rm.text();
      g.c.form = "imul r, r/m" + size + " " + rm.kind();
    } else {
      int immSize = variant == 1 ? size : 8;
      int imm = g.val(immSize);
      b.op(variant == 1 ? 0x69 : 0x6B);
      rm.modrm(b, r);
      b.imm(imm, Gen.immBytes(immSize));
      text = "imul " + Regs.name(size, r) + ", " + rm.text() + ", "
          + Hex.imm(variant == 1 ? imm : (byte) imm, size);
      g.c.form = "imul r, r/m" + size + ", imm" + immSize + " " + rm.kind();
    }
    g.c.setInsn(b.build(text));
    g.c.flagMask = DefinedFlags.multiply();
  }

  /** BT BTS BTR BTC with register and immediate offsets; memory offsets reach beyond the operand. */
  static void bitTest(Gen g) {
    int size = g.size1632();
    int op = g.rnd.nextInt(4); // bt bts btr btc
    boolean imm = g.chance(0.4);
    String n = new String[] {"bt", "bts", "btr", "btc"}[op];
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    Gen.Rm rm;
    String text;
    // Scratch offset of the bytes a memory form really touches (for the split-lock rule).
    int bitTestOffset = -1;
    if (imm) {
      int bit = g.chance(0.5) ? g.rnd.nextInt(256) : g.rnd.nextInt(size);
      rm = g.rm(size, 0);
      b.op(0x0F, 0xBA);
      rm.modrm(b, 4 + op);
      b.imm(bit, 1);
      text = n + " " + rm.text() + ", " + Hex.h32(bit);
      g.c.form = n + " r/m" + size + ", imm8 " + rm.kind();
      bitTestOffset = rm.off;
    } else {
      int r = g.reg();
      if (g.chance(0.5)) {
        rm = g.regRm(size, g.reg());
        g.setReg(size, r, g.val(size));
      } else {
        // The bit offset is a signed number that may address bytes outside the operand.
        int bitOffset = g.chance(0.3) ? g.rnd.nextInt(size) : g.rnd.nextInt(1024) - 512;
        g.setReg(32, r, g.val(32));
        g.setReg(size, r, bitOffset);
        int off = 72 + g.rnd.nextInt(g.c.mem.length - 144 - 4);
        g.putMem(off, g.val(size), size / 8);
        rm = g.new Rm(size, off, g.memAt(Layout.SCRATCH_ADDR + off, Gen.bit(32, r)));
        bitTestOffset = off + (size / 8) * Math.floorDiv(bitOffset, size);
      }
      b.op(0x0F, 0xA3 + 8 * op);
      rm.modrm(b, r);
      text = n + " " + rm.text() + ", " + Regs.name(size, r);
      g.c.form = n + " r/m" + size + ", r " + rm.kind();
    }
    if (rm.isMem && op != 0 && Gen.withinLine(bitTestOffset, size / 8) && g.chance(0.25)) {
      b.prefix(0xF0);
      text = "lock " + text;
      g.c.form = "lock " + g.c.form;
    }
    g.c.setInsn(b.build(text));
    g.c.flagMask = DefinedFlags.bitTest();
  }

  static void bitScan(Gen g) {
    int size = g.size1632();
    boolean reverse = g.chance(0.5);
    int r = g.reg();
    Gen.Rm rm = g.rm(size, Gen.bit(size, r));
    if (g.chance(0.25)) {
      rm.set(0);
    }
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    b.op(0x0F, reverse ? 0xBD : 0xBC);
    rm.modrm(b, r);
    String n = reverse ? "bsr" : "bsf";
    g.c.form = n + " r, r/m" + size + " " + rm.kind();
    g.c.setInsn(b.build(n + " " + Regs.name(size, r) + ", " + rm.text()));
    g.c.flagMask = DefinedFlags.bitScan();
    if (rm.value() == 0) {
      g.maskReg(size, r);
    }
  }

  static void bswap(Gen g) {
    int r = g.reg();
    g.c.form = "bswap r32";
    g.c.setInsn(g.b().op(0x0F, 0xC8 + r).build("bswap " + Regs.r32(r)));
  }

  static void xchg(Gen g) {
    int size = g.size();
    Insn.Builder b = g.b();
    if (size != 8 && g.chance(0.3)) {
      int r = 1 + g.rnd.nextInt(7);
      Gen.opsize(b, size);
      b.op(0x90 + r);
      g.c.form = "xchg acc, r" + size;
      g.c.setInsn(b.build("xchg " + Regs.name(size, 0) + ", " + Regs.name(size, r)));
      return;
    }
    int r = g.reg();
    g.setReg(size, r, g.val(size));
    // XCHG with memory is locked with or without the prefix.
    Gen.Rm rm = g.lockedRm(size, Gen.bit(size, r));
    String text = "xchg " + rm.text() + ", " + Regs.name(size, r);
    String form = "xchg r/m, r" + size + " " + rm.kind();
    if (rm.isMem && g.chance(0.2)) {
      b.prefix(0xF0);
      text = "lock " + text;
      form = "lock " + form;
    }
    Gen.opsize(b, size);
    b.op(Gen.w(0x86, size));
    rm.modrm(b, r);
    g.c.form = form;
    g.c.setInsn(b.build(text));
  }

  static void xadd(Gen g) {
    int size = g.size();
    int r = g.reg();
    g.setReg(size, r, g.val(size));
    Gen.Rm rm = g.rm(size, Gen.bit(size, r));
    Insn.Builder b = g.b();
    String text = "xadd " + rm.text() + ", " + Regs.name(size, r);
    String form = "xadd r/m, r" + size + " " + rm.kind();
    if (Gen.lockable(rm) && g.chance(0.3)) {
      b.prefix(0xF0);
      text = "lock " + text;
      form = "lock " + form;
    }
    Gen.opsize(b, size);
    b.op(0x0F, Gen.w(0xC0, size));
    rm.modrm(b, r);
    g.c.form = form;
    g.c.setInsn(b.build(text));
  }

  static void cmpxchg(Gen g) {
    int size = g.size();
    int r = g.reg();
    g.setReg(size, r, g.val(size));
    Gen.Rm rm = g.rm(size, Gen.bit(size, r) | 1);
    if (g.chance(0.5)) {
      if (rm.isMem) {
        rm.set(g.getReg(size, Regs.EAX));
      } else {
        g.setReg(size, Regs.EAX, rm.value());
      }
    }
    Insn.Builder b = g.b();
    String text = "cmpxchg " + rm.text() + ", " + Regs.name(size, r);
    String form = "cmpxchg r/m, r" + size + " " + rm.kind();
    if (Gen.lockable(rm) && g.chance(0.3)) {
      b.prefix(0xF0);
      text = "lock " + text;
      form = "lock " + form;
    }
    Gen.opsize(b, size);
    b.op(0x0F, Gen.w(0xB0, size));
    rm.modrm(b, r);
    g.c.form = form;
    g.c.setInsn(b.build(text));
  }

  static void cmpxchg8b(Gen g) {
    int off = g.offset(8, 0);
    Mem m = g.memAt(Layout.SCRATCH_ADDR + off, 0);
    if (g.chance(0.5)) {
      g.putMem(off, g.c.regs[Regs.EAX], 4);
      g.putMem(off + 4, g.c.regs[Regs.EDX], 4);
    }
    Insn.Builder b = g.b();
    String text = "cmpxchg8b " + m.text(64);
    g.c.form = "cmpxchg8b m64";
    if (Gen.withinLine(off, 8) && g.chance(0.3)) {
      b.prefix(0xF0);
      text = "lock " + text;
      g.c.form = "lock cmpxchg8b m64";
    }
    b.op(0x0F, 0xC7).modrmMem(1, m);
    g.c.setInsn(b.build(text));
  }

  static void cmov(Gen g) {
    int size = g.size1632();
    int cc = g.rnd.nextInt(16);
    int r = g.reg();
    Gen.Rm rm = g.rm(size, Gen.bit(size, r));
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    b.op(0x0F, 0x40 + cc);
    rm.modrm(b, r);
    g.c.form = "cmovcc r, r/m" + size + " " + rm.kind();
    g.c.setInsn(b.build("cmov" + CC[cc] + " " + Regs.name(size, r) + ", " + rm.text()));
  }

  static void setcc(Gen g) {
    int cc = g.rnd.nextInt(16);
    Gen.Rm rm = g.rm(8, 0);
    Insn.Builder b = g.b();
    b.op(0x0F, 0x90 + cc);
    rm.modrm(b, 0);
    g.c.form = "setcc r/m8 " + rm.kind();
    g.c.setInsn(b.build("set" + CC[cc] + " " + rm.text()));
  }

  static void movx(Gen g) {
    boolean signed = g.chance(0.5);
    int src = g.pick(8, 16);
    int dst = src == 8 ? g.size1632() : g.pick(32, 32, 16);
    int r = g.reg();
    Gen.Rm rm = g.rm(src, Gen.bit(dst, r));
    Insn.Builder b = g.b();
    Gen.opsize(b, dst);
    b.op(0x0F, (signed ? 0xBE : 0xB6) + (src == 16 ? 1 : 0));
    rm.modrm(b, r);
    String n = signed ? "movsx" : "movzx";
    g.c.form = n + " r" + dst + ", r/m" + src + " " + rm.kind();
    g.c.setInsn(b.build(n + " " + Regs.name(dst, r) + ", " + rm.text()));
  }

  /** MOV 88/89/8A/8B, C6/C7, B0+r/B8+r, and A0-A3 with a 32-bit moffs. */
  static void mov(Gen g) {
    int size = g.size();
    int variant = g.rnd.nextInt(5);
    Insn.Builder b = g.b();
    String text;
    switch (variant) {
      case 0, 1 -> {
        int r = g.reg();
        g.setReg(size, r, g.val(size));
        Gen.Rm rm = g.rm(size, Gen.bit(size, r));
        String seg = rm.isMem ? g.seg(b, 0.2, variant == 0) : "";
        Gen.opsize(b, size);
        b.op(Gen.w(variant == 0 ? 0x88 : 0x8A, size));
        rm.modrm(b, r);
        text = seg + "mov " + (variant == 0 ? rm.text() + ", " + Regs.name(size, r)
            : Regs.name(size, r) + ", " + rm.text());
        g.c.form = "mov " + (variant == 0 ? "r/m, r" : "r, r/m") + size + " " + rm.kind();
      }
      case 2 -> {
        Gen.Rm rm = g.rm(size, 0);
        int imm = g.val(size);
        Gen.opsize(b, size);
        b.op(Gen.w(0xC6, size));
        rm.modrm(b, 0);
        b.imm(imm, Gen.immBytes(size));
        text = "mov " + rm.text() + ", " + Hex.imm(imm, size);
        g.c.form = "mov r/m" + size + ", imm " + rm.kind();
      }
      case 3 -> {
        int r = g.reg();
        int imm = g.val(size);
        Gen.opsize(b, size);
        b.op((size == 8 ? 0xB0 : 0xB8) + r).imm(imm, Gen.immBytes(size));
        text = "mov " + Regs.name(size, r) + ", " + Hex.imm(imm, size);
        g.c.form = "mov r" + size + ", imm (B0/B8+r)";
      }
      default -> {
        boolean store = g.chance(0.5);
        int off = g.offset(size / 8, 0);
        int addr = Layout.SCRATCH_ADDR + off;
        String seg = g.seg(b, 0.2, store);
        Gen.opsize(b, size);
        b.implicitMemory().op(Gen.w(store ? 0xA2 : 0xA0, size)).imm(addr, 4);
        String m = Regs.ptr(size) + " [" + Hex.h32(addr) + "]";
        text = seg + "mov " + (store ? m + ", " + Regs.name(size, 0) : Regs.name(size, 0) + ", " + m);
        g.c.form = "mov " + (store ? "moffs, acc" : "acc, moffs") + size;
      }
    }
    g.c.setInsn(b.build(text));
  }

  static void lea(Gen g) {
    int size = g.size1632();
    int r = g.reg();
    Mem m = g.memAt(g.rnd.nextInt(), 0);
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    b.op(0x8D).modrmMem(r, m);
    g.c.form = "lea r" + size + ", m";
    g.c.setInsn(b.build("lea " + Regs.name(size, r) + ", " + m.text(0)));
  }

  static void convert(Gen g) {
    int v = g.rnd.nextInt(4);
    g.c.regs[Regs.EAX] = g.val(32);
    Insn.Builder b = g.b();
    if (v == 0 || v == 2) {
      b.prefix(0x66);
    }
    b.op(v < 2 ? 0x98 : 0x99);
    String n = new String[] {"cbw", "cwde", "cwd", "cdq"}[v];
    g.c.form = n;
    g.c.setInsn(b.build(n));
  }

  static void flagOps(Gen g) {
    int v = g.rnd.nextInt(7);
    int[] ops = {0xF8, 0xF9, 0xF5, 0xFC, 0xFD, 0x9F, 0x9E};
    String[] names = {"clc", "stc", "cmc", "cld", "std", "lahf", "sahf"};
    g.c.form = names[v];
    g.c.setInsn(g.b().op(ops[v]).build(names[v]));
  }

  /** MOVS CMPS SCAS LODS STOS, all sizes, with REP/REPE/REPNE and DF both ways. */
  static void string(Gen g) {
    int kind = g.rnd.nextInt(5); // movs cmps stos lods scas
    int size = g.size();
    int e = size / 8;
    String[] names = {"movs", "cmps", "stos", "lods", "scas"};
    int[] ops = {0xA4, 0xA6, 0xAA, 0xAC, 0xAE};
    boolean compare = kind == 1 || kind == 4;
    int rep = g.rnd.nextInt(compare ? 3 : 2); // 0 none, 1 F3, 2 F2
    boolean down = g.chance(0.5);
    DiffCase c = g.c;
    c.eflags = down ? c.eflags | DF : c.eflags & ~DF;
    int n = 1;
    if (rep != 0) {
      n = g.rnd.nextInt(13);
      c.regs[Regs.ECX] = n;
    }
    int span = Math.max(n, 1) * e;
    boolean usesSi = kind == 0 || kind == 1 || kind == 3;
    int srcStart = g.offset(span, 0);
    int dstStart = kind == 0 && g.chance(0.3)
        ? Math.max(0, Math.min(c.mem.length - span, srcStart + g.rnd.nextInt(9) - 4))
        : g.offset(span, 0);
    // With DF=1 the first element is the highest one.
    c.regs[Regs.ESI] = Layout.SCRATCH_ADDR + (down ? srcStart + span - e : srcStart);
    c.regs[Regs.EDI] = Layout.SCRATCH_ADDR + (down ? dstStart + span - e : dstStart);
    if (compare) {
      if (kind == 1) {
        System.arraycopy(c.mem, srcStart, c.mem, dstStart, span);
      } else {
        int acc = g.getReg(size, Regs.EAX);
        for (int i = 0; i < span; i += e) {
          g.putMem(dstStart + i, acc, e);
        }
      }
      int changes = g.rnd.nextInt(3);
      for (int i = 0; i < changes; i++) {
        c.mem[dstStart + g.rnd.nextInt(span)] ^= (byte) (1 << g.rnd.nextInt(8));
      }
    }
    Insn.Builder b = g.b();
    String seg = usesSi ? g.seg(b, 0.2, false) : "";
    Gen.opsize(b, size);
    String prefix = "";
    if (rep == 1) {
      b.prefix(0xF3);
      prefix = compare ? "repe " : "rep ";
    } else if (rep == 2) {
      b.prefix(0xF2);
      prefix = "repne ";
    }
    b.implicitMemory().op(Gen.w(ops[kind], size));
    String suffix = size == 8 ? "b" : size == 16 ? "w" : "d";
    c.form = prefix + names[kind] + suffix + (down ? " (DF=1)" : " (DF=0)");
    c.setInsn(b.build(prefix + seg + names[kind] + suffix));
  }

  static void nop(Gen g) {
    int v = g.rnd.nextInt(4);
    Insn.Builder b = g.b();
    switch (v) {
      case 0 -> {
        b.op(0x90);
        g.c.form = "nop";
        g.c.setInsn(b.build("nop"));
      }
      case 1 -> {
        b.prefix(0x66).op(0x90);
        g.c.form = "66 nop";
        g.c.setInsn(b.build("o16 nop"));
      }
      case 2 -> {
        b.prefix(0xF3).op(0x90);
        g.c.form = "pause";
        g.c.setInsn(b.build("pause"));
      }
      default -> {
        int size = g.size1632();
        Gen.opsize(b, size);
        // The hintable NOPs 0F 18-0F 1F, any ModRM reg field: 0F 18 /0-/3 with memory are the
        // PREFETCHh hints, every other form (register operands included) is a reserved NOP.
        int op = 0x18 + g.rnd.nextInt(8);
        int hint = g.rnd.nextInt(8);
        b.op(0x0F, op);
        String t;
        if (g.chance(0.5)) {
          int r = g.reg();
          b.modrmReg(hint, r);
          t = Regs.name(size, r);
        } else {
          Mem m = g.memAt(g.rnd.nextInt(), 0);
          b.modrmMem(hint, m);
          t = m.text(size);
        }
        g.c.form = String.format("hint nop r/m%d (0F %02X /%d)", size, op, hint);
        g.c.setInsn(b.build(String.format("hint_nop 0x%02x/%d %s", op, hint, t)));
      }
    }
  }

  static void xlat(Gen g) {
    int al = g.rnd.nextInt(256);
    g.setReg(8, Regs.EAX, al);
    int off = g.rnd.nextInt(g.c.mem.length);
    g.c.regs[Regs.EBX] = Layout.SCRATCH_ADDR + off - al; // the table may start below the window
    Insn.Builder b = g.b();
    String seg = g.seg(b, 0.3, false);
    b.implicitMemory().op(0xD7);
    g.c.form = "xlat";
    g.c.setInsn(b.build(seg + "xlatb"));
  }

  /**
   * Encodings the SDM says raise #UD (LOCK on a register or non-lockable form, UD2, register
   * operands where only memory is allowed) or #GP (longer than 15 bytes).
   */
  static void invalid(Gen g) {
    int v = g.rnd.nextInt(7);
    Insn.Builder b = g.b();
    switch (v) {
      case 0 -> {
        int op = g.rnd.nextInt(7);
        int r = g.reg();
        int rm = g.reg();
        b.prefix(0xF0).op(0x01 + 8 * op).modrmReg(r, rm);
        g.c.form = "lock on a register destination (#UD)";
        g.c.setInsn(b.build("lock " + ALU[op] + " " + Regs.r32(rm) + ", " + Regs.r32(r)));
      }
      case 1 -> {
        int r = g.reg();
        Gen.Rm rm = g.memRm(32, Gen.bit(32, r));
        b.prefix(0xF0).op(0x89);
        rm.modrm(b, r);
        g.c.form = "lock mov (#UD)";
        g.c.setInsn(b.build("lock mov " + rm.text() + ", " + Regs.r32(r)));
      }
      case 2 -> {
        int r = g.reg();
        Gen.Rm rm = g.memRm(32, Gen.bit(32, r));
        b.prefix(0xF0).op(0x39);
        rm.modrm(b, r);
        g.c.form = "lock cmp (#UD)";
        g.c.setInsn(b.build("lock cmp " + rm.text() + ", " + Regs.r32(r)));
      }
      case 3 -> {
        b.op(0x0F, 0x0B);
        g.c.form = "ud2";
        g.c.setInsn(b.build("ud2"));
      }
      case 4 -> {
        int r = g.reg();
        b.op(0x8D).modrmReg(r, g.reg());
        g.c.form = "lea with a register operand (#UD)";
        g.c.setInsn(b.build("lea " + Regs.r32(r) + ", <register>"));
      }
      case 5 -> {
        b.op(0x0F, 0xC7).modrmReg(1, g.reg());
        g.c.form = "cmpxchg8b with a register operand (#UD)";
        g.c.setInsn(b.build("cmpxchg8b <register>"));
      }
      default -> {
        // 14 or 15 redundant DS prefixes before NOP: 15 bytes is the limit, 16 raise #GP(0).
        int n = 14 + g.rnd.nextInt(2);
        for (int i = 0; i < n; i++) {
          b.prefix(0x3E);
        }
        b.op(0x90);
        g.c.form = n == 14 ? "15-byte instruction" : "16-byte instruction (#GP)";
        g.c.setInsn(b.build(n + "x ds: nop"));
      }
    }
  }
}
