package org.hospes.dom0.devicemodel.virtio;

import static org.hospes.dom0.devicemodel.virtio.VirtioConstants.STATUS_DEVICE_NEEDS_RESET;
import static org.hospes.dom0.devicemodel.virtio.VirtioConstants.STATUS_DRIVER_OK;

import org.hospes.dom0.devicemodel.GuestDma;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.devicemodel.pci.PciMsix;
import org.hospes.x86.PortDevice;

/**
 * A virtio device on PCI through the legacy interface (virtio 1.x, 4.1.4.8 and the legacy
 * sections): a transitional device (vendor 1AF4, device 0x1000 + type - 1, revision 0,
 * subsystem vendor 1AF4 and subsystem ID = virtio device type) with I/O BAR0 holding the
 * legacy header, INTA#, and (unless built without) an MSI-X capability with one vector per
 * queue plus one for configuration changes, its table and PBA in memory BAR1, as QEMU's
 * virtio-pci has them.
 *
 * <pre>
 *   0x00 le32 device features (RO)      0x0E le16 queue select
 *   0x04 le32 driver features           0x10 le16 queue notify
 *   0x08 le32 queue address (PFN)       0x12 u8   device status (0 resets)
 *   0x0C le16 queue size (RO)           0x13 u8   ISR status (reading clears, deasserts INTx)
 *   MSI-X disabled: 0x14 ... device-specific configuration
 *   MSI-X enabled:  0x14 le16 configuration vector, 0x16 le16 vector of the selected queue,
 *                   0x18 ... device-specific configuration
 * </pre>
 *
 * <p>While MSI-X is enabled, a used buffer signals the queue's vector and a configuration
 * change the configuration vector (nothing for {@link #NO_VECTOR}); a vector beyond the table
 * reads back as NO_VECTOR, which tells the driver the mapping failed. While it is disabled, the
 * device sets the ISR bit and asserts INTA#.
 *
 * <p>The only capability is MSI-X (no vendor capabilities), so Linux's virtio_pci finds no
 * modern interface and takes the device with its legacy driver. Everything runs in the ioreq
 * that made it: a notify serves the queue at once (as a device model without an I/O thread
 * does). A driver that corrupts a queue
 * gets DEVICE_NEEDS_RESET and a configuration interrupt; the queues stay idle until it resets
 * the device. Nothing a guest writes here can throw out of the device model.
 */
public final class VirtioPciLegacy implements PortDevice, VirtioTransport {
  public static final int VENDOR = 0x1AF4;
  /** Transitional device IDs: 0x1000 + virtio device type - 1 (0x1000 net, 0x1001 blk). */
  public static final int TRANSITIONAL_BASE = 0x1000;

  public static final int DEVICE_FEATURES = 0x00;
  public static final int DRIVER_FEATURES = 0x04;
  public static final int QUEUE_ADDRESS = 0x08;
  public static final int QUEUE_SIZE = 0x0C;
  public static final int QUEUE_SELECT = 0x0E;
  public static final int QUEUE_NOTIFY = 0x10;
  public static final int DEVICE_STATUS = 0x12;
  public static final int ISR_STATUS = 0x13;
  /** Device configuration without MSI-X. */
  public static final int CONFIG = 0x14;
  /** With MSI-X enabled: the configuration change vector and the selected queue's vector. */
  public static final int CONFIG_VECTOR = 0x14;
  public static final int QUEUE_VECTOR = 0x16;
  /** Device configuration with MSI-X enabled. */
  public static final int CONFIG_MSIX = 0x18;
  /** VIRTIO_MSI_NO_VECTOR: the event signals nothing. */
  public static final int NO_VECTOR = 0xFFFF;
  /** Where the MSI-X capability sits in configuration space, and its BAR. */
  public static final int MSIX_CAP = 0x40;
  public static final int MSIX_BAR = 1;

  public static final int ISR_QUEUE = 1;
  public static final int ISR_CONFIG = 2;

  private static final int SUBSYSTEM_ID = 0x2E;

  private final VirtioDevice device;
  private final GuestDma dma;
  private final PciFunction pci;
  private final SplitVirtqueue[] queues;
  private final int[] pfn;
  /** MSI-X, or null for a device with INTx only. */
  private final PciMsix msix;
  private final int[] queueVector;
  private int configVector = NO_VECTOR;
  private int driverFeatures;
  private int queueSelect;
  private int status;
  private int isr;
  private boolean broken;
  private String lastError;
  private long notifications;
  private long interrupts;
  private long suppressed;
  private long resets;
  private long needsResets;

  /** A device with INTx only, no MSI-X capability. */
  public VirtioPciLegacy(String name, VirtioDevice device, GuestDma dma) {
    this(name, device, dma, null);
  }

  /**
   * A device whose MSI-X messages go to {@code msi} (the device model's inject_msi); with null
   * it has no MSI-X capability and uses INTx only.
   */
  public VirtioPciLegacy(String name, VirtioDevice device, GuestDma dma,
      PciMsix.MessageSink msi) {
    this.device = device;
    this.dma = dma;
    int header = msi == null ? CONFIG : CONFIG_MSIX;
    int barBytes = Integer.highestOneBit(Math.max(header + device.configSize(), 32) * 2 - 1);
    this.pci = new PciFunction(name, VENDOR, TRANSITIONAL_BASE + device.deviceType() - 1, 0,
        device.pciClass(), 0)
        .reset(PciFunction.SUBSYSTEM_VENDOR_ID, 2, VENDOR)
        .reset(SUBSYSTEM_ID, 2, device.deviceType())
        .ioBar(0, barBytes, this)
        .interruptPin(1);
    this.queues = new SplitVirtqueue[device.queueCount()];
    this.pfn = new int[queues.length];
    this.queueVector = new int[queues.length];
    java.util.Arrays.fill(queueVector, NO_VECTOR);
    this.msix = msi == null ? null : new PciMsix(pci, MSIX_CAP,
        queues.length + 1, MSIX_BAR, msi);
    for (int i = 0; i < queues.length; i++) {
      queues[i] = new SplitVirtqueue(dma, device.queueSize());
    }
    device.attach(this);
  }

  /** The PCI function to attach to the bus. */
  public PciFunction function() {
    return pci;
  }

  public VirtioDevice device() {
    return device;
  }

  /** The MSI-X capability, or null for an INTx-only device. */
  public PciMsix msix() {
    return msix;
  }

  private boolean msixEnabled() {
    return msix != null && msix.enabled();
  }

  /** Where the device-specific configuration starts now: after the vectors while MSI-X is on. */
  private int configOffset() {
    return msixEnabled() ? CONFIG_MSIX : CONFIG;
  }

  @Override
  public int in(int port, int size) {
    int v;
    switch (port) {
      case DEVICE_FEATURES -> v = device.features();
      case DRIVER_FEATURES -> v = driverFeatures;
      case QUEUE_ADDRESS -> v = queueSelect < queues.length ? pfn[queueSelect] : 0;
      case QUEUE_SIZE -> v = queueSelect < queues.length ? device.queueSize() : 0;
      case QUEUE_SELECT -> v = queueSelect;
      case QUEUE_NOTIFY -> v = 0;
      case DEVICE_STATUS -> v = status;
      case ISR_STATUS -> {
        v = isr;
        isr = 0;
        pci.setIrq(false);
      }
      default -> {
        int config = configOffset();
        if (config == CONFIG_MSIX && (port == CONFIG_VECTOR || port == QUEUE_VECTOR)) {
          v = port == CONFIG_VECTOR ? configVector
              : queueSelect < queues.length ? queueVector[queueSelect] : NO_VECTOR;
          break;
        }
        if (port < config) {
          // Inside a register: the bytes of the register it starts in.
          return partial(port, size);
        }
        v = 0;
        for (int i = 0; i < size; i++) {
          int off = port - config + i;
          int b = off < device.configSize() ? device.readConfig(off) & 0xFF : 0xFF;
          v |= b << (8 * i);
        }
        return v;
      }
    }
    return size == 4 ? v : v & ((1 << (8 * size)) - 1);
  }

  private int partial(int port, int size) {
    int base = port < QUEUE_SIZE ? port & ~3 : port & ~1;
    int v = in(base, 4) >>> (8 * (port - base));
    return size == 4 ? v : v & ((1 << (8 * size)) - 1);
  }

  @Override
  public void out(int port, int size, int value) {
    switch (port) {
      case DRIVER_FEATURES -> {
        driverFeatures = value & device.features();
        boolean ind = (driverFeatures & (1 << VirtioConstants.F_RING_INDIRECT_DESC)) != 0;
        for (SplitVirtqueue q : queues) {
          q.setIndirect(ind);
        }
      }
      case QUEUE_ADDRESS -> setQueueAddress(value);
      case QUEUE_SELECT -> queueSelect = value & 0xFFFF;
      case QUEUE_NOTIFY -> notifyQueue(value & 0xFFFF);
      case DEVICE_STATUS -> setStatus(value & 0xFF);
      default -> {
        int config = configOffset();
        if (config == CONFIG_MSIX && port == CONFIG_VECTOR) {
          configVector = vectorOrNone(value & 0xFFFF);
        } else if (config == CONFIG_MSIX && port == QUEUE_VECTOR) {
          if (queueSelect < queues.length) {
            queueVector[queueSelect] = vectorOrNone(value & 0xFFFF);
          }
        } else if (port >= config) {
          for (int i = 0; i < size; i++) {
            int off = port - config + i;
            if (off < device.configSize()) {
              device.writeConfig(off, (value >>> (8 * i)) & 0xFF);
            }
          }
        }
        // Writes to the read-only registers (features, queue size, ISR) are ignored.
      }
    }
  }

  /** A vector the table has, else NO_VECTOR: the driver reads back that the mapping failed. */
  private int vectorOrNone(int vector) {
    return vector < msix.vectors() ? vector : NO_VECTOR;
  }

  private void setQueueAddress(int value) {
    if (queueSelect >= queues.length) {
      return;
    }
    SplitVirtqueue q = queues[queueSelect];
    pfn[queueSelect] = value;
    if (value == 0) {
      q.reset();
    } else {
      q.configureLegacy(value & 0xFFFF_FFFFL);
      q.setIndirect((driverFeatures & (1 << VirtioConstants.F_RING_INDIRECT_DESC)) != 0);
    }
  }

  private void setStatus(int value) {
    if (value == 0) {
      reset();
      return;
    }
    // NEEDS_RESET is the device's bit; the driver cannot clear it without a reset.
    status = value | (status & STATUS_DEVICE_NEEDS_RESET);
    device.statusChanged(status);
  }

  private void reset() {
    resets++;
    status = 0;
    driverFeatures = 0;
    queueSelect = 0;
    broken = false;
    for (int i = 0; i < queues.length; i++) {
      queues[i].reset();
      pfn[i] = 0;
      queueVector[i] = NO_VECTOR;
    }
    configVector = NO_VECTOR;
    isr = 0;
    pci.setIrq(false);
    device.statusChanged(0);
  }

  private void notifyQueue(int index) {
    notifications++;
    if (index >= queues.length || broken || !queues[index].ready()) {
      return;
    }
    try {
      device.notify(index);
    } catch (VirtqueueException e) {
      needsReset(e.getMessage());
    }
  }

  @Override
  public SplitVirtqueue queue(int index) {
    return index >= 0 && index < queues.length ? queues[index] : null;
  }

  @Override
  public GuestDma dma() {
    return dma;
  }

  @Override
  public int driverFeatures() {
    return driverFeatures;
  }

  @Override
  public boolean driverOk() {
    return !broken && (status & STATUS_DRIVER_OK) != 0;
  }

  /** True after the device set NEEDS_RESET, until the driver resets it. */
  public boolean broken() {
    return broken;
  }

  @Override
  public void usedBuffers(int queue) {
    boolean want;
    try {
      want = queues[queue].wantsInterrupt();
    } catch (VirtqueueException e) {
      needsReset(e.getMessage());
      return;
    }
    if (want) {
      raise(ISR_QUEUE, queueVector[queue]);
    } else {
      suppressed++;
    }
  }

  @Override
  public void configChanged() {
    raise(ISR_CONFIG, configVector);
  }

  @Override
  public void needsReset(String reason) {
    needsResets++;
    lastError = reason;
    broken = true;
    status |= STATUS_DEVICE_NEEDS_RESET;
    raise(ISR_CONFIG, configVector);
  }

  /** Signals the driver: by {@code vector}'s message while MSI-X is on, else ISR and INTA#. */
  private void raise(int bit, int vector) {
    interrupts++;
    if (msixEnabled()) {
      if (vector != NO_VECTOR) {
        msix.signal(vector);
      }
      return;
    }
    isr |= bit;
    pci.setIrq(true);
  }

  public int status() {
    return status;
  }

  public int isr() {
    return isr;
  }

  /** The last virtqueue violation, or null. */
  public String lastError() {
    return lastError;
  }

  /** Queue notifications, interrupts raised, interrupts the driver suppressed, resets, NEEDS_RESETs. */
  public long notifications() {
    return notifications;
  }

  public long interrupts() {
    return interrupts;
  }

  public long suppressedInterrupts() {
    return suppressed;
  }

  public long resets() {
    return resets;
  }

  public long needsResets() {
    return needsResets;
  }
}
