package org.hospes.hv.ioreq;

/**
 * A device model serving a domain's emulated hardware (in dom0, as QEMU is for Xen). The
 * hypervisor forwards the vCPU's port and MMIO accesses it does not emulate itself and resumes
 * the vCPU with the answer.
 */
public interface IoreqServer {

  /** Handles {@code req} for domain {@code domid}; returns the data for a read (else ignored). */
  long handle(int domid, Ioreq req);

  /** True if this server claims the port (otherwise the access reads all ones). */
  default boolean claimsPort(int port) {
    return true;
  }

  /** True if this server claims the guest-physical MMIO address. */
  default boolean claimsMmio(long gpa) {
    return false;
  }
}
