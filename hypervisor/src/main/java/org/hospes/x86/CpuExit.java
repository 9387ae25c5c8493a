package org.hospes.x86;

/**
 * Why {@link Cpu#run} returned, as KVM_RUN reports an exit. Plain ints so the hot loop returns a
 * constant; qualification (vector, error code, ...) is left in {@link Cpu} fields.
 */
public final class CpuExit {
  /** The instruction budget given to {@code run} is used up. */
  public static final int BUDGET = 0;
  /** HLT executed with no interrupt able to wake the processor. EIP points past the HLT. */
  public static final int HLT = 1;
  /**
   * An exception that the processor could not deliver (no IDT yet, or exception exiting
   * enabled). EIP points at the faulting instruction (faults) or past it (traps); see
   * {@link Cpu#exceptionVector()} and {@link Cpu#exceptionErrorCode()}.
   */
  public static final int EXCEPTION = 2;
  /** A device asked the machine to stop (e.g. isa-debug-exit); the instruction completed. */
  public static final int STOPPED = 3;
  /** A fault while delivering a double fault: the machine is dead. */
  public static final int TRIPLE_FAULT = 4;
  /**
   * VMX non-root operation only: a VM exit. The reason, qualification and instruction length are
   * in the {@code Vmcs}; EIP points at the instruction that exited (for instruction exits).
   */
  public static final int VM_EXIT = 5;
  /**
   * The caller's cut point passed ({@link Cpu#run(long, long)}): the processor stopped at a
   * block boundary short of its budget, and a further run goes on as if it had not stopped.
   */
  public static final int CUT = 6;
  /**
   * VMX only: the VM entry failed a check on the VMX controls (SDM 26.2) and VMLAUNCH or
   * VMRESUME ended in VMfailValid. The VM-instruction error field of the {@code Vmcs} says
   * why; nothing of the guest ran and nothing else in the VMCS changed (no exit information).
   */
  public static final int VM_ENTRY_FAILED = 7;
  /**
   * {@link Cpu#emulateStep} only: the hypervisor's emulator retired one instruction (after
   * delivering the event it was given, if any) and nothing in it needed the hypervisor.
   */
  public static final int EMULATED = 8;

  private static final String[] NAMES = {
    "BUDGET", "HLT", "EXCEPTION", "STOPPED", "TRIPLE_FAULT", "VM_EXIT", "CUT", "VM_ENTRY_FAILED",
    "EMULATED"
  };

  private CpuExit() {}

  public static String name(int exit) {
    return exit >= 0 && exit < NAMES.length ? NAMES[exit] : "EXIT_" + exit;
  }
}
