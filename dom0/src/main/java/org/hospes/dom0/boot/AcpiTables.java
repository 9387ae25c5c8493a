package org.hospes.dom0.boot;

import static org.hospes.dom0.acpi.AcpiTable.le;

import java.nio.ByteBuffer;
import org.hospes.dom0.acpi.AcpiTable;

/**
 * The ACPI tables a PVH guest gets from the toolstack, as Xen's does: RSDP (revision 2) → XSDT →
 * a hardware-reduced FADT (with an empty DSDT) and a MADT listing the vCPUs' local APICs. A
 * kernel learns from the MADT that it has local APICs, so it sets up per-CPU clock events (Xen's
 * vcpu_op timer) instead of falling back to the legacy PIT; the FADT says there is no CMOS RTC
 * and no VGA. Layouts follow the ACPI 6.x specification.
 */
public final class AcpiTables {
  public static final int RSDP_SIZE = AcpiTable.RSDP_SIZE;
  static final int HEADER_SIZE = AcpiTable.HEADER_SIZE;
  static final int FADT_SIZE = 276;
  static final int FADT_REVISION = 6;
  static final int FADT_FLAGS = 112;
  static final int FADT_IAPC_BOOT_ARCH = 109;
  static final int FADT_X_DSDT = 140;
  static final int FADT_DSDT = 40;
  static final int FADT_MINOR_VERSION = 131;
  /** FADT flags bit 20: HW_REDUCED_ACPI. */
  static final int HW_REDUCED_ACPI = 1 << 20;
  /** IA-PC boot architecture flags: VGA not present (bit 2), CMOS RTC not present (bit 5). */
  static final int BOOT_NO_VGA = 1 << 2;
  static final int BOOT_NO_CMOS_RTC = 1 << 5;
  static final int MADT_PCAT_COMPAT = 1;
  static final long LAPIC_BASE = 0xFEE0_0000L;
  private static final String OEM_TABLE_ID = "HOSPESPV";

  private AcpiTables() {}

  /** The tables laid out at guest-physical {@code base}: the RSDP comes first. */
  public record Image(long rsdp, byte[] bytes) {}

  /**
   * Builds the tables for {@code vcpus} vCPUs with local APIC IDs 0..vcpus-1 to be placed at
   * {@code base} (16-byte aligned, below 4 GiB).
   */
  public static Image build(long base, int vcpus) {
    if ((base & 15) != 0 || base < 0 || base > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException(String.format("bad ACPI base 0x%x", base));
    }
    if (vcpus < 1 || vcpus > 255) {
      throw new IllegalArgumentException("vcpus must be 1..255, got " + vcpus);
    }
    byte[] dsdt = table("DSDT", 2, new byte[0]);
    ByteBuffer fadtBody = le(FADT_SIZE - HEADER_SIZE);
    fadtBody.putShort(FADT_IAPC_BOOT_ARCH - HEADER_SIZE,
        (short) (BOOT_NO_VGA | BOOT_NO_CMOS_RTC));
    fadtBody.putInt(FADT_FLAGS - HEADER_SIZE, HW_REDUCED_ACPI);
    fadtBody.put(FADT_MINOR_VERSION - HEADER_SIZE, (byte) 1);
    ByteBuffer madtBody = le(8 + 8 * vcpus);
    madtBody.putInt((int) LAPIC_BASE).putInt(MADT_PCAT_COMPAT);
    for (int i = 0; i < vcpus; i++) {
      // Processor Local APIC: type 0, length 8, processor UID, APIC ID, flags (enabled).
      madtBody.put((byte) 0).put((byte) 8).put((byte) i).put((byte) i).putInt(1);
    }
    byte[] madt = table("APIC", 4, madtBody.array());

    long xsdtAddr = base + RSDP_SIZE + 12;   // keep the XSDT 16-byte aligned
    int xsdtSize = HEADER_SIZE + 16;
    long fadtAddr = align(xsdtAddr + xsdtSize);
    long madtAddr = align(fadtAddr + FADT_SIZE);
    long dsdtAddr = align(madtAddr + madt.length);
    long end = dsdtAddr + dsdt.length;

    fadtBody.putInt(FADT_DSDT - HEADER_SIZE, (int) dsdtAddr);
    fadtBody.putLong(FADT_X_DSDT - HEADER_SIZE, dsdtAddr);
    byte[] fadt = table("FACP", FADT_REVISION, fadtBody.array());
    byte[] xsdt = table("XSDT", 1, le(16).putLong(fadtAddr).putLong(madtAddr).array());

    ByteBuffer out = le((int) (end - base));
    out.put(0, rsdp(xsdtAddr));
    out.put((int) (xsdtAddr - base), xsdt);
    out.put((int) (fadtAddr - base), fadt);
    out.put((int) (madtAddr - base), madt);
    out.put((int) (dsdtAddr - base), dsdt);
    return new Image(base, out.array());
  }

  /** Size of the HPET description table (IA-PC HPET specification 1.0a, table 3). */
  public static final int HPET_TABLE_SIZE = 56;
  static final int HPET_BLOCK_ID = 36;
  static final int HPET_BASE_GAS = 40;
  static final int HPET_NUMBER = 52;
  static final int HPET_MIN_TICK = 53;
  static final int HPET_PAGE_PROTECTION = 55;

  /**
   * The "HPET" table that advertises an event timer block for firmware-described machines
   * (future HVM ACPI; PVH domains have no HPET, as on Xen): the block's ID (its capabilities
   * register's low half), its base as a system-memory generic address, HPET number 0, no minimum
   * periodic tick and no page protection.
   */
  public static byte[] hpetTable(int eventTimerBlockId, long base) {
    ByteBuffer body = le(HPET_TABLE_SIZE - HEADER_SIZE);
    body.putInt(HPET_BLOCK_ID - HEADER_SIZE, eventTimerBlockId);
    // Generic address structure: space 0 (system memory), width 64, offset 0, access size 0.
    body.put(HPET_BASE_GAS - HEADER_SIZE, (byte) 0);
    body.put(HPET_BASE_GAS - HEADER_SIZE + 1, (byte) 64);
    body.putLong(HPET_BASE_GAS - HEADER_SIZE + 4, base);
    body.put(HPET_NUMBER - HEADER_SIZE, (byte) 0);
    body.putShort(HPET_MIN_TICK - HEADER_SIZE, (short) 0);
    body.put(HPET_PAGE_PROTECTION - HEADER_SIZE, (byte) 0);
    return table("HPET", 1, body.array());
  }

  private static byte[] rsdp(long xsdtAddr) {
    return AcpiTable.rsdp(0, xsdtAddr); // no RSDT: a PVH kernel reads the XSDT
  }

  private static byte[] table(String signature, int revision, byte[] body) {
    return AcpiTable.table(signature, revision, OEM_TABLE_ID, body);
  }

  private static long align(long a) {
    return (a + 15) & ~15L;
  }
}
