package org.hospes.x86.diff;

import java.io.ByteArrayOutputStream;

/**
 * A 16-bit memory operand (address-size prefix 0x67 in 32-bit code): one of the eight ModRM
 * combinations {@code [bx+si] [bx+di] [bp+si] [bp+di] [si] [di] [bp]/[disp16] [bx]} plus an
 * optional displacement. The effective address wraps at 16 bits; the upper halves of the
 * registers are ignored.
 */
final class Mem16 {
  private static final int[][] REGS = {
    {Regs.EBX, Regs.ESI}, {Regs.EBX, Regs.EDI}, {Regs.EBP, Regs.ESI}, {Regs.EBP, Regs.EDI},
    {Regs.ESI}, {Regs.EDI}, {Regs.EBP}, {Regs.EBX}
  };
  private static final String[] TEXT = {
    "bx+si", "bx+di", "bp+si", "bp+di", "si", "di", "bp", "bx"
  };

  final int rm;
  /** ModRM mod: 0 (no displacement; with rm=6 the absolute form [disp16]), 1 (disp8), 2 (disp16). */
  final int mod;
  final int disp;

  Mem16(int rm, int mod, int disp) {
    this.rm = rm;
    this.mod = mod;
    this.disp = mod == 1 ? (byte) disp : mod == 2 || absolute() ? (short) disp : 0;
  }

  boolean absolute() {
    return rm == 6 && mod == 0;
  }

  /** Registers this form adds (none for the absolute form). */
  int[] regs() {
    return absolute() ? new int[0] : REGS[rm];
  }

  int address(int[] r) {
    int a = disp;
    for (int reg : regs()) {
      a += r[reg];
    }
    return a & 0xFFFF;
  }

  void encode(int reg, ByteArrayOutputStream out) {
    out.write(mod << 6 | reg << 3 | rm);
    int n = mod == 1 ? 1 : mod == 2 || absolute() ? 2 : 0;
    for (int i = 0; i < n; i++) {
      out.write(disp >>> (8 * i));
    }
  }

  String text(int size) {
    if (absolute()) {
      return Regs.ptr(size) + " [a16 " + Hex.h32(disp & 0xFFFF) + "]";
    }
    String d = mod == 0 ? "" : (disp < 0 ? "-" : "+") + Hex.h32(Math.abs(disp));
    return Regs.ptr(size) + " [a16 " + TEXT[rm] + d + "]";
  }
}
