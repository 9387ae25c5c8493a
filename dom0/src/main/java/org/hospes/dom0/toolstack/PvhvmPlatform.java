package org.hospes.dom0.toolstack;

import java.util.function.Consumer;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.xen.XenPlatformPci;
import org.hospes.hv.domain.Domain;

/**
 * The toolstack's part of a PVHVM machine, shared by {@link HvmMachine} and {@link HostRunner}:
 * Xen's platform PCI device in the domain's device model (its BARs and interrupt line are
 * programmed with the rest of the bus by {@link HvmDeviceModel#firmwareSetup}: BAR1 at
 * 0xF0000000, INTA# on IRQ 11), and the device model's log lines (unplug
 * requests, PV driver messages) sent to {@code log}. The PV services themselves (xenstore, PV
 * console, vbds, vifs) are the ones a PVH domain gets ({@link PvhDomainBuilder}).
 */
final class PvhvmPlatform {
  private PvhvmPlatform() {}

  /** Adds the platform device to {@code dm} for domain {@code d} if its mode has one. */
  static XenPlatformPci attach(HvmDeviceModel dm, Domain d, Consumer<String> log) {
    if (!d.mode().xenPlatformPci()) {
      return null;
    }
    dm.setLogSink(log);
    return dm.attachXenPlatform();
  }
}
