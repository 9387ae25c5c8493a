package org.hospes.dom0.acpi;

import static org.hospes.dom0.acpi.AcpiTable.le;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The ACPI tables of an HVM PC, as Xen's hvmloader (libacpi) writes them for a guest without
 * a BIOS of its own to do it: RSDP (revision 2) → RSDT and XSDT → FADT (with the FACS and the
 * DSDT), MADT, HPET. Layouts follow ACPI 6.x (5.2); every checksum is made to sum to zero.
 *
 * <ul>
 *   <li>FADT revision 6, not hardware-reduced: SCI on ISA IRQ 9, no SMI command port (always in
 *       ACPI mode), PM1a event block at 0xB000, control block at 0xB004, 24-bit PM timer at
 *       0xB008 (the hypervisor's {@code AcpiPm}), no GPE blocks, C2/C3 not offered; IA-PC boot
 *       flags: legacy ISA devices, no 8042, no VGA (MSI is allowed: the hypervisor delivers
 *       MSI writes to the local APICs, and the virtio functions have MSI-X);
 *       flags WBINVD, PROC_C1, SLP_BUTTON and FIX_RTC (a fixed power button, no sleep button,
 *       no RTC wake).
 *   <li>MADT revision 5: the local APIC window at 0xFEE00000, PCAT_COMPAT (the 8259A pair is
 *       there); one Processor Local APIC per vCPU (UID and APIC ID = vCPU index), the I/O APIC
 *       (ID 0 at 0xFEC00000, GSI base 0), interrupt source overrides IRQ 0 → GSI 2 (bus
 *       default polarity and trigger) and, as Xen's and QEMU's tables do for the PCI and ACPI
 *       interrupts, ISA IRQs 9 (SCI), 10 and 11 (PCI links, as SeaBIOS routes them) level
 *       triggered and active high; Local APIC NMI on LINT1 for all processors.
 *   <li>HPET (HVM with an HPET): block 0x8086A201 at 0xFED00000.
 *   <li>DSDT: {@link Dsdt}.
 * </ul>
 */
public final class HvmAcpiTables {
  public static final int HEADER_SIZE = AcpiTable.HEADER_SIZE;
  public static final int RSDP_SIZE = AcpiTable.RSDP_SIZE;
  public static final int FADT_SIZE = 276;
  public static final int FACS_SIZE = 64;
  public static final int SCI_IRQ = 9;
  public static final int PM1A_EVT_BLK = 0xB000;
  public static final int PM1A_CNT_BLK = 0xB004;
  public static final int PM_TMR_BLK = 0xB008;
  public static final long LAPIC_BASE = 0xFEE0_0000L;
  public static final long IOAPIC_BASE = 0xFEC0_0000L;
  public static final int IOAPIC_ID = 0;
  public static final long HPET_BASE = 0xFED0_0000L;
  public static final int HPET_BLOCK_ID = 0x8086_A201;
  /** ISA IRQs whose override says level, active high: the SCI and the PCI links' IRQs. */
  public static final int[] LEVEL_ISA_IRQS = {9, 10, 11};

  // FADT field offsets (ACPI 6.x, table 5.9).
  static final int FADT_FIRMWARE_CTRL = 36;
  static final int FADT_DSDT = 40;
  static final int FADT_SCI_INT = 46;
  static final int FADT_SMI_CMD = 48;
  static final int FADT_PM1A_EVT_BLK = 56;
  static final int FADT_PM1A_CNT_BLK = 64;
  static final int FADT_PM_TMR_BLK = 76;
  static final int FADT_PM1_EVT_LEN = 88;
  static final int FADT_PM1_CNT_LEN = 89;
  static final int FADT_PM_TMR_LEN = 91;
  static final int FADT_P_LVL2_LAT = 96;
  static final int FADT_P_LVL3_LAT = 98;
  static final int FADT_CENTURY = 108;
  static final int FADT_IAPC_BOOT_ARCH = 109;
  static final int FADT_FLAGS = 112;
  static final int FADT_MINOR_VERSION = 131;
  static final int FADT_X_FIRMWARE_CTRL = 132;
  static final int FADT_X_DSDT = 140;
  static final int FADT_X_PM1A_EVT_BLK = 148;
  static final int FADT_X_PM1A_CNT_BLK = 172;
  static final int FADT_X_PM_TMR_BLK = 208;

  // IA-PC boot architecture flags.
  static final int BOOT_LEGACY_DEVICES = 1 << 0;
  static final int BOOT_NO_VGA = 1 << 2;
  static final int BOOT_NO_MSI = 1 << 3;
  // FADT flags.
  static final int FLAG_WBINVD = 1 << 0;
  static final int FLAG_PROC_C1 = 1 << 2;
  static final int FLAG_SLP_BUTTON = 1 << 5;
  static final int FLAG_FIX_RTC = 1 << 6;

  private static final String OEM_TABLE_ID = "HOSPESHV";

  /**
   * Where the toolstack puts them: the start of the BIOS area, which a kernel scans for the RSDP
   * (0xE0000-0xFFFFF) and every e820 map of this machine reserves (the legacy hole 0xA0000-1 MiB).
   */
  public static final long BIOS_AREA_BASE = 0xE_0000L;

  private HvmAcpiTables() {}

  /**
   * Builds the tables at {@link #BIOS_AREA_BASE} and writes them into {@code memory}, as
   * hvmloader does for a domain without firmware of its own; returns them (the RSDP's address
   * is {@link Image#rsdp()}).
   */
  public static Image install(org.hospes.x86.PhysicalMemory memory, int vcpus, boolean hpet,
      boolean ioapic) {
    Image img = build(BIOS_AREA_BASE, vcpus, hpet, ioapic);
    if (img.end() > 0x10_0000L) {
      throw new IllegalStateException("ACPI tables overflow the BIOS area");
    }
    memory.write(img.rsdp(), img.bytes(), 0, img.bytes().length);
    return img;
  }

  /**
   * The tables as laid out from guest-physical {@code base}: the RSDP at {@code base}, then the
   * tables, each 16-byte aligned (the FACS 64-byte aligned).
   *
   * @param tables each table by signature with its address, in the order laid out
   */
  public record Image(long rsdp, byte[] bytes, List<Placed> tables) {
    public Image {
      tables = List.copyOf(tables);
    }

    public long end() {
      return rsdp + bytes.length;
    }
  }

  /** One table and where it went. */
  public record Placed(String signature, long address, int length) {}

  /**
   * Builds the tables for a domain with {@code vcpus} vCPUs (local APIC IDs 0..vcpus-1) at
   * {@code base}, which must be 16-byte aligned and leave the whole image below 1 MiB if it
   * starts in the BIOS area (so that a scan of 0xE0000-0xFFFFF finds the RSDP).
   *
   * @param hpet whether the machine has an HPET to describe
   * @param ioapic whether the processor reaches the I/O APIC (and so the MADT lists it with its
   *     overrides); without it the OS runs the PIC pair and the DSDT's PIC-mode routing
   */
  public static Image build(long base, int vcpus, boolean hpet, boolean ioapic) {
    if ((base & 15) != 0 || base < 0 || base > 0xFFFF_0000L) {
      throw new IllegalArgumentException(String.format("bad ACPI base 0x%x", base));
    }
    if (vcpus < 1 || vcpus > 255) {
      throw new IllegalArgumentException("vcpus must be 1..255, got " + vcpus);
    }
    byte[] dsdt = table("DSDT", 2, Dsdt.build());
    byte[] madt = table("APIC", 5, madtBody(vcpus, ioapic));
    byte[] hpetTable = hpet ? table("HPET", 1, hpetBody()) : null;

    List<Placed> placed = new ArrayList<>();
    long at = align(base + RSDP_SIZE, 16);
    int entries = hpet ? 3 : 2;
    long rsdtAddr = at;
    int rsdtSize = HEADER_SIZE + 4 * entries;
    long xsdtAddr = align(rsdtAddr + rsdtSize, 16);
    int xsdtSize = HEADER_SIZE + 8 * entries;
    long facsAddr = align(xsdtAddr + xsdtSize, 64);
    long fadtAddr = align(facsAddr + FACS_SIZE, 16);
    long madtAddr = align(fadtAddr + FADT_SIZE, 16);
    long hpetAddr = align(madtAddr + madt.length, 16);
    long dsdtAddr = align(hpetAddr + (hpet ? hpetTable.length : 0), 16);
    long end = dsdtAddr + dsdt.length;
    if (end > 0x1_0000_0000L) {
      throw new IllegalArgumentException("ACPI tables would cross 4 GiB");
    }

    byte[] fadt = table("FACP", 6, fadtBody(facsAddr, dsdtAddr));
    long[] pointers = hpet ? new long[] {fadtAddr, madtAddr, hpetAddr}
        : new long[] {fadtAddr, madtAddr};
    ByteBuffer rsdtBody = le(4 * entries);
    ByteBuffer xsdtBody = le(8 * entries);
    for (long p : pointers) {
      rsdtBody.putInt((int) p);
      xsdtBody.putLong(p);
    }
    byte[] rsdt = table("RSDT", 1, rsdtBody.array());
    byte[] xsdt = table("XSDT", 1, xsdtBody.array());

    ByteBuffer out = le((int) (end - base));
    out.put(0, rsdp(rsdtAddr, xsdtAddr));
    put(out, base, rsdtAddr, rsdt, placed);
    put(out, base, xsdtAddr, xsdt, placed);
    put(out, base, facsAddr, facs(), placed);
    put(out, base, fadtAddr, fadt, placed);
    put(out, base, madtAddr, madt, placed);
    if (hpet) {
      put(out, base, hpetAddr, hpetTable, placed);
    }
    put(out, base, dsdtAddr, dsdt, placed);
    return new Image(base, out.array(), placed);
  }

  private static void put(ByteBuffer out, long base, long addr, byte[] t, List<Placed> placed) {
    out.put((int) (addr - base), t);
    placed.add(new Placed(new String(t, 0, 4, StandardCharsets.US_ASCII), addr, t.length));
  }

  private static byte[] fadtBody(long facs, long dsdt) {
    ByteBuffer b = le(FADT_SIZE - HEADER_SIZE);
    b.putInt(FADT_FIRMWARE_CTRL - HEADER_SIZE, (int) facs);
    b.putInt(FADT_DSDT - HEADER_SIZE, (int) dsdt);
    b.putShort(FADT_SCI_INT - HEADER_SIZE, (short) SCI_IRQ);
    b.putInt(FADT_SMI_CMD - HEADER_SIZE, 0);
    b.putInt(FADT_PM1A_EVT_BLK - HEADER_SIZE, PM1A_EVT_BLK);
    b.putInt(FADT_PM1A_CNT_BLK - HEADER_SIZE, PM1A_CNT_BLK);
    b.putInt(FADT_PM_TMR_BLK - HEADER_SIZE, PM_TMR_BLK);
    b.put(FADT_PM1_EVT_LEN - HEADER_SIZE, (byte) 4);
    b.put(FADT_PM1_CNT_LEN - HEADER_SIZE, (byte) 2);
    b.put(FADT_PM_TMR_LEN - HEADER_SIZE, (byte) 4);
    // Latencies above 100 and 1000 us say C2 and C3 are not supported.
    b.putShort(FADT_P_LVL2_LAT - HEADER_SIZE, (short) 0x0FFF);
    b.putShort(FADT_P_LVL3_LAT - HEADER_SIZE, (short) 0x0FFF);
    // The CMOS RTC keeps the century in register 0x32.
    b.put(FADT_CENTURY - HEADER_SIZE, (byte) 0x32);
    b.putShort(FADT_IAPC_BOOT_ARCH - HEADER_SIZE,
        (short) (BOOT_LEGACY_DEVICES | BOOT_NO_VGA));
    b.putInt(FADT_FLAGS - HEADER_SIZE,
        FLAG_WBINVD | FLAG_PROC_C1 | FLAG_SLP_BUTTON | FLAG_FIX_RTC);
    b.put(FADT_MINOR_VERSION - HEADER_SIZE, (byte) 1);
    b.putLong(FADT_X_FIRMWARE_CTRL - HEADER_SIZE, facs);
    b.putLong(FADT_X_DSDT - HEADER_SIZE, dsdt);
    gas(b, FADT_X_PM1A_EVT_BLK - HEADER_SIZE, 32, 2, PM1A_EVT_BLK);
    gas(b, FADT_X_PM1A_CNT_BLK - HEADER_SIZE, 16, 2, PM1A_CNT_BLK);
    gas(b, FADT_X_PM_TMR_BLK - HEADER_SIZE, 32, 3, PM_TMR_BLK);
    return b.array();
  }

  /** A Generic Address Structure in system I/O space (5.2.3.2). */
  private static void gas(ByteBuffer b, int at, int bits, int accessSize, long address) {
    b.put(at, (byte) 1);
    b.put(at + 1, (byte) bits);
    b.put(at + 2, (byte) 0);
    b.put(at + 3, (byte) accessSize);
    b.putLong(at + 4, address);
  }

  /** The FACS (5.2.10): signature, length, version 2; it has no checksum. */
  private static byte[] facs() {
    ByteBuffer b = le(FACS_SIZE);
    b.put("FACS".getBytes(StandardCharsets.US_ASCII));
    b.putInt(4, FACS_SIZE);
    b.put(32, (byte) 2);
    return b.array();
  }

  private static byte[] madtBody(int vcpus, boolean ioapic) {
    int size = 8 + 8 * vcpus + (ioapic ? 12 + 10 * (1 + LEVEL_ISA_IRQS.length) : 0) + 6;
    ByteBuffer b = le(size);
    b.putInt((int) LAPIC_BASE).putInt(1); // PCAT_COMPAT
    for (int i = 0; i < vcpus; i++) {
      // Processor Local APIC: type 0, length 8, ACPI processor UID, APIC ID, flags (enabled).
      b.put((byte) 0).put((byte) 8).put((byte) i).put((byte) i).putInt(1);
    }
    if (ioapic) {
      ioapicEntries(b);
    }
    // Local APIC NMI: type 4, length 6, all processors (0xFF), flags 0 (conforming), LINT1.
    b.put((byte) 4).put((byte) 6).put((byte) 0xFF).putShort((short) 0).put((byte) 1);
    return b.array();
  }

  private static void ioapicEntries(ByteBuffer b) {
    // I/O APIC: type 1, length 12, ID, reserved, address, GSI base.
    b.put((byte) 1).put((byte) 12).put((byte) IOAPIC_ID).put((byte) 0)
        .putInt((int) IOAPIC_BASE).putInt(0);
    // Interrupt source overrides: type 2, length 10, bus 0 (ISA), source, GSI, MPS INTI flags.
    b.put((byte) 2).put((byte) 10).put((byte) 0).put((byte) 0).putInt(2).putShort((short) 0);
    for (int irq : LEVEL_ISA_IRQS) {
      // Polarity 01 (active high), trigger 11 (level): 0x000D.
      b.put((byte) 2).put((byte) 10).put((byte) 0).put((byte) irq).putInt(irq)
          .putShort((short) 0x000D);
    }
  }

  /** The HPET description table body (IA-PC HPET specification 1.0a, table 3). */
  private static byte[] hpetBody() {
    ByteBuffer b = le(56 - HEADER_SIZE);
    b.putInt(0, HPET_BLOCK_ID);
    // Base address: a GAS in system memory, 64 bits wide.
    b.put(4, (byte) 0);
    b.put(5, (byte) 64);
    b.putLong(8, HPET_BASE);
    b.put(16, (byte) 0);           // HPET number
    b.putShort(17, (short) 0);     // minimum periodic tick: none stated
    b.put(19, (byte) 0);           // page protection: none
    return b.array();
  }

  private static byte[] rsdp(long rsdt, long xsdt) {
    return AcpiTable.rsdp(rsdt, xsdt);
  }

  /** A table: the 36-byte header (5.2.6) with its checksum, then {@code body}. */
  static byte[] table(String signature, int revision, byte[] body) {
    return AcpiTable.table(signature, revision, OEM_TABLE_ID, body);
  }

  private static long align(long a, int to) {
    return (a + to - 1) & -(long) to;
  }
}
