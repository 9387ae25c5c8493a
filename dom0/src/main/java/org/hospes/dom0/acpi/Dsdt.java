package org.hospes.dom0.acpi;

import static org.hospes.dom0.acpi.Aml.concat;
import static org.hospes.dom0.acpi.Aml.device;
import static org.hospes.dom0.acpi.Aml.dwordMemory;
import static org.hospes.dom0.acpi.Aml.eisaId;
import static org.hospes.dom0.acpi.Aml.integer;
import static org.hospes.dom0.acpi.Aml.ifThen;
import static org.hospes.dom0.acpi.Aml.io;
import static org.hospes.dom0.acpi.Aml.method;
import static org.hospes.dom0.acpi.Aml.name;
import static org.hospes.dom0.acpi.Aml.pkg;
import static org.hospes.dom0.acpi.Aml.resourceTemplate;
import static org.hospes.dom0.acpi.Aml.returns;
import static org.hospes.dom0.acpi.Aml.scope;
import static org.hospes.dom0.acpi.Aml.storeArg0;
import static org.hospes.dom0.acpi.Aml.wordAddress;

import org.hospes.dom0.devicemodel.pci.PciFirmware;
import org.hospes.hv.hvm.HvmPlatform;

/**
 * The AML of an HVM PC's DSDT, what Linux needs of the namespace and no more. In ASL:
 *
 * <pre>
 * Name (PICD, 0)
 * Method (_PIC, 1) { Store (Arg0, PICD) }          // 0 = PIC, 1 = APIC: the OS says which
 * Name (_S5, Package (4) { 0, 0, 0, 0 })           // soft off: SLP_TYP 0 (AcpiPm.SLP_TYP_S5)
 * Scope (_SB) {
 *   Device (PCI0) {
 *     Name (_HID, EisaId ("PNP0A03"))
 *     Name (_ADR, 0)
 *     Name (_UID, 0)
 *     Name (_CRS, ResourceTemplate () {
 *       WordBusNumber (0x00-0xFF)
 *       IO (Decode16, 0xCF8, 0xCF8, 1, 8)             // configuration mechanism #1
 *       WordIO (0x0000-0x0CF7), WordIO (0x0D00-0xFFFF)
 *       DWordMemory (0x000A0000-0x000BFFFF)           // legacy VGA window
 *       DWordMemory (0xF0000000-0xFBFFFFFF)           // BARs (hvmloader's PCI_MEM_START/END)
 *     })
 *     Name (PRTA, Package () {                       // APIC mode: slots 1-31, INTA-INTD
 *       Package () { 0xSSSSFFFF, pin, 0, 16 + ((slot*4 + slot/8 + pin) &amp; 31) }, ...
 *     })
 *     Name (PRTP, Package () {                       // PIC mode: the links' ISA IRQs
 *       Package () { 0xSSSSFFFF, pin, 0, link (slot + pin) &amp; 3 ? 10 or 11 }, ...
 *     })
 *     Method (_PRT, 0) { If (PICD) { Return (PRTA) } Return (PRTP) }
 *   }
 * }
 * </pre>
 *
 * In APIC mode (the OS called _PIC(1), as Linux does when it uses the I/O APIC) each slot's INTx
 * has the GSI Xen's {@code hvm_pci_intx_gsi} wires it to. In PIC mode (no local APIC, or
 * {@code noapic}) it has the ISA IRQ of its link (Xen's {@code hvm_pci_intx_link}) as the
 * device model's firmware defaults route the PIIX3's PIRQ A-D: 10, 10, 11, 11. There are no
 * interrupt link devices, so an OS that reprograms PIRQRC itself is not told of it.
 */
public final class Dsdt {
  public static final int SLOTS = 32;
  /** The BAR window, where the device model's firmware defaults put BARs (PciFirmware). */
  public static final long PCI_MEM_START = PciFirmware.MEMORY_BASE;
  public static final long PCI_MEM_END = PciFirmware.MEMORY_LIMIT - 1;

  /** The ISA IRQs the firmware defaults give PIRQ A-D (as SeaBIOS leaves them). */
  static final int[] LINK_IRQS = PciFirmware.LINK_IRQS.clone();

  private Dsdt() {}

  /** The PIIX3 link (PIRQ A-D = 0-3) {@code device}'s INTx uses: Xen's hvm_pci_intx_link. */
  public static int pciIntxLink(int device, int intx) {
    return (device + intx) & 3;
  }

  /** The GSI of {@code device}'s INTx (0-3 = INTA-INTD): Xen's hvm_pci_intx_gsi. */
  public static int pciIntxGsi(int device, int intx) {
    return HvmPlatform.pciIntxGsi(device, intx);
  }

  /** The DSDT's AML (the table body after the header). */
  public static byte[] build() {
    byte[][] apic = new byte[(SLOTS - 1) * 4][];
    byte[][] pic = new byte[(SLOTS - 1) * 4][];
    int n = 0;
    for (int slot = 1; slot < SLOTS; slot++) {
      for (int pin = 0; pin < 4; pin++) {
        // Address: device in the high word, 0xFFFF (any function) in the low word.
        long address = (long) slot << 16 | 0xFFFF;
        apic[n] = pkg(integer(address), integer(pin), integer(0),
            integer(pciIntxGsi(slot, pin)));
        pic[n++] = pkg(integer(address), integer(pin), integer(0),
            integer(LINK_IRQS[pciIntxLink(slot, pin)]));
      }
    }
    byte[] crs = resourceTemplate(
        wordAddress(Aml.RESOURCE_BUS, 0, 0x00, 0xFF),
        io(0xCF8, 0xCF8, 1, 8),
        wordAddress(Aml.RESOURCE_IO, 3, 0x0000, 0x0CF7),
        wordAddress(Aml.RESOURCE_IO, 3, 0x0D00, 0xFFFF),
        dwordMemory(0x000A_0000L, 0x000B_FFFFL),
        dwordMemory(PCI_MEM_START, PCI_MEM_END));
    return concat(
        name("PICD", integer(0)),
        method("_PIC", 1, storeArg0("PICD")),
        name("_S5_", pkg(integer(0), integer(0), integer(0), integer(0))),
        scope("\\_SB",
            device("PCI0",
                name("_HID", eisaId("PNP0A03")),
                name("_ADR", integer(0)),
                name("_UID", integer(0)),
                name("_CRS", crs),
                name("PRTA", pkg(apic)),
                name("PRTP", pkg(pic)),
                method("_PRT", 0,
                    ifThen(Aml.nameString("PICD"), returns(Aml.nameString("PRTA"))),
                    returns(Aml.nameString("PRTP"))))));
  }
}
