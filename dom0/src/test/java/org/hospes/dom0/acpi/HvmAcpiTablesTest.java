package org.hospes.dom0.acpi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Walks the HVM tables as a kernel does (RSDP → RSDT/XSDT → FADT → FACS/DSDT, MADT, HPET),
 * checks every checksum and field, and has ACPICA's own disassembler (iasl -d) read them back.
 */
class HvmAcpiTablesTest {
  static final long BASE = 0xE_0000L;

  @TempDir
  Path tmp;

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 4, 255})
  void aKernelWalksEveryTableAndEveryChecksumHolds(int vcpus) {
    HvmAcpiTables.Image img = HvmAcpiTables.build(BASE, vcpus, true, true);
    byte[] a = img.bytes();
    ByteBuffer b = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(ascii(a, 0, 8)).isEqualTo("RSD PTR ");
    assertThat(sum(a, 0, 20)).isZero();
    assertThat(sum(a, 0, 36)).isZero();
    assertThat(img.end()).isLessThanOrEqualTo(0x10_0000L);

    Map<String, Integer> viaRsdt = new LinkedHashMap<>();
    int rsdt = at(b.getInt(16));
    checkTable(a, rsdt, "RSDT");
    for (int p = rsdt + 36; p < rsdt + b.getInt(rsdt + 4); p += 4) {
      int t = at(b.getInt(p));
      viaRsdt.put(ascii(a, t, 4), t);
    }
    Map<String, Integer> viaXsdt = new LinkedHashMap<>();
    int xsdt = at(b.getLong(24));
    checkTable(a, xsdt, "XSDT");
    for (int p = xsdt + 36; p < xsdt + b.getInt(xsdt + 4); p += 8) {
      int t = at(b.getLong(p));
      viaXsdt.put(ascii(a, t, 4), t);
    }
    assertThat(viaXsdt).isEqualTo(viaRsdt).containsOnlyKeys("FACP", "APIC", "HPET");
    viaXsdt.forEach((sig, off) -> checkTable(a, off, sig));

    int fadt = viaXsdt.get("FACP");
    assertThat(b.getInt(fadt + 4)).isEqualTo(276);
    assertThat(b.getShort(fadt + 46)).as("SCI_INT").isEqualTo((short) 9);
    assertThat(b.getInt(fadt + 48)).as("SMI_CMD").isZero();
    assertThat(b.getInt(fadt + 56)).isEqualTo(0xB000);
    assertThat(b.getInt(fadt + 64)).isEqualTo(0xB004);
    assertThat(b.getInt(fadt + 76)).isEqualTo(0xB008);
    assertThat(b.getInt(fadt + 112) & (1 << 20)).as("not HW-reduced").isZero();
    assertThat(b.getInt(fadt + 112) & (1 << 8)).as("24-bit timer").isZero();
    int facs = at(b.getInt(fadt + 36));
    assertThat(facs % 64).isZero();
    assertThat(ascii(a, facs, 4)).isEqualTo("FACS");
    assertThat(b.getLong(fadt + 132)).isEqualTo(b.getInt(fadt + 36) & 0xFFFF_FFFFL);
    int dsdt = at(b.getInt(fadt + 40));
    assertThat(b.getLong(fadt + 140)).isEqualTo(BASE + dsdt);
    checkTable(a, dsdt, "DSDT");

    int madt = viaXsdt.get("APIC");
    assertThat(b.getInt(madt + 36)).isEqualTo(0xFEE0_0000);
    List<String> entries = new ArrayList<>();
    for (int p = madt + 44; p < madt + b.getInt(madt + 4); p += a[p + 1] & 0xFF) {
      switch (a[p]) {
        case 0 -> entries.add("lapic " + (a[p + 3] & 0xFF));
        case 1 -> entries.add(String.format("ioapic %d 0x%x %d", a[p + 2], b.getInt(p + 4),
            b.getInt(p + 8)));
        case 2 -> entries.add(String.format("iso %d->%d 0x%x", a[p + 3], b.getInt(p + 4),
            b.getShort(p + 8)));
        case 4 -> entries.add("nmi lint" + a[p + 5]);
        default -> entries.add("type " + a[p]);
      }
    }
    List<String> want = new ArrayList<>();
    for (int i = 0; i < vcpus; i++) {
      want.add("lapic " + i);
    }
    want.addAll(List.of("ioapic 0 0xfec00000 0", "iso 0->2 0x0", "iso 9->9 0xd",
        "iso 10->10 0xd", "iso 11->11 0xd", "nmi lint1"));
    assertThat(entries).isEqualTo(want);
  }

  @Test
  void withoutAnHpetThereIsNoHpetTable() {
    HvmAcpiTables.Image img = HvmAcpiTables.build(BASE, 1, false, true);
    assertThat(img.tables()).extracting(HvmAcpiTables.Placed::signature)
        .containsExactly("RSDT", "XSDT", "FACS", "FACP", "APIC", "DSDT");
  }

  @Test
  void withoutAnIoApicTheMadtListsTheLocalApicsAndTheNmiOnly() {
    HvmAcpiTables.Image img = HvmAcpiTables.build(BASE, 2, false, false);
    HvmAcpiTables.Placed madt = img.tables().stream()
        .filter(t -> t.signature().equals("APIC")).findFirst().orElseThrow();
    assertThat(madt.length()).isEqualTo(36 + 8 + 2 * 8 + 6);
    checkTable(img.bytes(), (int) (madt.address() - BASE), "APIC");
  }

  @Test
  void theSlotInterruptsFollowXensFormula() {
    // hvm_pci_intx_gsi: slot 0 INTA is GSI 16; slot 3 INTB is 16 + 12 + 0 + 1 = 29; slot 8
    // INTA wraps past 31 (32 + 1 = 33 & 31 = 1) to GSI 17.
    assertThat(Dsdt.pciIntxGsi(0, 0)).isEqualTo(16);
    assertThat(Dsdt.pciIntxGsi(3, 1)).isEqualTo(29);
    assertThat(Dsdt.pciIntxGsi(8, 0)).isEqualTo(17);
    assertThat(Dsdt.pciIntxGsi(31, 3)).isEqualTo(16 + ((124 + 3 + 3) & 31));
    // hvm_pci_intx_link: (slot + pin) & 3; PIRQ A-D as SeaBIOS routes them.
    assertThat(Dsdt.pciIntxLink(3, 2)).isEqualTo(1);
    assertThat(Dsdt.LINK_IRQS).containsExactly(10, 10, 11, 11);
  }

  @Test
  void badPlacementIsRefused() {
    assertThatThrownBy(() -> HvmAcpiTables.build(BASE + 8, 1, true, true))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> HvmAcpiTables.build(BASE, 0, true, true))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> HvmAcpiTables.build(BASE, 256, true, true))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void acpicasDisassemblerReadsTheTablesBack() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/iasl")),
        "iasl (Debian acpica-tools) is not installed");
    HvmAcpiTables.Image img = HvmAcpiTables.build(BASE, 2, true, true);
    Map<String, String> dis = new LinkedHashMap<>();
    for (HvmAcpiTables.Placed t : img.tables()) {
      if (t.signature().equals("FACS")) {
        continue;
      }
      Path f = tmp.resolve(t.signature().toLowerCase() + ".dat");
      Files.write(f, java.util.Arrays.copyOfRange(img.bytes(), (int) (t.address() - BASE),
          (int) (t.address() - BASE) + t.length()));
      dis.put(t.signature(), iaslDisassemble(f));
    }
    assertThat(dis.get("DSDT"))
        .contains("Name (PICD, Zero)")
        .contains("Method (_PIC, 1, NotSerialized)")
        .contains("Name (_S5, Package (0x04)")
        .contains("Device (PCI0)")
        .contains("Name (_HID, EisaId (\"PNP0A03\")")
        .contains("WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,")
        .contains("IO (Decode16,")
        .contains("0xF0000000,         // Range Minimum")
        .contains("Name (PRTA, Package (0x7C)")
        .contains("Name (PRTP, Package (0x7C)")
        .contains("Method (_PRT, 0, NotSerialized)")
        .contains("If (PICD)")
        .contains("Return (PRTA)")
        .contains("Return (PRTP)")
        // Slot 1's INTA: GSI 20 (0x14).
        .contains("0x0001FFFF, \n                    Zero, \n                    Zero, \n"
            + "                    0x14")
        .doesNotContain("Error")
        .doesNotContain("Unknown");
    assertThat(dis.get("FACP"))
        .contains("PM1A Event Block Address : 0000B000")
        .contains("PM Timer Block Address : 0000B008")
        .contains("SCI Interrupt : 0009")
        .contains("Hardware Reduced (V5) : 0");
    assertThat(dis.get("APIC"))
        .contains("Subtable Type : 01 [I/O APIC]")
        .contains("Address : FEC00000")
        .contains("Subtable Type : 02 [Interrupt Source Override]")
        .contains("Interrupt : 00000002");
    assertThat(dis.get("HPET")).contains("Address : 00000000FED00000");
    for (Map.Entry<String, String> e : dis.entrySet()) {
      assertThat(e.getValue()).as(e.getKey()).doesNotContain("Incorrect checksum")
          .doesNotContain("Invalid");
    }
  }

  private String iaslDisassemble(Path table) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("iasl", "-d", table.getFileName().toString())
        .directory(tmp.toFile()).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(log).isZero();
    assertThat(log).doesNotContain("checksum is incorrect");
    String dsl = table.getFileName().toString().replace(".dat", ".dsl");
    return Files.readString(tmp.resolve(dsl), StandardCharsets.ISO_8859_1) + "\n" + log;
  }

  static void checkTable(byte[] a, int off, String sig) {
    assertThat(ascii(a, off, 4)).isEqualTo(sig);
    int len = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN).getInt(off + 4);
    assertThat(sum(a, off, len)).as("%s checksum", sig).isZero();
  }

  private static int at(long address) {
    return (int) (address - BASE);
  }

  private static int sum(byte[] a, int from, int len) {
    int s = 0;
    for (int i = from; i < from + len; i++) {
      s += a[i];
    }
    return s & 0xFF;
  }

  private static String ascii(byte[] a, int from, int len) {
    return new String(a, from, len, StandardCharsets.US_ASCII);
  }
}
