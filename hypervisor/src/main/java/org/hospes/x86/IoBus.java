package org.hospes.x86;

import com.google.common.base.Preconditions;
import java.util.function.LongUnaryOperator;

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
  /**
   * Cycles of one access by port and size (three per port: byte, word, doubleword), or
   * {@link PortDevice#UNTIMED}, in slices made with {@link #slices}' and filled by
   * {@link #setPricing}: a bus without pricing (a vCPU whose accesses exit) has none.
   */
  private final long[][] cycleSlices = new long[256][];
  private LongUnaryOperator pricing;
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
    price(first, count);
  }

  /**
   * Has each claimed port's access cost what its device says an access takes
   * ({@link PortDevice#accessNanos}), turned into cycles by {@code nanosToCycles} (the cost
   * model's clock); ports whose device does not say, and unclaimed ones, keep the processor's
   * default. Applies to the ports claimed so far and to later claims.
   */
  public void setPricing(LongUnaryOperator nanosToCycles) {
    pricing = nanosToCycles;
    for (int s = 0; s < 256; s++) {
      if (slices[s] != null) {
        price(s << 8, 256);
      }
    }
  }

  private void price(int first, int count) {
    if (pricing == null) {
      return;
    }
    for (int p = first; p < first + count; p++) {
      PortDevice d = device(p);
      if (d == null) {
        continue;
      }
      long[] slice = cycleSlices[p >>> 8];
      if (slice == null) {
        slice = new long[256 * 3];
        java.util.Arrays.fill(slice, PortDevice.UNTIMED);
        cycleSlices[p >>> 8] = slice;
      }
      for (int k = 0; k < 3; k++) {
        int nanos = d.accessNanos(p, 1 << k);
        slice[(p & 0xFF) * 3 + k] = nanos < 0 ? PortDevice.UNTIMED
            : Math.max(0, pricing.applyAsLong(nanos));
      }
    }
  }

  /**
   * Cycles one access of {@code size} (1, 2 or 4) bytes to {@code port} costs by its device's
   * timing, or {@link PortDevice#UNTIMED} when the processor's default applies.
   */
  public long accessCycles(int port, int size) {
    long[] slice = cycleSlices[(port >>> 8) & 0xFF];
    return slice == null ? PortDevice.UNTIMED
        : slice[(port & 0xFF) * 3 + (size == 1 ? 0 : size == 2 ? 1 : 2)];
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
