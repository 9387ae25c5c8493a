package org.hospes.x86.diff;

/** Register names and numbers in the order of the ModRM reg field (EAX=0 ... EDI=7). */
final class Regs {
  static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
  private static final String[] R32 = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
  private static final String[] R16 = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di"};
  private static final String[] R8 = {"al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"};

  private Regs() {}

  static String name(int size, int r) {
    return switch (size) {
      case 8 -> R8[r];
      case 16 -> R16[r];
      case 32 -> R32[r];
      default -> throw new IllegalArgumentException("size " + size);
    };
  }

  static String r32(int r) {
    return R32[r];
  }

  static String ptr(int size) {
    return switch (size) {
      case 8 -> "byte";
      case 16 -> "word";
      case 32 -> "dword";
      case 64 -> "qword";
      default -> throw new IllegalArgumentException("size " + size);
    };
  }

  static int mask(int size) {
    return size == 32 ? -1 : (1 << size) - 1;
  }

  /** Value of the {@code size}-bit register {@code r} within the 8 GPRs. */
  static int get(int[] regs, int size, int r) {
    if (size == 8) {
      return r < 4 ? regs[r] & 0xFF : (regs[r - 4] >>> 8) & 0xFF;
    }
    return regs[r] & mask(size);
  }

  /** Writes the {@code size}-bit register {@code r}, keeping the other bits, as hardware does. */
  static void set(int[] regs, int size, int r, int value) {
    if (size == 8) {
      if (r < 4) {
        regs[r] = (regs[r] & ~0xFF) | (value & 0xFF);
      } else {
        regs[r - 4] = (regs[r - 4] & ~0xFF00) | ((value & 0xFF) << 8);
      }
    } else {
      int m = mask(size);
      regs[r] = (regs[r] & ~m) | (value & m);
    }
  }

  /** The 32-bit register that holds 8-bit register {@code r} (AH lives in EAX). */
  static int full(int size, int r) {
    return size == 8 && r >= 4 ? r - 4 : r;
  }
}
