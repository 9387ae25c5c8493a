package org.hospes.dom0.devicemodel.xen;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Consumer;
import org.hospes.dom0.devicemodel.Unpluggable;

/**
 * The emulated devices a guest may unplug, and what it did unplug: the mask bits of Xen's
 * emulated-device unplug protocol (docs/misc/hvm-emulated-unplug) applied to the devices
 * registered with the device model. Each device is unplugged at most once; a mask naming
 * nothing registered is still recorded, so a test can see the guest asked.
 */
public final class Unplugs {
  /** Bit 0: all emulated IDE and SCSI disks (not CD drives). */
  public static final int ALL_IDE_DISKS = 1 << 0;
  /** Bit 1: all emulated NICs. */
  public static final int ALL_NICS = 1 << 1;
  /** Bit 2: all IDE disks except the primary master (bit 0 overrides it). */
  public static final int AUX_IDE_DISKS = 1 << 2;
  /** Bit 3: all emulated NVMe disks. */
  public static final int ALL_NVME_DISKS = 1 << 3;
  /** The bits the protocol defines; the others are ignored (and counted). */
  public static final int DEFINED = ALL_IDE_DISKS | ALL_NICS | AUX_IDE_DISKS | ALL_NVME_DISKS;

  private final List<Unpluggable> plugged = new ArrayList<>();
  private final List<Unpluggable> unplugged = new ArrayList<>();
  private final Consumer<String> log;
  private int masks;
  private int lastMask = -1;
  private int undefinedBits;

  /** @param log where a line per unplug request goes (the device model's log) */
  public Unplugs(Consumer<String> log) {
    this.log = log;
  }

  /** Adds a device the guest may unplug (the IDE and NIC models register theirs). */
  public void register(Unpluggable device) {
    if (plugged.contains(device) || unplugged.contains(device)) {
      throw new IllegalArgumentException(device.unplugName() + " is registered already");
    }
    plugged.add(device);
  }

  /** Unplugs every registered device {@code mask} covers (the 16-bit write to port 0x10). */
  public void apply(int mask) {
    mask &= 0xFFFF;
    masks++;
    lastMask = mask;
    if ((mask & ~DEFINED) != 0) {
      undefinedBits++;
    }
    List<String> names = new ArrayList<>();
    for (var it = plugged.iterator(); it.hasNext(); ) {
      Unpluggable d = it.next();
      if (covers(mask, d)) {
        it.remove();
        unplugged.add(d);
        d.unplug();
        names.add(d.unplugName());
      }
    }
    log.accept(String.format("guest unplug request 0x%04x (%s): %s", mask, describe(mask),
        names.isEmpty() ? "no emulated device of those kinds" : String.join(", ", names)));
  }

  static boolean covers(int mask, Unpluggable d) {
    return switch (d.unplugKind()) {
      case IDE_DISK -> (mask & ALL_IDE_DISKS) != 0
          || (mask & AUX_IDE_DISKS) != 0 && !d.primaryMaster();
      case NIC -> (mask & ALL_NICS) != 0;
      case NVME_DISK -> (mask & ALL_NVME_DISKS) != 0;
    };
  }

  /** "IDE disks, NICs" for the bits of {@code mask}. */
  public static String describe(int mask) {
    List<String> parts = new ArrayList<>();
    if ((mask & ALL_IDE_DISKS) != 0) {
      parts.add("IDE disks");
    } else if ((mask & AUX_IDE_DISKS) != 0) {
      parts.add("auxiliary IDE disks");
    }
    if ((mask & ALL_NICS) != 0) {
      parts.add("NICs");
    }
    if ((mask & ALL_NVME_DISKS) != 0) {
      parts.add("NVMe disks");
    }
    if ((mask & ~DEFINED & 0xFFFF) != 0) {
      parts.add(String.format("undefined bits 0x%04x", mask & ~DEFINED & 0xFFFF));
    }
    return parts.isEmpty() ? "nothing" : String.join(", ", parts);
  }

  /** The devices unplugged so far, in the order they went. */
  public List<Unpluggable> unplugged() {
    return Collections.unmodifiableList(unplugged);
  }

  /** The devices still plugged. */
  public List<Unpluggable> plugged() {
    return Collections.unmodifiableList(plugged);
  }

  /** Unplug requests the guest made. */
  public int requests() {
    return masks;
  }

  /** The last mask written, or -1 if none was. */
  public int lastMask() {
    return lastMask;
  }

  /** Requests with bits the protocol does not define. */
  public int undefinedBitRequests() {
    return undefinedBits;
  }
}
