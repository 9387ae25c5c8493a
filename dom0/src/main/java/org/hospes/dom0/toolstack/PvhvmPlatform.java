package org.hospes.dom0.toolstack;

import java.util.function.Consumer;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.xen.XenPlatformPci;
import org.hospes.hv.domain.Domain;

/**
 * The toolstack's part of a PVHVM machine, shared by {@link HvmMachine} and {@link HostRunner}:
 * Xen's platform PCI device in the domain's device model, its BARs programmed as Xen's firmware
 * leaves them (the guest boots without firmware), and the device model's log lines (unplug
 * requests, PV driver messages) sent to {@code log}. The PV services themselves (xenstore, PV
 * console, vbds, vifs) are the ones a PVH domain gets ({@link PvhDomainBuilder}).
 */
final class PvhvmPlatform {
  /**
   * The IRQ firmware routes INTA# of slot 3 to: PCI link D (SeaBIOS's PIRQ A-D defaults are
   * 10, 10, 11, 11).
   */
  static final int PLATFORM_IRQ = 11;

  private PvhvmPlatform() {}

  /** Adds the platform device to {@code dm} for domain {@code d} if its mode has one. */
  static XenPlatformPci attach(HvmDeviceModel dm, Domain d, Consumer<String> log) {
    if (!d.mode().xenPlatformPci()) {
      return null;
    }
    dm.setLogSink(log);
    XenPlatformPci platform = dm.attachXenPlatform();
    // Above every RAM frame, the special pages included.
    platform.assignAsFirmware((long) d.p2m().size() << 12, PLATFORM_IRQ);
    return platform;
  }
}
