package org.hospes.hv.memory;

/**
 * The hypervisor needed a machine frame for its own use on a domain's behalf (a shadow page
 * table, an EPT table) and the machine has none left. The domain it was for cannot go on: as
 * Xen's shadow code calls domain_crash when it cannot allocate, the hypervisor crashes that
 * domain with this message ({@link org.hospes.hv.Hypervisor#crash}), and the host and every
 * other domain go on. An IllegalStateException, so that a caller creating a domain (where
 * running out of memory is the toolstack's error to report) sees what it always saw.
 */
public final class OutOfMachineMemory extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public OutOfMachineMemory(String message) {
    super(message);
  }

  /** Raised on a guest's doing, on a full machine: no stack trace to fill. */
  @Override
  public synchronized Throwable fillInStackTrace() {
    return this;
  }
}
