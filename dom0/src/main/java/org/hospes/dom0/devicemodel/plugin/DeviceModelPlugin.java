package org.hospes.dom0.devicemodel.plugin;

/**
 * A device a third party adds to HVM domains' device models, chosen by name with
 * {@code --device NAME[,key=value...]} (QEMU's {@code -device}). The built-in devices (IDE,
 * virtio, Xen's platform device) keep their own wiring; this is the seam for more.
 *
 * <p>A plugin ({@link org.hospes.hv.HospesPlugin}) binds one in its {@code configure()}:
 *
 * <pre>{@code
 * DeviceModelModule.devices(binder()).addBinding("edu").to(EduPlugin.class);
 * }</pre>
 *
 * The binding's key must be {@link #name()}. One instance serves every domain, so the state of
 * a device lives in what {@link #attach} builds, not in the plugin.
 */
public interface DeviceModelPlugin {

  /** The name {@code --device} takes. */
  String name();

  /** One line for the list of known devices ("QEMU's edu teaching device (PCI 1234:11e8)"). */
  String description();

  /**
   * Adds one instance of the device to the domain {@code context} describes, configured by
   * {@code options} (the {@code key=value} pairs after the name). Called once per
   * {@code --device}, after the built-in devices and before the firmware programs the PCI bus.
   *
   * @throws IllegalArgumentException with a one-line reason for a bad or unknown option, or
   *     when the device cannot be placed (no free PCI slot)
   */
  AttachedDevice attach(DeviceModelContext context, DeviceSpec options);

  /** What {@link #attach} added: for diagnostics, {@code --stats} and tests. */
  interface AttachedDevice {
    /** How the device is called in logs ("edu 00:03.0"). */
    String name();

    /** The device's own counters by name (requests, interrupts, DMA bytes...), in order. */
    default java.util.Map<String, Long> counters() {
      return java.util.Map.of();
    }
  }
}
