package org.hospes.dom0.devicemodel.xen;

import java.util.function.Consumer;
import org.hospes.x86.PortDevice;

/**
 * The fixed I/O ports of Xen's platform device (0x10-0x1F) that carry the emulated-device unplug
 * protocol (docs/misc/hvm-emulated-unplug), as a driver sees them:
 *
 * <pre>
 *   in  16 @0x10  magic 0x49d2 (0xd249 once the driver is blacklisted)
 *   in   8 @0x12  protocol version (1)
 *   out 16 @0x12  product number (public/hvm/pvdrivers.h: 3 = "linux")
 *   out 32 @0x10  build number; decides the blacklist
 *   out 16 @0x10  unplug mask ({@link Unplugs})
 *   out  8 @0x12  a byte of a log message, lines end with '\n'
 * </pre>
 *
 * Every other access reads all ones and writes nothing (counted). A blacklisted driver's unplug
 * writes are ignored: it was told not to load, so the emulated devices stay for the guest's
 * other drivers. Log lines are cut at {@link #MAX_LINE} bytes, non-printing bytes become '?', and
 * after {@link #MAX_LOG_LINES} lines further ones are only counted (the protocol's own advice:
 * hosts rate-limit this channel).
 */
public final class UnplugPorts implements PortDevice {
  public static final int BASE = 0x10;
  public static final int PORT_COUNT = 16;
  public static final int MAGIC_PORT = 0x10;
  public static final int VERSION_PORT = 0x12;
  public static final int MAGIC = 0x49D2;
  /** The magic byte-swapped: what a blacklisted driver reads back in step 5. */
  public static final int MAGIC_BLACKLISTED = 0xD249;
  public static final int PROTOCOL_VERSION = 1;
  public static final int MAX_LINE = 160;
  public static final int MAX_LOG_LINES = 256;

  /** Which driver builds the host refuses (Xen keeps them under /mh/driver-blacklist). */
  @FunctionalInterface
  public interface Blacklist {
    Blacklist NONE = (product, build) -> false;

    boolean refuses(int product, long build);
  }

  private final Unplugs unplugs;
  private final Blacklist blacklist;
  private final Consumer<String> log;
  private final StringBuilder line = new StringBuilder();
  private int product = -1;
  private long build = -1;
  private boolean blacklisted;
  private int logLines;
  private long droppedLogLines;
  private long ignoredAccesses;
  private long refusedUnplugs;

  public UnplugPorts(Unplugs unplugs, Blacklist blacklist, Consumer<String> log) {
    this.unplugs = unplugs;
    this.blacklist = blacklist;
    this.log = log;
  }

  @Override
  public int in(int port, int size) {
    if (port == MAGIC_PORT && size == 2) {
      return blacklisted ? MAGIC_BLACKLISTED : MAGIC;
    }
    if (port == VERSION_PORT && size == 1) {
      return PROTOCOL_VERSION;
    }
    ignoredAccesses++;
    return size == 4 ? -1 : (1 << (8 * size)) - 1;
  }

  @Override
  public void out(int port, int size, int value) {
    if (port == MAGIC_PORT && size == 2) {
      if (blacklisted) {
        refusedUnplugs++;
        log.accept(String.format("unplug request 0x%04x from blacklisted driver %s build %d"
            + " ignored", value & 0xFFFF, productName(product), build));
        return;
      }
      unplugs.apply(value & 0xFFFF);
    } else if (port == MAGIC_PORT && size == 4) {
      build = value & 0xFFFF_FFFFL;
      blacklisted = blacklist.refuses(product, build);
      log.accept(String.format("PV driver %s (product %d) build %d%s", productName(product),
          product, build, blacklisted ? ": blacklisted" : ""));
    } else if (port == VERSION_PORT && size == 2) {
      product = value & 0xFFFF;
    } else if (port == VERSION_PORT && size == 1) {
      logByte(value & 0xFF);
    } else {
      ignoredAccesses++;
    }
  }

  private void logByte(int b) {
    if (b == '\n' || line.length() >= MAX_LINE) {
      if (logLines < MAX_LOG_LINES) {
        logLines++;
        log.accept("guest PV driver: " + line);
      } else {
        droppedLogLines++;
      }
      line.setLength(0);
      if (b == '\n') {
        return;
      }
    }
    line.append(b >= 0x20 && b < 0x7F ? (char) b : '?');
  }

  /** The product's name in public/hvm/pvdrivers.h, or "unknown". */
  public static String productName(int product) {
    return switch (product) {
      case 0x0001 -> "xensource-windows";
      case 0x0002 -> "gplpv-windows";
      case 0x0003 -> "linux";
      case 0x0004 -> "xenserver-windows-v7.0+";
      case 0x0005 -> "xenserver-windows-v7.2+";
      case 0xFFFF -> "experimental";
      default -> "unknown";
    };
  }

  /** The product number the driver wrote, or -1. */
  public int product() {
    return product;
  }

  /** The build number the driver wrote, or -1. */
  public long build() {
    return build;
  }

  public boolean blacklisted() {
    return blacklisted;
  }

  /** Accesses of a size or port the protocol does not define. */
  public long ignoredAccesses() {
    return ignoredAccesses;
  }

  /** Unplug writes from a blacklisted driver. */
  public long refusedUnplugs() {
    return refusedUnplugs;
  }

  /** Log lines past the limit, counted but not logged. */
  public long droppedLogLines() {
    return droppedLogLines;
  }
}
