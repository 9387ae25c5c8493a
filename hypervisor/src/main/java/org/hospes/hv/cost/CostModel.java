package org.hospes.hv.cost;

import org.hospes.x86.CpuCosts;
import org.hospes.x86.vmx.ExitReason;

/**
 * Turns raw events into modelled cycles. Studies report both the counts and these cycles. A
 * plugin (bound by name through Guice) may replace the default.
 */
public interface CostModel {

  String name();

  /** Cycles for {@code n} guest instructions executed without exits. */
  long instructions(long n);

  /**
   * Cycles for one TLB miss resolved by a page walk of {@code references} memory references.
   * The processor charges {@code pageWalk(1)} per reference as the walk happens, so the model
   * is linear in the references.
   */
  long pageWalk(int references);

  /** Round-trip cycles of one VM exit and entry for {@code reason}, handling excluded. */
  long vmExit(ExitReason reason);

  /** Cycles the hypervisor spends handling one exit of {@code reason} (beyond the round trip). */
  long exitHandling(ExitReason reason);

  /** Cycles of one I/O request round trip to a device model in dom0. */
  long ioreq();

  /** Cycles of one shadow-page-table fault handled by the hypervisor. */
  long shadowFault();

  /**
   * Cycles of one real-mode instruction run by the hypervisor's emulator under shadow paging
   * (fetch and decode from guest memory, execute against the saved state, write back), beyond
   * the instruction's own cycle. A default so that older plugins keep compiling.
   */
  default long realModeEmulation() {
    return 2_000;
  }

  /** Cycles of one hypercall (entry, dispatch, return), its work excluded. */
  long hypercall();

  /**
   * Cycles of one grant map or unmap beyond the hypercall itself (entry check, pin, P2M/EPT
   * update, translation flush). A default so that older plugins keep compiling.
   */
  default long grantMap() {
    return 2_000;
  }

  /** Cycles of one grant copy of {@code bytes} beyond the hypercall itself. */
  default long grantCopy(int bytes) {
    return 400 + bytes / 8;
  }

  /**
   * Cycles to deliver one exception (fault or trap) through the IDT and return from it, the
   * handler's own instructions excluded. The same in every mode: a guest's exception that does
   * not exit costs what it costs on the bare machine. Default 0 for older plugins.
   */
  default long exceptionDelivery() {
    return 0;
  }

  /** Cycles to deliver one external interrupt and return from it (handler excluded). */
  default long interruptDelivery() {
    return 0;
  }

  /** Cycles of one software interrupt (INT n) round trip: the system-call gate. */
  default long softwareInterrupt() {
    return 0;
  }

  /**
   * Cycles of one port access the processor completes itself (the bare machine's devices), for
   * a device that does not say how long its accesses take, or a port no device claims.
   */
  default long portAccess() {
    return 0;
  }

  /**
   * Cycles of one port access the processor completes itself to a device that says one access
   * takes {@code nanos} nanoseconds on its bus ({@link org.hospes.x86.PortDevice#accessNanos}):
   * the model's cycles for that time. A default so that older plugins keep compiling: the flat
   * {@link #portAccess()}, as before devices said.
   */
  default long devicePortAccess(long nanos) {
    return portAccess();
  }

  /** Cycles of one memory-mapped device access the processor completes itself. */
  default long mmioAccess() {
    return 0;
  }

  /**
   * Cycles of one RDTSC beyond the one every instruction costs. A delay loop ({@code udelay})
   * spins until the TSC has advanced by the cycles it was asked for, so this sets how many
   * instructions a delay takes. Default 0 for older plugins.
   */
  default long rdtsc() {
    return 0;
  }

  /** Cycles of one PAUSE (the spin-wait hint's delay) beyond its one cycle. Default 0. */
  default long pause() {
    return 0;
  }

  /** The costs the processor charges to its clock as they happen, from this model. */
  default CpuCosts cpuCosts() {
    return new CpuCosts(pageWalk(1), exceptionDelivery(), interruptDelivery(),
        softwareInterrupt(), portAccess(), mmioAccess(), rdtsc(), pause());
  }
}
