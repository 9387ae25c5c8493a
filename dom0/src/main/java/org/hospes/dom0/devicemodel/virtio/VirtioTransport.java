package org.hospes.dom0.devicemodel.virtio;

import org.hospes.dom0.devicemodel.GuestDma;

/** What a {@link VirtioDevice} asks of its transport. */
public interface VirtioTransport {

  /** The queue (null if the index is not one of the device's queues). */
  SplitVirtqueue queue(int index);

  /** The domain's memory, for the buffers' contents. */
  GuestDma dma();

  /** The features the driver accepted. */
  int driverFeatures();

  /** True once the driver set DRIVER_OK, until reset or NEEDS_RESET. */
  boolean driverOk();

  /** Buffers went onto {@code queue}'s used ring: interrupt unless the driver suppressed it. */
  void usedBuffers(int queue);

  /** The device's configuration changed (a link status, a capacity). */
  void configChanged();

  /**
   * The driver broke the virtqueue rules: the device sets DEVICE_NEEDS_RESET, tells the
   * driver by a configuration interrupt and serves no queue until reset.
   */
  void needsReset(String reason);
}
