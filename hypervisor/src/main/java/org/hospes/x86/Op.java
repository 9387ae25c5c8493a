package org.hospes.x86;

/**
 * Handler ids of decoded instructions. A decoded instruction is four ints (see {@link Block}); the
 * low bits of the first select one of these cases in {@link Cpu}'s dispatch switch. Ids are dense
 * so the switch compiles to a jump table.
 */
final class Op {
  static final int UD = 0;
  static final int NOP = 1;
  /** E op= G; sub = ALU op (ADD OR ADC SBB AND SUB XOR CMP). */
  static final int ALU_EG = 2;
  /** G op= E. */
  static final int ALU_GE = 3;
  /** E op= imm (also the accumulator forms, with E = register 0). */
  static final int ALU_EI = 4;
  static final int TEST_EG = 5;
  static final int TEST_EI = 6;
  static final int INC_E = 7;
  static final int DEC_E = 8;
  static final int NOT_E = 9;
  static final int NEG_E = 10;
  static final int MUL_E = 11;
  static final int IMUL_E = 12;
  static final int DIV_E = 13;
  static final int IDIV_E = 14;
  static final int IMUL_GE = 15;
  static final int IMUL_GEI = 16;
  /** Shift or rotate E by imm; sub = ROL ROR RCL RCR SHL SHR SAL SAR. */
  static final int SHIFT_EI = 17;
  static final int SHIFT_ECL = 18;
  static final int SHLD_I = 19;
  static final int SHLD_CL = 20;
  static final int SHRD_I = 21;
  static final int SHRD_CL = 22;
  /** sub = BT BTS BTR BTC. */
  static final int BT_EG = 23;
  static final int BT_EI = 24;
  static final int BSF = 25;
  static final int BSR = 26;
  static final int BSWAP = 27;
  static final int XCHG_EG = 28;
  static final int XADD = 29;
  static final int CMPXCHG = 30;
  static final int CMPXCHG8B = 31;
  /** sub = condition code. */
  static final int CMOV = 32;
  static final int SETCC = 33;
  static final int JCC = 34;
  /** Relative jump; imm = target minus block start EIP. */
  static final int JMP = 35;
  static final int JMP_E = 36;
  static final int CALL = 37;
  static final int CALL_E = 38;
  /** imm = bytes to release after popping the return address. */
  static final int RET = 39;
  /** sub = LOOPNE LOOPE LOOP JCXZ. */
  static final int LOOP = 40;
  static final int MOV_EG = 41;
  static final int MOV_GE = 42;
  static final int MOV_EI = 43;
  /** sub = source size. */
  static final int MOVZX = 44;
  static final int MOVSX = 45;
  static final int LEA = 46;
  static final int PUSH_E = 47;
  static final int PUSH_I = 48;
  static final int POP_E = 49;
  static final int PUSHA = 50;
  static final int POPA = 51;
  static final int PUSHF = 52;
  static final int POPF = 53;
  static final int ENTER = 54;
  static final int LEAVE = 55;
  static final int CBW = 56;
  static final int CWD = 57;
  static final int XLAT = 58;
  static final int LAHF = 59;
  static final int SAHF = 60;
  /** sub = CLC STC CMC CLD STD CLI STI. */
  static final int FLAGOP = 61;
  /** sub = DAA DAS AAA AAS AAM AAD; imm = base for AAM/AAD. */
  static final int BCD = 62;
  /** String ops; sub = 0 none, 1 REP/REPE, 2 REPNE. */
  static final int MOVS = 63;
  static final int CMPS = 64;
  static final int SCAS = 65;
  static final int LODS = 66;
  static final int STOS = 67;
  /** Port I/O; sub = 1 when the port is DX, else imm. */
  static final int IN = 68;
  static final int OUT = 69;
  static final int CPUID = 70;
  static final int RDTSC = 71;
  static final int HLT = 72;
  static final int MOV_SR_E = 73;
  static final int MOV_E_SR = 74;
  static final int PUSH_SR = 75;
  static final int POP_SR = 76;
  static final int INT = 77;
  static final int INTO = 78;
  static final int JZ = 79;
  static final int JNZ = 80;
  static final int MOV_RR32 = 81;
  static final int LOAD32 = 82;
  static final int STORE32 = 83;
  static final int ALU_RR32 = 84;
  static final int ALU_RI32 = 85;
  static final int INC_R32 = 86;
  static final int DEC_R32 = 87;
  static final int PUSH_R32 = 88;
  static final int POP_R32 = 89;
  static final int INS = 90;
  static final int OUTS = 91;
  /** x87 escape D8-DF; sub = (opcode & 7) << 8 | ModRM byte. */
  static final int FPU = 92;
  static final int FWAIT = 93;
  /** System instruction; sub = a {@link SystemOps} constant. */
  static final int SYS = 94;
  /** Far JMP/CALL to ptr16:16/32; imm = offset, disp = selector; sub = 1 for CALL. */
  static final int FAR_PTR = 95;
  /** Far JMP/CALL through m16:16/32; sub = 1 for CALL. */
  static final int FAR_MEM = 96;
  /** RETF; imm = bytes to release. */
  static final int RETF = 97;
  static final int IRET = 98;
  /** LES/LDS/LSS/LFS/LGS; sub = segment register. */
  static final int LOAD_FAR = 99;
  /** INT1 (ICEBP): #DB delivered without the gate-DPL check. */
  static final int INT1 = 100;
  /**
   * MMX/SSE/SSE2 (see {@link Simd}); sub = mandatory prefix &lt;&lt; 8 | 0F opcode byte, imm = the
   * imm8 where the form has one.
   */
  static final int SIMD = 101;
  /** PAUSE (F3 90): a NOP that exits under the PAUSE-exiting control (SDM vol. 3, 25.1.3). */
  static final int PAUSE = 102;
  static final int COUNT = 103;

  private Op() {}
}
