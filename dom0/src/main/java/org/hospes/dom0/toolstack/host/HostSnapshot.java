package org.hospes.dom0.toolstack.host;

import java.util.List;

/**
 * The host at one moment: its virtual clock, the daemon's monotonic wall clock, and every
 * domain, Domain-0 first.
 */
public record HostSnapshot(long virtualCycles, long wallNanos, String scheduler,
    List<DomainInfo> domains) {}
