package org.hospes.hv.hypercall;

import org.hospes.abi.ControlOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;

/**
 * The control domain's and device models' hypercalls: platform_op (7), sysctl (35), domctl (36)
 * and dm_op (41). A guest in Hospes is never privileged: dom0 and the device models are Java
 * code that reaches the hypervisor through {@link org.hospes.hv.control.DomainControl}, not
 * through hypercalls. So every call here is refused, with what Xen 4.17 under its default (dummy
 * XSM) policy gives a domU, after the checks Xen makes before its permission check and in their
 * order: a struct it cannot copy in is -EFAULT, a wrong interface version -EACCES, a domain that
 * does not exist -ESRCH, and only then -EPERM.
 */
final class ControlHypercalls {
  private final Hypervisor hv;

  ControlHypercalls(Hypervisor hv) {
    this.hv = hv;
  }

  /** rcu_lock_domain_by_id: by number only (DOMID_SELF names no domain here). */
  private Domain byId(int domid) {
    return hv.eventDirectory().domain(domid);
  }

  /**
   * do_domctl: copy in, version, then the domain. createdomain and gdbsx_guestmemio name no
   * domain; test_assign_device and vm_event_op none when they say DOMID_INVALID; assign and
   * deassign_device may name DOMID_IO (and DOMID_INVALID is -ESRCH for them); getdomaininfo
   * goes on without one (it would look for the next domain). Then xsm_domctl: -EPERM.
   */
  int domctl(Vcpu v, int arg) {
    byte[] op = new GuestAccess(v).read(arg, ControlOp.DOMCTL_SIZE);
    if (op == null) {
      return XenErrno.EFAULT.negated();
    }
    if (VcpuHypercalls.le32(op, ControlOp.DOMCTL_VERSION) != ControlOp.DOMCTL_INTERFACE_VERSION) {
      return XenErrno.EACCES.negated();
    }
    int cmd = VcpuHypercalls.le32(op, ControlOp.DOMCTL_CMD);
    int domid = (op[ControlOp.DOMCTL_DOMAIN] & 0xFF)
        | (op[ControlOp.DOMCTL_DOMAIN + 1] & 0xFF) << 8;
    boolean assign = cmd == ControlOp.DOMCTL_ASSIGN_DEVICE
        || cmd == ControlOp.DOMCTL_DEASSIGN_DEVICE;
    boolean lookup;
    if (assign && domid == ControlOp.DOMID_IO) {
      lookup = false;
    } else if (assign && domid == ControlOp.DOMID_INVALID) {
      return XenErrno.ESRCH.negated();
    } else if (cmd == ControlOp.DOMCTL_CREATEDOMAIN || cmd == ControlOp.DOMCTL_GDBSX_GUESTMEMIO) {
      lookup = false;
    } else {
      lookup = !((assign || cmd == ControlOp.DOMCTL_TEST_ASSIGN_DEVICE
          || cmd == ControlOp.DOMCTL_VM_EVENT_OP) && domid == ControlOp.DOMID_INVALID);
    }
    if (lookup && byId(domid) == null && cmd != ControlOp.DOMCTL_GETDOMAININFO) {
      return XenErrno.ESRCH.negated();
    }
    return XenErrno.EPERM.negated();
  }

  /** do_sysctl: copy in, version, then xsm_sysctl (XSM_PRIV): -EPERM. */
  int sysctl(Vcpu v, int arg) {
    return versioned(v, arg, ControlOp.SYSCTL_SIZE, ControlOp.SYSCTL_INTERFACE_VERSION);
  }

  /** do_platform_op (compat for a 32-bit caller): copy in, version, xsm_platform_op: -EPERM. */
  int platformOp(Vcpu v, int arg) {
    return versioned(v, arg, ControlOp.PLATFORM_OP_SIZE, ControlOp.PLATFORM_INTERFACE_VERSION);
  }

  private static int versioned(Vcpu v, int arg, int size, int version) {
    byte[] op = new GuestAccess(v).read(arg, size);
    if (op == null) {
      return XenErrno.EFAULT.negated();
    }
    if (VcpuHypercalls.le32(op, ControlOp.SYSCTL_VERSION) != version) {
      return XenErrno.EACCES.negated();
    }
    return XenErrno.EPERM.negated();
  }

  /**
   * compat_dm_op(domid, nr_bufs, bufs): more than two buffers is -E2BIG, an unreadable buffer
   * array -EFAULT; then dm_op's rcu_lock_remote_domain_by_id (no such domain -ESRCH, the caller
   * itself -EPERM), a target that is not HVM -EINVAL, and xsm_dm_op: only the domain's device
   * model may, and no guest is one here: -EPERM.
   */
  int dmOp(Vcpu v, int domid, int nrBufs, int bufs) {
    if (Integer.compareUnsigned(nrBufs, ControlOp.DM_OP_MAX_BUFS) > 0) {
      return XenErrno.E2BIG.negated();
    }
    if (nrBufs > 0
        && new GuestAccess(v).read(bufs, nrBufs * ControlOp.DM_OP_COMPAT_BUF_SIZE) == null) {
      return XenErrno.EFAULT.negated();
    }
    Domain target = byId(domid & 0xFFFF);
    if (target == null) {
      return XenErrno.ESRCH.negated();
    }
    if (target == v.domain()) {
      return XenErrno.EPERM.negated();
    }
    if (target.pv() != null) {
      return XenErrno.EINVAL.negated();
    }
    return XenErrno.EPERM.negated();
  }
}
