package org.hospes.x86;

import static org.hospes.x86.Float80.C1;
import static org.hospes.x86.Float80.DE;
import static org.hospes.x86.Float80.IE;
import static org.hospes.x86.Float80.INDEF_SE;
import static org.hospes.x86.Float80.INDEF_SIG;
import static org.hospes.x86.Float80.PE;
import static org.hospes.x86.Float80.SF;
import static org.hospes.x86.Float80.ZE;

/**
 * The x87 floating-point unit of the i686: eight 80-bit registers used as a stack, the control,
 * status and tag words, the last-instruction and last-operand pointers, and every x87
 * instruction of the Pentium Pro (no FISTTP, which is SSE3).
 *
 * <h2>Precision</h2>
 * <ul>
 *   <li>FADD, FSUB(R), FMUL, FDIV(R), FSQRT and their P, integer-operand and memory forms compute
 *       the exact result and round it once to the precision control's 24, 53 or 64 significand
 *       bits with the rounding control's mode; the exponent keeps the full 15-bit range (a
 *       reduced precision narrows only the significand, as on Intel hardware).
 *   <li>FRNDINT, FSCALE, FXTRACT, FPREM, FPREM1, FIST(P), FBSTP and the stores to m32fp/m64fp
 *       are exact or round once with the rounding control, to 64 bits (or to the destination
 *       format); precision control does not apply to them.
 *   <li>FLD, FILD, FBLD, FST m80fp, FXCH, FCHS, FABS and the compares are exact.
 *   <li>FLDPI, FLDL2T, FLDL2E, FLDLG2 and FLDLN2 round a 128-bit constant with the rounding
 *       control, as the 387 and later do.
 *   <li>FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X and FYL2XP1 are computed in IEEE double
 *       precision (53 bits, {@link java.lang.StrictMath}) and widened exactly; their results
 *       are within a few double ulps of the true value, not within one extended ulp. Special
 *       operands (zeros, infinities, NaNs, out-of-range arguments with C2) follow the SDM.
 * </ul>
 *
 * <h2>Exceptions</h2>
 * IE (with SF and C1 for stack faults), DE, ZE, OE, UE and PE are raised as the SDM describes,
 * with the SDM's priority. Masked, each gives its default result. Unmasked, IE, DE and ZE
 * leave the destination and the stack unchanged; OE and UE store the result with its exponent
 * wrapped by 24576 (register destinations) or store nothing (memory destinations); all of them
 * set ES and B, and the next waiting x87 instruction (or WAIT) raises #MF (CR0.NE=1 behaviour).
 * Denormal results are produced when UE is masked; tininess is detected after rounding.
 *
 * <h2>Where the hardware differs from the SDM's text</h2>
 * The differential test against a real Intel x87 settled these; the unit follows the hardware:
 * <ul>
 *   <li>Compares (FCOM, FUCOM, FICOM, FTST, FCOMI, FUCOMI and their pop forms) write the
 *       condition codes or EFLAGS even when IE or DE is unmasked; only the pops are suppressed.
 *       A stack underflow writes "unordered" likewise.
 *   <li>FLD m32fp/m64fp with an unmasked DE still loads the (normalized) value; only an
 *       unmasked IE stops a load.
 *   <li>FST/FSTP to m32fp/m64fp and FIST(P)/FBSTP do not signal DE for a denormal source; an
 *       unmasked OE or UE to memory stores nothing, does not pop, and raises neither PE nor C1.
 *   <li>An instruction stopped by an unmasked IE, DE or ZE raises only those (no PE), clears
 *       C1, and leaves registers and TOP alone.
 *   <li>Of an SNaN and a QNaN operand the QNaN is the result whatever the significands; two
 *       NaNs of one kind with equal significands give the positive one.
 *   <li>FCOMI/FUCOMI and FCMOVcc leave C1 alone; FFREE and FFREEP clear it. FCMOVcc with an
 *       empty operand writes the indefinite to ST(0) even when the condition is false.
 *   <li>FLD ST(i) from an empty register reports underflow (C1=0) before overflow.
 *   <li>D9 D8+i (FSTP1) is an FSTP that never faults: with ST(0) empty it only pops.
 *   <li>FPREM/FPREM1 clear C2 for every outcome but a partial remainder; special operands
 *       (NaN, infinity, stack fault) leave C0 and C3 alone, a zero quotient clears them. The
 *       partial reduction leaves an exponent difference of 32 + (D - 32) mod 32.
 *   <li>FSCALE results beyond the wrapped exponent range are infinity (OE, PE, C1) or zero
 *       (UE, PE) even when those exceptions are unmasked.
 *   <li>FSIN, FCOS, FSINCOS and FPTAN reduce the argument with a 66-bit pi (this unit does too,
 *       exactly, before evaluating in double precision).
 *   <li>F2XM1 outside [-1, +1] returns its operand and raises PE; FYL2XP1 at or below -1 with
 *       a finite nonzero ST(1) returns ST(0) and raises PE.
 *   <li>FLDCW, FLDENV and FRSTOR keep FCW bit 12 (X) and force bit 6; reserved halves of the
 *       32-bit environment are stored as FFFFh.
 * </ul>
 *
 * <p>Precision control 01 (reserved) is treated as 64 bits. The 16-bit and real-mode
 * environment layouts are implemented; the real-mode ones are not covered by the differential
 * test (the host runs 64-bit code).
 *
 * <p>Registers are kept as primitives: {@code sig[i]}/{@code se[i]} hold physical register i
 * in its memory layout, and {@code emptyMask} its empty tag; the full tag word is derived on
 * FNSTENV/FNSAVE.
 */
final class Fpu {
  static final int SW_C0 = 0x0100;
  static final int SW_C1 = 0x0200;
  static final int SW_C2 = 0x0400;
  static final int SW_C3 = 0x4000;
  static final int SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;
  static final int SW_ES = 0x0080;
  static final int SW_B = 0x8000;

  /** Power-up control word (SDM vol. 3, table 9-1). */
  static final int CW_RESET = 0x0040;
  /** Control word after FNINIT. */
  static final int CW_INIT = 0x037F;

  // ------------------------------------------------------------------ architectural state

  /** Physical registers R0-R7: significand (with integer bit) and sign/exponent. */
  final long[] sig = new long[8];
  final int[] se = new int[8];
  /** Bit i set: physical register i is empty (tag 11). */
  int emptyMask = 0xFF;
  int top;
  int cw = CW_RESET;
  /** Status word without the TOP field. */
  int sw;
  int fip;
  int fcs;
  int fop;
  int fdp;
  int fds;

  private final Float80 x = new Float80();
  /** Scratch for FRSTOR/FLDENV, read completely before any state changes. */
  private final int[] envBuf = new int[7];
  private final long[] loadSig = new long[8];
  private final int[] loadSe = new int[8];
  /** The reduced argument of FSIN/FCOS/FSINCOS/FPTAN (see FpuTranscendental#reduce). */
  final double[] reduced = new double[1];

  // ================================================================== entry points

  /**
   * Executes one x87 escape instruction. {@code f3 >>> 20} is (opcode - 0xD8) &lt;&lt; 8 | ModRM;
   * the instruction's own EIP is {@code c.blockEip + (f3 & 0xFFFF) - ((f3 >>> 16) & 15)}; for
   * memory forms {@code Cpu.isMem(f0)} is true and {@code c.operandAddress(f0, d, bytes, write)}
   * gives the operand's linear address.
   */
  void exec(Cpu c, int f0, int d, int f3) {
    int op = (f3 >>> 20) & 0x7FF;
    if (Cpu.isMem(f0)) {
      execMem(c, f0, d, f3, op);
    } else {
      execReg(c, f0, f3, op);
    }
  }

  /** FWAIT/WAIT: raises #MF when an unmasked exception is pending. */
  void fwait(Cpu c) {
    if ((sw & SW_ES) != 0) {
      c.raise(Exceptions.MF, 0);
    }
  }

  /** Processor reset: the power-up state (FCW 0040, FSW 0, all registers empty). */
  void reset() {
    finit();
    cw = CW_RESET;
  }

  // ================================================================== decode

  private void execMem(Cpu c, int f0, int d, int f3, int op) {
    int esc = op >>> 8;
    int reg = (op >>> 3) & 7;
    switch (esc) {
      case 0: { // D8: m32fp arithmetic
        waitCheck(c);
        long v = c.read32(addr(c, f0, d, 4, false)) & 0xFFFF_FFFFL;
        note(c, f0, d, f3, op);
        arithMem(c, reg, v, 0);
        return;
      }
      case 1: // D9
        switch (reg) {
          case 0: {
            waitCheck(c);
            int v = c.read32(addr(c, f0, d, 4, false));
            note(c, f0, d, f3, op);
            x.exc = 0;
            x.loadBinary(v & 0xFFFF_FFFFL, false);
            pushConverted();
            return;
          }
          case 2: case 3:
            {
              waitCheck(c);
              int lin = addr(c, f0, d, 4, true);
              note(c, f0, d, f3, op);
              storeBinary(c, lin, false, reg == 3);
            }
            return;
          case 4:
            waitCheck(c);
            loadEnv(c, addr(c, f0, d, envSize(f0), false), is16(f0));
            return;
          case 5: {
            waitCheck(c);
            int v = c.read16(addr(c, f0, d, 2, false));
            setCw(v);
            return;
          }
          case 6:
            storeEnv(c, addr(c, f0, d, envSize(f0), true), is16(f0));
            cw |= 0x3F;
            updateEs();
            return;
          case 7:
            c.write16(addr(c, f0, d, 2, true), cw);
            return;
          default:
            c.raiseUndefined(Exceptions.UD);
            return;
        }
      case 2: { // DA: m32int arithmetic
        waitCheck(c);
        long v = c.read32(addr(c, f0, d, 4, false));
        note(c, f0, d, f3, op);
        arithMem(c, reg, v, 2);
        return;
      }
      case 3: // DB
        switch (reg) {
          case 0: {
            waitCheck(c);
            int v = c.read32(addr(c, f0, d, 4, false));
            note(c, f0, d, f3, op);
            x.exc = 0;
            x.loadInt(v);
            pushConverted();
            return;
          }
          case 2: case 3:
            {
              waitCheck(c);
              int lin = addr(c, f0, d, 4, true);
              note(c, f0, d, f3, op);
              storeInt(c, lin, 4, reg == 3);
            }
            return;
          case 5: {
            waitCheck(c);
            int lin = addr(c, f0, d, 10, false);
            long s = read64(c, lin);
            int e = c.read16(lin + 8);
            note(c, f0, d, f3, op);
            x.exc = 0;
            x.se = e;
            x.sig = s;
            pushConverted();
            return;
          }
          case 7:
            {
              waitCheck(c);
              int lin = addr(c, f0, d, 10, true);
              note(c, f0, d, f3, op);
              storeExtended(c, lin);
            }
            return;
          default: // /1 FISTTP (SSE3), /4 and /6 reserved
            c.raiseUndefined(Exceptions.UD);
            return;
        }
      case 4: { // DC: m64fp arithmetic
        waitCheck(c);
        long v = read64(c, addr(c, f0, d, 8, false));
        note(c, f0, d, f3, op);
        arithMem(c, reg, v, 1);
        return;
      }
      case 5: // DD
        switch (reg) {
          case 0: {
            waitCheck(c);
            long v = read64(c, addr(c, f0, d, 8, false));
            note(c, f0, d, f3, op);
            x.exc = 0;
            x.loadBinary(v, true);
            pushConverted();
            return;
          }
          case 2: case 3:
            {
              waitCheck(c);
              int lin = addr(c, f0, d, 8, true);
              note(c, f0, d, f3, op);
              storeBinary(c, lin, true, reg == 3);
            }
            return;
          case 4:
            waitCheck(c);
            frstor(c, addr(c, f0, d, envSize(f0) + 80, false), is16(f0));
            return;
          case 6:
            fnsave(c, addr(c, f0, d, envSize(f0) + 80, true), is16(f0));
            return;
          case 7:
            c.write16(addr(c, f0, d, 2, true), statusWord());
            return;
          default: // /1 FISTTP (SSE3), /5 reserved
            c.raiseUndefined(Exceptions.UD);
            return;
        }
      case 6: { // DE: m16int arithmetic
        waitCheck(c);
        long v = (short) c.read16(addr(c, f0, d, 2, false));
        note(c, f0, d, f3, op);
        arithMem(c, reg, v, 2);
        return;
      }
      default: // DF
        switch (reg) {
          case 0: {
            waitCheck(c);
            int v = (short) c.read16(addr(c, f0, d, 2, false));
            note(c, f0, d, f3, op);
            x.exc = 0;
            x.loadInt(v);
            pushConverted();
            return;
          }
          case 2: case 3:
            {
              waitCheck(c);
              int lin = addr(c, f0, d, 2, true);
              note(c, f0, d, f3, op);
              storeInt(c, lin, 2, reg == 3);
            }
            return;
          case 4: {
            waitCheck(c);
            int lin = addr(c, f0, d, 10, false);
            long lo = read64(c, lin);
            int hi = c.read16(lin + 8);
            note(c, f0, d, f3, op);
            fbld(lo, hi);
            return;
          }
          case 5: {
            waitCheck(c);
            long v = read64(c, addr(c, f0, d, 8, false));
            note(c, f0, d, f3, op);
            x.exc = 0;
            x.loadInt(v);
            pushConverted();
            return;
          }
          case 6:
            {
              waitCheck(c);
              int lin = addr(c, f0, d, 10, true);
              note(c, f0, d, f3, op);
              fbstp(c, lin);
            }
            return;
          case 7:
            {
              waitCheck(c);
              int lin = addr(c, f0, d, 8, true);
              note(c, f0, d, f3, op);
              storeInt(c, lin, 8, true);
            }
            return;
          default: // /1 FISTTP (SSE3)
            c.raiseUndefined(Exceptions.UD);
            return;
        }
    }
  }

  private void execReg(Cpu c, int f0, int f3, int op) {
    int esc = op >>> 8;
    int modrm = op & 0xFF;
    int reg = (modrm >>> 3) & 7;
    int i = modrm & 7;
    switch (esc) {
      case 0: // D8
        begin(c, f0, 0, f3, op);
        if (reg == 2 || reg == 3) {
          fcomReg(i, false, reg == 3 ? 1 : 0);
        } else {
          arithReg(reg, i, 0, false);
        }
        return;
      case 1:
        execD9(c, f0, f3, op, reg, i);
        return;
      case 2: // DA
        if (reg < 4) {
          begin(c, f0, 0, f3, op);
          fcmov(c, reg, false, i);
        } else if (modrm == 0xE9) {
          begin(c, f0, 0, f3, op);
          fcomReg(1, true, 2);
        } else {
          c.raiseUndefined(Exceptions.UD);
        }
        return;
      case 3: // DB
        if (reg < 4) {
          begin(c, f0, 0, f3, op);
          fcmov(c, reg, true, i);
        } else if (reg == 4) {
          switch (i) {
            case 0: case 1: case 4: // FNENI, FNDISI, FNSETPM: no-ops since the 387
              return;
            case 2:
              sw &= ~(0x00FF | SW_B);
              return;
            case 3:
              finit();
              return;
            default:
              c.raiseUndefined(Exceptions.UD);
              return;
          }
        } else if (reg == 5 || reg == 6) {
          begin(c, f0, 0, f3, op);
          fcomi(c, i, reg == 5, false);
        } else {
          c.raiseUndefined(Exceptions.UD);
        }
        return;
      case 4: // DC
        begin(c, f0, 0, f3, op);
        if (reg == 2 || reg == 3) {
          fcomReg(i, false, reg == 3 ? 1 : 0);
        } else {
          arithReg(reg, i, i, false);
        }
        return;
      case 5: // DD
        switch (reg) {
          case 0:
            begin(c, f0, 0, f3, op);
            emptyMask |= 1 << phys(i);
            sw &= ~SW_C1;
            return;
          case 1:
            begin(c, f0, 0, f3, op);
            fxch(i);
            return;
          case 2: case 3:
            begin(c, f0, 0, f3, op);
            fstReg(i, reg == 3);
            return;
          case 4: case 5:
            begin(c, f0, 0, f3, op);
            fcomReg(i, true, reg == 5 ? 1 : 0);
            return;
          default:
            c.raiseUndefined(Exceptions.UD);
            return;
        }
      case 6: // DE
        if (reg == 3) {
          if (i != 1) {
            c.raiseUndefined(Exceptions.UD);
            return;
          }
          begin(c, f0, 0, f3, op);
          fcomReg(1, false, 2);
          return;
        }
        begin(c, f0, 0, f3, op);
        if (reg == 2) {
          fcomReg(i, false, 1);
        } else {
          arithReg(reg, i, i, true);
        }
        return;
      default: // DF
        switch (reg) {
          case 0: // FFREEP
            begin(c, f0, 0, f3, op);
            emptyMask |= 1 << phys(i);
            pop();
            sw &= ~SW_C1;
            return;
          case 1:
            begin(c, f0, 0, f3, op);
            fxch(i);
            return;
          case 2: case 3:
            begin(c, f0, 0, f3, op);
            fstReg(i, true);
            return;
          case 4:
            if (i != 0) {
              c.raiseUndefined(Exceptions.UD);
              return;
            }
            c.r[Cpu.EAX] = (c.r[Cpu.EAX] & 0xFFFF_0000) | statusWord();
            return;
          case 5: case 6:
            begin(c, f0, 0, f3, op);
            fcomi(c, i, reg == 5, true);
            return;
          default:
            c.raiseUndefined(Exceptions.UD);
            return;
        }
    }
  }

  private void execD9(Cpu c, int f0, int f3, int op, int reg, int i) {
    int modrm = op & 0xFF;
    switch (reg) {
      case 0:
        begin(c, f0, 0, f3, op);
        fldReg(i);
        return;
      case 1:
        begin(c, f0, 0, f3, op);
        fxch(i);
        return;
      case 2:
        if (i != 0) {
          c.raiseUndefined(Exceptions.UD);
          return;
        }
        begin(c, f0, 0, f3, op);
        return;
      case 3: // FSTP1 / FSTPNCE (reserved encoding): FSTP ST(i) that never faults
        begin(c, f0, 0, f3, op);
        if (!isEmpty(0)) {
          int p = phys(0);
          setSt(i, se[p], sig[p]);
        }
        pop();
        sw &= ~SW_C1;
        return;
      default:
        break;
    }
    switch (modrm) {
      case 0xE0: case 0xE1:
        begin(c, f0, 0, f3, op);
        fchsAbs(modrm == 0xE0);
        return;
      case 0xE4:
        begin(c, f0, 0, f3, op);
        ftst();
        return;
      case 0xE5:
        begin(c, f0, 0, f3, op);
        fxam();
        return;
      case 0xE8: case 0xE9: case 0xEA: case 0xEB: case 0xEC: case 0xED: case 0xEE:
        begin(c, f0, 0, f3, op);
        fldConst(modrm - 0xE8);
        return;
      case 0xF4:
        begin(c, f0, 0, f3, op);
        fxtract();
        return;
      case 0xF5: case 0xF8:
        begin(c, f0, 0, f3, op);
        fprem(modrm == 0xF5);
        return;
      case 0xF6:
        begin(c, f0, 0, f3, op);
        top = (top - 1) & 7;
        sw &= ~SW_C1;
        return;
      case 0xF7:
        begin(c, f0, 0, f3, op);
        top = (top + 1) & 7;
        sw &= ~SW_C1;
        return;
      case 0xFA:
        begin(c, f0, 0, f3, op);
        unary(0);
        return;
      case 0xFC:
        begin(c, f0, 0, f3, op);
        unary(1);
        return;
      case 0xFD:
        begin(c, f0, 0, f3, op);
        fscale();
        return;
      case 0xF0: case 0xF1: case 0xF2: case 0xF3: case 0xF9: case 0xFB: case 0xFE: case 0xFF:
        begin(c, f0, 0, f3, op);
        FpuTranscendental.exec(this, x, modrm);
        return;
      default:
        c.raiseUndefined(Exceptions.UD);
        return;
    }
  }

  // ================================================================== common steps

  private void waitCheck(Cpu c) {
    if ((sw & SW_ES) != 0) {
      c.raise(Exceptions.MF, 0);
    }
  }

  /**
   * Start of a waiting, non-control instruction: delivers a pending #MF, then records the
   * instruction and operand pointers.
   */
  private void begin(Cpu c, int f0, int d, int f3, int op) {
    waitCheck(c);
    note(c, f0, d, f3, op);
  }

  /** Records the instruction and operand pointers and the opcode (FIP, FCS, FOP, FDP, FDS). */
  private void note(Cpu c, int f0, int d, int f3, int op) {
    fip = c.blockEip + (f3 & 0xFFFF) - ((f3 >>> 16) & 15);
    fcs = c.segmentSelector(Cpu.CS);
    fop = op;
    if (Cpu.isMem(f0)) {
      fdp = c.offset(f0, d);
      fds = c.segmentSelector((f0 >>> 24) & 7);
    }
  }

  private static int addr(Cpu c, int f0, int d, int bytes, boolean write) {
    return c.operandAddress(f0, d, bytes, write);
  }

  private static boolean is16(int f0) {
    return Cpu.size(f0) == 1;
  }

  private static int envSize(int f0) {
    return is16(f0) ? 14 : 28;
  }

  private static long read64(Cpu c, int lin) {
    long lo = c.read32(lin) & 0xFFFF_FFFFL;
    long hi = c.read32(lin + 4) & 0xFFFF_FFFFL;
    return hi << 32 | lo;
  }

  private static void write64(Cpu c, int lin, long v) {
    c.write32(lin, (int) v);
    c.write32(lin + 4, (int) (v >>> 32));
  }

  int phys(int i) {
    return (top + i) & 7;
  }

  boolean isEmpty(int i) {
    return (emptyMask >>> phys(i) & 1) != 0;
  }

  private void setSt(int i, int e, long s) {
    int p = phys(i);
    se[p] = e & 0xFFFF;
    sig[p] = s;
    emptyMask &= ~(1 << p);
  }

  private void pop() {
    emptyMask |= 1 << top;
    top = (top + 1) & 7;
  }

  /** Prepares the arithmetic unit from the control word. */
  private void arm() {
    x.exc = 0;
    x.masks = cw & 0x3F;
    x.rc = (cw >>> 10) & 3;
    int p = (cw >>> 8) & 3;
    x.pc = p == 0 ? 24 : p == 2 ? 53 : 64;
  }

  /** True when the flags hold an unmasked pre-computation exception (IE, DE or ZE). */
  private boolean unmaskedPre(int ex) {
    return (ex & ~cw & (IE | DE | ZE)) != 0;
  }

  /**
   * An instruction stopped by an unmasked IE, DE or ZE: only those flags (and SF) are raised,
   * C1 is cleared, and nothing else changes.
   */
  private void abort(int ex) {
    flags(ex & (IE | DE | ZE | SF));
  }

  /** Like {@link #flags} but leaves C1 alone unless a stack fault sets it (FCOMI, FCMOV). */
  private void flagsKeepC1(int ex) {
    if ((ex & SF) != 0) {
      flags(ex);
    } else {
      sw |= ex & 0x7F;
      updateEs();
    }
  }

  /** ORs exception flags into the FSW, sets C1 from {@code ex}, and updates ES/B. */
  private void flags(int ex) {
    sw = (sw & ~SW_C1) | (ex & (0x7F | C1));
    updateEs();
  }

  void updateEs() {
    if ((sw & ~cw & 0x3F) != 0) {
      sw |= SW_ES | SW_B;
    } else {
      sw &= ~(SW_ES | SW_B);
    }
  }

  private void setCw(int v) {
    cw = (v & 0x1F3F) | 0x0040;
    updateEs();
  }

  private void setCc(int c3c2c0) {
    sw = (sw & ~(SW_C0 | SW_C2 | SW_C3)) | c3c2c0;
  }

  int statusWord() {
    return (sw & ~0x3800) | top << 11;
  }

  private void finit() {
    cw = CW_INIT;
    sw = 0;
    top = 0;
    emptyMask = 0xFF;
    fip = 0;
    fcs = 0;
    fop = 0;
    fdp = 0;
    fds = 0;
  }

  /** Pushes x.se/x.sig after a load whose conversion flags are in x.exc. */
  private void pushConverted() {
    int ex = x.exc;
    if (!isEmpty(7)) {
      ex = IE | SF | C1;
      if ((cw & IE) == 0) {
        flags(ex);
        return;
      }
      x.setIndefinite();
    } else if ((ex & ~cw & IE) != 0) {
      // Only an unmasked #IA stops a load; an unmasked #D still loads the (normalized) value.
      abort(ex);
      return;
    }
    top = (top - 1) & 7;
    setSt(0, x.se, x.sig);
    flags(ex);
  }

  /** Stack underflow response: flags IE|SF with C1 clear; true when the caller must stop. */
  private boolean underflow() {
    if ((cw & IE) == 0) {
      flags(IE | SF);
      return true;
    }
    return false;
  }

  // ================================================================== loads and stores

  private void fldReg(int i) {
    x.exc = 0;
    if (isEmpty(i)) {
      if (underflow()) {
        return;
      }
      x.exc = IE | SF;
      x.setIndefinite();
    } else if (!isEmpty(7)) {
      x.exc = IE | SF | C1;
      if ((cw & IE) == 0) {
        flags(x.exc);
        return;
      }
      x.setIndefinite();
    } else {
      int p = phys(i);
      x.se = se[p];
      x.sig = sig[p];
    }
    int ex = x.exc;
    top = (top - 1) & 7;
    setSt(0, x.se, x.sig);
    flags(ex);
  }

  private void fldConst(int k) {
    arm();
    int rc = x.rc;
    switch (k) {
      case 0: x.se = 0x3FFF; x.sig = Float80.INT_BIT; break;
      case 1: constant(0x4000, 0xD49A_784B_CD1B_8AFEL, 0x492B_F6FF_4DAF_DB4CL, rc); break;
      case 2: constant(0x3FFF, 0xB8AA_3B29_5C17_F0BBL, 0xBE87_FED0_691D_3E88L, rc); break;
      case 3: constant(0x4000, 0xC90F_DAA2_2168_C234L, 0xC4C6_628B_80DC_1CD1L, rc); break;
      case 4: constant(0x3FFD, 0x9A20_9A84_FBCF_F798L, 0x8F89_59AC_0B7C_9178L, rc); break;
      case 5: constant(0x3FFE, 0xB172_17F7_D1CF_79ABL, 0xC9E3_B398_03F2_F6AFL, rc); break;
      default: x.se = 0; x.sig = 0; break;
    }
    x.exc = 0;
    pushConverted();
  }

  /** A positive constant hi:lo * 2^(exp-bias-63), rounded by {@code rc} (no PE). */
  private void constant(int exp, long hi, long lo, int rc) {
    boolean up;
    switch (rc) {
      case Float80.RN: up = lo < 0; break;
      case Float80.RU: up = true; break;
      default: up = false; break;
    }
    x.se = exp;
    x.sig = up ? hi + 1 : hi;
  }

  private void storeBinary(Cpu c, int lin, boolean dbl, boolean popAfter) {
    arm();
    long bits;
    if (isEmpty(0)) {
      if (underflow()) {
        return;
      }
      x.exc = IE | SF;
      bits = dbl ? 0xFFF8_0000_0000_0000L : 0xFFC0_0000L;
    } else {
      int p = phys(0);
      bits = x.storeBinary(se[p], sig[p], dbl);
    }
    int ex = x.exc;
    if (unmaskedPre(ex)) {
      abort(ex);
      return;
    }
    if ((ex & ~cw & (Float80.OE | Float80.UE)) != 0) {
      // Unmasked overflow or underflow to memory: nothing is stored or popped, and only OE or
      // UE is raised (not PE).
      flags(ex & (Float80.OE | Float80.UE));
      return;
    }
    if (dbl) {
      write64(c, lin, bits);
    } else {
      c.write32(lin, (int) bits);
    }
    if (popAfter) {
      pop();
    }
    flags(ex);
  }

  private void storeExtended(Cpu c, int lin) {
    int e;
    long s;
    int ex = 0;
    if (isEmpty(0)) {
      if (underflow()) {
        return;
      }
      ex = IE | SF;
      e = INDEF_SE;
      s = INDEF_SIG;
    } else {
      int p = phys(0);
      e = se[p];
      s = sig[p];
    }
    write64(c, lin, s);
    c.write16(lin + 8, e);
    pop();
    flags(ex);
  }

  private void fstReg(int i, boolean popAfter) {
    int ex = 0;
    int e;
    long s;
    if (isEmpty(0)) {
      if (underflow()) {
        return;
      }
      ex = IE | SF;
      e = INDEF_SE;
      s = INDEF_SIG;
    } else {
      int p = phys(0);
      e = se[p];
      s = sig[p];
    }
    setSt(i, e, s);
    if (popAfter) {
      pop();
    }
    flags(ex);
  }

  private void storeInt(Cpu c, int lin, int bytes, boolean popAfter) {
    arm();
    long v;
    long indefinite = bytes == 2 ? 0x8000 : bytes == 4 ? 0x8000_0000L : Long.MIN_VALUE;
    if (isEmpty(0)) {
      if (underflow()) {
        return;
      }
      x.exc = IE | SF;
      v = indefinite;
    } else {
      int p = phys(0);
      v = toInt(se[p], sig[p], bytes * 8, indefinite);
    }
    int ex = x.exc;
    if (unmaskedPre(ex)) {
      abort(ex);
      return;
    }
    switch (bytes) {
      case 2: c.write16(lin, (int) v); break;
      case 4: c.write32(lin, (int) v); break;
      default: write64(c, lin, v); break;
    }
    if (popAfter) {
      pop();
    }
    flags(ex);
  }

  /** Converts to a signed integer of {@code bits} bits; out of range gives #IA and indefinite. */
  private long toInt(int e, long s, int bits, long indefinite) {
    int cls = Float80.classify(e, s);
    if (cls >= Float80.INF) {
      x.exc |= IE;
      return indefinite;
    }
    // A denormal source does not signal #D for integer stores.
    int save = x.exc;
    x.roundToInt(e, s);
    long limit = 1L << (bits - 1);
    boolean neg = (e & 0x8000) != 0;
    long mag = x.intMag;
    boolean tooBig = x.intHuge
        || (neg ? Long.compareUnsigned(mag, limit) > 0 : Long.compareUnsigned(mag, limit) >= 0);
    if (tooBig) {
      x.exc = save | IE;
      return indefinite;
    }
    return neg ? -mag : mag;
  }

  private void fbld(long lo, int hi) {
    long v = 0;
    for (int k = 8; k >= 0; k--) {
      int b = k == 8 ? hi & 0xFF : (int) (lo >>> (8 * k)) & 0xFF;
      v = v * 100 + (b >>> 4) * 10 + (b & 15);
    }
    x.exc = 0;
    x.loadInt(v);
    if ((hi & 0x8000) != 0) {
      x.se |= 0x8000;
    }
    pushConverted();
  }

  private void fbstp(Cpu c, int lin) {
    arm();
    long lo;
    int hi;
    int ex;
    boolean indefinite = false;
    if (isEmpty(0)) {
      if (underflow()) {
        return;
      }
      x.exc = IE | SF;
      indefinite = true;
      lo = 0;
      hi = 0;
    } else {
      int p = phys(0);
      int cls = Float80.classify(se[p], sig[p]);
      long mag = 0;
      if (cls >= Float80.INF) {
        x.exc |= IE;
        indefinite = true;
      } else {
        int save = x.exc;
        x.roundToInt(se[p], sig[p]);
        mag = x.intMag;
        if (x.intHuge || Long.compareUnsigned(mag, 999_999_999_999_999_999L) > 0) {
          x.exc = save | IE;
          indefinite = true;
        }
      }
      lo = 0;
      for (int k = 0; k < 8; k++) {
        long two = mag % 100;
        mag /= 100;
        lo |= ((two / 10) << 4 | two % 10) << (8 * k);
      }
      long two = mag % 100;
      hi = (int) ((two / 10) << 4 | two % 10) | (se[p] & 0x8000);
    }
    if (indefinite) {
      lo = 0xC000_0000_0000_0000L;
      hi = 0xFFFF;
    }
    ex = x.exc;
    if (unmaskedPre(ex)) {
      abort(ex);
      return;
    }
    write64(c, lin, lo);
    c.write16(lin + 8, hi);
    pop();
    flags(ex);
  }

  // ================================================================== arithmetic

  /**
   * D8/DC/DA/DE memory forms: {@code kind} 0 = m32fp, 1 = m64fp, 2 = integer (already
   * sign-extended in {@code bits}).
   */
  private void arithMem(Cpu c, int reg, long bits, int kind) {
    arm();
    if (kind == 2) {
      x.loadInt(bits);
    } else {
      x.loadBinary(bits, kind == 1, false);
    }
    int convEx = x.exc;
    int bSe = x.se;
    long bSig = x.sig;
    if (reg == 2 || reg == 3) {
      fcomValue(bSe, bSig, convEx, false, reg == 3 ? 1 : 0);
      return;
    }
    if (isEmpty(0)) {
      if (underflow()) {
        return;
      }
      x.setIndefinite();
      x.exc = IE | SF;
    } else {
      int p = phys(0);
      x.exc = 0;
      compute(reg, se[p], sig[p], bSe, bSig);
      x.exc |= filterConv(convEx, se[p], sig[p]);
    }
    int ex = x.exc;
    if (unmaskedPre(ex)) {
      abort(ex);
      return;
    }
    setSt(0, x.se, x.sig);
    flags(ex);
  }

  /**
   * Flags from converting a memory operand, minus DE when a higher-priority condition (an
   * invalid operand, a NaN, a zero divide) makes the denormal irrelevant.
   */
  private int filterConv(int convEx, int otherSe, long otherSig) {
    int cls = Float80.classify(otherSe, otherSig);
    if ((x.exc & (IE | ZE)) != 0 || cls >= Float80.QNAN) {
      return convEx & ~DE;
    }
    return convEx;
  }

  /** Register forms: dest is ST(destI); {@code i} names the other operand ST(i). */
  private void arithReg(int reg, int i, int destI, boolean popAfter) {
    arm();
    if (isEmpty(0) || isEmpty(i)) {
      if (underflow()) {
        return;
      }
      x.setIndefinite();
      x.exc = IE | SF;
    } else {
      int p0 = phys(0);
      int pi = phys(i);
      compute(reg, se[p0], sig[p0], se[pi], sig[pi]);
    }
    int ex = x.exc;
    if (unmaskedPre(ex)) {
      abort(ex);
      return;
    }
    setSt(destI, x.se, x.sig);
    if (popAfter) {
      pop();
    }
    flags(ex);
  }

  /**
   * The operation selected by the ModRM reg field: 0 add, 1 mul, 4 st - src, 5 src - st, 6 st /
   * src, 7 src / st, where st is ST(0) and src the other operand.
   */
  private void compute(int reg, int stSe, long stSig, int srcSe, long srcSig) {
    switch (reg) {
      case 0: x.add(stSe, stSig, srcSe, srcSig, false); break;
      case 1: x.mul(stSe, stSig, srcSe, srcSig); break;
      case 4: x.add(stSe, stSig, srcSe, srcSig, true); break;
      case 5: x.add(srcSe, srcSig, stSe, stSig, true); break;
      case 6: x.div(stSe, stSig, srcSe, srcSig); break;
      default: x.div(srcSe, srcSig, stSe, stSig); break;
    }
  }

  /** FSQRT (0) and FRNDINT (1). */
  private void unary(int which) {
    arm();
    if (isEmpty(0)) {
      if (underflow()) {
        return;
      }
      x.setIndefinite();
      x.exc = IE | SF;
    } else {
      int p = phys(0);
      if (which == 0) {
        x.sqrt(se[p], sig[p]);
      } else {
        frndint(se[p], sig[p]);
      }
    }
    int ex = x.exc;
    if (unmaskedPre(ex)) {
      abort(ex);
      return;
    }
    setSt(0, x.se, x.sig);
    flags(ex);
  }

  private void frndint(int e, long s) {
    int cls = Float80.classify(e, s);
    switch (cls) {
      case Float80.SNAN: case Float80.QNAN:
        x.propagateNan(e, s, cls, e, s, cls);
        return;
      case Float80.UNSUPPORTED:
        x.invalid();
        return;
      case Float80.ZERO: case Float80.INF:
        x.se = e;
        x.sig = s;
        return;
      default:
        break;
    }
    if (cls == Float80.DENORMAL) {
      x.exc |= DE;
    }
    int sign = e >>> 15 & 1;
    if (Float80.exponent(e, s) >= 63) {
      x.se = e;
      x.sig = s;
      return;
    }
    x.roundToInt(e, s);
    long m = x.intMag;
    if (m == 0) {
      x.setZero(sign);
    } else {
      int nlz = Long.numberOfLeadingZeros(m);
      x.setResult(sign, 63 - nlz + Float80.BIAS, m << nlz);
    }
  }

  private void fchsAbs(boolean chs) {
    if (isEmpty(0)) {
      if (underflow()) {
        return;
      }
      setSt(0, INDEF_SE, INDEF_SIG);
      flags(IE | SF);
      return;
    }
    int p = phys(0);
    se[p] = chs ? se[p] ^ 0x8000 : se[p] & 0x7FFF;
    flags(0);
  }

  private void fxch(int i) {
    int ex = 0;
    if (isEmpty(0) || isEmpty(i)) {
      if (underflow()) {
        return;
      }
      ex = IE | SF;
      if (isEmpty(0)) {
        setSt(0, INDEF_SE, INDEF_SIG);
      }
      if (isEmpty(i)) {
        setSt(i, INDEF_SE, INDEF_SIG);
      }
    }
    int p0 = phys(0);
    int pi = phys(i);
    int te = se[p0];
    long ts = sig[p0];
    se[p0] = se[pi];
    sig[p0] = sig[pi];
    se[pi] = te;
    sig[pi] = ts;
    flags(ex);
  }

  private void fcmov(Cpu c, int reg, boolean negate, int i) {
    int f = c.eflags();
    boolean t;
    switch (reg) {
      case 0: t = (f & Flags.CF) != 0; break;
      case 1: t = (f & Flags.ZF) != 0; break;
      case 2: t = (f & (Flags.CF | Flags.ZF)) != 0; break;
      default: t = (f & Flags.PF) != 0; break;
    }
    if (negate) {
      t = !t;
    }
    if (isEmpty(0) || isEmpty(i)) {
      // Masked: ST(0) becomes the indefinite whether or not the condition holds.
      if (underflow()) {
        return;
      }
      setSt(0, INDEF_SE, INDEF_SIG);
      flags(IE | SF);
      return;
    }
    if (t) {
      int pi = phys(i);
      setSt(0, se[pi], sig[pi]);
    }
  }

  // ================================================================== compares

  private void fcomReg(int i, boolean quiet, int pops) {
    arm();
    if (isEmpty(0) || isEmpty(i)) {
      setCc(SW_C3 | SW_C2 | SW_C0);
      if (underflow()) {
        return;
      }
      flags(IE | SF);
      popN(pops);
      return;
    }
    int pi = phys(i);
    compareAndSet(se[pi], sig[pi], 0, quiet, pops);
  }

  private void fcomValue(int bSe, long bSig, int convEx, boolean quiet, int pops) {
    if (isEmpty(0)) {
      setCc(SW_C3 | SW_C2 | SW_C0);
      if (underflow()) {
        return;
      }
      flags(IE | SF);
      popN(pops);
      return;
    }
    compareAndSet(bSe, bSig, convEx, quiet, pops);
  }

  private void compareAndSet(int bSe, long bSig, int convEx, boolean quiet, int pops) {
    int p0 = phys(0);
    x.exc = 0;
    int r = x.compare(se[p0], sig[p0], bSe, bSig, quiet);
    x.exc |= filterConv(convEx, se[p0], sig[p0]);
    int ex = x.exc & ~C1;
    // The condition codes are written even when an exception is unmasked (unlike what the SDM
    // says); only the pops are suppressed.
    setCc(ccOf(r));
    if (unmaskedPre(ex)) {
      abort(ex);
      return;
    }
    popN(pops);
    flags(ex);
  }

  private static int ccOf(int r) {
    switch (r) {
      case Float80.CMP_GT: return 0;
      case Float80.CMP_LT: return SW_C0;
      case Float80.CMP_EQ: return SW_C3;
      default: return SW_C3 | SW_C2 | SW_C0;
    }
  }

  private void popN(int n) {
    for (int k = 0; k < n; k++) {
      pop();
    }
  }

  private void fcomi(Cpu c, int i, boolean quiet, boolean popAfter) {
    arm();
    int r;
    int ex;
    if (isEmpty(0) || isEmpty(i)) {
      ex = IE | SF;
      r = Float80.CMP_UN;
    } else {
      int p0 = phys(0);
      int pi = phys(i);
      x.exc = 0;
      r = x.compare(se[p0], sig[p0], se[pi], sig[pi], quiet);
      ex = x.exc;
    }
    int bits;
    switch (r) {
      case Float80.CMP_GT: bits = 0; break;
      case Float80.CMP_LT: bits = Flags.CF; break;
      case Float80.CMP_EQ: bits = Flags.ZF; break;
      default: bits = Flags.ZF | Flags.PF | Flags.CF; break;
    }
    int f = c.eflags() & ~(Flags.ZF | Flags.PF | Flags.CF | Flags.OF | Flags.SF | Flags.AF);
    c.setEflags(f | bits);
    if (unmaskedPre(ex)) {
      // Unmasked #IA: EFLAGS are written, but nothing is popped.
      flagsKeepC1(ex & (IE | DE | SF));
      return;
    }
    if (popAfter) {
      pop();
    }
    flagsKeepC1(ex);
  }

  private void ftst() {
    arm();
    if (isEmpty(0)) {
      setCc(SW_C3 | SW_C2 | SW_C0);
      if (underflow()) {
        return;
      }
      flags(IE | SF);
      return;
    }
    compareAndSet(0, 0, 0, false, 0);
  }

  private void fxam() {
    int p = phys(0);
    int c1 = (se[p] & 0x8000) != 0 ? SW_C1 : 0;
    int cc;
    if (isEmpty(0)) {
      cc = SW_C3 | SW_C0;
    } else {
      switch (Float80.classify(se[p], sig[p])) {
        case Float80.ZERO: cc = SW_C3; break;
        case Float80.NORMAL: cc = SW_C2; break;
        case Float80.DENORMAL: cc = SW_C3 | SW_C2; break;
        case Float80.INF: cc = SW_C2 | SW_C0; break;
        case Float80.QNAN: case Float80.SNAN: cc = SW_C0; break;
        default: cc = 0; break;
      }
    }
    sw = (sw & ~SW_CC) | cc | c1;
  }

  // ================================================================== FPREM, FSCALE, FXTRACT

  private void fprem(boolean ieee) {
    arm();
    sw &= ~SW_C2;
    if (isEmpty(0) || isEmpty(1)) {
      if (underflow()) {
        return;
      }
      setSt(0, INDEF_SE, INDEF_SIG);
      flags(IE | SF);
      return;
    }
    int p0 = phys(0);
    int p1 = phys(1);
    int aSe = se[p0];
    long aSig = sig[p0];
    int bSe = se[p1];
    long bSig = sig[p1];
    int ca = Float80.classify(aSe, aSig);
    int cb = Float80.classify(bSe, bSig);
    // Special operands leave C0 and C3 alone; C1 and C2 are cleared.
    int cc = sw & (SW_C0 | SW_C3);
    if (ca == Float80.UNSUPPORTED || cb == Float80.UNSUPPORTED) {
      x.invalid();
    } else if (Float80.isNan(ca) || Float80.isNan(cb)) {
      x.propagateNan(aSe, aSig, ca, bSe, bSig, cb);
    } else if (ca == Float80.INF || cb == Float80.ZERO) {
      x.invalid();
    } else if (ca == Float80.ZERO) {
      x.denormalCheck(ca, cb);
      x.se = aSe;
      x.sig = aSig;
      cc = 0;
    } else if (cb == Float80.INF) {
      x.denormalCheck(ca, cb);
      // The dividend is the remainder, exactly, written as any result is: a pseudo-denormal
      // in canonical form (exponent 1), and a true denormal is tiny, which an unmasked
      // underflow reports with the exponent wrapped though nothing was rounded (as the host
      // x87 does; masked, an exact tiny result raises no UE).
      normalizeRemainder(aSe >>> 15 & 1, Float80.exponent(aSe, aSig),
          Float80.significand(aSig));
      cc = 0;
    } else {
      x.denormalCheck(ca, cb);
      cc = remainder(aSe, aSig, bSe, bSig, ieee);
    }
    int ex = x.exc;
    if (unmaskedPre(ex)) {
      abort(ex);
      return;
    }
    setSt(0, x.se, x.sig);
    sw = (sw & ~(SW_C0 | SW_C2 | SW_C3)) | (cc & ~SW_C1);
    flags((ex & ~C1) | ((cc & SW_C1) != 0 ? C1 : 0));
  }

  /** Partial remainder of finite nonzero operands; returns the condition code bits. */
  private int remainder(int aSe, long aSig, int bSe, long bSig, boolean ieee) {
    int sign = aSe >>> 15 & 1;
    int ea = Float80.exponent(aSe, aSig);
    int eb = Float80.exponent(bSe, bSig);
    long ma = Float80.significand(aSig);
    long mb = Float80.significand(bSig);
    int dexp = ea - eb;
    if (dexp >= 64) {
      // Partial reduction: reduce the exponent difference to between 32 and 63.
      int n = 32 + ((dexp - 32) & 31);
      int shift = dexp - n;
      reduce(ma, mb, n);
      int e = eb + shift;
      normalizeRemainder(sign, e, remMag);
      return SW_C2;
    }
    if (dexp < 0) {
      if (ieee && dexp == -1 && Long.compareUnsigned(ma, mb) > 0) {
        // |a| > |b| / 2: the quotient rounds to one; |a - b| = (2 mb - ma) * 2^(ea-63).
        normalizeRemainder(sign ^ 1, ea, mb - ma + mb);
        return ccFromQuotient(1);
      }
      normalizeRemainder(sign, ea, ma);
      return ccFromQuotient(0);
    }
    long q;
    long rem;
    int e;
    reduce(ma, mb, dexp);
    q = remQ;
    rem = remMag;
    e = eb;
    if (ieee) {
      // Round the quotient to nearest-even: compare 2*rem with mb.
      int cmp = rem < 0 ? 1 : Long.compareUnsigned(rem << 1, mb);
      if (cmp > 0 || (cmp == 0 && (q & 1) != 0)) {
        q++;
        rem = mb - rem;
        sign ^= 1;
      }
    }
    normalizeRemainder(sign, e, rem);
    return ccFromQuotient(q);
  }

  private long remQ;
  private long remMag;

  /** Long division of ma*2^n by mb (both normalized): sets remQ (low bits) and remMag. */
  private void reduce(long ma, long mb, int n) {
    long rem = ma;
    boolean remHi = false;
    long q = 0;
    for (int k = n; k >= 0; k--) {
      q <<= 1;
      if (remHi || Long.compareUnsigned(rem, mb) >= 0) {
        rem -= mb;
        q |= 1;
      }
      if (k > 0) {
        remHi = rem < 0;
        rem <<= 1;
      }
    }
    remQ = q;
    remMag = rem;
  }

  /** Stores the exact remainder m * 2^(e-63); sign of a zero remainder is the given sign. */
  private void normalizeRemainder(int sign, int e, long m) {
    if (m == 0) {
      x.setZero(sign);
      return;
    }
    int nlz = Long.numberOfLeadingZeros(m);
    x.roundPack(sign, e - nlz, m << nlz, 0, 64);
  }

  private static int ccFromQuotient(long q) {
    int cc = 0;
    if ((q & 4) != 0) {
      cc |= SW_C0;
    }
    if ((q & 2) != 0) {
      cc |= SW_C3;
    }
    if ((q & 1) != 0) {
      cc |= SW_C1;
    }
    return cc;
  }

  private void fscale() {
    arm();
    if (isEmpty(0) || isEmpty(1)) {
      if (underflow()) {
        return;
      }
      setSt(0, INDEF_SE, INDEF_SIG);
      flags(IE | SF);
      return;
    }
    int p0 = phys(0);
    int p1 = phys(1);
    int aSe = se[p0];
    long aSig = sig[p0];
    int bSe = se[p1];
    long bSig = sig[p1];
    int ca = Float80.classify(aSe, aSig);
    int cb = Float80.classify(bSe, bSig);
    int sign = aSe >>> 15 & 1;
    boolean bNeg = (bSe & 0x8000) != 0;
    if (ca == Float80.UNSUPPORTED || cb == Float80.UNSUPPORTED) {
      x.invalid();
    } else if (Float80.isNan(ca) || Float80.isNan(cb)) {
      x.propagateNan(aSe, aSig, ca, bSe, bSig, cb);
    } else if (cb == Float80.INF) {
      if ((ca == Float80.ZERO && !bNeg) || (ca == Float80.INF && bNeg)) {
        x.invalid();
      } else {
        x.denormalCheck(ca, cb);
        if (ca == Float80.ZERO || (bNeg && ca != Float80.INF)) {
          x.setZero(sign);
        } else {
          x.setInf(sign);
        }
      }
    } else if (ca == Float80.ZERO || ca == Float80.INF) {
      x.denormalCheck(ca, cb);
      x.se = aSe;
      x.sig = aSig;
    } else {
      x.denormalCheck(ca, cb);
      // Scale factor: ST(1) truncated toward zero, clamped well beyond any representable range.
      int n;
      if (cb == Float80.ZERO) {
        n = 0;
      } else {
        int eb = Float80.exponent(bSe, bSig);
        if (eb < 0) {
          n = 0;
        } else if (eb >= 20) {
          n = 1 << 20;
        } else {
          n = (int) (Float80.significand(bSig) >>> (63 - eb));
        }
        if (bNeg) {
          n = -n;
        }
      }
      if (cb == Float80.ZERO) {
        // Scaling by a zero ST(1) leaves the operand as it is (a denormal does not underflow
        // again); a nonzero ST(1) that truncates to zero still rounds.
        x.se = (aSe & 0x7FFF) == 0 && aSig < 0 ? aSe | 1 : aSe;
        x.sig = aSig;
      } else {
        x.roundPack(sign, Float80.exponent(aSe, aSig) + n, Float80.significand(aSig), 0, 64);
      }
    }
    int ex = x.exc;
    if (unmaskedPre(ex)) {
      abort(ex);
      return;
    }
    setSt(0, x.se, x.sig);
    flags(ex);
  }

  private void fxtract() {
    arm();
    if (isEmpty(0)) {
      if (underflow()) {
        return;
      }
      // Masked underflow: ST(0) becomes indefinite and the indefinite is pushed as well.
      setSt(0, INDEF_SE, INDEF_SIG);
      pushRaw(INDEF_SE, INDEF_SIG, IE | SF);
      return;
    }
    if (!isEmpty(7)) {
      if ((cw & IE) == 0) {
        flags(IE | SF | C1);
        return;
      }
      setSt(0, INDEF_SE, INDEF_SIG);
      pushRaw(INDEF_SE, INDEF_SIG, IE | SF | C1);
      return;
    }
    int p = phys(0);
    int aSe = se[p];
    long aSig = sig[p];
    int cls = Float80.classify(aSe, aSig);
    int sign = aSe >>> 15 & 1;
    int expSe;
    long expSig;
    int manSe;
    long manSig;
    int ex = 0;
    switch (cls) {
      case Float80.UNSUPPORTED:
        ex = IE;
        expSe = INDEF_SE;
        expSig = INDEF_SIG;
        manSe = INDEF_SE;
        manSig = INDEF_SIG;
        break;
      case Float80.SNAN: case Float80.QNAN:
        ex = cls == Float80.SNAN ? IE : 0;
        expSe = aSe;
        expSig = aSig | Float80.QUIET_BIT;
        manSe = expSe;
        manSig = expSig;
        break;
      case Float80.ZERO:
        ex = ZE;
        expSe = 0xFFFF;
        expSig = Float80.INT_BIT;
        manSe = aSe;
        manSig = 0;
        break;
      case Float80.INF:
        expSe = 0x7FFF;
        expSig = Float80.INT_BIT;
        manSe = aSe;
        manSig = aSig;
        break;
      default: {
        if (cls == Float80.DENORMAL) {
          ex = DE;
        }
        int e = Float80.exponent(aSe, aSig);
        x.loadInt(e);
        expSe = x.se;
        expSig = x.sig;
        manSe = sign << 15 | Float80.BIAS;
        manSig = Float80.significand(aSig);
        break;
      }
    }
    if (unmaskedPre(ex)) {
      abort(ex);
      return;
    }
    setSt(0, expSe, expSig);
    pushRaw(manSe, manSig, ex);
  }

  private void pushRaw(int e, long s, int ex) {
    top = (top - 1) & 7;
    setSt(0, e, s);
    flags(ex);
  }

  // ================================================================== for FpuTranscendental

  /** ST(i)'s sign and exponent; callers check {@link #isEmpty} first. */
  int stSe(int i) {
    return se[phys(i)];
  }

  /** ST(i)'s significand. */
  long stSig(int i) {
    return sig[phys(i)];
  }

  /** Stack underflow of a one-operand instruction: masked, ST(0) becomes the indefinite. */
  void transcendentalUnderflow() {
    if (underflow()) {
      return;
    }
    setSt(0, INDEF_SE, INDEF_SIG);
    flags(IE | SF);
  }

  /** Whether IE is masked. */
  boolean masksInvalid() {
    return (cw & IE) != 0;
  }

  /** Whether {@code ex} holds an unmasked IE, DE or ZE (the instruction must not complete). */
  boolean unmaskedPreFor(int ex) {
    return unmaskedPre(ex);
  }

  /** Writes ST(i) and raises the flags (C1 from {@code ex}). */
  void setStAndFlags(int i, int e, long s, int ex) {
    setSt(i, e, s);
    flags(ex);
  }

  /** Completes a two-operand instruction: the result replaces ST(1), then the stack pops. */
  void popAfterBinary(int e, long s, int ex) {
    setSt(1, e, s);
    pop();
    flags(ex);
  }

  /** Pushes a second result (FPTAN, FSINCOS). */
  void pushResult(int e, long s, int ex) {
    pushRaw(e, s, ex);
  }

  void setConditionC2(boolean c2) {
    sw = c2 ? sw | SW_C2 : sw & ~SW_C2;
  }

  /** Raises the flags (C1 from {@code ex}) without writing a result. */
  void rawFlags(int ex) {
    flags(ex);
  }

  /** An instruction stopped by an unmasked pre-computation exception. */
  void abortWith(int ex) {
    abort(ex);
  }

  /** Loads rounding, precision and masks from the FCW into the arithmetic unit. */
  void armUnit() {
    arm();
  }

  // ================================================================== environment

  /** The full tag word: 00 valid, 01 zero, 10 special, 11 empty, per physical register. */
  int tagWord() {
    int tw = 0;
    for (int p = 0; p < 8; p++) {
      int t;
      if ((emptyMask >>> p & 1) != 0) {
        t = 3;
      } else {
        switch (Float80.classify(se[p], sig[p])) {
          case Float80.ZERO: t = 1; break;
          case Float80.NORMAL: t = 0; break;
          default: t = 2; break;
        }
      }
      tw |= t << (2 * p);
    }
    return tw;
  }

  /** True when the environment uses the real-mode layout (real mode or virtual-8086 mode). */
  private static boolean realFormat(Cpu c) {
    return !c.protectedMode() || c.v86();
  }

  /**
   * Stores the environment: 28 bytes (32-bit operand size) or 14 bytes (16-bit), in the
   * protected-mode layout, or in the real-mode layout (20-bit linear pointers split around
   * FOP) in real and virtual-8086 mode (SDM vol. 1, figures 8-9 to 8-12). Reserved halves of
   * the 32-bit layout read as FFFFh, as the hardware writes them.
   */
  private void storeEnv(Cpu c, int lin, boolean o16) {
    int tw = tagWord();
    if (realFormat(c)) {
      int ip = (fcs << 4) + fip;
      int dp = (fds << 4) + fdp;
      if (o16) {
        c.write16(lin, cw);
        c.write16(lin + 2, statusWord());
        c.write16(lin + 4, tw);
        c.write16(lin + 6, ip);
        c.write16(lin + 8, (ip >>> 16 & 0xF) << 12 | (fop & 0x7FF));
        c.write16(lin + 10, dp);
        c.write16(lin + 12, (dp >>> 16 & 0xF) << 12);
      } else {
        c.write32(lin, 0xFFFF_0000 | cw);
        c.write32(lin + 4, 0xFFFF_0000 | statusWord());
        c.write32(lin + 8, 0xFFFF_0000 | tw);
        c.write32(lin + 12, 0xFFFF_0000 | (ip & 0xFFFF));
        c.write32(lin + 16, (ip >>> 16 & 0xFFFF) << 12 | (fop & 0x7FF));
        c.write32(lin + 20, 0xFFFF_0000 | (dp & 0xFFFF));
        c.write32(lin + 24, (dp >>> 16 & 0xFFFF) << 12);
      }
      return;
    }
    if (o16) {
      c.write16(lin, cw);
      c.write16(lin + 2, statusWord());
      c.write16(lin + 4, tw);
      c.write16(lin + 6, fip);
      c.write16(lin + 8, fcs);
      c.write16(lin + 10, fdp);
      c.write16(lin + 12, fds);
    } else {
      c.write32(lin, 0xFFFF_0000 | cw);
      c.write32(lin + 4, 0xFFFF_0000 | statusWord());
      c.write32(lin + 8, 0xFFFF_0000 | tw);
      c.write32(lin + 12, fip);
      c.write32(lin + 16, (fop & 0x7FF) << 16 | (fcs & 0xFFFF));
      c.write32(lin + 20, fdp);
      c.write32(lin + 24, 0xFFFF_0000 | (fds & 0xFFFF));
    }
  }

  /** Reads an environment into envBuf: cw, sw, tw and four pointer words. */
  private void readEnv(Cpu c, int lin, boolean o16) {
    int[] b = envBuf;
    if (o16) {
      for (int k = 0; k < 7; k++) {
        b[k] = c.read16(lin + 2 * k);
      }
    } else {
      for (int k = 0; k < 7; k++) {
        b[k] = c.read32(lin + 4 * k);
      }
    }
  }

  private void applyEnv(boolean o16, boolean real) {
    int[] b = envBuf;
    cw = (b[0] & 0x1F3F) | 0x0040;
    int s = b[1] & 0xFFFF;
    top = (s >>> 11) & 7;
    sw = s & ~0x3800;
    int tw = b[2];
    emptyMask = 0;
    for (int p = 0; p < 8; p++) {
      if ((tw >>> (2 * p) & 3) == 3) {
        emptyMask |= 1 << p;
      }
    }
    if (real) {
      // Real-mode layout: linear pointers; the selectors are not saved.
      int hiMask = o16 ? 0xF : 0xFFFF;
      fip = (b[3] & 0xFFFF) | ((b[4] >>> 12) & hiMask) << 16;
      fop = b[4] & 0x7FF;
      fdp = (b[5] & 0xFFFF) | ((b[6] >>> 12) & hiMask) << 16;
      fcs = 0;
      fds = 0;
    } else if (o16) {
      fip = b[3] & 0xFFFF;
      fcs = b[4] & 0xFFFF;
      fdp = b[5] & 0xFFFF;
      fds = b[6] & 0xFFFF;
    } else {
      fip = b[3];
      fcs = b[4] & 0xFFFF;
      fop = (b[4] >>> 16) & 0x7FF;
      fdp = b[5];
      fds = b[6] & 0xFFFF;
    }
    updateEs();
  }

  private void loadEnv(Cpu c, int lin, boolean o16) {
    readEnv(c, lin, o16);
    applyEnv(o16, realFormat(c));
  }

  private void fnsave(Cpu c, int lin, boolean o16) {
    storeEnv(c, lin, o16);
    int base = lin + (o16 ? 14 : 28);
    for (int i = 0; i < 8; i++) {
      int p = phys(i);
      write64(c, base + 10 * i, sig[p]);
      c.write16(base + 10 * i + 8, se[p]);
    }
    finit();
  }

  private void frstor(Cpu c, int lin, boolean o16) {
    readEnv(c, lin, o16);
    int base = lin + (o16 ? 14 : 28);
    for (int i = 0; i < 8; i++) {
      loadSig[i] = read64(c, base + 10 * i);
      loadSe[i] = c.read16(base + 10 * i + 8);
    }
    applyEnv(o16, realFormat(c));
    for (int i = 0; i < 8; i++) {
      int p = phys(i);
      sig[p] = loadSig[i];
      se[p] = loadSe[i];
    }
  }
}
