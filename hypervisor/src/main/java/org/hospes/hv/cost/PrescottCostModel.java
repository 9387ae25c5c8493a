package org.hospes.hv.cost;

import org.hospes.x86.vmx.ExitReason;

/**
 * The default model with the VM-exit round trip of VT-x's first generation: 1,926 cycles on
 * Prescott (Pentium 4), against the 500 of Sandy Bridge to Broadwell that {@link
 * DefaultCostModel} charges (Bugnion/Nieh/Tsafrir 2017, table 4.3, after Agesen et al. ATC'12;
 * shared/reference/published-figures.md section 4). Everything else is the default model's, so
 * a study with both models shows what exit latency alone does to each mode: native and PVH runs
 * take no exits and come out the same.
 */
public final class PrescottCostModel implements CostModel {
  public static final String NAME = "prescott";
  /** Prescott's VM exit plus VM entry, in cycles. */
  public static final long EXIT_ROUND_TRIP = 1_926;

  private final DefaultCostModel base = new DefaultCostModel();

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public long instructions(long n) {
    return base.instructions(n);
  }

  @Override
  public long pageWalk(int references) {
    return base.pageWalk(references);
  }

  @Override
  public long vmExit(ExitReason reason) {
    return EXIT_ROUND_TRIP;
  }

  @Override
  public long exitHandling(ExitReason reason) {
    return base.exitHandling(reason);
  }

  @Override
  public long ioreq() {
    return base.ioreq();
  }

  @Override
  public long shadowFault() {
    return base.shadowFault();
  }

  @Override
  public long hypercall() {
    return base.hypercall();
  }

  @Override
  public long grantMap() {
    return base.grantMap();
  }

  @Override
  public long grantCopy(int bytes) {
    return base.grantCopy(bytes);
  }

  @Override
  public long exceptionDelivery() {
    return base.exceptionDelivery();
  }

  @Override
  public long interruptDelivery() {
    return base.interruptDelivery();
  }

  @Override
  public long softwareInterrupt() {
    return base.softwareInterrupt();
  }

  @Override
  public long portAccess() {
    return base.portAccess();
  }

  @Override
  public long devicePortAccess(long nanos) {
    return base.devicePortAccess(nanos);
  }

  @Override
  public long mmioAccess() {
    return base.mmioAccess();
  }

  @Override
  public long rdtsc() {
    return base.rdtsc();
  }

  @Override
  public long pause() {
    return base.pause();
  }
}
