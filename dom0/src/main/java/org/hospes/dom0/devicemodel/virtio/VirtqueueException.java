package org.hospes.dom0.devicemodel.virtio;

/**
 * The driver broke the split-virtqueue rules (a descriptor loop, an index past the queue, a
 * nested indirect table, a readable descriptor after a writable one, ring memory the domain does
 * not have). The device cannot trust the queue any more: its transport sets
 * DEVICE_NEEDS_RESET, as the virtio 1.x specification says a device does on an error it cannot
 * recover from, and leaves the queue alone until the driver resets it.
 */
public final class VirtqueueException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public VirtqueueException(String message) {
    super(message);
  }
}
