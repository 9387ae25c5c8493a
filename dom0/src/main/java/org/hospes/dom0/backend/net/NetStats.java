package org.hospes.dom0.backend.net;

/** Counters of one vif (netback), summed over its connections. */
public final class NetStats {
  /** Packets the frontend sent that went to the switch, and their bytes. */
  public long txPackets;
  public long txBytes;
  /** Transmit slots answered NETIF_RSP_ERROR (bad grant, bad size, too many slots, GSO). */
  public long txErrors;
  /** Transmit packets dropped after an OKAY answer (a blank checksum that cannot be filled). */
  public long txDropped;
  /** Blank checksums netback filled in (NETTXF_csum_blank). */
  public long csumFilled;
  /** Multicast add/delete requests (accepted; the switch floods multicast anyway). */
  public long mcastRequests;
  /** Frames delivered into the frontend's receive buffers, and their bytes. */
  public long rxPackets;
  public long rxBytes;
  /** Receive slots answered NETIF_RSP_ERROR (a bad buffer grant). */
  public long rxErrors;
  /** Frames dropped on receive: queue full, too big without feature-sg, or not connected. */
  public long rxDropped;
  public long grantCopies;
  public long events;
  public long notifications;
  public long cycles;
  /** Times dom0's slice ended between two packets or frames and the rest waited for its next. */
  public long preemptions;

  public void add(NetStats o) {
    txPackets += o.txPackets;
    txBytes += o.txBytes;
    txErrors += o.txErrors;
    txDropped += o.txDropped;
    csumFilled += o.csumFilled;
    mcastRequests += o.mcastRequests;
    rxPackets += o.rxPackets;
    rxBytes += o.rxBytes;
    rxErrors += o.rxErrors;
    rxDropped += o.rxDropped;
    grantCopies += o.grantCopies;
    events += o.events;
    notifications += o.notifications;
    cycles += o.cycles;
    preemptions += o.preemptions;
  }
}
