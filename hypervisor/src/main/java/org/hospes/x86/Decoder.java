package org.hospes.x86;

import java.util.Arrays;

/**
 * Decodes x86 machine code into {@link Block}s of packed ints. Decoding never faults: bytes that
 * do not form an implemented instruction become a {@link Op#UD} entry that raises #UD only if it
 * is reached, as a real processor would.
 */
final class Decoder {
  static final int MODE_DEF32 = 1;

  /** ALU sub-operations, in opcode order. */
  static final int ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7;

  private static final int NONE = 8;

  private final Cpu cpu;
  private int[] buf = new int[4 * 256];
  private int n;

  // Fetch state.
  private int lin;
  private int blockLin;
  private int length;
  private boolean overlong;
  /** Linear address where the instruction being decoded starts. */
  private int insnLin;
  /** Bytes that may be fetched from the block start before the CS limit is passed. */
  private int maxLen;

  // Prefix state of the instruction being decoded.
  private int osz;
  private boolean a16;
  private int segOverride;
  private int rep;
  private boolean lock;
  /** A 66 prefix was seen (the SSE2 mandatory prefix, whatever the default operand size). */
  private boolean p66;

  // ModRM state.
  private int mod;
  private int regField;
  private int base;
  private int index;
  private int scale;
  private int disp;
  private int seg;

  Decoder(Cpu cpu) {
    this.cpu = cpu;
  }

  /**
   * Decodes from linear address {@code startLin} (physical {@code phys}) until a block terminator
   * or the end of the page. Instructions may run into the next page; their bytes are fetched
   * through {@link Cpu#fetchCodeByte}.
   */
  Block decode(int startLin, long phys, int mode, int maxLen) {
    n = 0;
    blockLin = startLin;
    lin = startLin;
    this.maxLen = maxLen;
    int pageEnd = (startLin & ~0xFFF) + 0x1000;
    boolean def32 = (mode & MODE_DEF32) != 0;
    while (true) {
      int insnStart = lin;
      boolean terminates;
      if (n == 0) {
        terminates = decodeOne(def32);
      } else {
        // A later instruction that cannot be fetched (unmapped next page) is left for its own
        // block, so that it faults only if it is reached.
        int savedN = n;
        int savedCr2 = cpu.cr2;
        try {
          terminates = decodeOne(def32);
        } catch (CpuFault f) {
          n = savedN;
          lin = insnStart;
          cpu.cr2 = savedCr2;
          break;
        }
      }
      if (terminates || n >= 4 * 1024 - 4) {
        break;
      }
      if (lin - pageEnd >= 0 || lin - insnStart <= 0) {
        break;
      }
    }
    int endOffset = lin - startLin;
    long lastByteLin = (startLin & 0xFFFF_FFFFL) + endOffset - 1;
    long secondPage = -1;
    if ((lastByteLin >>> 12) != ((startLin & 0xFFFF_FFFFL) >>> 12)) {
      secondPage = cpu.physPageOfCode((int) lastByteLin);
    }
    Block b = new Block(phys, mode, Arrays.copyOf(buf, n), n >> 2, endOffset, secondPage);
    b.hotAt = cpu.hotAt(b);
    return b;
  }

  // ---------------------------------------------------------------- fetching

  private int fetch8() {
    if (++length > 15 || lin - blockLin >= maxLen) {
      overlong = true;
    }
    return cpu.fetchCodeByte(lin++);
  }

  private int fetch16() {
    int lo = fetch8();
    return lo | fetch8() << 8;
  }

  private int fetch32() {
    int lo = fetch16();
    return lo | fetch16() << 16;
  }

  private int fetchImm(int size) {
    switch (size) {
      case 0:
        return (byte) fetch8();
      case 1:
        return (short) fetch16();
      default:
        return fetch32();
    }
  }

  // ---------------------------------------------------------------- ModRM

  private int lastRm;

  private int modrmRm() {
    return lastRm;
  }

  private void modrm() {
    int m = fetch8();
    lastRm = m & 7;
    mod = m >>> 6;
    regField = (m >>> 3) & 7;
    int rm = m & 7;
    scale = 0;
    index = NONE;
    disp = 0;
    if (mod == 3) {
      base = rm;
      seg = 0;
      return;
    }
    int defSeg = Cpu.DS;
    if (!a16) {
      if (rm == 4) {
        int sib = fetch8();
        scale = sib >>> 6;
        index = (sib >>> 3) & 7;
        if (index == 4) {
          index = NONE;
        }
        base = sib & 7;
        if (base == 5 && mod == 0) {
          base = NONE;
          disp = fetch32();
        }
      } else if (rm == 5 && mod == 0) {
        base = NONE;
        disp = fetch32();
      } else {
        base = rm;
      }
      if (base == Cpu.ESP || base == Cpu.EBP) {
        defSeg = Cpu.SS;
      }
      if (mod == 1) {
        disp = (byte) fetch8();
      } else if (mod == 2) {
        disp = fetch32();
      }
    } else {
      switch (rm) {
        case 0: base = Cpu.EBX; index = Cpu.ESI; break;
        case 1: base = Cpu.EBX; index = Cpu.EDI; break;
        case 2: base = Cpu.EBP; index = Cpu.ESI; defSeg = Cpu.SS; break;
        case 3: base = Cpu.EBP; index = Cpu.EDI; defSeg = Cpu.SS; break;
        case 4: base = Cpu.ESI; break;
        case 5: base = Cpu.EDI; break;
        case 6:
          if (mod == 0) {
            base = NONE;
          } else {
            base = Cpu.EBP;
            defSeg = Cpu.SS;
          }
          break;
        default: base = Cpu.EBX; break;
      }
      if (mod == 0 && rm == 6) {
        disp = fetch16();
      } else if (mod == 1) {
        disp = (byte) fetch8();
      } else if (mod == 2) {
        disp = fetch16();
      }
    }
    seg = segOverride >= 0 ? segOverride : defSeg;
  }

  /** Operand with no ModRM: a register encoded in the opcode. */
  private void regOperand(int r) {
    mod = 3;
    base = r;
    index = NONE;
    scale = 0;
    disp = 0;
    seg = 0;
  }

  /** Memory operand at an absolute offset (moffs forms), default DS. */
  private void absOperand(int offset) {
    mod = 0;
    base = NONE;
    index = NONE;
    scale = 0;
    disp = offset;
    seg = segOverride >= 0 ? segOverride : Cpu.DS;
  }

  private boolean isMem() {
    return mod != 3;
  }

  // ---------------------------------------------------------------- emitting

  private void emit(int op, int size, int sub, int imm) {
    emit(op, size, sub, imm, disp);
  }

  private void emit(int op, int size, int sub, int imm, int d) {
    if (n + 4 > buf.length) {
      buf = Arrays.copyOf(buf, buf.length * 2);
    }
    int f0 = op | (regField & 15) << 10 | (base & 15) << 14 | (index & 15) << 18 | scale << 22
        | (seg & 7) << 24 | (a16 ? 1 << 27 : 0) | (mod != 3 ? 1 << 28 : 0) | size << 29;
    buf[n] = f0;
    buf[n + 1] = d;
    buf[n + 2] = imm;
    // An over-long instruction faults at its start: its "end" is its first byte, length 0.
    int end = overlong ? insnLin : lin;
    int len = overlong ? 0 : length;
    buf[n + 3] = ((end - blockLin) & 0xFFFF) | (len & 15) << 16 | sub << 20;
    n += 4;
  }

  /** Emits #UD (or #GP for an over-long instruction) and ends the block. */
  private boolean undefined() {
    regField = 0;
    regOperand(0);
    emit(Op.UD, 0, overlong ? Exceptions.GP : Exceptions.UD, 0);
    return true;
  }

  /** Branch target relative to the block's start EIP, from a displacement after this insn. */
  private int target(int rel) {
    return (lin - blockLin) + rel;
  }

  // ---------------------------------------------------------------- instructions

  /** Decodes one instruction; returns true if it ends the block. */
  private boolean decodeOne(boolean def32) {
    insnLin = lin;
    length = 0;
    overlong = false;
    osz = def32 ? 2 : 1;
    a16 = !def32;
    segOverride = -1;
    rep = 0;
    lock = false;
    p66 = false;
    regField = 0;
    regOperand(0);
    int b;
    prefixes:
    while (true) {
      b = fetch8();
      switch (b) {
        case 0x66: osz = def32 ? 1 : 2; p66 = true; break;
        case 0x67: a16 = def32; break;
        case 0x26: segOverride = Cpu.ES; break;
        case 0x2E: segOverride = Cpu.CS; break;
        case 0x36: segOverride = Cpu.SS; break;
        case 0x3E: segOverride = Cpu.DS; break;
        case 0x64: segOverride = Cpu.FS; break;
        case 0x65: segOverride = Cpu.GS; break;
        case 0xF0: lock = true; break;
        case 0xF2: rep = 2; break;
        case 0xF3: rep = 1; break;
        default: break prefixes;
      }
      if (overlong) {
        return undefined();
      }
    }
    boolean end = b == 0x0F ? decodeTwoByte(fetch8()) : decodeOneByte(b);
    if (overlong) {
      n -= 4;
      return undefined();
    }
    return end;
  }

  /** LOCK is only legal on these read-modify-write memory forms (SDM vol. 2, LOCK). */
  private boolean lockOk(boolean lockable) {
    return !lock || (lockable && isMem());
  }

  private boolean decodeOneByte(int b) {
    int v = osz;
    if (b < 0x40 && (b & 7) < 6) {
      int aluOp = b >>> 3;
      boolean lockable = aluOp != CMP;
      switch (b & 7) {
        case 0: modrm(); if (!lockOk(lockable)) return undefined();
          emit(Op.ALU_EG, 0, aluOp, 0); return false;
        case 1: modrm(); if (!lockOk(lockable)) return undefined();
          if (!isMem() && v == 2) { emit(Op.ALU_RR32, 2, aluOp, 0); return false; }
          emit(Op.ALU_EG, v, aluOp, 0); return false;
        case 2: modrm(); if (lock) return undefined(); emit(Op.ALU_GE, 0, aluOp, 0); return false;
        case 3: modrm(); if (lock) return undefined(); emit(Op.ALU_GE, v, aluOp, 0); return false;
        case 4: if (lock) return undefined(); regOperand(0); emit(Op.ALU_EI, 0, aluOp, fetchImm(0));
          return false;
        default: if (lock) return undefined(); regOperand(0);
          if (v == 2) { emit(Op.ALU_RI32, 2, aluOp, fetchImm(2)); return false; }
          emit(Op.ALU_EI, v, aluOp, fetchImm(v)); return false;
      }
    }
    if (lock && !(b >= 0x80 && b <= 0x83) && b != 0x86 && b != 0x87 && b != 0xF6 && b != 0xF7
        && b != 0xFE && b != 0xFF) {
      return undefined();
    }
    switch (b) {
      case 0x06: case 0x0E: case 0x16: case 0x1E:
        emit(Op.PUSH_SR, v, b >>> 3, 0); return false;
      case 0x07: case 0x17: case 0x1F:
        emit(Op.POP_SR, v, b >>> 3, 0); return true;
      case 0x27: emit(Op.BCD, 0, 0, 0); return false;
      case 0x2F: emit(Op.BCD, 0, 1, 0); return false;
      case 0x37: emit(Op.BCD, 0, 2, 0); return false;
      case 0x3F: emit(Op.BCD, 0, 3, 0); return false;
      case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
        regOperand(b & 7); emit(v == 2 ? Op.INC_R32 : Op.INC_E, v, 0, 0); return false;
      case 0x48: case 0x49: case 0x4A: case 0x4B: case 0x4C: case 0x4D: case 0x4E: case 0x4F:
        regOperand(b & 7); emit(v == 2 ? Op.DEC_R32 : Op.DEC_E, v, 0, 0); return false;
      case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
        regOperand(b & 7); emit(v == 2 ? Op.PUSH_R32 : Op.PUSH_E, v, 0, 0); return false;
      case 0x58: case 0x59: case 0x5A: case 0x5B: case 0x5C: case 0x5D: case 0x5E: case 0x5F:
        regOperand(b & 7); emit(v == 2 ? Op.POP_R32 : Op.POP_E, v, 0, 0); return false;
      case 0x60: emit(Op.PUSHA, v, 0, 0); return false;
      case 0x61: emit(Op.POPA, v, 0, 0); return false;
      case 0x62: modrm(); if (!isMem()) return undefined();
        emit(Op.SYS, v, SystemOps.BOUND, 0); return false;
      case 0x63: modrm(); emit(Op.SYS, 1, SystemOps.ARPL, 0); return false;
      case 0x68: emit(Op.PUSH_I, v, 0, fetchImm(v)); return false;
      case 0x69: modrm(); emit(Op.IMUL_GEI, v, 0, fetchImm(v)); return false;
      case 0x6A: emit(Op.PUSH_I, v, 0, fetchImm(0)); return false;
      case 0x6B: modrm(); emit(Op.IMUL_GEI, v, 0, fetchImm(0)); return false;
      case 0x6C: case 0x6D: emit(Op.INS, b == 0x6C ? 0 : v, rep != 0 ? 1 : 0, 0); return true;
      case 0x6E: case 0x6F:
        seg = segOverride >= 0 ? segOverride : Cpu.DS;
        emit(Op.OUTS, b == 0x6E ? 0 : v, rep != 0 ? 1 : 0, 0); return true;
      case 0x80: case 0x82: modrm(); if (!lockOk(regField != CMP)) return undefined();
        emit(Op.ALU_EI, 0, regField, fetchImm(0)); return false;
      case 0x81: modrm(); if (!lockOk(regField != CMP)) return undefined();
        emit(Op.ALU_EI, v, regField, fetchImm(v)); return false;
      case 0x83: modrm(); if (!lockOk(regField != CMP)) return undefined();
        if (!isMem() && v == 2) { emit(Op.ALU_RI32, 2, regField, fetchImm(0)); return false; }
        emit(Op.ALU_EI, v, regField, fetchImm(0)); return false;
      case 0x84: modrm(); emit(Op.TEST_EG, 0, 0, 0); return false;
      case 0x85: modrm(); emit(Op.TEST_EG, v, 0, 0); return false;
      case 0x86: modrm(); if (!lockOk(true)) return undefined(); emit(Op.XCHG_EG, 0, 0, 0);
        return false;
      case 0x87: modrm(); if (!lockOk(true)) return undefined(); emit(Op.XCHG_EG, v, 0, 0);
        return false;
      case 0x88: modrm(); emit(Op.MOV_EG, 0, 0, 0); return false;
      case 0x89: modrm();
        if (v == 2) {
          emit(isMem() ? Op.STORE32 : Op.MOV_RR32, 2, 0, 0);
        } else {
          emit(Op.MOV_EG, v, 0, 0);
        }
        return false;
      case 0x8A: modrm(); emit(Op.MOV_GE, 0, 0, 0); return false;
      case 0x8B: modrm();
        if (v == 2 && isMem()) {
          emit(Op.LOAD32, 2, 0, 0);
        } else if (v == 2) {
          // MOV_RR32 copies G <- E when sub = 1.
          emit(Op.MOV_RR32, 2, 1, 0);
        } else {
          emit(Op.MOV_GE, v, 0, 0);
        }
        return false;
      case 0x8C: modrm(); if (regField > 5) return undefined();
        emit(Op.MOV_E_SR, isMem() ? 1 : v, 0, 0); return false;
      case 0x8D: modrm(); if (!isMem()) return undefined(); emit(Op.LEA, v, 0, 0); return false;
      case 0x8E: modrm(); if (regField > 5 || regField == Cpu.CS) return undefined();
        emit(Op.MOV_SR_E, 1, 0, 0); return true;
      case 0x8F: modrm(); if (regField != 0) return undefined(); emit(Op.POP_E, v, 0, 0);
        return false;
      case 0x90:
        if (rep == 1) {
          // PAUSE does not end the block: its VM exit, when enabled, leaves mid-block as
          // CPUID's does, and the spin loops of a booting kernel run it between loads.
          emit(Op.PAUSE, 0, 0, 0);
          return false;
        }
        emit(Op.NOP, 0, 0, 0);
        return false;
      case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
        regOperand(b & 7); regField = 0; emit(Op.XCHG_EG, v, 0, 0); return false;
      case 0x98: emit(Op.CBW, v, 0, 0); return false;
      case 0x99: emit(Op.CWD, v, 0, 0); return false;
      case 0x9A: case 0xEA: {
        int off = fetchImm(v);
        int sel = fetch16();
        emit(Op.FAR_PTR, v, b == 0x9A ? 1 : 0, off, sel);
        return true;
      }
      case 0x9B: emit(Op.FWAIT, 0, 0, 0); return false;
      case 0xD8: case 0xD9: case 0xDA: case 0xDB: case 0xDC: case 0xDD: case 0xDE: case 0xDF: {
        int m = cpu.fetchCodeByte(lin);
        modrm();
        emit(Op.FPU, osz, (b & 7) << 8 | m, 0);
        return false;
      }
      case 0x9C: emit(Op.PUSHF, v, 0, 0); return false;
      case 0x9D: emit(Op.POPF, v, 0, 0); return true;
      case 0x9E: emit(Op.SAHF, 0, 0, 0); return false;
      case 0x9F: emit(Op.LAHF, 0, 0, 0); return false;
      case 0xA0: case 0xA1: {
        int off = a16 ? fetch16() : fetch32();
        absOperand(off);
        regField = 0;
        emit(Op.MOV_GE, b == 0xA0 ? 0 : v, 0, 0);
        return false;
      }
      case 0xA2: case 0xA3: {
        int off = a16 ? fetch16() : fetch32();
        absOperand(off);
        regField = 0;
        emit(Op.MOV_EG, b == 0xA2 ? 0 : v, 0, 0);
        return false;
      }
      case 0xA4: case 0xA5: stringOp(Op.MOVS, b == 0xA4 ? 0 : v); return false;
      case 0xA6: case 0xA7: stringOp(Op.CMPS, b == 0xA6 ? 0 : v); return false;
      case 0xA8: regOperand(0); emit(Op.TEST_EI, 0, 0, fetchImm(0)); return false;
      case 0xA9: regOperand(0); emit(Op.TEST_EI, v, 0, fetchImm(v)); return false;
      case 0xAA: case 0xAB: stringOp(Op.STOS, b == 0xAA ? 0 : v); return false;
      case 0xAC: case 0xAD: stringOp(Op.LODS, b == 0xAC ? 0 : v); return false;
      case 0xAE: case 0xAF: stringOp(Op.SCAS, b == 0xAE ? 0 : v); return false;
      case 0xB0: case 0xB1: case 0xB2: case 0xB3: case 0xB4: case 0xB5: case 0xB6: case 0xB7:
        regOperand(b & 7); emit(Op.MOV_EI, 0, 0, fetchImm(0)); return false;
      case 0xB8: case 0xB9: case 0xBA: case 0xBB: case 0xBC: case 0xBD: case 0xBE: case 0xBF:
        regOperand(b & 7); emit(Op.MOV_EI, v, 0, fetchImm(v)); return false;
      case 0xC0: modrm(); emit(Op.SHIFT_EI, 0, regField, fetch8()); return false;
      case 0xC1: modrm(); emit(Op.SHIFT_EI, v, regField, fetch8()); return false;
      case 0xC2: emit(Op.RET, v, 0, fetch16()); return true;
      case 0xC3: emit(Op.RET, v, 0, 0); return true;
      case 0xC4: case 0xC5: modrm(); if (!isMem()) return undefined();
        emit(Op.LOAD_FAR, v, b == 0xC4 ? Cpu.ES : Cpu.DS, 0); return false;
      case 0xCA: emit(Op.RETF, v, 0, fetch16()); return true;
      case 0xCB: emit(Op.RETF, v, 0, 0); return true;
      case 0xCF: emit(Op.IRET, v, 0, 0); return true;
      case 0xF1: emit(Op.INT1, 0, 0, 0); return true;
      case 0xC6: modrm(); if (regField != 0) return undefined();
        emit(Op.MOV_EI, 0, 0, fetchImm(0)); return false;
      case 0xC7: modrm(); if (regField != 0) return undefined();
        emit(Op.MOV_EI, v, 0, fetchImm(v)); return false;
      case 0xC8: {
        int frame = fetch16();
        int level = fetch8();
        emit(Op.ENTER, v, level, frame);
        return false;
      }
      case 0xC9: emit(Op.LEAVE, v, 0, 0); return false;
      case 0xCC: emit(Op.INT, 0, 1, 3); return true;
      case 0xCD: emit(Op.INT, 0, 0, fetch8()); return true;
      case 0xCE: emit(Op.INTO, 0, 0, 0); return true;
      case 0xD0: modrm(); emit(Op.SHIFT_EI, 0, regField, 1); return false;
      case 0xD1: modrm(); emit(Op.SHIFT_EI, v, regField, 1); return false;
      case 0xD2: modrm(); emit(Op.SHIFT_ECL, 0, regField, 0); return false;
      case 0xD3: modrm(); emit(Op.SHIFT_ECL, v, regField, 0); return false;
      case 0xD4: emit(Op.BCD, 0, 4, fetch8()); return false;
      case 0xD5: emit(Op.BCD, 0, 5, fetch8()); return false;
      case 0xD6: emit(Op.BCD, 0, 6, 0); return false;
      case 0xD7:
        seg = segOverride >= 0 ? segOverride : Cpu.DS;
        emit(Op.XLAT, 0, 0, 0); return false;
      case 0xE0: case 0xE1: case 0xE2: case 0xE3: {
        int rel = (byte) fetch8();
        emit(Op.LOOP, v, b - 0xE0, target(rel));
        return true;
      }
      case 0xE4: case 0xE5: emit(Op.IN, b == 0xE4 ? 0 : v, 0, fetch8()); return true;
      case 0xE6: case 0xE7: emit(Op.OUT, b == 0xE6 ? 0 : v, 0, fetch8()); return true;
      case 0xE8: { int rel = fetchImm(v); emit(Op.CALL, v, 0, target(rel)); return true; }
      case 0xE9: { int rel = fetchImm(v); emit(Op.JMP, v, 0, target(rel)); return true; }
      case 0xEB: { int rel = fetchImm(0); emit(Op.JMP, v, 0, target(rel)); return true; }
      case 0xEC: case 0xED: emit(Op.IN, b == 0xEC ? 0 : v, 1, 0); return true;
      case 0xEE: case 0xEF: emit(Op.OUT, b == 0xEE ? 0 : v, 1, 0); return true;
      case 0xF4: emit(Op.HLT, 0, 0, 0); return true;
      case 0xF5: emit(Op.FLAGOP, 0, 2, 0); return false;
      case 0xF6: case 0xF7: return group3(b == 0xF6 ? 0 : v);
      case 0xF8: emit(Op.FLAGOP, 0, 0, 0); return false;
      case 0xF9: emit(Op.FLAGOP, 0, 1, 0); return false;
      case 0xFA: emit(Op.FLAGOP, 0, 5, 0); return true;
      case 0xFB: emit(Op.FLAGOP, 0, 6, 0); return true;
      case 0xFC: emit(Op.FLAGOP, 0, 3, 0); return false;
      case 0xFD: emit(Op.FLAGOP, 0, 4, 0); return false;
      case 0xFE: modrm();
        if (regField > 1 || !lockOk(true)) return undefined();
        emit(regField == 0 ? Op.INC_E : Op.DEC_E, 0, 0, 0); return false;
      case 0xFF: return group5(v);
      default:
        if (b >= 0x70 && b <= 0x7F) {
          int rel = (byte) fetch8();
          jcc(b & 15, v, rel);
          return true;
        }
        return undefined();
    }
  }

  private void jcc(int cc, int v, int rel) {
    int t = target(rel);
    if (cc == 4) {
      emit(Op.JZ, v, cc, t);
    } else if (cc == 5) {
      emit(Op.JNZ, v, cc, t);
    } else {
      emit(Op.JCC, v, cc, t);
    }
  }

  private void stringOp(int op, int size) {
    seg = segOverride >= 0 ? segOverride : Cpu.DS;
    int sub = rep;
    if (op == Op.MOVS || op == Op.LODS || op == Op.STOS) {
      sub = rep != 0 ? 1 : 0;
    }
    emit(op, size, sub, 0);
  }

  private boolean group3(int v) {
    modrm();
    switch (regField) {
      case 0: case 1:
        if (lock) return undefined();
        emit(Op.TEST_EI, v, 0, fetchImm(v));
        return false;
      case 2: if (!lockOk(true)) return undefined(); emit(Op.NOT_E, v, 0, 0); return false;
      case 3: if (!lockOk(true)) return undefined(); emit(Op.NEG_E, v, 0, 0); return false;
      default:
        if (lock) return undefined();
        emit(new int[] {Op.MUL_E, Op.IMUL_E, Op.DIV_E, Op.IDIV_E}[regField - 4], v, 0, 0);
        return false;
    }
  }

  private boolean group5(int v) {
    modrm();
    switch (regField) {
      case 0: if (!lockOk(true)) return undefined(); emit(Op.INC_E, v, 0, 0); return false;
      case 1: if (!lockOk(true)) return undefined(); emit(Op.DEC_E, v, 0, 0); return false;
      case 2: if (lock) return undefined(); emit(Op.CALL_E, v, 0, 0); return true;
      case 3: case 5: if (lock || !isMem()) return undefined();
        emit(Op.FAR_MEM, v, regField == 3 ? 1 : 0, 0); return true;
      case 4: if (lock) return undefined(); emit(Op.JMP_E, v, 0, 0); return true;
      case 6: if (lock) return undefined(); emit(Op.PUSH_E, v, 0, 0); return false;
      default: return undefined();
    }
  }

  /** 0F opcodes of MMX, SSE and SSE2 (see {@link Simd#form}). */
  private static boolean isSimd(int b) {
    return b >= 0x10 && b <= 0x17 || b >= 0x28 && b <= 0x2F || b >= 0x50 && b <= 0x7F
        || b == 0xAE || b >= 0xC2 && b <= 0xC6 || b >= 0xD0;
  }

  /**
   * An MMX/SSE/SSE2 instruction. The mandatory prefix is F3 or F2 when present (the last of
   * them), else 66; a form that does not exist with that prefix is #UD, as is LOCK.
   */
  private boolean simd(int b) {
    int pfx = rep == 1 ? Simd.P_F3 : rep == 2 ? Simd.P_F2 : p66 ? Simd.P_66 : Simd.P_NONE;
    int form = Simd.form(pfx, b);
    if (form == 0 || lock) {
      return undefined();
    }
    if (b == 0x77) {
      emit(Op.SIMD, 0, b, 0); // EMMS: no ModRM
      return false;
    }
    modrm();
    if ((form & Simd.MEM_ONLY) != 0 && !isMem() || (form & Simd.REG_ONLY) != 0 && isMem()) {
      return undefined();
    }
    if (b == 0xAE) {
      // Memory: FXSAVE FXRSTOR LDMXCSR STMXCSR . . . CLFLUSH; register: LFENCE MFENCE SFENCE.
      boolean ok = isMem() ? regField <= 3 || regField == 7 : regField >= 5;
      if (!ok) {
        return undefined();
      }
    }
    if (b == 0xF7) {
      // MASKMOVQ/MASKMOVDQU store at DS:(E)DI, or the override segment.
      seg = segOverride >= 0 ? segOverride : Cpu.DS;
    }
    int imm = (form & Simd.IMM8) != 0 ? fetch8() : 0;
    emit(Op.SIMD, 0, pfx << 8 | b, imm);
    return false;
  }

  private boolean decodeTwoByte(int b) {
    int v = osz;
    boolean lockable = b == 0xAB || b == 0xB3 || b == 0xBB || b == 0xBA || b == 0xB0
        || b == 0xB1 || b == 0xC0 || b == 0xC1 || b == 0xC7;
    if (lock && !lockable) {
      return undefined();
    }
    if (b >= 0x80 && b <= 0x8F) {
      int rel = fetchImm(v);
      jcc(b & 15, v, rel);
      return true;
    }
    if (b >= 0x40 && b <= 0x4F) {
      modrm();
      emit(Op.CMOV, v, b & 15, 0);
      return false;
    }
    if (b >= 0x90 && b <= 0x9F) {
      modrm();
      emit(Op.SETCC, 0, b & 15, 0);
      return false;
    }
    if (isSimd(b)) {
      return simd(b);
    }
    if (b >= 0xC8) {
      regOperand(b & 7);
      emit(Op.BSWAP, v, 0, 0);
      return false;
    }
    switch (b) {
      case 0x00: modrm(); if (regField > 5) return undefined();
        emit(Op.SYS, isMem() ? 1 : v, SystemOps.SLDT + regField, 0); return true;
      case 0x01: modrm();
        if (!isMem() && regField == 0 && lastRm == 1) {
          emit(Op.SYS, 0, SystemOps.VMCALL, 0);
          return true;
        }
        if (regField == 5 || (!isMem() && regField != 4 && regField != 6)) return undefined();
        emit(Op.SYS, regField == 4 && isMem() ? 1 : v, SystemOps.SGDT + regField, 0);
        return true;
      case 0x02: modrm(); emit(Op.SYS, v, SystemOps.LAR, 0); return true;
      case 0x03: modrm(); emit(Op.SYS, v, SystemOps.LSL, 0); return true;
      case 0x06: emit(Op.SYS, 0, SystemOps.CLTS, 0); return true;
      case 0x08: emit(Op.SYS, 0, SystemOps.INVD, 0); return true;
      case 0x09: emit(Op.SYS, 0, SystemOps.WBINVD, 0); return true;
      case 0x20: case 0x21: case 0x22: case 0x23: {
        modrm();
        // The ModRM mod field is ignored: the operand is always a general register.
        regOperand(modrmRm());
        int sub = b == 0x20 ? SystemOps.MOV_R_CR : b == 0x21 ? SystemOps.MOV_R_DR
            : b == 0x22 ? SystemOps.MOV_CR_R : SystemOps.MOV_DR_R;
        emit(Op.SYS, 2, sub, 0);
        return true;
      }
      case 0x30: emit(Op.SYS, 0, SystemOps.WRMSR, 0); return true;
      case 0x32: emit(Op.SYS, 0, SystemOps.RDMSR, 0); return true;
      case 0x33: emit(Op.SYS, 0, SystemOps.RDPMC, 0); return true;
      case 0x34: emit(Op.SYS, 0, SystemOps.SYSENTER, 0); return true;
      case 0x35: emit(Op.SYS, 0, SystemOps.SYSEXIT, 0); return true;
      case 0xB2: case 0xB4: case 0xB5: modrm(); if (!isMem()) return undefined();
        emit(Op.LOAD_FAR, v, b == 0xB2 ? Cpu.SS : b == 0xB4 ? Cpu.FS : Cpu.GS, 0);
        return b == 0xB2;
      case 0x0B: return undefined();
      // 0F 18-0F 1F are the hintable NOPs from the P6 on: the PREFETCHh forms of 0F 18 (memory,
      // /0-/3) and every other ModRM form, register operands included, execute as NOPs. The
      // host CPU runs 0F 18 C0-FF as NOPs too (qemu-i386 raises #UD for the register forms of
      // /0-/3, which it decodes as PREFETCHh only).
      case 0x18: case 0x19: case 0x1A: case 0x1B: case 0x1C: case 0x1D: case 0x1E: case 0x1F:
        modrm(); emit(Op.NOP, 0, 0, 0); return false;
      case 0x31: emit(Op.RDTSC, 0, 0, 0); return false;
      case 0xA0: emit(Op.PUSH_SR, v, Cpu.FS, 0); return false;
      case 0xA1: emit(Op.POP_SR, v, Cpu.FS, 0); return true;
      case 0xA2: emit(Op.CPUID, 0, 0, 0); return false;
      case 0xA3: modrm(); emit(Op.BT_EG, v, 0, 0); return false;
      case 0xA4: modrm(); emit(Op.SHLD_I, v, 0, fetch8()); return false;
      case 0xA5: modrm(); emit(Op.SHLD_CL, v, 0, 0); return false;
      case 0xA8: emit(Op.PUSH_SR, v, Cpu.GS, 0); return false;
      case 0xA9: emit(Op.POP_SR, v, Cpu.GS, 0); return true;
      case 0xAB: modrm(); if (!lockOk(true)) return undefined(); emit(Op.BT_EG, v, 1, 0);
        return false;
      case 0xAC: modrm(); emit(Op.SHRD_I, v, 0, fetch8()); return false;
      case 0xAD: modrm(); emit(Op.SHRD_CL, v, 0, 0); return false;
      case 0xAF: modrm(); emit(Op.IMUL_GE, v, 0, 0); return false;
      case 0xB0: modrm(); if (!lockOk(true)) return undefined(); emit(Op.CMPXCHG, 0, 0, 0);
        return false;
      case 0xB1: modrm(); if (!lockOk(true)) return undefined(); emit(Op.CMPXCHG, v, 0, 0);
        return false;
      case 0xB3: modrm(); if (!lockOk(true)) return undefined(); emit(Op.BT_EG, v, 2, 0);
        return false;
      case 0xB6: modrm(); emit(Op.MOVZX, v, 0, 0); return false;
      case 0xB7: modrm(); emit(Op.MOVZX, v, 1, 0); return false;
      case 0xBA: modrm();
        if (regField < 4 || !lockOk(regField != 4)) return undefined();
        emit(Op.BT_EI, v, regField - 4, fetch8()); return false;
      case 0xBB: modrm(); if (!lockOk(true)) return undefined(); emit(Op.BT_EG, v, 3, 0);
        return false;
      case 0xBC: modrm(); emit(Op.BSF, v, 0, 0); return false;
      case 0xBD: modrm(); emit(Op.BSR, v, 0, 0); return false;
      case 0xBE: modrm(); emit(Op.MOVSX, v, 0, 0); return false;
      case 0xBF: modrm(); emit(Op.MOVSX, v, 1, 0); return false;
      case 0xC0: modrm(); if (!lockOk(true)) return undefined(); emit(Op.XADD, 0, 0, 0);
        return false;
      case 0xC1: modrm(); if (!lockOk(true)) return undefined(); emit(Op.XADD, v, 0, 0);
        return false;
      case 0xC7: modrm();
        if (regField != 1 || !isMem()) return undefined();
        emit(Op.CMPXCHG8B, 2, 0, 0); return false;
      default: return undefined();
    }
  }
}
