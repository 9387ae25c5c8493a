package org.hospes.x86;

import static org.hospes.x86.Cpu.LF_ADD;
import static org.hospes.x86.Cpu.LF_DEC;
import static org.hospes.x86.Cpu.LF_INC;
import static org.hospes.x86.Cpu.LF_LOGIC;
import static org.hospes.x86.Cpu.LF_SUB;
import static org.hospes.x86.Cpu.SHIFT;

/** ADD OR ADC SBB AND SUB XOR CMP, TEST, INC, DEC, NOT, NEG in all sizes (SDM vol. 2). */
final class Alu {
  private Alu() {}

  /**
   * Computes {@code a op b} for the operand size, records the flags lazily and returns the
   * result (high bits beyond the size are garbage; writers mask).
   */
  static int alu(Cpu c, int op, int size, int a, int b) {
    int sh = SHIFT[size];
    int res;
    switch (op) {
      case Decoder.ADD:
        res = a + b;
        c.setLazy(LF_ADD, a << sh >> sh, b << sh >> sh, res << sh >> sh);
        return res;
      case Decoder.OR:
        res = a | b;
        c.setLazy(LF_LOGIC, 0, 0, res << sh >> sh);
        return res;
      case Decoder.ADC:
        res = a + b + c.cf();
        c.setLazy(LF_ADD, a << sh >> sh, b << sh >> sh, res << sh >> sh);
        return res;
      case Decoder.SBB:
        res = a - b - c.cf();
        c.setLazy(LF_SUB, a << sh >> sh, b << sh >> sh, res << sh >> sh);
        return res;
      case Decoder.AND:
        res = a & b;
        c.setLazy(LF_LOGIC, 0, 0, res << sh >> sh);
        return res;
      case Decoder.XOR:
        res = a ^ b;
        c.setLazy(LF_LOGIC, 0, 0, res << sh >> sh);
        return res;
      default:
        // SUB and CMP
        res = a - b;
        c.setLazy(LF_SUB, a << sh >> sh, b << sh >> sh, res << sh >> sh);
        return res;
    }
  }

  static void aluEG(Cpu c, int f0, int d, int op) {
    int size = Cpu.size(f0);
    int b = c.getG(f0, size);
    if (Cpu.isMem(f0)) {
      int lin = op == Decoder.CMP ? c.linR(f0, d, size) : c.linW(f0, d, size);
      int res = alu(c, op, size, c.readSized(size, lin), b);
      if (op != Decoder.CMP) {
        c.writeSized(size, lin, res);
      }
    } else {
      int reg = (f0 >>> 14) & 15;
      int res = alu(c, op, size, c.getReg(size, reg), b);
      if (op != Decoder.CMP) {
        c.setReg(size, reg, res);
      }
    }
  }

  static void aluGE(Cpu c, int f0, int d, int op) {
    int size = Cpu.size(f0);
    int b = c.getE(f0, d, size);
    int res = alu(c, op, size, c.getG(f0, size), b);
    if (op != Decoder.CMP) {
      c.setG(f0, size, res);
    }
  }

  static void aluEI(Cpu c, int f0, int d, int imm, int op) {
    int size = Cpu.size(f0);
    if (Cpu.isMem(f0)) {
      int lin = op == Decoder.CMP ? c.linR(f0, d, size) : c.linW(f0, d, size);
      int res = alu(c, op, size, c.readSized(size, lin), imm);
      if (op != Decoder.CMP) {
        c.writeSized(size, lin, res);
      }
    } else {
      int reg = (f0 >>> 14) & 15;
      int res = alu(c, op, size, c.getReg(size, reg), imm);
      if (op != Decoder.CMP) {
        c.setReg(size, reg, res);
      }
    }
  }

  /** 32-bit register-register form: E (base field) op= G (reg field). */
  static void aluRR32(Cpu c, int f0, int op) {
    int[] r = c.r;
    int dst = (f0 >>> 14) & 15;
    int a = r[dst];
    int b = r[(f0 >>> 10) & 15];
    switch (op) {
      case Decoder.ADD: { int res = a + b; c.setLazy(LF_ADD, a, b, res); r[dst] = res; break; }
      case Decoder.SUB: { int res = a - b; c.setLazy(LF_SUB, a, b, res); r[dst] = res; break; }
      case Decoder.CMP: c.setLazy(LF_SUB, a, b, a - b); break;
      case Decoder.XOR: { int res = a ^ b; c.lfOp = LF_LOGIC; c.lfR = res; r[dst] = res; break; }
      case Decoder.AND: { int res = a & b; c.lfOp = LF_LOGIC; c.lfR = res; r[dst] = res; break; }
      case Decoder.OR: { int res = a | b; c.lfOp = LF_LOGIC; c.lfR = res; r[dst] = res; break; }
      default: r[dst] = alu(c, op, 2, a, b); break;
    }
  }

  /** 32-bit register-immediate form. */
  static void aluRI32(Cpu c, int f0, int b, int op) {
    int[] r = c.r;
    int dst = (f0 >>> 14) & 15;
    int a = r[dst];
    switch (op) {
      case Decoder.ADD: { int res = a + b; c.setLazy(LF_ADD, a, b, res); r[dst] = res; break; }
      case Decoder.SUB: { int res = a - b; c.setLazy(LF_SUB, a, b, res); r[dst] = res; break; }
      case Decoder.CMP: c.setLazy(LF_SUB, a, b, a - b); break;
      case Decoder.AND: { int res = a & b; c.lfOp = LF_LOGIC; c.lfR = res; r[dst] = res; break; }
      default: r[dst] = alu(c, op, 2, a, b); break;
    }
  }

  static void testEG(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int res = c.getE(f0, d, size) & c.getG(f0, size);
    int sh = SHIFT[size];
    c.setLazy(LF_LOGIC, 0, 0, res << sh >> sh);
  }

  static void testEI(Cpu c, int f0, int d, int imm) {
    int size = Cpu.size(f0);
    int res = c.getE(f0, d, size) & imm;
    int sh = SHIFT[size];
    c.setLazy(LF_LOGIC, 0, 0, res << sh >> sh);
  }

  static void incE(Cpu c, int f0, int d) {
    incDec(c, f0, d, 1, LF_INC);
  }

  static void decE(Cpu c, int f0, int d) {
    incDec(c, f0, d, -1, LF_DEC);
  }

  private static void incDec(Cpu c, int f0, int d, int delta, int kind) {
    int size = Cpu.size(f0);
    int sh = SHIFT[size];
    int cf = c.carryIn();
    if (Cpu.isMem(f0)) {
      int lin = c.linW(f0, d, size);
      int a = c.readSized(size, lin);
      int res = a + delta;
      c.writeSized(size, lin, res);
      c.lfCf = cf;
      c.setLazy(kind, a << sh >> sh, 1, res << sh >> sh);
    } else {
      int reg = (f0 >>> 14) & 15;
      int a = c.getReg(size, reg);
      int res = a + delta;
      c.setReg(size, reg, res);
      c.lfCf = cf;
      c.setLazy(kind, a << sh >> sh, 1, res << sh >> sh);
    }
  }

  static void notE(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    if (Cpu.isMem(f0)) {
      int lin = c.linW(f0, d, size);
      c.writeSized(size, lin, ~c.readSized(size, lin));
    } else {
      int reg = (f0 >>> 14) & 15;
      c.setReg(size, reg, ~c.getReg(size, reg));
    }
  }

  static void negE(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int sh = SHIFT[size];
    if (Cpu.isMem(f0)) {
      int lin = c.linW(f0, d, size);
      int b = c.readSized(size, lin);
      int res = -b;
      c.writeSized(size, lin, res);
      c.setLazy(LF_SUB, 0, b << sh >> sh, res << sh >> sh);
    } else {
      int reg = (f0 >>> 14) & 15;
      int b = c.getReg(size, reg);
      int res = -b;
      c.setReg(size, reg, res);
      c.setLazy(LF_SUB, 0, b << sh >> sh, res << sh >> sh);
    }
  }
}
