package org.hospes.dom0.devicemodel;

/**
 * An emulated device a Xen-aware guest may unplug through Xen's platform device
 * (docs/misc/hvm-emulated-unplug), so that its PV front-end alone drives the disk or network
 * behind it. Devices register with {@link HvmDeviceModel#registerUnpluggable}; when the guest
 * writes an unplug mask that covers one, the device model calls {@link #unplug()} once, and the
 * device then disappears from its bus: its PCI function reads as absent, its ports and BARs
 * decode nothing, its interrupt line stays low and it stops touching guest memory. The backing
 * image or network port stays with the toolstack (the PV back-end serves it).
 */
public interface Unpluggable {

  /** What the unplug mask's bits name (Xen's UNPLUG_* classes). */
  enum Kind {
    /** An emulated IDE or SCSI hard disk (never a CD drive). */
    IDE_DISK,
    /** An emulated network card. */
    NIC,
    /** An emulated NVMe disk. */
    NVME_DISK
  }

  Kind unplugKind();

  /**
   * For an IDE disk: true when it is the primary channel's master, which mask bit 2 ("auxiliary
   * IDE disks") leaves plugged. False for every other device.
   */
  default boolean primaryMaster() {
    return false;
  }

  /** How the device model's log names the device ("IDE disk hda", "e1000 00:04.0"). */
  String unplugName();

  /** Removes the device from the guest's view. Called at most once. */
  void unplug();
}
