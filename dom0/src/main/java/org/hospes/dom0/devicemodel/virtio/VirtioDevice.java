package org.hospes.dom0.devicemodel.virtio;

/**
 * A virtio device type (block, network) as a transport drives it: its identity, its feature
 * bits, its queues and its device-specific configuration. The transport owns the queues,
 * feature negotiation, status and interrupts; the device only serves notified queues.
 */
public interface VirtioDevice {

  /** The virtio device ID (5): 1 network card, 2 block device. */
  int deviceType();

  /** PCI class code of the transitional device, 0xBBSSPP. */
  int pciClass();

  /** Device feature bits 0-31 (what a legacy interface can show). */
  int features();

  int queueCount();

  /** Every queue's size (a power of two; the legacy interface lets the driver read it only). */
  int queueSize();

  /** Bytes of device-specific configuration. */
  int configSize();

  /** One byte of device-specific configuration. */
  int readConfig(int offset);

  /** The driver wrote one byte of device-specific configuration (ignored where read-only). */
  void writeConfig(int offset, int value);

  /** Connects the device to its transport, once. */
  void attach(VirtioTransport transport);

  /** The driver notified queue {@code queue}: serve its available buffers. */
  void notify(int queue);

  /** The driver set DRIVER_OK, or the device was reset: device-side state follows. */
  default void statusChanged(int status) {}
}
