package org.hospes.hv.event;

import org.hospes.abi.EventChannelOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.domain.Domain;

/**
 * One domain's event channels (Xen's event_channel.c): allocation, binding to another domain, to
 * a VIRQ or to an IPI, sending, closing and status. Each operation checks its arguments first
 * and returns a port number or a negative Xen errno. Delivery goes through the domain's
 * {@link PortOps}; {@link Notifier} tells the hypervisor which vCPU now has an upcall due.
 */
public final class EventChannels {
  /** Port states, with the numbers EVTCHNOP_status reports. */
  static final int FREE = EventChannelOp.STATUS_CLOSED;
  static final int UNBOUND = EventChannelOp.STATUS_UNBOUND;
  static final int INTERDOMAIN = EventChannelOp.STATUS_INTERDOMAIN;
  static final int VIRQ = EventChannelOp.STATUS_VIRQ;
  static final int IPI = EventChannelOp.STATUS_IPI;

  /** Resolves domains by id, and raises upcalls. */
  public interface Directory {
    Domain domain(int domid);

    EventChannels channels(Domain d);

    /** {@code d}'s vCPU {@code vcpu} has an upcall pending: inject or wake it. */
    void upcall(Domain d, int vcpu);

    /** {@code port} of {@code d} became pending (masked or not): wakes a SCHEDOP_poll. */
    default void portRaised(Domain d, int vcpu, int port) {}
  }

  private final Domain domain;
  private final Directory directory;
  private final PortOps ops;
  private final int maxPorts;
  private final int[] state;
  private final int[] remoteDom;
  private final int[] remotePort;
  private final int[] vcpu;
  private final int[] virq;
  private final int[][] virqPort;
  private long sends;

  public EventChannels(Domain domain, Directory directory, PortOps ops, int maxPorts,
      int vcpus) {
    this.domain = domain;
    this.directory = directory;
    this.ops = ops;
    this.maxPorts = maxPorts;
    this.state = new int[maxPorts];
    this.remoteDom = new int[maxPorts];
    this.remotePort = new int[maxPorts];
    this.vcpu = new int[maxPorts];
    this.virq = new int[maxPorts];
    this.virqPort = new int[vcpus][EventChannelOp.NR_VIRQS];
  }

  public PortOps ops() {
    return ops;
  }

  public long sends() {
    return sends;
  }

  private int resolve(int dom) {
    return dom == EventChannelOp.DOMID_SELF ? domain.domid() : dom;
  }

  private boolean validPort(int port) {
    return port > 0 && port < maxPorts;
  }

  /** Port 0 is reserved; the lowest free port otherwise, or -ENOSPC. */
  private int freePort() {
    for (int p = 1; p < maxPorts; p++) {
      if (state[p] == FREE) {
        return p;
      }
    }
    return XenErrno.ENOSPC.negated();
  }

  /**
   * EVTCHNOP_alloc_unbound: a port of domain {@code dom} (DOMID_SELF: this one) that
   * {@code remoteDomid} may later bind to. Checks in Xen 4.17's order (evtchn_alloc_unbound):
   * -ESRCH for no such domain, -ENOSPC when it has no free port, -EPERM when it is not this
   * domain (an unprivileged caller). As in Xen the remote domain need not exist yet, and a
   * remote of DOMID_SELF means this (the calling) domain.
   */
  public int allocUnbound(int dom, int remoteDomid) {
    Domain d = dom == EventChannelOp.DOMID_SELF ? domain : directory.domain(dom);
    EventChannels dc = d == null ? null : d == domain ? this : directory.channels(d);
    if (dc == null) {
      return XenErrno.ESRCH.negated();
    }
    int port = dc.freePort();
    if (port < 0) {
      return port;
    }
    if (dc != this) {
      return XenErrno.EPERM.negated();
    }
    state[port] = UNBOUND;
    remoteDom[port] = resolve(remoteDomid);
    vcpu[port] = 0;
    return port;
  }

  /**
   * EVTCHNOP_bind_interdomain: connects to an unbound port the remote domain offered us. Checks
   * in Xen 4.17's order: -ESRCH for no such (live) domain, -ENOSPC when this domain has no free
   * port, -EINVAL unless the remote port exists, is unbound and names this domain.
   */
  public int bindInterdomain(int remoteDomid, int rport) {
    Domain remote = directory.domain(resolve(remoteDomid));
    if (remote == null || remote.state().isFinal()) {
      return XenErrno.ESRCH.negated();
    }
    EventChannels rc = directory.channels(remote);
    if (rc == null) {
      return XenErrno.ESRCH.negated();
    }
    int port = freePort();
    if (port < 0) {
      return port;
    }
    if (!rc.validPort(rport)
        || rc.state[rport] != UNBOUND || rc.remoteDom[rport] != domain.domid()) {
      return XenErrno.EINVAL.negated();
    }
    state[port] = INTERDOMAIN;
    remoteDom[port] = remote.domid();
    remotePort[port] = rport;
    vcpu[port] = 0;
    rc.state[rport] = INTERDOMAIN;
    rc.remoteDom[rport] = domain.domid();
    rc.remotePort[rport] = port;
    // Xen raises the local port on bind so no notification is lost.
    deliver(port);
    return port;
  }

  /** EVTCHNOP_bind_virq. */
  public int bindVirq(int v, int cpu) {
    if (v < 0 || v >= EventChannelOp.NR_VIRQS) {
      return XenErrno.EINVAL.negated();
    }
    if (cpu < 0 || cpu >= virqPort.length) {
      return XenErrno.ENOENT.negated();
    }
    if (virqPort[cpu][v] != 0) {
      return XenErrno.EEXIST.negated();
    }
    int port = freePort();
    if (port < 0) {
      return port;
    }
    state[port] = VIRQ;
    virq[port] = v;
    vcpu[port] = cpu;
    virqPort[cpu][v] = port;
    return port;
  }

  /** EVTCHNOP_bind_ipi. */
  public int bindIpi(int cpu) {
    if (cpu < 0 || cpu >= virqPort.length) {
      return XenErrno.ENOENT.negated();
    }
    int port = freePort();
    if (port < 0) {
      return port;
    }
    state[port] = IPI;
    vcpu[port] = cpu;
    return port;
  }

  /** EVTCHNOP_send. */
  public int send(int port) {
    if (!validPort(port)) {
      return XenErrno.EINVAL.negated();
    }
    sends++;
    switch (state[port]) {
      case INTERDOMAIN: {
        Domain remote = directory.domain(remoteDom[port]);
        if (remote != null && !remote.state().isFinal()) {
          directory.channels(remote).deliver(remotePort[port]);
        }
        return 0;
      }
      case IPI:
        deliver(port);
        return 0;
      case UNBOUND:
        // Nobody listens yet: the event is dropped, as on Xen.
        return 0;
      default:
        return XenErrno.EINVAL.negated();
    }
  }

  /** Marks {@code port} pending and raises the upcall of its vCPU if one is due. */
  void deliver(int port) {
    if (ops.setPending(vcpu[port], port)) {
      directory.upcall(domain, vcpu[port]);
    }
    directory.portRaised(domain, vcpu[port], port);
  }

  /** True for a port number this domain may name (EVTCHNOP and SCHEDOP_poll checks). */
  public boolean isValidPort(int port) {
    return validPort(port);
  }

  /** Raises a VIRQ bound on {@code cpu} (no-op when unbound). */
  public void raiseVirq(int cpu, int v) {
    int port = cpu < virqPort.length ? virqPort[cpu][v] : 0;
    if (port != 0) {
      deliver(port);
    }
  }

  /** EVTCHNOP_close: an interdomain peer goes back to unbound, as in Xen. */
  public int close(int port) {
    if (!validPort(port)) {
      return XenErrno.EINVAL.negated();
    }
    switch (state[port]) {
      case FREE:
        return XenErrno.EINVAL.negated();
      case INTERDOMAIN: {
        Domain remote = directory.domain(remoteDom[port]);
        if (remote != null && !remote.state().isFinal()) {
          EventChannels rc = directory.channels(remote);
          int rp = remotePort[port];
          if (rc.state[rp] == INTERDOMAIN && rc.remoteDom[rp] == domain.domid()) {
            rc.state[rp] = UNBOUND;
            rc.remoteDom[rp] = domain.domid();
          }
        }
        break;
      }
      case VIRQ:
        virqPort[vcpu[port]][virq[port]] = 0;
        break;
      default:
        break;
    }
    state[port] = FREE;
    if (!domain.state().isFinal()) {
      // A dead domain's shared_info frame may already belong to someone else.
      ops.clearPending(port);
    }
    return 0;
  }

  /** EVTCHNOP_unmask. */
  public int unmask(int port) {
    if (!validPort(port)) {
      return XenErrno.EINVAL.negated();
    }
    if (ops.unmask(vcpu[port], port)) {
      directory.upcall(domain, vcpu[port]);
    }
    return 0;
  }

  /** EVTCHNOP_bind_vcpu: notifications of the port go to {@code cpu}. */
  public int bindVcpu(int port, int cpu) {
    if (!validPort(port) || state[port] == FREE) {
      return XenErrno.EINVAL.negated();
    }
    if (cpu < 0 || cpu >= virqPort.length) {
      return XenErrno.ENOENT.negated();
    }
    if (state[port] == VIRQ) {
      virqPort[vcpu[port]][virq[port]] = 0;
      virqPort[cpu][virq[port]] = port;
    }
    vcpu[port] = cpu;
    return 0;
  }

  /** EVTCHNOP_status: {status, vcpu, union word 0, union word 1}, or null for a bad port. */
  public int[] status(int port) {
    if (port < 0 || port >= maxPorts) {
      return null;
    }
    int s = state[port];
    int u0 = 0;
    int u1 = 0;
    if (s == UNBOUND) {
      u0 = remoteDom[port];
    } else if (s == INTERDOMAIN) {
      u0 = remoteDom[port];
      u1 = remotePort[port];
    } else if (s == VIRQ) {
      u0 = virq[port];
    }
    return new int[] {s, vcpu[port], u0, u1};
  }

  /** Drops every channel (domain death): interdomain peers see their ports unbound. */
  public void closeAll() {
    for (int p = 1; p < maxPorts; p++) {
      if (state[p] != FREE) {
        close(p);
      }
    }
  }
}
