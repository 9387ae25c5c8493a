package org.hospes.dom0.devicemodel.pci;

/**
 * The PCI functions of an i440FX PC, as QEMU's {@code pc} machine has them: the 82441FX host
 * bridge (PMC) at 00:00.0 and the 82371SB PIIX3 PCI-to-ISA bridge at 00:01.0 (function 0 of a
 * multi-function device, as on the real part). Besides the header's registers, software may
 * write the registers firmware programs: the PMC's PAM registers (0x59-0x5F) and SMRAM control
 * (0x72), and the PIIX3's PIRQ route control registers (0x60-0x63, which start with routing
 * disabled, 0x80). They are stored: with no firmware shadowing and no PCI interrupt sources yet,
 * nothing acts on them.
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

  /** A host bridge with the i440FX's host bridge and PIIX3 ISA bridge attached. */
  public static PciHostBridge hostBridge() {
    PciHostBridge bridge = new PciHostBridge();
    bridge.attach(0, 0, pmc());
    bridge.attach(1, 0, piix3());
    return bridge;
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
