package org.hospes.hv.domain;

import org.hospes.hv.stats.Counters;
import org.hospes.x86.Cpu;
import org.hospes.x86.vmx.Vmcs;

/**
 * A virtual CPU: its own processor state (a {@link Cpu} running in VMX non-root operation under
 * its {@link Vmcs}), its scheduling state and its counters. Each vCPU has its own software TLB,
 * so translations are tagged per vCPU as a VPID tags them on hardware.
 *
 * <p>A service domain's vCPU (dom0, a driver domain) has no processor: its body is the domain's
 * {@link org.hospes.hv.control.ServiceWork}, Java services run when the scheduler runs it.
 */
public final class Vcpu {
  private final Domain domain;
  private final int id;
  private final Cpu cpu;
  private final Vmcs vmcs;
  private final Counters counters = new Counters();
  private VcpuState state = VcpuState.RUNNABLE;
  private Object schedulerData;
  /** An external interrupt waiting for the guest to open its interrupt window (-1: none). */
  int pendingVector = -1;

  private final org.hospes.hv.control.ServiceWork service;
  /** Waiting for an ioreq's answer: only its completion resumes it, not an interrupt. */
  private boolean ioWait;
  /**
   * In Intel's wait-for-SIPI activity state (an application processor before its start-up IPI,
   * or any processor after INIT): {@link VcpuState#OFFLINE} until a SIPI starts it.
   */
  private boolean waitForSipi;
  /** The instruction after Xen's forced-emulation prefix is being single-stepped. */
  private boolean forcedEmulation;
  /** Real mode under shadow paging (VM86 mode or emulation); made when first needed. */
  private org.hospes.hv.hvm.ShadowRealMode shadowRealMode;

  Vcpu(Domain domain, int id, Cpu cpu, Vmcs vmcs, org.hospes.hv.control.ServiceWork service) {
    this.domain = domain;
    this.id = id;
    this.cpu = cpu;
    this.vmcs = vmcs;
    this.service = service;
  }

  /** True for a service domain's vCPU (no processor; runs {@link #service()}). */
  public boolean isService() {
    return service != null;
  }

  /** The work a service vCPU runs, or null for a guest vCPU. */
  public org.hospes.hv.control.ServiceWork service() {
    return service;
  }

  /** True while an ioreq of this vCPU is in flight to a device model. */
  public boolean awaitingIo() {
    return ioWait;
  }

  public void setAwaitingIo(boolean waiting) {
    this.ioWait = waiting;
  }

  public Domain domain() {
    return domain;
  }

  /** True while in the wait-for-SIPI state (offline until a start-up IPI). */
  public boolean waitingForSipi() {
    return waitForSipi;
  }

  public void setWaitingForSipi(boolean waiting) {
    this.waitForSipi = waiting;
  }

  public int id() {
    return id;
  }

  /** The processor, or null for a service vCPU. */
  public Cpu cpu() {
    return cpu;
  }

  public Vmcs vmcs() {
    return vmcs;
  }

  public Counters counters() {
    return counters;
  }

  public VcpuState state() {
    return state;
  }

  public void setState(VcpuState state) {
    this.state = state;
  }

  /** Per-vCPU data owned by the scheduler in charge. */
  @SuppressWarnings("unchecked")
  public <T> T schedulerData() {
    return (T) schedulerData;
  }

  public void setSchedulerData(Object data) {
    this.schedulerData = data;
  }

  private boolean yieldRequested;
  /** The physical CPU it last ran on, -1 before it first ran (Xen's {@code v->processor}). */
  private int lastPcpu = -1;

  public int lastPcpu() {
    return lastPcpu;
  }

  public void setLastPcpu(int pcpu) {
    this.lastPcpu = pcpu;
  }

  private final org.hospes.hv.time.Runstate runstate = new org.hospes.hv.time.Runstate();
  /** Guest-virtual address of a second vcpu_time_info copy (register_vcpu_time_memory_area). */
  private int timeAreaVa;

  public org.hospes.hv.time.Runstate runstate() {
    return runstate;
  }

  public int timeAreaVa() {
    return timeAreaVa;
  }

  public void setTimeAreaVa(int va) {
    this.timeAreaVa = va;
  }
  /** Ports a SCHEDOP_poll waits on, or null. */
  private int[] pollPorts;
  private org.hospes.hv.time.Timer pollTimer;

  /** Starts a SCHEDOP_poll on {@code ports}. */
  public void startPoll(int[] ports) {
    this.pollPorts = ports;
  }

  public boolean pollingFor(int port) {
    if (pollPorts == null) {
      return false;
    }
    for (int p : pollPorts) {
      if (p == port) {
        return true;
      }
    }
    return false;
  }

  public void endPoll() {
    pollPorts = null;
    if (pollTimer != null) {
      pollTimer.cancel();
    }
  }

  /** The timer that ends a poll with a timeout (created on first use). */
  public org.hospes.hv.time.Timer pollTimer() {
    return pollTimer;
  }

  public void setPollTimer(org.hospes.hv.time.Timer timer) {
    this.pollTimer = timer;
  }

  /** SCHEDOP_yield: give up the rest of the timeslice. */
  public void requestYield() {
    yieldRequested = true;
  }

  /** True once, after a yield was requested. */
  public boolean takeYield() {
    boolean y = yieldRequested;
    yieldRequested = false;
    return y;
  }

  public int pendingVector() {
    return pendingVector;
  }

  public void setPendingVector(int vector) {
    this.pendingVector = vector;
  }

  @Override
  public String toString() {
    return domain.name() + ".v" + id;
  }

  /** How this vCPU runs its guest's real mode under shadow paging. */
  public org.hospes.hv.hvm.ShadowRealMode shadowRealMode() {
    if (shadowRealMode == null) {
      shadowRealMode = new org.hospes.hv.hvm.ShadowRealMode();
    }
    return shadowRealMode;
  }

  public boolean forcedEmulation() {
    return forcedEmulation;
  }

  public void setForcedEmulation(boolean stepping) {
    forcedEmulation = stepping;
  }
}
