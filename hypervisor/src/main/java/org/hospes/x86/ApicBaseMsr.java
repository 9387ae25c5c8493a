package org.hospes.x86;

/**
 * The processor's link to its local APIC: the IA32_APIC_BASE MSR (0x1B) and CPUID.1:EDX.APIC
 * (bit 9), which follows the MSR's global enable bit (SDM vol. 3, 11.4.3: with the APIC
 * globally disabled the processor looks like one without an APIC). A processor without a link
 * raises #GP(0) for the MSR and clears the CPUID bit.
 */
public interface ApicBaseMsr {
  int MSR = 0x1B;
  /** Bit 8: this is the bootstrap processor. */
  long BSP = 1L << 8;
  /** Bit 10: x2APIC mode (reserved here: CPUID.1:ECX.x2APIC is clear). */
  long EXTD = 1L << 10;
  /** Bit 11: APIC global enable. */
  long ENABLE = 1L << 11;

  /** The MSR's value. */
  long readApicBase();

  /** Writes the MSR; false when the value is refused (the processor raises #GP(0)). */
  boolean writeApicBase(long value);
}
