package org.hospes.x86.diff;

import static org.hospes.x86.Flags.AF;
import static org.hospes.x86.Flags.CF;
import static org.hospes.x86.Flags.DF;
import static org.hospes.x86.Flags.OF;
import static org.hospes.x86.Flags.PF;
import static org.hospes.x86.Flags.SF;
import static org.hospes.x86.Flags.ZF;

/**
 * Which EFLAGS bits a differential case compares: those the instruction defines plus those it
 * leaves unchanged. Flags the Intel SDM calls undefined are masked, never copied from the
 * reference CPU, because they differ between Intel and AMD and between generations.
 *
 * <p>Every method returns the compared mask. DF is always compared; so are the status flags an
 * instruction does not touch. Bits outside {@code CF PF AF ZF SF OF DF} (bit 1, TF, IF, RF, ...)
 * are never compared: a user process cannot control them and the emulator runs at CPL 0.
 *
 * <table>
 *   <caption>Undefined flags by instruction (SDM vol. 2 and appendix A of vol. 1)</caption>
 *   <tr><th>Instruction</th><th>Undefined (masked)</th><th>Data-dependent rule</th></tr>
 *   <tr><td>ADD ADC SUB SBB CMP NEG INC DEC XADD CMPXCHG CMPS SCAS</td><td>none</td>
 *       <td>INC/DEC leave CF unchanged (compared)</td></tr>
 *   <tr><td>AND OR XOR TEST</td><td>AF</td><td></td></tr>
 *   <tr><td>NOT MOV LEA XCHG BSWAP MOVZX MOVSX CBW... CMOVcc SETcc MOVS LODS STOS PUSH POP
 *       CALL RET ENTER LEAVE Jcc LOOP XLAT NOP</td><td>none (unchanged)</td><td></td></tr>
 *   <tr><td>SHL SHR SAR (masked count c = count &amp; 31)</td><td>c = 0: none; else AF, and OF
 *       unless c = 1</td><td>SHL/SHR: CF also undefined when c &ge; operand width (8/16-bit)</td></tr>
 *   <tr><td>ROL ROR RCL RCR</td><td>c = 0: none; else OF unless c = 1</td>
 *       <td>SF ZF AF PF never touched (compared); CF defined when c &ne; 0</td></tr>
 *   <tr><td>SHLD SHRD</td><td>c = 0: none; c &gt; width (16-bit): all six, and the destination;
 *       else AF, and OF unless c = 1</td><td></td></tr>
 *   <tr><td>MUL IMUL (all forms)</td><td>SF ZF AF PF</td><td></td></tr>
 *   <tr><td>DIV IDIV</td><td>all six</td><td>#DE leaves everything unchanged</td></tr>
 *   <tr><td>BT BTS BTR BTC</td><td>OF SF AF PF</td><td>ZF unchanged (compared)</td></tr>
 *   <tr><td>BSF BSR</td><td>CF OF SF AF PF</td><td>source 0: destination undefined</td></tr>
 *   <tr><td>CMPXCHG8B</td><td>none</td><td>only ZF changes</td></tr>
 *   <tr><td>AAA AAS</td><td>OF SF ZF PF</td><td></td></tr>
 *   <tr><td>AAM AAD</td><td>OF AF CF</td><td>AAM 0: #DE</td></tr>
 *   <tr><td>DAA DAS</td><td>OF</td><td></td></tr>
 *   <tr><td>SAHF LAHF CLC STC CMC CLD STD</td><td>none</td><td></td></tr>
 *   <tr><td>POPF PUSHF</td><td>none</td><td>POPF also compares AC ID NT (NT only for 16-bit);
 *       the PUSHF image is compared in the status flags, DF, AC, ID, NT and bit 1 (IF and IOPL
 *       differ between a user process and CPL 0)</td></tr>
 * </table>
 *
 * <p>Generated sequences ({@code QemuForms.sequence}) carry these rules forward: a flag an
 * instruction leaves undefined stays undefined until an instruction defines it, no instruction
 * that reads an undefined flag is generated, and only the flags defined at the end are compared.
 */
final class DefinedFlags {
  /** The flags a case can compare at all. */
  static final int COMPARABLE = CF | PF | AF | ZF | SF | OF | DF;
  static final int ALL = COMPARABLE;

  private DefinedFlags() {}

  /** ADD ADC SUB SBB CMP NEG INC DEC XADD CMPXCHG CMPS SCAS, and every instruction that leaves flags alone. */
  static int all() {
    return ALL;
  }

  /** AND OR XOR TEST. */
  static int logic() {
    return ALL & ~AF;
  }

  /** MUL and every form of IMUL. */
  static int multiply() {
    return ALL & ~(SF | ZF | AF | PF);
  }

  /** DIV IDIV (when they do not fault). */
  static int divide() {
    return DF;
  }

  /** BT BTS BTR BTC. */
  static int bitTest() {
    return ALL & ~(OF | SF | AF | PF);
  }

  /** BSF BSR. */
  static int bitScan() {
    return ZF | DF;
  }

  /** SHL (= SAL), SHR, SAR: {@code kind} is the ModRM reg field (4, 5 or 7). */
  static int shift(int kind, int width, int count) {
    int c = count & 31;
    if (c == 0) {
      return ALL;
    }
    int m = ALL & ~AF;
    if (c != 1) {
      m &= ~OF;
    }
    if ((kind == 4 || kind == 5) && c >= width) {
      m &= ~CF;
    }
    return m;
  }

  /** ROL ROR RCL RCR. */
  static int rotate(int count) {
    int c = count & 31;
    if (c == 0 || c == 1) {
      return ALL;
    }
    return ALL & ~OF;
  }

  /** True if SHLD/SHRD leave their destination undefined for this count. */
  static boolean shiftDoubleResultUndefined(int width, int count) {
    return (count & 31) > width;
  }

  /** SHLD SHRD. */
  static int shiftDouble(int width, int count) {
    int c = count & 31;
    if (c == 0) {
      return ALL;
    }
    if (c > width) {
      return DF;
    }
    return c == 1 ? ALL & ~AF : ALL & ~(AF | OF);
  }

  /** AAA AAS. */
  static int asciiAdjustAddSub() {
    return ALL & ~(OF | SF | ZF | PF);
  }

  /** AAM AAD. */
  static int asciiAdjustMulDiv() {
    return ALL & ~(OF | AF | CF);
  }

  /** DAA DAS. */
  static int decimalAdjust() {
    return ALL & ~OF;
  }

  static String names(int flags) {
    StringBuilder s = new StringBuilder();
    String[] n = {"CF", "", "PF", "", "AF", "", "ZF", "SF", "TF", "IF", "DF", "OF", "", "", "NT",
        "", "", "", "AC", "", "", "ID"};
    for (int b = 21; b >= 0; b--) {
      if ((flags & (1 << b)) != 0 && !n[b].isEmpty()) {
        s.append(s.length() > 0 ? " " : "").append(n[b]);
      }
    }
    return s.toString();
  }
}
