package org.hospes.hv.control;

import java.util.ArrayDeque;
import java.util.BitSet;
import org.hospes.hv.event.PortOps;

/**
 * Event delivery for a service domain whose code runs in the host (dom0's Java services): the
 * 2-level semantics (pending and mask bits, an event already pending is not queued twice) kept
 * in Java, with the ports that became pending queued in order for the services to drain.
 */
public final class ServicePorts implements PortOps {
  private final BitSet pending = new BitSet();
  private final BitSet masked = new BitSet();
  private final ArrayDeque<Integer> queue = new ArrayDeque<>();
  private long delivered;

  @Override
  public boolean setPending(int vcpu, int port) {
    if (pending.get(port)) {
      return false;
    }
    pending.set(port);
    delivered++;
    if (!masked.get(port)) {
      queue.add(port);
    }
    return false;
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
    if (pending.get(port) && !queue.contains(port)) {
      queue.add(port);
    }
    return false;
  }

  @Override
  public boolean upcallPending(int vcpu) {
    return !queue.isEmpty();
  }

  /** dom0's services have no vcpu_info in guest memory. */
  @Override
  public long vcpuInfo(int vcpu) {
    return -1;
  }

  @Override
  public void setVcpuInfo(int vcpu, long machineAddress) {
    // Nothing to move: events are queued in Java.
  }

  /** The next port with an event, its pending bit cleared (as a guest's handler would); -1 if none. */
  public int poll() {
    Integer p = queue.poll();
    if (p == null) {
      return -1;
    }
    pending.clear(p);
    return p;
  }

  public boolean hasEvents() {
    return !queue.isEmpty();
  }

  /** Events that became pending on these ports since creation. */
  public long delivered() {
    return delivered;
  }
}
