package org.hospes.x86;

/**
 * A run of decoded instructions starting at one physical address and ending at a control transfer,
 * an instruction that needs the run loop (I/O, HLT, mode changes), or the end of the page.
 *
 * <p>Each instruction is four ints in {@link #code}:
 * <pre>
 *   [0] bits 0-9 handler id ({@link Op}) | 10-13 reg | 14-17 base (or r/m register) |
 *       18-21 index | 22-23 scale | 24-26 segment | 27 16-bit addressing | 28 memory operand |
 *       29-30 operand size (0 = 8, 1 = 16, 2 = 32 bits)
 *   [1] displacement (or a second immediate)
 *   [2] immediate (or a branch target relative to the block's start EIP)
 *   [3] bits 0-15 end offset from the block's start | 16-19 length | 20-31 sub-operation
 * </pre>
 * Register number 8 is a register that always holds zero, so an absent base or index costs no
 * branch in the effective-address sum.
 */
final class Block {
  final long physAddr;
  /** Decode mode the block was made for (default operand size, ...): part of its identity. */
  final int mode;
  final int[] code;
  final int count;
  /** Offset of the end of the last instruction from the block's start. */
  final int endOffset;
  /** Physical page of the last byte, when the block runs into a second page; else -1. */
  final long secondPage;
  boolean valid = true;
  /**
   * The block ends in a 32-bit JMP or Jcc back to its own start (a loop the translator runs round
   * inline): it is translated sooner ({@code Jit.loopThreshold}).
   */
  final boolean selfLoop;

  /**
   * Chained successors: the blocks the run loop found after this one, by the EIP it found them
   * at. A link is live while the processor's epoch (bumped when CS, CPL or paging may have
   * changed) is the one it was made in: {@link #linkEpoch} for both, and {@link #link1Epoch}
   * too for {@link #next1}. A link left behind by a bump stays as a hint: the code cache may
   * revive it after checking what a lookup would check ({@code CodeCache.revivable}).
   */
  Block next0;
  Block next1;
  int next0Eip;
  int next1Eip;
  int linkEpoch;
  int link1Epoch;

  // JIT hooks: executions so far, and the block's translation (org.hospes.x86.jit) once hot.
  int heat;
  /** {@link #heat} at which the block is translated ({@code Cpu.hotAt}, set when decoded). */
  int hotAt = Integer.MAX_VALUE;
  org.hospes.x86.jit.Translation translation;

  Block(long physAddr, int mode, int[] code, int count, int endOffset, long secondPage) {
    this.physAddr = physAddr;
    this.mode = mode;
    this.code = code;
    this.count = count;
    this.endOffset = endOffset;
    this.secondPage = secondPage;
    int last = count == 0 ? 0 : code[4 * (count - 1)];
    int op = last & 0x3FF;
    this.selfLoop = count != 0 && code[4 * (count - 1) + 2] == 0 && ((last >>> 29) & 3) == 2
        && (op == Op.JMP || op == Op.JZ || op == Op.JNZ || op == Op.JCC);
  }

  /** The live link of this block to EIP {@code e} in epoch {@code epoch}, or null. */
  Block linked(int e, int epoch) {
    if (linkEpoch == epoch) {
      Block link = next0;
      if (link != null && next0Eip == e && link.valid) {
        return link;
      }
      link = next1;
      if (link != null && next1Eip == e && link1Epoch == epoch && link.valid) {
        return link;
      }
    }
    return null;
  }
}
