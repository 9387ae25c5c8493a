package org.hospes.hv.platform;

import org.hospes.x86.InterruptController;

/**
 * What reaches one processor's interrupt input on a PC: the interrupts its local APIC accepted
 * (timer, IPIs), and on the bootstrap processor the 8259A pair's INTR, which goes straight to
 * the core as in virtual-wire mode (LINT0 is not modelled; {@code pic} is null on the
 * application processors).
 *
 * <p>Which of the two goes first when both are pending depends on whose machine this is. An
 * HVM vCPU's is Xen's: hvm_vcpu_has_pending_irq asks the virtual PIC (vpic int_output, ExtINT
 * through LINT0) before the virtual local APIC, and acknowledges the source it named. The bare
 * machine's is QEMU's, which its system tests are checked against: cpu_get_pic_interrupt takes
 * the APIC's vector first and reads the PIC only when the APIC has none.
 */
public final class CpuInterrupts implements InterruptController {
  /** The order in which the two sources are asked. */
  public enum Order {
    /** Xen's hvm_vcpu_has_pending_irq: the PIC's INTR, then the local APIC. */
    PIC_FIRST,
    /** QEMU's cpu_get_pic_interrupt: the local APIC, then the PIC. */
    APIC_FIRST
  }

  private final LocalApic lapic;
  private final Pic8259Pair pic;
  private final boolean picFirst;

  public CpuInterrupts(LocalApic lapic, Pic8259Pair pic, Order order) {
    this.lapic = lapic;
    this.pic = pic;
    this.picFirst = order == Order.PIC_FIRST;
  }

  @Override
  public boolean pending() {
    return lapic.pendingVector() >= 0 || pic != null && pic.pending();
  }

  @Override
  public int acknowledge() {
    if (pic == null) {
      return lapic.acknowledge();
    }
    if (picFirst) {
      return pic.pending() ? pic.acknowledge() : lapic.acknowledge();
    }
    return lapic.pendingVector() >= 0 ? lapic.acknowledge() : pic.acknowledge();
  }
}
