package org.hospes.x86;

/**
 * What the processor charges to its own clock as things happen, in cycles: one memory
 * reference of a page walk (guest paging structures and EPT entries alike), the delivery of an
 * exception, of an external interrupt and of a software interrupt (INT n, INT3, INTO) through
 * the IDT or IVT, one port access the processor makes on its own I/O bus (an access that exits
 * is the hypervisor's to charge), one memory access that goes to a device instead of RAM, and
 * the two instructions a delay loop is made of, RDTSC and PAUSE, beyond their one cycle each (an
 * RDTSC or PAUSE that exits or faults is not charged: the exit or the fault is). Without these
 * two, a kernel's {@code udelay} spins for many more instructions than on a real processor,
 * since it waits for the TSC to advance by a number of cycles.
 * The cost model above the processor ({@code org.hospes.hv.cost.CostModel}) supplies them; the
 * processor only adds them up, so the TSC a guest reads is the clock its costs are charged to.
 */
public record CpuCosts(long walkReference, long exception, long externalInterrupt,
    long softwareInterrupt, long portAccess, long mmioAccess, long rdtsc, long pause) {

  /** Nothing charged beyond one cycle per instruction. */
  public static final CpuCosts FREE = new CpuCosts(0, 0, 0, 0, 0, 0, 0, 0);

  public CpuCosts {
    if (walkReference < 0 || exception < 0 || externalInterrupt < 0 || softwareInterrupt < 0
        || portAccess < 0 || mmioAccess < 0 || rdtsc < 0 || pause < 0) {
      throw new IllegalArgumentException(String.format(
          "costs must not be negative: walk %d, exception %d, interrupt %d, INT n %d, port %d,"
              + " mmio %d, rdtsc %d, pause %d", walkReference, exception, externalInterrupt,
          softwareInterrupt, portAccess, mmioAccess, rdtsc, pause));
    }
  }
}
