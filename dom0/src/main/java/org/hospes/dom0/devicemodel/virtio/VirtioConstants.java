package org.hospes.dom0.devicemodel.virtio;

/**
 * Numbers of the virtio 1.x specification (OASIS) that every device and transport shares:
 * device status bits (2.1), reserved feature bits (6) and the split virtqueue's descriptor
 * flags and ring flags (2.7).
 */
public final class VirtioConstants {
  private VirtioConstants() {}

  // Device status field (2.1).
  public static final int STATUS_ACKNOWLEDGE = 1;
  public static final int STATUS_DRIVER = 2;
  public static final int STATUS_DRIVER_OK = 4;
  public static final int STATUS_FEATURES_OK = 8;
  public static final int STATUS_DEVICE_NEEDS_RESET = 64;
  public static final int STATUS_FAILED = 128;

  // Reserved feature bits (6); a legacy device offers only bits 0-31.
  /** Legacy: interrupt when the available ring empties even if interrupts are suppressed. */
  public static final int F_NOTIFY_ON_EMPTY = 24;
  /** Legacy: the driver may lay out headers and data across descriptors as it likes. */
  public static final int F_ANY_LAYOUT = 27;
  public static final int F_RING_INDIRECT_DESC = 28;
  public static final int F_RING_EVENT_IDX = 29;

  // struct virtq_desc flags (2.7.5).
  public static final int VIRTQ_DESC_F_NEXT = 1;
  public static final int VIRTQ_DESC_F_WRITE = 2;
  public static final int VIRTQ_DESC_F_INDIRECT = 4;

  /** struct virtq_avail flags: the driver does not want used-buffer notifications. */
  public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
  /** struct virtq_used flags: the device does not want available-buffer notifications. */
  public static final int VIRTQ_USED_F_NO_NOTIFY = 1;

  /** Size of struct virtq_desc: addr (le64), len (le32), flags (le16), next (le16). */
  public static final int DESC_SIZE = 16;
  /** The largest queue a split virtqueue may have (2.7). */
  public static final int MAX_QUEUE_SIZE = 32768;
}
