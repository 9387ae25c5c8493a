package org.example.hospes;

import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.cost.ForwardingCostModel;
import org.hospes.x86.vmx.ExitReason;

/**
 * Hospes's default cost model with Haswell's VM-exit round trip: 512 cycles (Bugnion, Nieh and
 * Tsafrir 2017, table 4.3, after Agesen et al., ATC'12) against the default's 500. Everything
 * else is the default model's ({@link ForwardingCostModel} passes every other question on), so
 * a run under both models differs by exactly 12 cycles per exit.
 */
public final class HaswellCostModel extends ForwardingCostModel {
  public static final String NAME = "haswell";
  public static final long EXIT_ROUND_TRIP = 512;

  public HaswellCostModel() {
    super(new DefaultCostModel());
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public long vmExit(ExitReason reason) {
    return EXIT_ROUND_TRIP;
  }
}
