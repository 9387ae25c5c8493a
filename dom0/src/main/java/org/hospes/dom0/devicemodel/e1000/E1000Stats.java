package org.hospes.dom0.devicemodel.e1000;

/**
 * What the device model counted for one e1000 (dom0's view, not the card's statistics
 * registers): register accesses through the memory BAR and the I/O window, interrupts raised
 * (INTA# going high), frames and bytes each way, frames the address filter refused, frames
 * dropped (receiver off, link down, too long, no room in the packet buffer), transmit packets
 * lost (too long, or a buffer outside the domain's memory), DMA failures, ring errors (a head
 * or tail past the ring, a reserved descriptor type) and accesses to registers the card lacks.
 */
public record E1000Stats(long mmioReads, long mmioWrites, long ioAccesses, long interrupts,
    long txFrames, long txBytes, long rxFrames, long rxBytes, long rxFiltered, long rxDropped,
    long txDropped, long dmaErrors, long ringErrors, long unknownRegisters) {

  /** Register accesses by MMIO, both ways. */
  public long mmioAccesses() {
    return mmioReads + mmioWrites;
  }
}
