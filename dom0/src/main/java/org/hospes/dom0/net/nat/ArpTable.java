package org.hospes.dom0.net.nat;

import java.util.HashMap;
import java.util.Map;

/**
 * What the gateway knows of guests' MAC addresses, learned from their ARP packets and IPv4
 * frames and from DHCP. Only host addresses of the subnet are kept (the caller checks), so a
 * guest spraying addresses can fill at most the subnet's size; a newer sighting replaces an
 * older one, as a guest that changes its MAC expects. Entries do not age: the subnet is small
 * and the table is the gateway's only way to reach a guest.
 */
final class ArpTable {

  private final Map<Integer, Long> macs = new HashMap<>();

  void learn(int ip, long mac) {
    Long old = macs.get(ip);
    if (old == null || old != mac) {
      macs.put(ip, mac);
    }
  }

  /** The MAC for {@code ip}, or -1 if unknown. */
  long lookup(int ip) {
    Long m = macs.get(ip);
    return m == null ? -1 : m;
  }

  int size() {
    return macs.size();
  }
}
