package org.hospes.hv.cost;

import java.util.Objects;
import org.hospes.x86.CpuCosts;
import org.hospes.x86.vmx.ExitReason;

/**
 * A cost model that answers every question with another model's answer, for a model that
 * changes a few costs and keeps the rest: extend it and override only what differs. Writing
 * such a model against {@link CostModel} directly is a trap, since the interface's later
 * methods have defaults (0, for older plugins): a model that forgets to pass one on charges
 * nothing for it instead of its base's cost, with no compile error. This class declares every
 * method of the interface (a test holds it to that), so a new one cannot be missed here.
 */
public abstract class ForwardingCostModel implements CostModel {
  private final CostModel base;

  protected ForwardingCostModel(CostModel base) {
    this.base = Objects.requireNonNull(base, "base cost model");
  }

  /** The model answering what this one does not change. */
  protected final CostModel base() {
    return base;
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
    return base.vmExit(reason);
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
  public long realModeEmulation() {
    return base.realModeEmulation();
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

  @Override
  public CpuCosts cpuCosts() {
    // Built from this model's own answers (not the base's), so that an override of, say,
    // pageWalk reaches the processor too.
    return CostModel.super.cpuCosts();
  }
}
