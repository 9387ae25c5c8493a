package org.hospes.hv.event;

/**
 * The part of event delivery that depends on the event-channel ABI (2-level or FIFO): where the
 * pending and mask bits live and when an upcall is due. Bound per domain.
 */
public interface PortOps {

  /** Marks {@code port} pending for {@code vcpu}; returns true if an upcall must be raised. */
  boolean setPending(int vcpu, int port);

  void clearPending(int port);

  boolean isPending(int port);

  boolean isMasked(int port);

  /** Clears the mask; returns true if the port was pending and an upcall must be raised. */
  boolean unmask(int vcpu, int port);

  /** True while {@code vcpu} has an upcall pending (its evtchn_upcall_pending is set). */
  boolean upcallPending(int vcpu);

  /**
   * Machine address of {@code vcpu}'s vcpu_info: its slot in shared_info until the guest moves
   * it with VCPUOP_register_vcpu_info.
   */
  long vcpuInfo(int vcpu);

  /** VCPUOP_register_vcpu_info: {@code vcpu}'s vcpu_info now lives at {@code machineAddress}. */
  void setVcpuInfo(int vcpu, long machineAddress);
}
