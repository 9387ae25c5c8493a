package org.hospes.x86;

/**
 * MMX, SSE and SSE2: the XMM registers and MXCSR, the 0F opcodes of those extensions (with their
 * 66/F3/F2 mandatory prefixes), FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, the fences and CLFLUSH.
 *
 * <p>The decoder emits one {@link Op#SIMD} entry per instruction with sub = prefix &lt;&lt; 8 |
 * opcode ({@link #P_NONE}, {@link #P_66}, {@link #P_F3}, {@link #P_F2}); which prefix/opcode pairs
 * exist, and with which operand kinds, is the table {@link #form}, shared by decoder and executor.
 *
 * <p>The MMX registers are the x87 physical registers' significands (SDM vol. 1, 9.5): writing
 * MMi stores R<i>i</i>'s significand and sets its sign and exponent to all ones; every MMX
 * instruction but EMMS sets TOP to 0 and all tags valid; EMMS empties them.
 *
 * <p>Exception order (SDM vol. 2, tables 2-18 ff. and 22-x): for SSE/SSE2 forms CR0.EM or
 * CR4.OSFXSR=0 give #UD, then CR0.TS gives #NM, then operand faults (a 16-byte aligned form with
 * a misaligned operand #GP(0)), then an unmasked SIMD floating-point exception gives #XM, or #UD
 * when CR4.OSXMMEXCPT is clear; the destination is not written. MMX forms (no prefix, MMX
 * registers, including those SSE added) give #UD on CR0.EM, #NM on CR0.TS and #MF on a pending
 * x87 exception, and do not depend on CR4.OSFXSR.
 */
final class Simd {
  static final int P_NONE = 0, P_66 = 1, P_F3 = 2, P_F2 = 3;

  /** MXCSR bits that may be set (all 16 with DAZ); FXSAVE's MXCSR_MASK. */
  static final int MXCSR_MASK = 0xFFFF;
  static final int MXCSR_RESET = 0x1F80;

  // Form attributes.
  static final int VALID = 1, MEM_ONLY = 2, REG_ONLY = 4, IMM8 = 8;
  /** MMX exception class (EM, TS, pending x87 exception). */
  static final int MMX = 16;
  /** SSE exception class (EM, OSFXSR, TS). */
  static final int SSE = 32;
  /** SSE class that also touches an MMX register: checks a pending x87 exception too. */
  static final int MIXED = 64;
  /** No CR0/CR4 checks (fences, MOVNTI, CLFLUSH). */
  static final int PLAIN = 128;

  private static final int[] FORMS = new int[1024];

  /** XMM0-7: low quadword at 2i, high at 2i+1. */
  final long[] xmm = new long[16];
  int mxcsr = MXCSR_RESET;
  final SseFloat fp = new SseFloat();

  private boolean mmxTouched;
  // Source operand of the instruction being executed.
  private long sLo;
  private long sHi;
  private final long[] tmp = new long[4];
  /** FXRSTOR reads the whole image into these before it changes any state. */
  final long[] fxSig = new long[8];
  final int[] fxSe = new int[8];
  final long[] fxXmm = new long[16];

  void reset() {
    java.util.Arrays.fill(xmm, 0);
    mxcsr = MXCSR_RESET;
  }

  static int form(int prefix, int opcode) {
    return FORMS[prefix << 8 | opcode];
  }

  private static void def(int prefix, int attrs, int... opcodes) {
    for (int op : opcodes) {
      FORMS[prefix << 8 | op] = attrs | VALID;
    }
  }

  static {
    int s = SSE;
    // Moves.
    def(P_NONE, s, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x28, 0x29);
    def(P_66, s, 0x10, 0x11, 0x14, 0x15, 0x28, 0x29);
    def(P_66, s | MEM_ONLY, 0x12, 0x13, 0x16, 0x17);
    def(P_NONE, s | MEM_ONLY, 0x13, 0x17, 0x2B);
    def(P_66, s | MEM_ONLY, 0x2B);
    def(P_F3, s, 0x10, 0x11);
    def(P_F2, s, 0x10, 0x11);
    // Conversions and compares.
    def(P_NONE, s | MIXED, 0x2A, 0x2C, 0x2D);
    def(P_66, s | MIXED, 0x2A, 0x2C, 0x2D);
    def(P_F3, s, 0x2A, 0x2C, 0x2D);
    def(P_F2, s, 0x2A, 0x2C, 0x2D);
    def(P_NONE, s, 0x2E, 0x2F);
    def(P_66, s, 0x2E, 0x2F);
    def(P_NONE, s | REG_ONLY, 0x50);
    def(P_66, s | REG_ONLY, 0x50);
    // Packed and scalar floating point.
    def(P_NONE, s, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x5B, 0x5C, 0x5D,
        0x5E, 0x5F);
    def(P_66, s, 0x51, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F);
    def(P_F3, s, 0x51, 0x52, 0x53, 0x58, 0x59, 0x5A, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F);
    def(P_F2, s, 0x51, 0x58, 0x59, 0x5A, 0x5C, 0x5D, 0x5E, 0x5F);
    def(P_NONE, s | IMM8, 0xC2, 0xC6);
    def(P_66, s | IMM8, 0xC2, 0xC6);
    def(P_F3, s | IMM8, 0xC2);
    def(P_F2, s | IMM8, 0xC2);
    // Integer: the MMX forms and their 66 (XMM) twins.
    int[] both = {0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6E,
        0x6F, 0x74, 0x75, 0x76, 0x7E, 0x7F, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD8, 0xD9, 0xDA, 0xDB,
        0xDC, 0xDD, 0xDE, 0xDF, 0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC,
        0xED, 0xEE, 0xEF, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD,
        0xFE};
    def(P_NONE, MMX, both);
    def(P_66, s, both);
    def(P_66, s, 0x6C, 0x6D);
    def(P_F3, s, 0x6F, 0x7F, 0x7E);
    def(P_NONE, MMX | IMM8, 0x70);
    def(P_66, s | IMM8, 0x70);
    def(P_F3, s | IMM8, 0x70);
    def(P_F2, s | IMM8, 0x70);
    def(P_NONE, MMX | IMM8 | REG_ONLY, 0x71, 0x72, 0x73);
    def(P_66, s | IMM8 | REG_ONLY, 0x71, 0x72, 0x73);
    def(P_NONE, MMX, 0x77);
    def(P_NONE, MMX | IMM8, 0xC4);
    def(P_66, s | IMM8, 0xC4);
    def(P_NONE, MMX | IMM8 | REG_ONLY, 0xC5);
    def(P_66, s | IMM8 | REG_ONLY, 0xC5);
    def(P_NONE, MMX | REG_ONLY, 0xD7, 0xF7);
    def(P_66, s | REG_ONLY, 0xD7, 0xF7);
    def(P_66, s, 0xD6);
    def(P_F3, s | MIXED | REG_ONLY, 0xD6);
    def(P_F2, s | MIXED | REG_ONLY, 0xD6);
    def(P_NONE, MMX | MEM_ONLY, 0xE7);
    def(P_66, s | MEM_ONLY, 0xE7);
    def(P_66, s, 0xE6);
    def(P_F3, s, 0xE6);
    def(P_F2, s, 0xE6);
    def(P_NONE, PLAIN | MEM_ONLY, 0xC3);
    // 0F AE: validity depends on ModRM (Decoder checks it); FXSAVE/FXRSTOR are checked apart.
    def(P_NONE, PLAIN, 0xAE);
  }

  // ================================================================== state access

  long mm(Cpu c, int i) {
    mmxTouched = true;
    return c.fpu.sig[i];
  }

  void setMm(Cpu c, int i, long v) {
    mmxTouched = true;
    c.fpu.sig[i] = v;
    c.fpu.se[i] = 0xFFFF;
  }

  private static long read64(Cpu c, int lin) {
    long lo = c.read32(lin) & 0xFFFF_FFFFL;
    return (long) c.read32(lin + 4) << 32 | lo;
  }

  private static void write64(Cpu c, int lin, long v) {
    c.write32(lin, (int) v);
    c.write32(lin + 4, (int) (v >>> 32));
  }

  /** Linear address of a memory operand; {@code align}: #GP(0) unless 16-byte aligned. */
  private static int addr(Cpu c, int f0, int d, int bytes, boolean write, boolean align) {
    if (align && (c.linear(f0, d) & 15) != 0) {
      c.raise(Exceptions.GP, 0);
    }
    return c.operandAddress(f0, d, bytes, write);
  }

  /** Loads the 128-bit source (XMM register or memory) into sLo/sHi. */
  private void srcX(Cpu c, int f0, int d, boolean align) {
    if (Cpu.isMem(f0)) {
      int lin = addr(c, f0, d, 16, false, align);
      sLo = read64(c, lin);
      sHi = read64(c, lin + 8);
    } else {
      int e = (f0 >>> 14) & 7;
      sLo = xmm[2 * e];
      sHi = xmm[2 * e + 1];
    }
  }

  /** Loads a 64-bit source: the low quadword of an XMM register, or 8 bytes of memory. */
  private long srcX64(Cpu c, int f0, int d) {
    if (Cpu.isMem(f0)) {
      return read64(c, addr(c, f0, d, 8, false, false));
    }
    return xmm[2 * ((f0 >>> 14) & 7)];
  }

  /** Loads a 32-bit source: the low dword of an XMM register, or 4 bytes of memory. */
  private int srcX32(Cpu c, int f0, int d) {
    if (Cpu.isMem(f0)) {
      return c.read32(addr(c, f0, d, 4, false, false));
    }
    return (int) xmm[2 * ((f0 >>> 14) & 7)];
  }

  /** An MMX register or 8 bytes of memory. */
  private long srcM(Cpu c, int f0, int d) {
    if (Cpu.isMem(f0)) {
      return read64(c, addr(c, f0, d, 8, false, false));
    }
    return mm(c, (f0 >>> 14) & 7);
  }

  private static int rm32(Cpu c, int f0, int d) {
    return c.getE(f0, d, 2);
  }

  // ================================================================== entry

  void exec(Cpu c, int f0, int d, int imm, int sub) {
    int key = sub & 0x3FF;
    int f = FORMS[key];
    int opc = key & 0xFF;
    int pfx = key >>> 8;
    if (opc == 0xAE) {
      group15(c, f0, d);
      return;
    }
    classChecks(c, f);
    mmxTouched = false;
    int g = (f0 >>> 10) & 7;
    if ((f & MMX) != 0) {
      execMmx(c, f0, d, imm, opc, g);
    } else if ((f & PLAIN) != 0) {
      // MOVNTI m32, r32: a plain store (the non-temporal hint has no effect here).
      c.write32(c.operandAddress(f0, d, 4, true), c.r[g]);
    } else {
      execSse(c, f0, d, imm, pfx, opc, g);
    }
    if (mmxTouched) {
      c.fpu.top = 0;
      c.fpu.emptyMask = 0;
    }
  }

  private void classChecks(Cpu c, int f) {
    int cr0 = c.cr0;
    if ((f & MMX) != 0) {
      if ((cr0 & Cpu.CR0_EM) != 0) {
        c.raise(Exceptions.UD, 0);
      }
      if ((cr0 & Cpu.CR0_TS) != 0) {
        c.raise(Exceptions.NM, 0);
      }
      if ((c.fpu.sw & Fpu.SW_ES) != 0) {
        c.raise(Exceptions.MF, 0);
      }
    } else if ((f & SSE) != 0) {
      if ((cr0 & Cpu.CR0_EM) != 0 || (c.cr4 & Cpu.CR4_OSFXSR) == 0) {
        c.raise(Exceptions.UD, 0);
      }
      if ((cr0 & Cpu.CR0_TS) != 0) {
        c.raise(Exceptions.NM, 0);
      }
      if ((f & MIXED) != 0 && (c.fpu.sw & Fpu.SW_ES) != 0) {
        c.raise(Exceptions.MF, 0);
      }
    }
  }

  // ================================================================== MMX forms

  private void execMmx(Cpu c, int f0, int d, int imm, int opc, int g) {
    boolean mem = Cpu.isMem(f0);
    int e = (f0 >>> 14) & 7;
    switch (opc) {
      case 0x77: // EMMS
        c.fpu.emptyMask = 0xFF;
        return;
      case 0x6E: setMm(c, g, rm32(c, f0, d) & 0xFFFF_FFFFL); return;
      case 0x7E: {
        int v = (int) mm(c, g);
        c.setE(f0, d, 2, v);
        return;
      }
      case 0x6F: setMm(c, g, srcM(c, f0, d)); return;
      case 0x7F:
      case 0xE7:
        if (mem) {
          int lin = addr(c, f0, d, 8, true, false);
          write64(c, lin, mm(c, g));
        } else {
          setMm(c, e, mm(c, g));
        }
        return;
      case 0x70: setMm(c, g, SimdInt.shuffleWords(srcM(c, f0, d), imm)); return;
      case 0x71: case 0x72: case 0x73: {
        int kind = g;
        int bits = opc == 0x71 ? 16 : opc == 0x72 ? 32 : 64;
        if (!groupShiftOk(kind, opc, false)) {
          c.raiseUndefined(Exceptions.UD);
        }
        setMm(c, e, SimdInt.shift(kind, bits, mm(c, e), imm & 0xFF));
        return;
      }
      case 0xC4: {
        int v = mem ? c.read16(addr(c, f0, d, 2, false, false)) : c.r[e];
        int sh = (imm & 3) * 16;
        long old = mm(c, g);
        setMm(c, g, old & ~(0xFFFFL << sh) | (v & 0xFFFFL) << sh);
        return;
      }
      case 0xC5:
        c.r[g] = (int) ((mm(c, e) >>> ((imm & 3) * 16)) & 0xFFFF);
        return;
      case 0xD7: c.r[g] = SimdInt.byteMask(mm(c, e)); return;
      case 0xF7: { // MASKMOVQ mm1, mm2: bytes of mm1 where mm2's byte has its top bit, at DS:EDI
        long data = mm(c, g);
        long mask = mm(c, e);
        maskedStore(c, f0, data, mask, 0);
        return;
      }
      default:
        break;
    }
    long a = mm(c, g);
    long b = srcM(c, f0, d);
    long r;
    if (opc >= 0x60 && opc <= 0x62 || opc >= 0x68 && opc <= 0x6A) {
      int bits = SimdInt.unpackBits(opc);
      r = opc < 0x68 ? SimdInt.interleave(bits, (int) a, (int) b)
          : SimdInt.interleave(bits, (int) (a >>> 32), (int) (b >>> 32));
    } else if (opc == 0x63 || opc == 0x67 || opc == 0x6B) {
      r = SimdInt.pack(opc, a, b);
    } else if (isShiftByReg(opc)) {
      r = SimdInt.shift(shiftKind(opc), SimdInt.laneBits(opc), a, b);
    } else {
      r = SimdInt.op(opc, a, b);
    }
    setMm(c, g, r);
  }

  private static boolean groupShiftOk(int kind, int opc, boolean xmmForm) {
    if (kind == 2 || kind == 6) {
      return true;
    }
    if (kind == 4) {
      return opc != 0x73;
    }
    return xmmForm && opc == 0x73 && (kind == 3 || kind == 7);
  }

  private static boolean isShiftByReg(int opc) {
    switch (opc) {
      case 0xD1: case 0xD2: case 0xD3: case 0xE1: case 0xE2: case 0xF1: case 0xF2: case 0xF3:
        return true;
      default:
        return false;
    }
  }

  private static int shiftKind(int opc) {
    return (opc & 0xF0) == 0xD0 ? 2 : (opc & 0xF0) == 0xE0 ? 4 : 6;
  }

  /** MASKMOVQ/MASKMOVDQU: stores the selected bytes of {@code data} at DS:(E)DI + offset. */
  private void maskedStore(Cpu c, int f0, long data, long mask, int offset) {
    int seg = (f0 >>> 24) & 7; // the decoder puts DS there unless overridden
    int off = (f0 & (1 << 27)) != 0 ? c.r[Cpu.EDI] & 0xFFFF : c.r[Cpu.EDI];
    for (int i = 0; i < 8; i++) {
      if ((mask >>> (8 * i + 7) & 1) != 0) {
        int lin = c.segAddr(seg, off + offset + i, 1, true);
        c.write8(lin, (int) (data >>> (8 * i)));
      }
    }
  }

  // ================================================================== SSE / SSE2 forms

  private void execSse(Cpu c, int f0, int d, int imm, int pfx, int opc, int g) {
    boolean mem = Cpu.isMem(f0);
    int e = (f0 >>> 14) & 7;
    long[] x = xmm;
    int gl = 2 * g;
    int el = 2 * e;
    switch (pfx << 8 | opc) {
      // ---------------------------------------------------------------- moves
      case P_NONE << 8 | 0x10: case P_66 << 8 | 0x10: case P_F3 << 8 | 0x6F:
        srcX(c, f0, d, false);
        x[gl] = sLo;
        x[gl + 1] = sHi;
        return;
      case P_NONE << 8 | 0x28: case P_66 << 8 | 0x28: case P_66 << 8 | 0x6F:
        srcX(c, f0, d, true);
        x[gl] = sLo;
        x[gl + 1] = sHi;
        return;
      case P_NONE << 8 | 0x11: case P_66 << 8 | 0x11: case P_F3 << 8 | 0x7F:
        storeX(c, f0, d, g, false);
        return;
      case P_NONE << 8 | 0x29: case P_66 << 8 | 0x29: case P_66 << 8 | 0x7F:
      case P_NONE << 8 | 0x2B: case P_66 << 8 | 0x2B: case P_66 << 8 | 0xE7:
        storeX(c, f0, d, g, true);
        return;
      case P_F3 << 8 | 0x10: // MOVSS
        if (mem) {
          x[gl] = c.read32(addr(c, f0, d, 4, false, false)) & 0xFFFF_FFFFL;
          x[gl + 1] = 0;
        } else {
          x[gl] = x[gl] & 0xFFFF_FFFF_0000_0000L | x[el] & 0xFFFF_FFFFL;
        }
        return;
      case P_F3 << 8 | 0x11:
        if (mem) {
          c.write32(addr(c, f0, d, 4, true, false), (int) x[gl]);
        } else {
          x[el] = x[el] & 0xFFFF_FFFF_0000_0000L | x[gl] & 0xFFFF_FFFFL;
        }
        return;
      case P_F2 << 8 | 0x10: // MOVSD
        if (mem) {
          x[gl] = read64(c, addr(c, f0, d, 8, false, false));
          x[gl + 1] = 0;
        } else {
          x[gl] = x[el];
        }
        return;
      case P_F2 << 8 | 0x11:
        if (mem) {
          write64(c, addr(c, f0, d, 8, true, false), x[gl]);
        } else {
          x[el] = x[gl];
        }
        return;
      case P_NONE << 8 | 0x12: case P_66 << 8 | 0x12: // MOVLPS/MOVLPD load, MOVHLPS
        x[gl] = mem ? read64(c, addr(c, f0, d, 8, false, false)) : x[el + 1];
        return;
      case P_NONE << 8 | 0x13: case P_66 << 8 | 0x13:
        write64(c, addr(c, f0, d, 8, true, false), x[gl]);
        return;
      case P_NONE << 8 | 0x16: case P_66 << 8 | 0x16: // MOVHPS/MOVHPD load, MOVLHPS
        x[gl + 1] = mem ? read64(c, addr(c, f0, d, 8, false, false)) : x[el];
        return;
      case P_NONE << 8 | 0x17: case P_66 << 8 | 0x17:
        write64(c, addr(c, f0, d, 8, true, false), x[gl + 1]);
        return;
      case P_66 << 8 | 0x6E: // MOVD xmm, r/m32
        x[gl] = rm32(c, f0, d) & 0xFFFF_FFFFL;
        x[gl + 1] = 0;
        return;
      case P_66 << 8 | 0x7E: // MOVD r/m32, xmm
        c.setE(f0, d, 2, (int) x[gl]);
        return;
      case P_F3 << 8 | 0x7E: // MOVQ xmm, xmm/m64
        x[gl] = srcX64(c, f0, d);
        x[gl + 1] = 0;
        return;
      case P_66 << 8 | 0xD6: // MOVQ xmm/m64, xmm
        if (mem) {
          write64(c, addr(c, f0, d, 8, true, false), x[gl]);
        } else {
          x[el] = x[gl];
          x[el + 1] = 0;
        }
        return;
      case P_F3 << 8 | 0xD6: // MOVQ2DQ xmm, mm
        x[gl] = mm(c, e);
        x[gl + 1] = 0;
        return;
      case P_F2 << 8 | 0xD6: // MOVDQ2Q mm, xmm
        setMm(c, g, x[el]);
        return;
      case P_NONE << 8 | 0x50: { // MOVMSKPS
        int m = 0;
        for (int i = 0; i < 4; i++) {
          m |= (int) (x[el + (i >> 1)] >>> (32 * (i & 1) + 31) & 1) << i;
        }
        c.r[g] = m;
        return;
      }
      case P_66 << 8 | 0x50:
        c.r[g] = (int) (x[el] >>> 63) | (int) (x[el + 1] >>> 63) << 1;
        return;
      case P_66 << 8 | 0xD7:
        c.r[g] = SimdInt.byteMask(x[el]) | SimdInt.byteMask(x[el + 1]) << 8;
        return;
      case P_66 << 8 | 0xF7: // MASKMOVDQU
        maskedStore(c, f0, x[gl], x[el], 0);
        maskedStore(c, f0, x[gl + 1], x[el + 1], 8);
        return;
      // ---------------------------------------------------------------- logic
      case P_NONE << 8 | 0x54: case P_66 << 8 | 0x54:
        srcX(c, f0, d, true);
        x[gl] &= sLo;
        x[gl + 1] &= sHi;
        return;
      case P_NONE << 8 | 0x55: case P_66 << 8 | 0x55:
        srcX(c, f0, d, true);
        x[gl] = ~x[gl] & sLo;
        x[gl + 1] = ~x[gl + 1] & sHi;
        return;
      case P_NONE << 8 | 0x56: case P_66 << 8 | 0x56:
        srcX(c, f0, d, true);
        x[gl] |= sLo;
        x[gl + 1] |= sHi;
        return;
      case P_NONE << 8 | 0x57: case P_66 << 8 | 0x57:
        srcX(c, f0, d, true);
        x[gl] ^= sLo;
        x[gl + 1] ^= sHi;
        return;
      // ---------------------------------------------------------------- shuffles
      case P_NONE << 8 | 0x14: { // UNPCKLPS
        srcX(c, f0, d, true);
        long a = x[gl];
        x[gl] = SimdInt.interleave(32, (int) a, (int) sLo);
        x[gl + 1] = SimdInt.interleave(32, (int) (a >>> 32), (int) (sLo >>> 32));
        return;
      }
      case P_NONE << 8 | 0x15: { // UNPCKHPS
        srcX(c, f0, d, true);
        long a = x[gl + 1];
        x[gl] = SimdInt.interleave(32, (int) a, (int) sHi);
        x[gl + 1] = SimdInt.interleave(32, (int) (a >>> 32), (int) (sHi >>> 32));
        return;
      }
      case P_66 << 8 | 0x14: case P_66 << 8 | 0x6C:
        srcX(c, f0, d, true);
        x[gl + 1] = sLo;
        return;
      case P_66 << 8 | 0x15: case P_66 << 8 | 0x6D:
        srcX(c, f0, d, true);
        x[gl] = x[gl + 1];
        x[gl + 1] = sHi;
        return;
      case P_NONE << 8 | 0xC6: { // SHUFPS
        srcX(c, f0, d, true);
        long a0 = x[gl];
        long a1 = x[gl + 1];
        x[gl] = dword(a0, a1, imm & 3) & 0xFFFF_FFFFL
            | (long) dword(a0, a1, (imm >>> 2) & 3) << 32;
        x[gl + 1] = dword(sLo, sHi, (imm >>> 4) & 3) & 0xFFFF_FFFFL
            | (long) dword(sLo, sHi, (imm >>> 6) & 3) << 32;
        return;
      }
      case P_66 << 8 | 0xC6: { // SHUFPD
        srcX(c, f0, d, true);
        long lo = (imm & 1) == 0 ? x[gl] : x[gl + 1];
        long hi = (imm & 2) == 0 ? sLo : sHi;
        x[gl] = lo;
        x[gl + 1] = hi;
        return;
      }
      case P_66 << 8 | 0x70: { // PSHUFD
        srcX(c, f0, d, true);
        long r0 = dword(sLo, sHi, imm & 3) & 0xFFFF_FFFFL
            | (long) dword(sLo, sHi, (imm >>> 2) & 3) << 32;
        long r1 = dword(sLo, sHi, (imm >>> 4) & 3) & 0xFFFF_FFFFL
            | (long) dword(sLo, sHi, (imm >>> 6) & 3) << 32;
        x[gl] = r0;
        x[gl + 1] = r1;
        return;
      }
      case P_F3 << 8 | 0x70: // PSHUFHW
        srcX(c, f0, d, true);
        x[gl] = sLo;
        x[gl + 1] = SimdInt.shuffleWords(sHi, imm);
        return;
      case P_F2 << 8 | 0x70: // PSHUFLW
        srcX(c, f0, d, true);
        x[gl] = SimdInt.shuffleWords(sLo, imm);
        x[gl + 1] = sHi;
        return;
      case P_66 << 8 | 0x71: case P_66 << 8 | 0x72: case P_66 << 8 | 0x73: {
        int kind = g;
        if (!groupShiftOk(kind, opc, true)) {
          c.raiseUndefined(Exceptions.UD);
        }
        int count = imm & 0xFF;
        if (kind == 3 || kind == 7) {
          byteShift(e, count, kind == 7);
          return;
        }
        int bits = opc == 0x71 ? 16 : opc == 0x72 ? 32 : 64;
        x[el] = SimdInt.shift(kind, bits, x[el], count);
        x[el + 1] = SimdInt.shift(kind, bits, x[el + 1], count);
        return;
      }
      case P_66 << 8 | 0xC4: {
        int v = mem ? c.read16(addr(c, f0, d, 2, false, false)) : c.r[e];
        int sel = imm & 7;
        int sh = (sel & 3) * 16;
        int q = gl + (sel >> 2);
        x[q] = x[q] & ~(0xFFFFL << sh) | (v & 0xFFFFL) << sh;
        return;
      }
      case P_66 << 8 | 0xC5: {
        int sel = imm & 7;
        c.r[g] = (int) ((x[el + (sel >> 2)] >>> ((sel & 3) * 16)) & 0xFFFF);
        return;
      }
      default:
        break;
    }
    if (opc >= 0x51 && opc <= 0x5F || opc == 0xC2 || opc >= 0x2A && opc <= 0x2F || opc == 0xE6
        || opc == 0x5B) {
      floating(c, f0, d, imm, pfx, opc, g, e);
      return;
    }
    // Packed integer, 128-bit (66 prefix).
    srcX(c, f0, d, true);
    long a0 = x[gl];
    long a1 = x[gl + 1];
    long r0;
    long r1;
    if (opc >= 0x60 && opc <= 0x62) {
      int bits = SimdInt.unpackBits(opc);
      r0 = SimdInt.interleave(bits, (int) a0, (int) sLo);
      r1 = SimdInt.interleave(bits, (int) (a0 >>> 32), (int) (sLo >>> 32));
    } else if (opc >= 0x68 && opc <= 0x6A) {
      int bits = SimdInt.unpackBits(opc);
      r0 = SimdInt.interleave(bits, (int) a1, (int) sHi);
      r1 = SimdInt.interleave(bits, (int) (a1 >>> 32), (int) (sHi >>> 32));
    } else if (opc == 0x63 || opc == 0x67 || opc == 0x6B) {
      r0 = SimdInt.pack(opc, a0, a1);
      r1 = SimdInt.pack(opc, sLo, sHi);
    } else if (isShiftByReg(opc)) {
      int kind = shiftKind(opc);
      int bits = SimdInt.laneBits(opc);
      long count = sLo; // the low quadword only (SDM: COUNT = SRC[63:0])
      r0 = SimdInt.shift(kind, bits, a0, count);
      r1 = SimdInt.shift(kind, bits, a1, count);
    } else {
      r0 = SimdInt.op(opc, a0, sLo);
      r1 = SimdInt.op(opc, a1, sHi);
    }
    x[gl] = r0;
    x[gl + 1] = r1;
  }

  private static int dword(long lo, long hi, int i) {
    long q = i < 2 ? lo : hi;
    return (int) (q >>> (32 * (i & 1)));
  }

  private void storeX(Cpu c, int f0, int d, int g, boolean align) {
    if (Cpu.isMem(f0)) {
      int lin = addr(c, f0, d, 16, true, align);
      write64(c, lin, xmm[2 * g]);
      write64(c, lin + 8, xmm[2 * g + 1]);
    } else {
      int e = (f0 >>> 14) & 7;
      xmm[2 * e] = xmm[2 * g];
      xmm[2 * e + 1] = xmm[2 * g + 1];
    }
  }

  /** PSLLDQ (left) / PSRLDQ: whole-register byte shift. */
  private void byteShift(int e, int count, boolean left) {
    long lo = xmm[2 * e];
    long hi = xmm[2 * e + 1];
    if (count > 15) {
      lo = 0;
      hi = 0;
    } else if (count > 0) {
      int bits = count * 8;
      if (left) {
        if (bits >= 64) {
          hi = lo << (bits - 64);
          lo = 0;
        } else {
          hi = hi << bits | lo >>> (64 - bits);
          lo <<= bits;
        }
      } else if (bits >= 64) {
        lo = hi >>> (bits - 64);
        hi = 0;
      } else {
        lo = lo >>> bits | hi << (64 - bits);
        hi >>>= bits;
      }
    }
    xmm[2 * e] = lo;
    xmm[2 * e + 1] = hi;
  }

  // ================================================================== floating point

  private void floating(Cpu c, int f0, int d, int imm, int pfx, int opc, int g, int e) {
    SseFloat fp = this.fp;
    fp.begin(mxcsr);
    long[] x = xmm;
    int gl = 2 * g;
    long[] r = tmp;
    switch (opc) {
      case 0x2A:
        switch (pfx) {
          case P_NONE: { // CVTPI2PS xmm, mm/m64
            long s = srcM(c, f0, d);
            int lo = fp.intToFloat((int) s);
            int hi = fp.intToFloat((int) (s >>> 32));
            commit(c);
            x[gl] = lo & 0xFFFF_FFFFL | (long) hi << 32;
            return;
          }
          case P_66: { // CVTPI2PD xmm, mm/m64 (exact)
            long s = srcM(c, f0, d);
            x[gl] = Double.doubleToRawLongBits((int) s);
            x[gl + 1] = Double.doubleToRawLongBits((int) (s >>> 32));
            return;
          }
          case P_F3: {
            int v = fp.intToFloat(rm32(c, f0, d));
            commit(c);
            x[gl] = x[gl] & 0xFFFF_FFFF_0000_0000L | v & 0xFFFF_FFFFL;
            return;
          }
          default:
            x[gl] = Double.doubleToRawLongBits(rm32(c, f0, d));
            return;
        }
      case 0x2C: case 0x2D: {
        boolean trunc = opc == 0x2C;
        switch (pfx) {
          case P_NONE: { // CVT(T)PS2PI mm, xmm/m64
            long s = srcX64(c, f0, d);
            int lo = fp.toInt32(fp.sourceS((int) s), trunc);
            int hi = fp.toInt32(fp.sourceS((int) (s >>> 32)), trunc);
            commit(c);
            setMm(c, g, lo & 0xFFFF_FFFFL | (long) hi << 32);
            return;
          }
          case P_66: { // CVT(T)PD2PI mm, xmm/m128
            srcX(c, f0, d, true);
            int lo = fp.toInt32(fp.sourceD(sLo), trunc);
            int hi = fp.toInt32(fp.sourceD(sHi), trunc);
            commit(c);
            setMm(c, g, lo & 0xFFFF_FFFFL | (long) hi << 32);
            return;
          }
          case P_F3: {
            int v = fp.toInt32(fp.sourceS(srcX32(c, f0, d)), trunc);
            commit(c);
            c.r[g] = v;
            return;
          }
          default: {
            int v = fp.toInt32(fp.sourceD(srcX64(c, f0, d)), trunc);
            commit(c);
            c.r[g] = v;
            return;
          }
        }
      }
      case 0x2E: case 0x2F: {
        int fl;
        if (pfx == P_NONE) {
          int a = fp.dazS((int) x[gl]);
          int b = fp.dazS(srcX32(c, f0, d));
          fl = fp.comi(Float.intBitsToFloat(a), Float.intBitsToFloat(b), opc == 0x2F,
              SseFloat.snanS(a) || SseFloat.snanS(b), SseFloat.denS(a) || SseFloat.denS(b));
        } else {
          long a = fp.dazD(x[gl]);
          long b = fp.dazD(srcX64(c, f0, d));
          fl = fp.comi(Double.longBitsToDouble(a), Double.longBitsToDouble(b), opc == 0x2F,
              SseFloat.snanD(a) || SseFloat.snanD(b), SseFloat.denD(a) || SseFloat.denD(b));
        }
        commit(c);
        c.setEflags(c.eflags() & ~Flags.STATUS | fl);
        return;
      }
      case 0x5A:
        switch (pfx) {
          case P_NONE: { // CVTPS2PD xmm, xmm/m64
            long s = srcX64(c, f0, d);
            long lo = fp.floatToDouble((int) s);
            long hi = fp.floatToDouble((int) (s >>> 32));
            commit(c);
            x[gl] = lo;
            x[gl + 1] = hi;
            return;
          }
          case P_66: { // CVTPD2PS
            srcX(c, f0, d, true);
            int lo = fp.doubleToFloat(sLo);
            int hi = fp.doubleToFloat(sHi);
            commit(c);
            x[gl] = lo & 0xFFFF_FFFFL | (long) hi << 32;
            x[gl + 1] = 0;
            return;
          }
          case P_F3: { // CVTSS2SD
            long v = fp.floatToDouble(srcX32(c, f0, d));
            commit(c);
            x[gl] = v;
            return;
          }
          default: { // CVTSD2SS
            int v = fp.doubleToFloat(srcX64(c, f0, d));
            commit(c);
            x[gl] = x[gl] & 0xFFFF_FFFF_0000_0000L | v & 0xFFFF_FFFFL;
            return;
          }
        }
      case 0x5B: {
        srcX(c, f0, d, true);
        for (int i = 0; i < 4; i++) {
          int v = dword(sLo, sHi, i);
          r[i] = pfx == P_NONE ? fp.intToFloat(v) : fp.toInt32(fp.sourceS(v), pfx == P_F3);
        }
        commit(c);
        x[gl] = r[0] & 0xFFFF_FFFFL | r[1] << 32;
        x[gl + 1] = r[2] & 0xFFFF_FFFFL | r[3] << 32;
        return;
      }
      case 0xE6:
        if (pfx == P_F3) { // CVTDQ2PD xmm, xmm/m64
          long s = srcX64(c, f0, d);
          x[gl] = Double.doubleToRawLongBits((int) s);
          x[gl + 1] = Double.doubleToRawLongBits((int) (s >>> 32));
        } else { // CVTPD2DQ (F2), CVTTPD2DQ (66)
          srcX(c, f0, d, true);
          boolean trunc = pfx == P_66;
          int lo = fp.toInt32(fp.sourceD(sLo), trunc);
          int hi = fp.toInt32(fp.sourceD(sHi), trunc);
          commit(c);
          x[gl] = lo & 0xFFFF_FFFFL | (long) hi << 32;
          x[gl + 1] = 0;
        }
        return;
      default:
        break;
    }
    // Arithmetic, min/max, compare, sqrt: packed or scalar.
    int pred = imm & 7;
    switch (pfx) {
      case P_NONE: {
        srcX(c, f0, d, true);
        for (int i = 0; i < 4; i++) {
          r[i] = arithS(opc, pred, dword(x[gl], x[gl + 1], i), dword(sLo, sHi, i));
        }
        commit(c);
        x[gl] = r[0] & 0xFFFF_FFFFL | r[1] << 32;
        x[gl + 1] = r[2] & 0xFFFF_FFFFL | r[3] << 32;
        return;
      }
      case P_66: {
        srcX(c, f0, d, true);
        r[0] = arithD(opc, pred, x[gl], sLo);
        r[1] = arithD(opc, pred, x[gl + 1], sHi);
        commit(c);
        x[gl] = r[0];
        x[gl + 1] = r[1];
        return;
      }
      case P_F3: {
        int v = arithS(opc, pred, (int) x[gl], srcX32(c, f0, d));
        commit(c);
        x[gl] = x[gl] & 0xFFFF_FFFF_0000_0000L | v & 0xFFFF_FFFFL;
        return;
      }
      default: {
        long v = arithD(opc, pred, x[gl], srcX64(c, f0, d));
        commit(c);
        x[gl] = v;
        return;
      }
    }
  }

  private int arithS(int opc, int pred, int a, int b) {
    switch (opc) {
      case 0x51: return fp.opS(SseFloat.SQRT, b, 0);
      case 0x52: return SseFloat.rsqrtApprox(b);
      case 0x53: return SseFloat.rcpApprox(b);
      case 0x58: return fp.opS(SseFloat.ADD, a, b);
      case 0x59: return fp.opS(SseFloat.MUL, a, b);
      case 0x5C: return fp.opS(SseFloat.SUB, a, b);
      case 0x5E: return fp.opS(SseFloat.DIV, a, b);
      case 0x5D: return fp.minMaxS(false, a, b);
      case 0x5F: return fp.minMaxS(true, a, b);
      default: return fp.cmpS(pred, a, b);
    }
  }

  private long arithD(int opc, int pred, long a, long b) {
    switch (opc) {
      case 0x51: return fp.opD(SseFloat.SQRT, b, 0);
      case 0x58: return fp.opD(SseFloat.ADD, a, b);
      case 0x59: return fp.opD(SseFloat.MUL, a, b);
      case 0x5C: return fp.opD(SseFloat.SUB, a, b);
      case 0x5E: return fp.opD(SseFloat.DIV, a, b);
      case 0x5D: return fp.minMaxD(false, a, b);
      case 0x5F: return fp.minMaxD(true, a, b);
      default: return fp.cmpD(pred, a, b);
    }
  }

  /**
   * Sets the flags of the lanes just computed in MXCSR and raises #XM (or #UD without
   * CR4.OSXMMEXCPT) for an unmasked one, before the destination is written: an unmasked
   * pre-computation exception stops before the post-computation flags are known.
   */
  private void commit(Cpu c) {
    SseFloat fp = this.fp;
    int unmasked = ~fp.masks & 0x3F;
    if ((fp.pre & unmasked) != 0) {
      mxcsr |= fp.pre;
      xmFault(c);
    }
    mxcsr |= fp.pre | fp.post;
    if ((fp.post & unmasked) != 0) {
      xmFault(c);
    }
  }

  private static void xmFault(Cpu c) {
    c.raise((c.cr4 & Cpu.CR4_OSXMMEXCPT) != 0 ? Exceptions.XM : Exceptions.UD, 0);
  }

  // ================================================================== 0F AE

  private void group15(Cpu c, int f0, int d) {
    int reg = (f0 >>> 10) & 7;
    if (!Cpu.isMem(f0)) {
      return; // LFENCE, MFENCE, SFENCE: one processor, in order; nothing to wait for
    }
    switch (reg) {
      case 0: case 1:
        if ((c.cr0 & (Cpu.CR0_EM | Cpu.CR0_TS)) != 0) {
          c.raise(Exceptions.NM, 0);
        }
        if (reg == 0) {
          FxSave.save(c, this, addr(c, f0, d, 512, true, true));
        } else {
          FxSave.restore(c, this, addr(c, f0, d, 512, false, true));
        }
        return;
      case 2: case 3: {
        classChecks(c, SSE);
        if (reg == 2) {
          int v = c.read32(addr(c, f0, d, 4, false, false));
          if ((v & ~MXCSR_MASK) != 0) {
            c.raise(Exceptions.GP, 0);
          }
          mxcsr = v;
        } else {
          c.write32(addr(c, f0, d, 4, true, false), mxcsr);
        }
        return;
      }
      default: // CLFLUSH: faults as a byte read would; caches are not modelled
        c.probeRead(c.operandAddress(f0, d, 1, false));
        return;
    }
  }
}
