package org.hospes.dom0.devicemodel;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;

/**
 * The interrupt inputs a device model drives in its domain's platform, as Xen's dm_ops name
 * them: ISA lines (set_isa_irq_level), PCI INTx pins (set_pci_intx_level), the PIIX3's
 * PCI interrupt link routes (set_pci_link_route) and message-signalled interrupts (inject_msi). The hypervisor owns the interrupt controllers;
 * the device model only reports levels and the routes the guest programmed.
 */
public interface PlatformInterrupts {

  /** Nothing is connected (the bare native machine's PCI bus, tests of config space). */
  PlatformInterrupts NONE = new PlatformInterrupts() {
    @Override
    public void setIsaIrqLevel(int irq, boolean high) {}

    @Override
    public void setPciIntxLevel(int device, int intx, boolean high) {}

    @Override
    public void setPciLinkRoute(int link, int isaIrq) {}

    @Override
    public void injectMsi(long address, int data) {}
  };

  void setIsaIrqLevel(int irq, boolean high);

  /** {@code device} 0-31 on bus 0, {@code intx} 0-3 for INTA#-INTD#. */
  void setPciIntxLevel(int device, int intx, boolean high);

  /** Link 0-3 (PIRQA#-PIRQD#) to ISA IRQ {@code isaIrq}, or to nothing with 0. */
  void setPciLinkRoute(int link, int isaIrq);

  /**
   * A PCI function's MSI or MSI-X write of {@code data} to {@code address} (XEN_DMOP_inject_msi):
   * the hypervisor delivers it to the local APICs the address names.
   */
  void injectMsi(long address, int data);

  /** The inputs of {@code domain}'s HVM platform in {@code hv}. */
  static PlatformInterrupts of(Hypervisor hv, Domain domain) {
    // A device model may still signal after its domain was destroyed and is gone (a
    // completion in flight): its lines then lead nowhere.
    return new PlatformInterrupts() {
      @Override
      public void setIsaIrqLevel(int irq, boolean high) {
        org.hospes.hv.hvm.HvmPlatform p = hv.platform(domain);
        if (p != null) {
          p.setIsaIrqLevel(irq, high);
        }
      }

      @Override
      public void setPciIntxLevel(int device, int intx, boolean high) {
        org.hospes.hv.hvm.HvmPlatform p = hv.platform(domain);
        if (p != null) {
          p.setPciIntxLevel(device, intx, high);
        }
      }

      @Override
      public void setPciLinkRoute(int link, int isaIrq) {
        org.hospes.hv.hvm.HvmPlatform p = hv.platform(domain);
        if (p != null) {
          p.setPciLinkRoute(link, isaIrq);
        }
      }

      @Override
      public void injectMsi(long address, int data) {
        org.hospes.hv.hvm.HvmPlatform p = hv.platform(domain);
        if (p != null) {
          p.injectMsi(address, data);
        }
      }
    };
  }
}
