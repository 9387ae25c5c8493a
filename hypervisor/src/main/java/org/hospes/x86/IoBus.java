package org.hospes.x86;

import com.google.common.base.Preconditions;

/**
 * The 64 Ki I/O-port space. Unclaimed ports read as all ones and swallow writes, as on a PC.
 * Ports are claimed in ranges; overlapping claims are rejected.
 */
public final class IoBus {

  /**
   * Devices by port, in 256 slices of 256 ports, a slice made when a port in it is claimed: a
   * vCPU whose domain claims no port (PVH) pays 1 KiB for the table instead of 256 KiB.
   */
  private final PortDevice[][] slices = new PortDevice[256][];
  private long unclaimedAccesses;

  private PortDevice device(int port) {
    PortDevice[] slice = slices[(port >>> 8) & 0xFF];
    return slice == null ? null : slice[port & 0xFF];
  }

  /** Claims ports {@code [first, first + count)} for {@code device}. */
  public void register(int first, int count, PortDevice device) {
    Preconditions.checkArgument(first >= 0 && count > 0 && first + count <= 0x10000,
        "port range 0x%s+%s out of bounds", Integer.toHexString(first), count);
    for (int p = first; p < first + count; p++) {
      Preconditions.checkArgument(device(p) == null, "port 0x%s already claimed",
          Integer.toHexString(p));
    }
    for (int p = first; p < first + count; p++) {
      PortDevice[] slice = slices[p >>> 8];
      if (slice == null) {
        slice = new PortDevice[256];
        slices[p >>> 8] = slice;
      }
      slice[p & 0xFF] = device;
    }
  }

  public int in(int port, int size) {
    PortDevice d = device(port);
    if (d == null) {
      unclaimedAccesses++;
      return size == 1 ? 0xFF : size == 2 ? 0xFFFF : -1;
    }
    return d.in(port & 0xFFFF, size);
  }

  public void out(int port, int size, int value) {
    PortDevice d = device(port);
    if (d == null) {
      unclaimedAccesses++;
      return;
    }
    d.out(port & 0xFFFF, size, value);
  }

  /** True if a device claims {@code port}. */
  public boolean claims(int port) {
    return device(port) != null;
  }

  /** Accesses that hit no device (a guest probing for hardware, or a bug). */
  public long unclaimedAccesses() {
    return unclaimedAccesses;
  }
}
