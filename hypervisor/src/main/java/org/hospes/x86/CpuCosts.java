package org.hospes.x86;

/**
 * What the processor charges to its own clock as things happen, in cycles: one memory
 * reference of a page walk (guest paging structures and EPT entries alike), the delivery of an
 * exception, of an external interrupt and of a software interrupt (INT n, INT3, INTO) through
 * the IDT or IVT, one port access the processor makes on its own I/O bus (an access that exits
 * is the hypervisor's to charge) and one memory access that goes to a device instead of RAM.
 * The cost model above the processor ({@code org.hospes.hv.cost.CostModel}) supplies them; the
 * processor only adds them up, so the TSC a guest reads is the clock its costs are charged to.
 */
public record CpuCosts(long walkReference, long exception, long externalInterrupt,
    long softwareInterrupt, long portAccess, long mmioAccess) {

  /** Nothing charged beyond one cycle per instruction. */
  public static final CpuCosts FREE = new CpuCosts(0, 0, 0, 0, 0, 0);

  public CpuCosts {
    if (walkReference < 0 || exception < 0 || externalInterrupt < 0 || softwareInterrupt < 0
        || portAccess < 0 || mmioAccess < 0) {
      throw new IllegalArgumentException(String.format(
          "costs must not be negative: walk %d, exception %d, interrupt %d, INT n %d, port %d,"
              + " mmio %d", walkReference, exception, externalInterrupt, softwareInterrupt,
          portAccess, mmioAccess));
    }
  }
}
