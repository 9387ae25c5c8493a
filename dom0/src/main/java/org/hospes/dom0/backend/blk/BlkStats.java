package org.hospes.dom0.backend.blk;

/** What one block backend did: plain counters, read by tests, --stats and the benchmark. */
public final class BlkStats {
  public long events;
  public long requests;
  public long reads;
  public long writes;
  public long flushes;
  public long discards;
  public long indirectRequests;
  public long segments;
  public long bytesRead;
  public long bytesWritten;
  /** Requests answered BLKIF_RSP_ERROR. */
  public long errors;
  /** Requests answered BLKIF_RSP_EOPNOTSUPP. */
  public long notSupported;
  public long grantMaps;
  public long grantUnmaps;
  /** Segment or indirect pages found already mapped among the persistent grants. */
  public long persistentHits;
  /** Events sent to the frontend. */
  public long notifications;
  /** Modelled cycles the backend spent. */
  public long cycles;
  /** Times dom0's slice ended between two requests and the rest waited for its next slice. */
  public long preemptions;

  /** Adds {@code o} into this (a device's total over several connections). */
  public void add(BlkStats o) {
    events += o.events;
    requests += o.requests;
    reads += o.reads;
    writes += o.writes;
    flushes += o.flushes;
    discards += o.discards;
    indirectRequests += o.indirectRequests;
    segments += o.segments;
    bytesRead += o.bytesRead;
    bytesWritten += o.bytesWritten;
    errors += o.errors;
    notSupported += o.notSupported;
    grantMaps += o.grantMaps;
    grantUnmaps += o.grantUnmaps;
    persistentHits += o.persistentHits;
    notifications += o.notifications;
    cycles += o.cycles;
    preemptions += o.preemptions;
  }
}
