package org.hospes.x86.diff;

import java.util.Arrays;

/**
 * One generated test: the initial machine state, the instruction(s) in both encodings, and what
 * to compare afterwards.
 */
final class DiffCase {
  /** Grouping key for reports, e.g. {@code "add r/m32, r32 (mem)"}. */
  String form;
  /** Disassembly-like text of the instruction(s). */
  String text;
  byte[] refCode;
  byte[] emuCode;
  final int[] regs = new int[8];
  int eflags;
  final byte[] mem;
  /** EFLAGS bits compared (see {@link DefinedFlags}). */
  int flagMask = DefinedFlags.all();
  /** Bits compared per register; a BSF with source 0 masks its destination. */
  final int[] regMask = {-1, -1, -1, -1, -1, -1, -1, -1};
  /** Per scratch byte, the bits compared; null compares everything. */
  byte[] memMask;
  /** Where the code starts; a little below {@link Layout#INSN_ADDR} it straddles a page boundary. */
  int codeAddr = Layout.INSN_ADDR;
  /**
   * Run the emulator as one {@code run(maxSteps + 1)} call that ends on the filler HLT (the block
   * path) instead of {@code run(1)} per instruction (the single-step path).
   */
  boolean asBlock;
  /** Instructions the emulator may run before it must reach a filler HLT. */
  int maxSteps = 1;
  /**
   * For a case that faults: host bytes minus emulator bytes before the faulting instruction
   * (the SIMD cases' prologue carries 0x67 and SIB bytes on the host).
   */
  int faultEipAdjust;

  /**
   * Run as a Linux i386 user process does: CPL 3 under QEMU's user-mode GDT (0x23 code, 0x2B
   * data, 0x33 TLS), paging with only the harness's pages mapped. Selectors, error codes and
   * page-fault addresses are compared too. Only for the 32-bit (QEMU) reference.
   */
  boolean userMode;
  /**
   * Linux sends SIGBUS for both #NP and #SS; the generator names which of the two its
   * instruction raises (#SS for a not-present SS load).
   */
  int busVector = org.hospes.x86.Exceptions.NP;
  /** Initial ES, DS, FS, GS for a {@link #userMode} case. */
  final int[] sregs = {0x2B, 0x2B, 0x2B, 0x33};

  DiffCase(int scratchSize) {
    mem = new byte[scratchSize];
  }

  /**
   * The emulator's EIP after completion is the reference EIP minus this. The host encoding adds
   * 0x67 or a SIB byte, so a single straight-line instruction ends earlier on the emulator.
   */
  int eipAdjust() {
    return refCode.length - emuCode.length;
  }

  void setInsn(Insn i) {
    refCode = i.ref();
    emuCode = i.emu();
    text = i.text();
  }

  void maskMem(int offset, int len, int bitsKept) {
    if (memMask == null) {
      memMask = new byte[mem.length];
      Arrays.fill(memMask, (byte) 0xFF);
    }
    for (int i = 0; i < len; i++) {
      memMask[offset + i] &= (byte) (bitsKept >>> (8 * i));
    }
  }
}
