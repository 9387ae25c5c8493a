package org.hospes.x86;

/**
 * The x87 floating-point unit. (Placeholder: every x87 instruction raises #UD until the unit is
 * implemented; CPUID does not advertise FPU.)
 */
final class Fpu {

  /**
   * Executes one x87 escape instruction. {@code f3 >>> 20} is (opcode - 0xD8) &lt;&lt; 8 | ModRM;
   * the instruction's own EIP is {@code c.blockEip + (f3 & 0xFFFF) - ((f3 >>> 16) & 15)}; for
   * memory forms {@code Cpu.isMem(f0)} is true and {@code c.operandAddress(f0, d, bytes, write)}
   * gives the operand's linear address.
   */
  void exec(Cpu c, int f0, int d, int f3) {
    c.raiseUndefined(Exceptions.UD);
  }

  /** FWAIT/WAIT: checks for pending unmasked x87 exceptions. */
  void fwait(Cpu c) {
    // No x87 state yet, so nothing can be pending.
  }
}
