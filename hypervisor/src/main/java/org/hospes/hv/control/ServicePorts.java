package org.hospes.hv.control;

import java.util.BitSet;
import java.util.function.IntConsumer;
import org.hospes.hv.event.PortOps;

/**
 * Event delivery for a service domain whose code runs in the host (dom0's Java services): the
 * 2-level semantics (pending and mask bits, an event already pending is not delivered twice)
 * kept in Java. A port that becomes pending and unmasked is handed once to the sink, which
 * queues it as service work; {@link #take} clears its pending bit when the work runs, as a
 * guest's handler would.
 */
public final class ServicePorts implements PortOps {
  private final BitSet pending = new BitSet();
  private final BitSet masked = new BitSet();
  /** Ports handed to the sink and not yet taken. */
  private final BitSet queued = new BitSet();
  private final IntConsumer sink;
  private long delivered;

  /** @param sink told of each port that needs handling (the service's work queue) */
  public ServicePorts(IntConsumer sink) {
    this.sink = sink;
  }

  @Override
  public boolean setPending(int vcpu, int port) {
    if (pending.get(port)) {
      return false;
    }
    pending.set(port);
    delivered++;
    if (!masked.get(port)) {
      enqueue(port);
    }
    return false;
  }

  private void enqueue(int port) {
    if (!queued.get(port)) {
      queued.set(port);
      sink.accept(port);
    }
  }

  @Override
  public void clearPending(int port) {
    pending.clear(port);
  }

  @Override
  public boolean isPending(int port) {
    return pending.get(port);
  }

  @Override
  public boolean isMasked(int port) {
    return masked.get(port);
  }

  public void mask(int port) {
    masked.set(port);
  }

  @Override
  public boolean unmask(int vcpu, int port) {
    masked.clear(port);
    if (pending.get(port)) {
      enqueue(port);
    }
    return false;
  }

  @Override
  public boolean upcallPending(int vcpu) {
    return !queued.isEmpty();
  }

  /** Service domains have no vcpu_info in guest memory. */
  @Override
  public long vcpuInfo(int vcpu) {
    return -1;
  }

  @Override
  public void setVcpuInfo(int vcpu, long machineAddress) {
    // Nothing to move: events are queued in Java.
  }

  /**
   * Takes the event queued on {@code port}: clears its pending bit. False if there is none to
   * handle any more (cleared or masked since it was queued).
   */
  public boolean take(int port) {
    queued.clear(port);
    if (!pending.get(port) || masked.get(port)) {
      return false;
    }
    pending.clear(port);
    return true;
  }

  /** Events that became pending on these ports since creation. */
  public long delivered() {
    return delivered;
  }
}
