package org.hospes.x86.diff;

/**
 * The final state of one case on either side. {@code vector} is -1 when execution completed (it
 * reached a filler HLT at {@code eip}), otherwise the exception the instruction raised, with the
 * state as it was at the faulting instruction.
 */
final class Outcome {
  static final int COMPLETED = -1;
  /** Reference ended with a signal that is neither the filler HLT nor #DE/#UD. */
  static final int OTHER_SIGNAL = -2;
  /** The emulator threw a Java exception. */
  static final int EMULATOR_CRASH = -3;

  int vector = COMPLETED;
  int eip;
  final int[] regs = new int[8];
  int eflags;
  final byte[] mem;
  /** Emulator only: {@link org.hospes.x86.Cpu#instructions()} retired during the case, or -1. */
  long retired = -1;
  /** The exception's error code (#GP/#NP/#SS selector, #PF bits); 0 when there is none. */
  int errorCode;
  /** #PF: the faulting linear address (CR2; si_addr on the reference). */
  int faultAddr;
  /** ES, CS, SS, DS, FS, GS (the 64-bit reference reports zeros; compared for user-mode cases). */
  final int[] sregs = new int[6];
  /** Free text for unusual endings (signal number and code, Java exception). */
  String note = "";

  Outcome(int scratchSize) {
    mem = new byte[scratchSize];
  }

  String ending() {
    return switch (vector) {
      case COMPLETED -> "completed";
      case OTHER_SIGNAL -> "signal " + note;
      case EMULATOR_CRASH -> "emulator threw " + note;
      default -> org.hospes.x86.Exceptions.mnemonic(vector);
    };
  }
}
