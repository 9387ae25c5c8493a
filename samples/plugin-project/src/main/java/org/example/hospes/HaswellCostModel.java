package org.example.hospes;

import org.hospes.hv.cost.CostModel;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.x86.vmx.ExitReason;

/**
 * Hospes's default cost model with Haswell's VM-exit round trip: 512 cycles (Bugnion, Nieh and
 * Tsafrir 2017, table 4.3, after Agesen et al., ATC'12) against the default's 500. Everything
 * else is the default model's, so a run under both models differs by exactly 12 cycles per exit.
 */
public final class HaswellCostModel implements CostModel {
  public static final String NAME = "haswell";
  public static final long EXIT_ROUND_TRIP = 512;

  private final CostModel base = new DefaultCostModel();

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public long vmExit(ExitReason reason) {
    return EXIT_ROUND_TRIP;
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
}
