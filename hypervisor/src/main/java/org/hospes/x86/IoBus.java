package org.hospes.x86;

import com.google.common.base.Preconditions;

/**
 * The 64 Ki I/O-port space. Unclaimed ports read as all ones and swallow writes, as on a PC.
 * Ports are claimed in ranges; overlapping claims are rejected.
 */
public final class IoBus {

  private final PortDevice[] devices = new PortDevice[0x10000];
  private long unclaimedAccesses;

  /** Claims ports {@code [first, first + count)} for {@code device}. */
  public void register(int first, int count, PortDevice device) {
    Preconditions.checkArgument(first >= 0 && count > 0 && first + count <= 0x10000,
        "port range 0x%s+%s out of bounds", Integer.toHexString(first), count);
    for (int p = first; p < first + count; p++) {
      Preconditions.checkArgument(devices[p] == null, "port 0x%s already claimed",
          Integer.toHexString(p));
    }
    for (int p = first; p < first + count; p++) {
      devices[p] = device;
    }
  }

  public int in(int port, int size) {
    PortDevice d = devices[port & 0xFFFF];
    if (d == null) {
      unclaimedAccesses++;
      return size == 1 ? 0xFF : size == 2 ? 0xFFFF : -1;
    }
    return d.in(port & 0xFFFF, size);
  }

  public void out(int port, int size, int value) {
    PortDevice d = devices[port & 0xFFFF];
    if (d == null) {
      unclaimedAccesses++;
      return;
    }
    d.out(port & 0xFFFF, size, value);
  }

  /** True if a device claims {@code port}. */
  public boolean claims(int port) {
    return devices[port & 0xFFFF] != null;
  }

  /** Accesses that hit no device (a guest probing for hardware, or a bug). */
  public long unclaimedAccesses() {
    return unclaimedAccesses;
  }
}
