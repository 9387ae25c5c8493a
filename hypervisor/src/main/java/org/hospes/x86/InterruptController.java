package org.hospes.x86;

/** The processor's view of an interrupt controller: the INTR line and the INTA cycle. */
public interface InterruptController {

  /** True while an unmasked interrupt request waits for the processor (INTR asserted). */
  boolean pending();

  /** Interrupt acknowledge: returns the vector to deliver and puts the request in service. */
  int acknowledge();
}
