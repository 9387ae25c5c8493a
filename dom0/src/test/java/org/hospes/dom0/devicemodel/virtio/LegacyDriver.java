package org.hospes.dom0.devicemodel.virtio;

import org.hospes.dom0.devicemodel.ArrayGuestDma;

import static org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy.DEVICE_FEATURES;
import static org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy.DEVICE_STATUS;
import static org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy.DRIVER_FEATURES;
import static org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy.QUEUE_ADDRESS;
import static org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy.QUEUE_NOTIFY;
import static org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy.QUEUE_SELECT;
import static org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy.QUEUE_SIZE;

/**
 * Brings a legacy virtio PCI device up through its I/O BAR the way Linux's virtio_pci_legacy
 * does: reset, ACKNOWLEDGE, DRIVER, features, each queue's PFN, DRIVER_OK. Queue i sits at page
 * frame {@code 1 + 4 * i} (each queue's layout takes at most 4 pages here).
 */
final class LegacyDriver {
  final VirtioPciLegacy dev;
  final TestDriver[] queues;

  LegacyDriver(VirtioPciLegacy dev, ArrayGuestDma mem, int wantFeatures, long indirectArea) {
    this.dev = dev;
    dev.out(DEVICE_STATUS, 1, 0);
    dev.out(DEVICE_STATUS, 1, VirtioConstants.STATUS_ACKNOWLEDGE);
    dev.out(DEVICE_STATUS, 1, VirtioConstants.STATUS_ACKNOWLEDGE | VirtioConstants.STATUS_DRIVER);
    int offered = dev.in(DEVICE_FEATURES, 4);
    dev.out(DRIVER_FEATURES, 4, offered & wantFeatures);
    int n = dev.device().queueCount();
    queues = new TestDriver[n];
    for (int i = 0; i < n; i++) {
      dev.out(QUEUE_SELECT, 2, i);
      int size = dev.in(QUEUE_SIZE, 2);
      queues[i] = new TestDriver(mem, size, 1 + 4L * i, indirectArea + 0x4000L * i, 0x4000);
      dev.out(QUEUE_ADDRESS, 4, 1 + 4 * i);
    }
    dev.out(DEVICE_STATUS, 1, VirtioConstants.STATUS_ACKNOWLEDGE | VirtioConstants.STATUS_DRIVER
        | VirtioConstants.STATUS_DRIVER_OK);
  }

  void kick(int queue) {
    dev.out(QUEUE_NOTIFY, 2, queue);
  }
}
