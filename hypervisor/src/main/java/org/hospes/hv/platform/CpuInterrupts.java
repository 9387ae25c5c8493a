package org.hospes.hv.platform;

import org.hospes.x86.InterruptController;

/**
 * What reaches one processor's interrupt input on a PC: the interrupts its local APIC accepted
 * (timer, self-IPIs), and the 8259A pair's INTR, which goes straight to the core as in
 * virtual-wire mode (LINT0 is not modelled). The APIC's own interrupts come first.
 */
public final class CpuInterrupts implements InterruptController {
  private final LocalApic lapic;
  private final Pic8259Pair pic;

  public CpuInterrupts(LocalApic lapic, Pic8259Pair pic) {
    this.lapic = lapic;
    this.pic = pic;
  }

  @Override
  public boolean pending() {
    return lapic.pendingVector() >= 0 || pic.pending();
  }

  @Override
  public int acknowledge() {
    return lapic.pendingVector() >= 0 ? lapic.acknowledge() : pic.acknowledge();
  }
}
