package org.hospes.hv.cost;

import org.hospes.x86.vmx.ExitReason;

/**
 * Turns raw events into modelled cycles. Studies report both the counts and these cycles. A
 * plugin (bound by name through Guice) may replace the default.
 */
public interface CostModel {

  String name();

  /** Cycles for {@code n} guest instructions executed without exits. */
  long instructions(long n);

  /** Cycles for one TLB miss resolved by a page walk of {@code references} memory references. */
  long pageWalk(int references);

  /** Round-trip cycles of one VM exit and entry for {@code reason}, handling excluded. */
  long vmExit(ExitReason reason);

  /** Cycles the hypervisor spends handling one exit of {@code reason} (beyond the round trip). */
  long exitHandling(ExitReason reason);

  /** Cycles of one I/O request round trip to a device model in dom0. */
  long ioreq();

  /** Cycles of one shadow-page-table fault handled by the hypervisor. */
  long shadowFault();

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
}
