package org.hospes.x86.diff;

/**
 * Fixed addresses shared by the native reference harnesses and the emulator side.
 *
 * <pre>
 *   0x0000_4000  low code region, 16 KiB, filled with HLT: where a 16-bit-operand JMP, CALL, RET
 *                or LOOP lands once EIP is truncated to 16 bits; the pages around it are unmapped
 *                (a truncated EIP elsewhere page-faults, with the address compared)
 *   0x0000_8F80  scratch window (data operands, string buffers, stacks); below 64 KiB so that
 *                16-bit addressing (0x67 in 32-bit code) reaches it too, and straddling the page
 *                boundary at 0x9000 so that operands, strings and stacks cross pages
 *   0x0020_0000  code region, 64 KiB, filled with HLT (F4)
 *   0x0020_8000  where the case's instruction bytes start
 * </pre>
 *
 * Every case ends when execution reaches a filler HLT; on the reference side that HLT raises
 * SIGSEGV in user mode, and the signal context holds the final state.
 */
final class Layout {
  static final int SCRATCH_ADDR = 0x0000_8F80;
  static final int LOW_CODE_ADDR = 0x0000_4000;
  static final int LOW_CODE_SIZE = 0x4000;
  static final int CODE_ADDR = 0x0020_0000;
  static final int CODE_SIZE = 0x1_0000;
  static final int INSN_ADDR = 0x0020_8000;
  /** Largest instruction sequence a case may carry (a harness may be built with more). */
  static final int CODE_MAX = 128;
  /** Emulator RAM: covers both windows above. */
  static final int RAM_BYTES = 4 << 20;
  static final byte HLT = (byte) 0xF4;

  private Layout() {}

  /** True when {@code eip} is a filler HLT: in either code region, outside the case's bytes. */
  static boolean atFiller(int eip, int codeAddr, int codeLen) {
    boolean low = eip - LOW_CODE_ADDR >= 0 && eip - LOW_CODE_ADDR < LOW_CODE_SIZE;
    boolean high = eip - CODE_ADDR >= 0 && eip - CODE_ADDR < CODE_SIZE
        && (eip - codeAddr < 0 || eip - codeAddr >= codeLen);
    return low || high;
  }
}
