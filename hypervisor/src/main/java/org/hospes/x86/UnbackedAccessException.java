package org.hospes.x86;

/**
 * Thrown when work the hypervisor asked the processor to finish outside the guest's own run (a
 * task switch, {@link Cpu#emulateTaskSwitch}) reaches a guest-physical address with no RAM
 * behind it. That access cannot be completed as an MMIO exit (no instruction is running that
 * could be restarted with its answer), so the hypervisor decides what becomes of the guest, as
 * Xen's hvm_task_switch does when it cannot map what the switch reads.
 */
public final class UnbackedAccessException extends RuntimeException {
  private final long gpa;

  public UnbackedAccessException(long gpa) {
    super(String.format("no RAM at gpa 0x%x", gpa));
    this.gpa = gpa;
  }

  /** The guest-physical address that has no RAM. */
  public long gpa() {
    return gpa;
  }
}
