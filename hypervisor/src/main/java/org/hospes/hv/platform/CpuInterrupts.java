package org.hospes.hv.platform;

import java.util.function.BooleanSupplier;
import org.hospes.x86.InterruptController;

/**
 * What reaches one processor's interrupt input on a PC: the interrupts its local APIC accepted
 * (timer, IPIs), and the 8259A pair's INTR where it is wired to this processor. On the bare
 * machine that is the bootstrap processor, always ({@code pic} is null on the others). An HVM
 * vCPU takes it only while Xen's vlapic_accept_pic_intr says so ({@code picWired}: the vCPU is
 * the domain's i8259 target and its LINT0 or the I/O APIC's pin 0 routes ExtINT to it).
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
  private final BooleanSupplier picWired;

  /** The bare machine's wiring: {@code pic}'s INTR always reaches this processor. */
  public CpuInterrupts(LocalApic lapic, Pic8259Pair pic, Order order) {
    this(lapic, pic, order, () -> true);
  }

  /**
   * {@code pic}'s INTR reaches this processor while {@code picWired} says so, asked each time
   * the sources are (Xen asks vlapic_accept_pic_intr at every hvm_vcpu_has_pending_irq).
   */
  public CpuInterrupts(LocalApic lapic, Pic8259Pair pic, Order order, BooleanSupplier picWired) {
    this.lapic = lapic;
    this.pic = pic;
    this.picFirst = order == Order.PIC_FIRST;
    this.picWired = picWired;
  }

  /** The PIC has an interrupt for this processor: it is wired here and its INTR is up. */
  private boolean picPending() {
    return pic != null && picWired.getAsBoolean() && pic.pending();
  }

  @Override
  public boolean pending() {
    return lapic.pendingVector() >= 0 || picPending();
  }

  /**
   * Xen's hvm_vcpu_has_pending_irq for the two sources here (PIC_FIRST): the PIC's INTR where
   * it is wired, else the local APIC's vector as vlapic_has_pending_irq finds it, which an
   * in-service vector may hold back but the TPR does not ({@link #tprBlocked} is that check).
   * So an interrupt the TPR alone masks is requested: with EFLAGS.IF clear it asks for the
   * interrupt window, as in Xen, where {@link #pending} (the processor's view) says nothing.
   */
  public boolean requested() {
    return picPending() || lapic.requestedVector() >= 0;
  }

  /**
   * hvm_intblk_tpr: the source {@link #requested} names is the local APIC, and the TPR masks its
   * vector. Xen then only sets the TPR threshold (a processor with a TPR shadow; Hospes models
   * none, so the guest's TPR write exits and the next entry looks again): no injection and no
   * window.
   */
  public boolean tprBlocked() {
    if (picPending()) {
      return false;
    }
    int v = lapic.requestedVector();
    return v >= 0 && lapic.tprMasks(v);
  }

  @Override
  public int acknowledge() {
    if (pic == null || !picWired.getAsBoolean()) {
      return lapic.acknowledge();
    }
    if (picFirst) {
      return pic.pending() ? pic.acknowledge() : lapic.acknowledge();
    }
    return lapic.pendingVector() >= 0 ? lapic.acknowledge() : pic.acknowledge();
  }
}
