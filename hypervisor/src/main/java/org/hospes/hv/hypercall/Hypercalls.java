package org.hospes.hv.hypercall;

import java.io.IOException;
import org.hospes.abi.Hypercall;
import org.hospes.abi.SchedOp;
import org.hospes.abi.XenErrno;
import org.hospes.abi.XenVersion;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.stats.Counters;
import org.hospes.x86.Cpu;

/**
 * Hypercall dispatch for HVM and PVH guests (they enter through VMCALL in the hypercall page):
 * the number in EAX, arguments in EBX, ECX, EDX, ESI, EDI, the result in EAX. Every handler
 * checks its arguments first and answers with 0 or a negative Xen errno; a call from CPL > 0
 * gets -EPERM and an unknown or unimplemented call -ENOSYS, both counted.
 */
public final class Hypercalls {
  private final Hypervisor hv;
  private final CostModel cost;

  public Hypercalls(Hypervisor hv, CostModel cost) {
    this.hv = hv;
    this.cost = cost;
  }

  /** Handles the VMCALL {@code v} exited on; returns the modelled cycles. */
  public long handle(Vcpu v) {
    Cpu cpu = v.cpu();
    Counters c = v.counters();
    int nr = cpu.reg(Cpu.EAX);
    int a1 = cpu.reg(Cpu.EBX);
    int a2 = cpu.reg(Cpu.ECX);
    int a3 = cpu.reg(Cpu.EDX);
    Hypercall call = Hypercall.of(nr);
    c.hypercallCount[nr >= 0 && nr < c.hypercallCount.length ? nr : 63]++;
    int result;
    if (cpu.cpl() != 0) {
      result = XenErrno.EPERM.negated();
    } else if (call == null) {
      result = XenErrno.ENOSYS.negated();
    } else {
      switch (call) {
        case XEN_VERSION: result = xenVersion(v, a1, a2); break;
        case CONSOLE_IO: result = consoleIo(v, a1, a2, a3); break;
        case SCHED_OP: result = schedOp(v, a1, a2); break;
        default: result = XenErrno.ENOSYS.negated(); break;
      }
    }
    if (result < 0) {
      c.hypercallErrors++;
    }
    if (!v.domain().state().isFinal()) {
      cpu.setReg(Cpu.EAX, result);
      cpu.skipInstruction();
    }
    long cycles = cost.hypercall();
    c.hypercallCycles += cycles;
    return cycles;
  }

  private int xenVersion(Vcpu v, int cmd, int arg) {
    GuestAccess g = new GuestAccess(v);
    switch (cmd) {
      case XenVersion.VERSION:
        return XenVersion.MAJOR << 16 | XenVersion.MINOR;
      case XenVersion.EXTRAVERSION:
        return g.writeString(arg, XenVersion.EXTRA, 16) ? 0 : XenErrno.EFAULT.negated();
      case XenVersion.CAPABILITIES:
        return g.writeString(arg, "hvm-3.0-x86_32p", 1024) ? 0 : XenErrno.EFAULT.negated();
      case XenVersion.CHANGESET:
        return g.writeString(arg, "hospes", 64) ? 0 : XenErrno.EFAULT.negated();
      case XenVersion.GET_FEATURES: {
        Integer index = g.readInt(arg);
        if (index == null) {
          return XenErrno.EFAULT.negated();
        }
        // Submap 0: none of the PV features are offered yet (no callback vector, no pvclock).
        int submap = 0;
        return g.writeInt(arg + 4, submap) ? 0 : XenErrno.EFAULT.negated();
      }
      case XenVersion.PAGESIZE:
        return 4096;
      default:
        return XenErrno.ENOSYS.negated();
    }
  }

  /** CONSOLEIO_write copies the guest's bytes to the domain's console; read has no input. */
  private int consoleIo(Vcpu v, int cmd, int count, int buf) {
    if (cmd == 1) {
      return 0;
    }
    if (cmd != 0) {
      return XenErrno.ENOSYS.negated();
    }
    if (count < 0 || count > 1 << 16) {
      return XenErrno.EINVAL.negated();
    }
    byte[] bytes = new GuestAccess(v).read(buf, count);
    if (bytes == null) {
      return XenErrno.EFAULT.negated();
    }
    try {
      v.domain().console().write(bytes);
    } catch (IOException e) {
      return XenErrno.EIO.negated();
    }
    return 0;
  }

  private int schedOp(Vcpu v, int cmd, int arg) {
    Domain d = v.domain();
    switch (cmd) {
      case SchedOp.YIELD:
        v.requestYield();
        return 0;
      case SchedOp.BLOCK:
        // No event channels can wake it yet: it waits for interrupts like HLT.
        hv.block(v);
        return 0;
      case SchedOp.SHUTDOWN: {
        Integer reason = new GuestAccess(v).readInt(arg);
        if (reason == null) {
          return XenErrno.EFAULT.negated();
        }
        if (reason < SchedOp.SHUTDOWN_POWEROFF || reason > SchedOp.SHUTDOWN_SOFT_RESET) {
          return XenErrno.EINVAL.negated();
        }
        hv.shutdown(d, SchedOp.reasonName(reason), reason);
        return 0;
      }
      default:
        return XenErrno.ENOSYS.negated();
    }
  }
}
