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
public final class PrescottCostModel extends ForwardingCostModel {
  public static final String NAME = "prescott";
  /** Prescott's VM exit plus VM entry, in cycles. */
  public static final long EXIT_ROUND_TRIP = 1_926;

  public PrescottCostModel() {
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
