package org.hospes.x86;

/**
 * Thrown inside the run loop when an instruction raises an exception. One preallocated instance,
 * no stack trace: the vector and error code live in {@link Cpu}, like QEMU's longjmp out of a TB.
 */
final class CpuFault extends RuntimeException {
  static final CpuFault INSTANCE = new CpuFault();

  private CpuFault() {
    super("guest exception", null, false, false);
  }
}
