package org.hospes.dom0.devicemodel.pci;

/**
 * The PCI functions of an i440FX PC, as QEMU's {@code pc} machine has them: the 82441FX host
 * bridge (PMC) at 00:00.0 and the 82371SB PIIX3 PCI-to-ISA bridge at 00:01.0 (function 0 of a
 * multi-function device, as on the real part). Besides the header's registers, software may
 * write the registers firmware programs: the PMC's PAM registers (0x59-0x5F) and SMRAM control
 * (0x72), and the PIIX3's PIRQ route control registers (0x60-0x63, which start with routing
 * disabled, 0x80). PAM and SMRAM are stored (no firmware shadowing is modelled); a PIRQ route
 * written goes to the platform as a PCI link route (bit 7 disables the link; IRQs 0-2, 8 and 13
 * are reserved on the PIIX3 and route nowhere).
 */
public final class I440fx {
  public static final int INTEL = 0x8086;
  public static final int PMC_DEVICE_ID = 0x1237;
  public static final int PIIX3_ISA_DEVICE_ID = 0x7000;
  /** Base class 06 (bridge), subclass 00 (host) and 01 (ISA). */
  public static final int CLASS_HOST_BRIDGE = 0x06_00_00;
  public static final int CLASS_ISA_BRIDGE = 0x06_01_00;
  public static final int PAM0 = 0x59;
  public static final int SMRAM = 0x72;
  public static final int PIRQRC = 0x60;

  private I440fx() {}

  /** A host bridge with the i440FX's host bridge and PIIX3 ISA bridge, connected to nothing. */
  public static PciHostBridge hostBridge() {
    return hostBridge(org.hospes.dom0.devicemodel.PlatformInterrupts.NONE);
  }

  /**
   * A host bridge with the i440FX's host bridge and PIIX3 ISA bridge; INTx pins and the PIIX3's
   * link routes reach {@code irqs}.
   */
  public static PciHostBridge hostBridge(org.hospes.dom0.devicemodel.PlatformInterrupts irqs) {
    PciHostBridge bridge = new PciHostBridge(irqs::setPciIntxLevel);
    bridge.attach(0, 0, pmc());
    PciFunction piix3 = piix3();
    piix3.onWrite((offset, size, value) -> {
      for (int link = 0; link < 4; link++) {
        if (offset <= PIRQRC + link && offset + size > PIRQRC + link) {
          irqs.setPciLinkRoute(link, linkIrq(piix3.read(PIRQRC + link, 1)));
        }
      }
    });
    bridge.attach(1, 0, piix3);
    return bridge;
  }

  /** The ISA IRQ a PIRQ route control value selects, 0 for none. */
  static int linkIrq(int pirqrc) {
    int irq = pirqrc & 0x0F;
    boolean reserved = irq < 3 || irq == 8 || irq == 13;
    return (pirqrc & 0x80) != 0 || reserved ? 0 : irq;
  }

  /** 82441FX PCI and memory controller, revision 02. */
  static PciFunction pmc() {
    return new PciFunction("i440FX", INTEL, PMC_DEVICE_ID, 0x02, CLASS_HOST_BRIDGE, 0x00)
        .writable(PAM0, 7, -1)
        .reset(SMRAM, 1, 0x02)
        .writable(SMRAM, 1, 0x78);
  }

  /** 82371SB PIIX3 function 0, the PCI-to-ISA bridge. */
  static PciFunction piix3() {
    return new PciFunction("PIIX3", INTEL, PIIX3_ISA_DEVICE_ID, 0x00, CLASS_ISA_BRIDGE,
        PciFunction.HEADER_MULTI_FUNCTION)
        .reset(PIRQRC, 4, 0x8080_8080)
        .writable(PIRQRC, 4, 0x8F8F_8F8F);
  }
}
