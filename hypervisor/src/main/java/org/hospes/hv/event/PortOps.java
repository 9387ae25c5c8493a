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
}
