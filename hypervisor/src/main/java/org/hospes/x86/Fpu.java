package org.hospes.x86;

/**
 * The x87 floating-point unit. (Placeholder: every x87 instruction raises #UD until the unit is
 * implemented; CPUID does not advertise FPU.)
 */
final class Fpu {

  /**
   * Executes one x87 escape instruction. {@code opModrm} is (opcode - 0xD8) &lt;&lt; 8 | ModRM;
   * for memory forms {@code f0}/{@code d} locate the operand (see {@link Cpu#linear}).
   */
  void exec(Cpu c, int f0, int d, int opModrm) {
    c.raiseUndefined(Exceptions.UD);
  }

  /** FWAIT/WAIT: checks for pending unmasked x87 exceptions. */
  void fwait(Cpu c) {
    // No x87 state yet, so nothing can be pending.
  }
}
