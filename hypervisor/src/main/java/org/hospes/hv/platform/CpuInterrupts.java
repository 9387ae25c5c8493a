package org.hospes.hv.platform;

import org.hospes.x86.InterruptController;

/**
 * What reaches one processor's interrupt input on a PC: the interrupts its local APIC accepted
 * (timer, IPIs), and on the bootstrap processor the 8259A pair's INTR, which goes straight to
 * the core as in virtual-wire mode (LINT0 is not modelled; {@code pic} is null on the
 * application processors). The APIC's own interrupts come first.
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
    return lapic.pendingVector() >= 0 || pic != null && pic.pending();
  }

  @Override
  public int acknowledge() {
    return lapic.pendingVector() >= 0 || pic == null ? lapic.acknowledge() : pic.acknowledge();
  }
}
