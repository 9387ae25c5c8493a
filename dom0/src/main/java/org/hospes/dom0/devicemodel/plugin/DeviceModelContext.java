package org.hospes.dom0.devicemodel.plugin;

import java.util.function.Consumer;
import org.hospes.dom0.devicemodel.GuestDma;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.PlatformInterrupts;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.devicemodel.pci.PciHostBridge;
import org.hospes.hv.domain.DomainMode;
import org.hospes.x86.PortDevice;

/**
 * What a {@link DeviceModelPlugin} may use of one HVM domain's device model: the PCI bus (its
 * BARs decode port and MMIO ioreqs, its INTx pins reach the PIIX3 links), fixed ISA ports, the
 * platform's interrupt inputs, bus-master DMA through dom0's counted foreign mappings and the
 * device model's log. A device keeps its own counters ({@link DeviceModelPlugin.AttachedDevice#counters}). Nothing else of the domain: a device sees its
 * guest only through these, as QEMU's devices do.
 *
 * @param domid the domain the device belongs to
 * @param model the device model (for {@link HvmDeviceModel#registerUnpluggable} and the like)
 * @param dma the domain's memory as a bus master sees it
 * @param mode the domain's mode (hvm, hvm-shadow, pvhvm)
 * @param mmio true if the domain's vCPUs reach MMIO BARs, so a device can refuse a domain it
 *     cannot serve (every mode with a device model does now: EPT violations and, under shadow
 *     paging, MMIO shadow faults reach the device model)
 * @param log the device model's log (stderr, or run-many's hypervisor log)
 */
public record DeviceModelContext(int domid, HvmDeviceModel model, GuestDma dma,
    DomainMode mode, boolean mmio, Consumer<String> log) {

  /** The first PCI slot plugin devices take when they name none (after Xen's platform slot). */
  public static final int FIRST_SLOT = 3;

  /** The PCI host bridge (bus 0). */
  public PciHostBridge pci() {
    return model.pci();
  }

  /** The domain's interrupt inputs (ISA lines and PCI INTx). */
  public PlatformInterrupts interrupts() {
    return model.interrupts();
  }

  /** Claims fixed ISA ports (IllegalArgumentException if another device has them). */
  public void registerPorts(int first, int count, PortDevice device) {
    model.registerPorts(first, count, device);
  }

  /**
   * Puts {@code f} at bus 0, function 0 of slot {@code slot}, or, with {@code slot} -1, of
   * the first free slot from {@link #FIRST_SLOT} up; returns the slot.
   * IllegalArgumentException if the slot is taken or the bus is full.
   */
  public int attachPci(int slot, PciFunction f) {
    var taken = model.pci().functions();
    if (slot >= 0) {
      if (slot == 0 || slot > 31) {
        throw new IllegalArgumentException("PCI slot must be 1..31, got " + slot);
      }
      if (taken.containsKey(slot << 3)) {
        throw new IllegalArgumentException(String.format("PCI slot %02x is taken by %s", slot,
            taken.get(slot << 3).name()));
      }
      model.attachPci(slot, f);
      return slot;
    }
    for (int s = FIRST_SLOT; s < 32; s++) {
      if (!taken.containsKey(s << 3)) {
        model.attachPci(s, f);
        return s;
      }
    }
    throw new IllegalArgumentException("no free PCI slot for " + f.name());
  }
}
