package org.hospes.dom0.devicemodel.ide;

/**
 * What one emulated IDE channel did, for studies and tests: commands, sectors moved by PIO and
 * by bus-master DMA, the data-port accesses PIO cost, flushes and errors (commands that ended
 * with ERR set, by their cause).
 */
public final class IdeStats {
  public long commands;
  public long pioSectorsRead;
  public long pioSectorsWritten;
  public long dmaSectorsRead;
  public long dmaSectorsWritten;
  /** Data-register accesses (each a port ioreq on an HVM guest). */
  public long dataAccesses;
  /** Bus-master transfers started (one per DMA command). */
  public long dmaTransfers;
  public long prdEntries;
  public long flushes;
  /** Commands ended with ABRT: unknown opcode, bad parameter, read-only image, wrong direction. */
  public long aborted;
  /** Commands ended with IDNF: an address beyond the disk's capacity. */
  public long idNotFound;
  /** Image read or write failures (UNC or ABRT to the guest). */
  public long mediaErrors;
  /** Bus-master transfers that touched memory the domain does not have (BM status Error). */
  public long dmaFaults;
  /**
   * DMA commands whose PRD table described less than the transfer: nothing moved, and the
   * command ended without an interrupt (the guest's driver times out).
   */
  public long shortTables;

  public void add(IdeStats o) {
    commands += o.commands;
    pioSectorsRead += o.pioSectorsRead;
    pioSectorsWritten += o.pioSectorsWritten;
    dmaSectorsRead += o.dmaSectorsRead;
    dmaSectorsWritten += o.dmaSectorsWritten;
    dataAccesses += o.dataAccesses;
    dmaTransfers += o.dmaTransfers;
    prdEntries += o.prdEntries;
    flushes += o.flushes;
    aborted += o.aborted;
    idNotFound += o.idNotFound;
    mediaErrors += o.mediaErrors;
    dmaFaults += o.dmaFaults;
    shortTables += o.shortTables;
  }

  @Override
  public String toString() {
    return String.format("commands=%d pio(r/w sectors)=%d/%d dma(r/w sectors)=%d/%d"
        + " data-accesses=%d dma-transfers=%d prds=%d flushes=%d aborted=%d idnf=%d"
        + " media-errors=%d dma-faults=%d short-tables=%d", commands, pioSectorsRead, pioSectorsWritten,
        dmaSectorsRead, dmaSectorsWritten, dataAccesses, dmaTransfers, prdEntries, flushes,
        aborted, idNotFound, mediaErrors, dmaFaults, shortTables);
  }
}
