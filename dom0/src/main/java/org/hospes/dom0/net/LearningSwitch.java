package org.hospes.dom0.net;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * A learning L2 switch (IEEE 802.1D's transparent bridge, as Linux's bridge behaves with STP
 * off): it learns each source MAC address on the port it came in by, forwards a frame for a known
 * unicast address to that port only, floods broadcast, multicast and unknown unicast to every
 * other port, and never sends a frame back out of the port it came in by. An address not seen
 * for {@link #AGEING_NANOS} of virtual time is forgotten (Linux's default ageing time, 300 s).
 *
 * <p>The {@code bridge} topology is this switch; {@code isolated} is the same switch refusing
 * uplinks, so only guests are on it; {@code nat} puts the NAT gateway on it as an uplink.
 *
 * <p>The forwarding path allocates nothing: the address table is open-addressed over primitive
 * arrays ({@link #TABLE_SIZE} addresses; when full, new addresses are not learned and their
 * frames are flooded, which is still correct).
 */
public final class LearningSwitch implements Network {
  public static final long AGEING_NANOS = 300_000_000_000L;
  public static final int TABLE_SIZE = 1024;
  private static final long EMPTY = -1;

  /** Forwarding counters. */
  public static final class Stats {
    public long frames;
    public long forwarded;
    public long flooded;
    /** Frames whose destination is on the port they came from (filtered, as a bridge does). */
    public long filtered;
    /** Runt frames (shorter than an Ethernet header). */
    public long dropped;
  }

  private final String name;
  private final boolean uplinksAllowed;
  private final LongSupplier nanos;
  private final List<SwitchPort> ports = new ArrayList<>();
  private final List<SwitchPort> uplinks = new ArrayList<>();
  private SwitchPort[] portArray = new SwitchPort[0];
  private final long[] macs = new long[TABLE_SIZE * 2];
  private final int[] macPort = new int[TABLE_SIZE * 2];
  private final long[] macSeen = new long[TABLE_SIZE * 2];
  private int learned;
  private final Stats stats = new Stats();

  public LearningSwitch(String name, boolean uplinksAllowed, LongSupplier nanos) {
    this.name = name;
    this.uplinksAllowed = uplinksAllowed;
    this.nanos = nanos;
    java.util.Arrays.fill(macs, EMPTY);
  }

  @Override
  public String name() {
    return name;
  }

  public Stats stats() {
    return stats;
  }

  @Override
  public void connect(SwitchPort port) {
    if (ports.contains(port)) {
      throw new IllegalArgumentException(port.name() + " is already on " + name);
    }
    ports.add(port);
    portArray = ports.toArray(new SwitchPort[0]);
    port.attach(this::send);
  }

  /**
   * Connects a port that is not a guest (a gateway, a host's network): refused by an isolated
   * network, whose frames never leave its guests.
   */
  public void connectUplink(SwitchPort port) {
    if (!uplinksAllowed) {
      throw new IllegalArgumentException(name + " is isolated: only guests may connect to it");
    }
    connect(port);
    uplinks.add(port);
  }

  public List<SwitchPort> uplinks() {
    return List.copyOf(uplinks);
  }

  @Override
  public void disconnect(SwitchPort port) {
    int index = ports.indexOf(port);
    if (index < 0) {
      return;
    }
    port.attach(null);
    ports.remove(index);
    uplinks.remove(port);
    portArray = ports.toArray(new SwitchPort[0]);
    // Port numbers above the removed one shift down: relearn from scratch (cheap, and what a
    // bridge does when its topology changes).
    java.util.Arrays.fill(macs, EMPTY);
    learned = 0;
  }

  public List<SwitchPort> ports() {
    return List.copyOf(ports);
  }

  /** Addresses learned and not aged out. */
  public int addresses() {
    long now = nanos.getAsLong();
    int n = 0;
    for (int i = 0; i < macs.length; i++) {
      if (macs[i] != EMPTY && now - macSeen[i] <= AGEING_NANOS) {
        n++;
      }
    }
    return n;
  }

  /** The port address {@code mac} was learned on, or null (unknown or aged out). */
  public SwitchPort portOf(long mac) {
    int slot = find(mac);
    if (slot < 0 || nanos.getAsLong() - macSeen[slot] > AGEING_NANOS) {
      return null;
    }
    return portArray[macPort[slot]];
  }

  private void send(SwitchPort from, byte[] f, int off, int len) {
    stats.frames++;
    SwitchPort[] pa = portArray;
    int in = -1;
    for (int i = 0; i < pa.length; i++) {
      if (pa[i] == from) {
        in = i;
        break;
      }
    }
    if (in < 0 || len < 14) {
      stats.dropped++;
      return;
    }
    long now = nanos.getAsLong();
    long src = mac(f, off + 6);
    if ((f[off + 6] & 1) == 0) {
      learn(src, in, now);
    }
    if ((f[off] & 1) == 0) {
      int slot = find(mac(f, off));
      if (slot >= 0 && now - macSeen[slot] <= AGEING_NANOS) {
        int out = macPort[slot];
        if (out == in) {
          stats.filtered++;
        } else {
          stats.forwarded++;
          pa[out].deliver(f, off, len);
        }
        return;
      }
    }
    stats.flooded++;
    for (int i = 0; i < pa.length; i++) {
      if (i != in) {
        pa[i].deliver(f, off, len);
      }
    }
  }

  /** The 48-bit address at {@code f[off..off+6)} as a long. */
  public static long mac(byte[] f, int off) {
    long m = 0;
    for (int i = 0; i < 6; i++) {
      m = m << 8 | (f[off + i] & 0xFF);
    }
    return m;
  }

  private int hash(long mac) {
    long h = mac * 0x9E3779B97F4A7C15L;
    return (int) (h >>> 40) & (macs.length - 1);
  }

  private int find(long mac) {
    int i = hash(mac);
    for (int n = 0; n < macs.length; n++) {
      long m = macs[i];
      if (m == EMPTY) {
        return -1;
      }
      if (m == mac) {
        return i;
      }
      i = (i + 1) & (macs.length - 1);
    }
    return -1;
  }

  private void learn(long mac, int port, long now) {
    int i = hash(mac);
    for (int n = 0; n < macs.length; n++) {
      long m = macs[i];
      if (m == mac) {
        macPort[i] = port;
        macSeen[i] = now;
        return;
      }
      if (m == EMPTY) {
        if (learned >= TABLE_SIZE) {
          reclaimAged(now);
          if (learned >= TABLE_SIZE) {
            return;
          }
          learn(mac, port, now);
          return;
        }
        macs[i] = mac;
        macPort[i] = port;
        macSeen[i] = now;
        learned++;
        return;
      }
      i = (i + 1) & (macs.length - 1);
    }
  }

  /** Drops aged entries and rebuilds the table (open addressing cannot just blank a slot). */
  private void reclaimAged(long now) {
    long[] m = macs.clone();
    int[] p = macPort.clone();
    long[] s = macSeen.clone();
    java.util.Arrays.fill(macs, EMPTY);
    learned = 0;
    for (int i = 0; i < m.length; i++) {
      if (m[i] != EMPTY && now - s[i] <= AGEING_NANOS) {
        learn(m[i], p[i], s[i]);
      }
    }
  }
}
