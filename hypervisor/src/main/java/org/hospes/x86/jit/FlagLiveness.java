package org.hospes.x86.jit;

import org.hospes.x86.JitAbi;

/**
 * Which lazy-flag records of a translated region nobody can observe. A record is dead when a
 * later instruction of the region replaces the whole record before any instruction reads a flag
 * or can fault (a fault hands the state to exception delivery, which reads EFLAGS). At the end
 * of the region every flag is assumed live: the successor, the interpreter or a VM exit may
 * read it.
 */
final class FlagLiveness {
  private static final int NONE = 0;
  private static final int WRITES = 1;
  private static final int READS = 2;

  private FlagLiveness() {}

  /** One entry per instruction of the region: true when its flag record need not be stored. */
  static boolean[] deadRecords(int[] code, int k) {
    boolean[] dead = new boolean[k];
    boolean live = true;
    for (int j = k - 1; j >= 0; j--) {
      switch (effect(code[4 * j], code[4 * j + 3] >>> 20)) {
        case WRITES:
          dead[j] = !live;
          live = false;
          break;
        case READS:
          live = true;
          break;
        default:
          break;
      }
    }
    return dead;
  }

  /** What an instruction the translator handles does to the flag record. */
  static int effect(int f0, int sub) {
    boolean mem = (f0 & (1 << 28)) != 0;
    switch (f0 & 0x3FF) {
      case JitAbi.ALU_RR32:
      case JitAbi.ALU_RI32:
        return replacesAll(sub) ? WRITES : READS;
      case JitAbi.ALU_EG:
      case JitAbi.ALU_EI:
      case JitAbi.ALU_GE:
        return !mem && replacesAll(sub) ? WRITES : READS;
      case JitAbi.TEST_EG:
      case JitAbi.TEST_EI:
        return mem ? READS : WRITES;
      case JitAbi.MOV_RR32:
      case JitAbi.LEA:
      case JitAbi.NOP:
      case JitAbi.JMP:
        return NONE;
      case JitAbi.SIMD:
        // A fence (the only SIMD form translated) neither reads flags nor faults.
        return Translator.isFence(f0, sub << 20) ? NONE : READS;
      case JitAbi.MOV_EG:
      case JitAbi.MOV_GE:
      case JitAbi.MOV_EI:
      case JitAbi.MOVZX:
      case JitAbi.MOVSX:
        return mem ? READS : NONE;
      default:
        // Readers (Jcc, INC/DEC's carry, shifts, ADC/SBB) and anything that can fault.
        return READS;
    }
  }

  /** ALU operations whose flag record depends only on their operands. */
  private static boolean replacesAll(int op) {
    return op != JitAbi.ADC && op != JitAbi.SBB;
  }
}
