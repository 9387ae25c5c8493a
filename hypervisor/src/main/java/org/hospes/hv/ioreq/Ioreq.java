package org.hospes.hv.ioreq;

/**
 * One I/O request from an HVM vCPU to a device model, as Xen's ioreq_t: a port or MMIO access of
 * {@code size} bytes, a read or a write of {@code data}.
 */
public record Ioreq(Type type, long address, int size, boolean write, long data) {
  public enum Type {
    PIO,
    MMIO
  }
}
