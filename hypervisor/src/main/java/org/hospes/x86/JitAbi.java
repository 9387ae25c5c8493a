package org.hospes.x86;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;

/**
 * The decoded-block format as the translator ({@link org.hospes.x86.jit}) sees it: the handler
 * ids, sub-operations and lazy-flag kinds it emits code for, re-exported from the package-private
 * {@link Op}, {@link Decoder}, {@link Shift} and {@link Cpu} so that they keep one definition.
 * The layout of a decoded instruction is described on {@link Block}.
 */
public final class JitAbi {
  public static final int NOP = Op.NOP;
  public static final int ALU_EG = Op.ALU_EG;
  public static final int ALU_GE = Op.ALU_GE;
  public static final int ALU_EI = Op.ALU_EI;
  public static final int TEST_EG = Op.TEST_EG;
  public static final int TEST_EI = Op.TEST_EI;
  public static final int INC_E = Op.INC_E;
  public static final int DEC_E = Op.DEC_E;
  public static final int SHIFT_EI = Op.SHIFT_EI;
  public static final int SHIFT_ECL = Op.SHIFT_ECL;
  public static final int JCC = Op.JCC;
  public static final int JMP = Op.JMP;
  public static final int CALL = Op.CALL;
  public static final int RET = Op.RET;
  public static final int MOV_EG = Op.MOV_EG;
  public static final int MOV_GE = Op.MOV_GE;
  public static final int MOV_EI = Op.MOV_EI;
  public static final int MOVZX = Op.MOVZX;
  public static final int MOVSX = Op.MOVSX;
  public static final int LEA = Op.LEA;
  public static final int PUSH_E = Op.PUSH_E;
  public static final int PUSH_I = Op.PUSH_I;
  public static final int JZ = Op.JZ;
  public static final int JNZ = Op.JNZ;
  public static final int MOV_RR32 = Op.MOV_RR32;
  public static final int LOAD32 = Op.LOAD32;
  public static final int STORE32 = Op.STORE32;
  public static final int ALU_RR32 = Op.ALU_RR32;
  public static final int ALU_RI32 = Op.ALU_RI32;
  public static final int INC_R32 = Op.INC_R32;
  public static final int DEC_R32 = Op.DEC_R32;
  public static final int PUSH_R32 = Op.PUSH_R32;
  public static final int POP_R32 = Op.POP_R32;
  public static final int RDTSC = Op.RDTSC;
  public static final int PAUSE = Op.PAUSE;
  public static final int SIMD = Op.SIMD;
  public static final int IMUL_GE = Op.IMUL_GE;
  public static final int XCHG_EG = Op.XCHG_EG;
  public static final int CMOV = Op.CMOV;
  public static final int SETCC = Op.SETCC;
  public static final int LODS = Op.LODS;
  public static final int SCAS = Op.SCAS;
  /** EFLAGS.DF, which string instructions read (kept in {@code Cpu.flags}, never lazy). */
  public static final int DF = Flags.DF;

  /** ALU sub-operations (the ModRM reg field of 80-83). */
  public static final int ADD = Decoder.ADD, OR = Decoder.OR, ADC = Decoder.ADC;
  public static final int SBB = Decoder.SBB, AND = Decoder.AND, SUB = Decoder.SUB;
  public static final int XOR = Decoder.XOR, CMP = Decoder.CMP;

  /** Lazy-flag kinds recorded in {@code Cpu.lfOp}. */
  public static final int LF_ADD = Cpu.LF_ADD, LF_SUB = Cpu.LF_SUB, LF_LOGIC = Cpu.LF_LOGIC;
  public static final int LF_INC = Cpu.LF_INC, LF_DEC = Cpu.LF_DEC, LF_CFOF = Cpu.LF_CFOF;
  /** Added to a kind once a rotate has overwritten CF and OF ({@code Cpu.setCfOf}). */
  public static final int LF_OVR = Cpu.LF_OVR;

  /** Shift and rotate sub-operations (the ModRM reg field of C0/C1/D0-D3). */
  public static final int ROL = Shift.ROL, ROR = Shift.ROR, RCL = Shift.RCL, RCR = Shift.RCR;
  public static final int SHL = Shift.SHL, SHR = Shift.SHR, SAL = Shift.SAL, SAR = Shift.SAR;

  /** Index mask of one half of the software TLB (Cpu.read32 and friends). */
  public static final int TLB_MASK = Cpu.TLB_MASK;

  private static final String[] NAMES = names();

  private JitAbi() {}

  /** The handler's name for messages ("ALU_RR32"), or its number when unknown. */
  public static String opName(int id) {
    return id >= 0 && id < NAMES.length && NAMES[id] != null ? NAMES[id] : "op" + id;
  }

  private static String[] names() {
    String[] n = new String[Op.COUNT];
    for (Field f : Op.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class
          && !f.getName().equals("COUNT")) {
        try {
          int v = f.getInt(null);
          if (v >= 0 && v < n.length) {
            n[v] = f.getName();
          }
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return n;
  }
}
