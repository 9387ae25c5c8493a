package org.hospes.dom0.toolstack;

import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.machine.RunResult;
import org.hospes.abi.SchedOp;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.domain.Vcpu;

/** One domain the toolstack built on a host: its spec, the domain, its device model, console. */
public final class GuestDomain {
  private final DomainSpec spec;
  private final Domain domain;
  private final HvmDeviceModel deviceModel;
  private final LineConsole console;
  private final long startedAt;
  private int debugExitStatus = -1;
  private DomainOutcome.Kind destroyedAs;
  private String destroyReason;
  private boolean xenAware;
  /** dom0's PV console backend for a Xen-aware kernel, or null. */
  private org.hospes.dom0.backend.console.ConsoleBackend pvConsole;

  GuestDomain(DomainSpec spec, Domain domain, HvmDeviceModel deviceModel, LineConsole console,
      long startedAt) {
    this.spec = spec;
    this.domain = domain;
    this.deviceModel = deviceModel;
    this.console = console;
    this.startedAt = startedAt;
  }

  public String name() {
    return spec.name();
  }

  public DomainSpec spec() {
    return spec;
  }

  public Domain domain() {
    return domain;
  }

  /** The device model of an HVM domain; null for PVH, which has none. */
  public HvmDeviceModel deviceModel() {
    return deviceModel;
  }

  public LineConsole console() {
    return console;
  }

  /** What the domain wrote to COM1 so far, unprefixed. */
  public String consoleText() {
    return console.text();
  }

  /** Virtual time at which the domain was started. */
  public long startedAt() {
    return startedAt;
  }

  public boolean isLive() {
    return !domain.state().isFinal();
  }

  public long instructions() {
    long n = 0;
    for (Vcpu v : domain.vcpus()) {
      n += v.cpu().instructions();
    }
    return n;
  }

  /** The PV console backend (a Xen-aware kernel's console), or null for a bare HVM kernel. */
  public org.hospes.dom0.backend.console.ConsoleBackend pvConsole() {
    return pvConsole;
  }

  /**
   * Gives the domain console input as a user typed it: to the PV console of a Xen-aware
   * kernel, else to COM1. Returns the bytes taken (the PV ring may be full; 0 once it ended).
   */
  public int input(byte[] bytes) {
    if (!isLive()) {
      return 0;
    }
    if (pvConsole != null) {
      return pvConsole.input(bytes);
    }
    if (deviceModel != null) {
      deviceModel.com1().queueInput(bytes);
      return bytes.length;
    }
    return 0;
  }

  /**
   * True when the domain has nothing in hand for its console: every vCPU blocked (waiting for
   * an event, not for an I/O request) or offline, and nothing it wrote to its PV console left
   * for the backend to copy. A guest that took input and answered it is idle again once this
   * holds; one that never blocks never is.
   */
  public boolean consoleIdle() {
    for (Vcpu v : domain.vcpus()) {
      boolean waiting = v.state() == org.hospes.hv.domain.VcpuState.BLOCKED && !v.awaitingIo();
      if (!waiting && v.state() != org.hospes.hv.domain.VcpuState.OFFLINE) {
        return false;
      }
    }
    return pvConsole == null || !pvConsole.outputPending();
  }

  void setPvConsole(org.hospes.dom0.backend.console.ConsoleBackend console) {
    this.pvConsole = console;
  }

  /** The kernel is Xen-aware (dom0 gave it PV services): its SCHEDOP_shutdown reason counts. */
  void markXenAware() {
    xenAware = true;
  }

  void debugExit(int status) {
    if (debugExitStatus < 0) {
      debugExitStatus = status;
    }
  }

  int debugExitStatus() {
    return debugExitStatus;
  }

  void destroyedBy(DomainOutcome.Kind kind, String reason) {
    destroyedAs = kind;
    destroyReason = reason;
  }

  /** The outcome so far: {@link DomainOutcome.Kind#RUNNING} while the domain lives. */
  public DomainOutcome outcome() {
    long insns = instructions();
    DomainState state = domain.state();
    if (state == DomainState.CRASHED) {
      return DomainOutcome.crashed(domain.endReason(), insns);
    }
    if (state == DomainState.SHUTDOWN) {
      if (RunResult.DEBUG_EXIT.equals(domain.endReason()) && debugExitStatus >= 0) {
        return new DomainOutcome(DomainOutcome.Kind.EXITED, debugExitStatus,
            RunResult.DEBUG_EXIT, insns);
      }
      if (domain.mode() == DomainMode.PVH || xenAware) {
        // SCHEDOP_shutdown: poweroff, reboot, suspend and soft_reset end cleanly (0); crash and
        // watchdog are failures, as for hospes run --mode pvh.
        int why = domain.exitStatus();
        if (why == SchedOp.SHUTDOWN_CRASH || why == SchedOp.SHUTDOWN_WATCHDOG) {
          return DomainOutcome.crashed("shutdown: " + domain.endReason(), insns);
        }
        return new DomainOutcome(DomainOutcome.Kind.EXITED, 0,
            RunResult.SHUTDOWN_PREFIX + domain.endReason(), insns);
      }
      if (RunResult.HALTED.equals(domain.endReason())) {
        return new DomainOutcome(DomainOutcome.Kind.HALTED, ExitStatus.HALTED,
            RunResult.HALTED, insns);
      }
      return new DomainOutcome(DomainOutcome.Kind.EXITED, Math.max(domain.exitStatus(), 0),
          domain.endReason(), insns);
    }
    if (state == DomainState.DYING) {
      DomainOutcome.Kind kind = destroyedAs == null ? DomainOutcome.Kind.DESTROYED : destroyedAs;
      int status = kind == DomainOutcome.Kind.INSTRUCTION_LIMIT
          ? ExitStatus.INSTRUCTION_LIMIT : -1;
      return new DomainOutcome(kind, status,
          destroyReason == null ? domain.endReason() : destroyReason, insns);
    }
    return new DomainOutcome(DomainOutcome.Kind.RUNNING, ExitStatus.INSTRUCTION_LIMIT,
        "still running when the run ended", insns);
  }
}
