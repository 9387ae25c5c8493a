package org.hospes.dom0.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Walks the tables the way a kernel's ACPI code does: RSDP → XSDT → FADT/MADT → DSDT. */
class AcpiTablesTest {
  private static final long BASE = 0xE_0000L;

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 8, 255})
  void kernelCanWalkEveryTableAndEveryChecksumHolds(int vcpus) {
    AcpiTables.Image img = AcpiTables.build(BASE, vcpus);
    ByteBuffer b = ByteBuffer.wrap(img.bytes()).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(img.rsdp()).isEqualTo(BASE);

    assertThat(ascii(b, 0, 8)).isEqualTo("RSD PTR ");
    assertThat(sum(img.bytes(), 0, 20)).as("RSDP checksum (first 20 bytes)").isZero();
    assertThat(sum(img.bytes(), 0, b.getInt(20))).as("RSDP extended checksum").isZero();
    assertThat(b.get(15)).as("RSDP revision").isEqualTo((byte) 2);
    assertThat(b.getInt(20)).isEqualTo(36);

    int xsdt = at(b.getLong(24));
    assertThat(xsdt % 16).isZero();
    checkTable(img.bytes(), xsdt, "XSDT");
    int xsdtLen = b.getInt(xsdt + 4);
    List<String> found = new ArrayList<>();
    int fadt = -1;
    int madt = -1;
    for (int p = xsdt + 36; p < xsdt + xsdtLen; p += 8) {
      int t = at(b.getLong(p));
      String sig = ascii(b, t, 4);
      checkTable(img.bytes(), t, sig);
      found.add(sig);
      if (sig.equals("FACP")) {
        fadt = t;
      } else if (sig.equals("APIC")) {
        madt = t;
      }
    }
    assertThat(found).containsExactly("FACP", "APIC");

    assertThat(b.getInt(fadt + 4)).isEqualTo(276);
    assertThat(b.get(fadt + 8)).as("FADT revision").isEqualTo((byte) 6);
    assertThat(b.getInt(fadt + 112) & (1 << 20)).as("HW_REDUCED_ACPI").isNotZero();
    assertThat(b.getShort(fadt + 109) & 0x24).as("no VGA, no CMOS RTC").isEqualTo(0x24);
    int dsdt = at(b.getLong(fadt + 140));
    assertThat(b.getInt(fadt + 40)).isEqualTo((int) (BASE + dsdt));
    checkTable(img.bytes(), dsdt, "DSDT");

    assertThat(b.getInt(madt + 36)).as("local APIC address").isEqualTo(0xFEE0_0000);
    int madtLen = b.getInt(madt + 4);
    List<Integer> apicIds = new ArrayList<>();
    for (int p = madt + 44; p < madt + madtLen; p += b.get(p + 1)) {
      assertThat(b.get(p)).as("entry type: processor local APIC").isZero();
      assertThat(b.get(p + 1)).isEqualTo((byte) 8);
      assertThat(b.getInt(p + 4) & 1).as("enabled").isEqualTo(1);
      apicIds.add(b.get(p + 3) & 0xFF);
    }
    assertThat(apicIds).hasSize(vcpus).doesNotHaveDuplicates();
    assertThat(apicIds.get(vcpus - 1)).isEqualTo(vcpus - 1);
  }

  @Test
  void checksumCatchesAnyChangedByte() {
    byte[] t = AcpiTables.build(BASE, 1).bytes();
    int xsdt = (int) (ByteBuffer.wrap(t).order(ByteOrder.LITTLE_ENDIAN).getLong(24) - BASE);
    t[xsdt + 20]++;
    assertThat(sum(t, xsdt, 52)).isNotZero();
  }

  @Test
  void theHpetTableDescribesTheBlockAtItsBase() {
    byte[] t = AcpiTables.hpetTable(0x8086_A201, 0xFED0_0000L);
    ByteBuffer b = ByteBuffer.wrap(t).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(new String(t, 0, 4, StandardCharsets.US_ASCII)).isEqualTo("HPET");
    assertThat(b.getInt(4)).isEqualTo(AcpiTables.HPET_TABLE_SIZE).isEqualTo(t.length);
    assertThat(t[8]).isEqualTo((byte) 1);
    assertThat(b.getInt(36)).isEqualTo(0x8086_A201);
    assertThat(t[40]).as("system memory").isZero();
    assertThat(t[41]).as("register width").isEqualTo((byte) 64);
    assertThat(b.getLong(44)).isEqualTo(0xFED0_0000L);
    assertThat(t[52]).as("HPET number").isZero();
    int sum = 0;
    for (byte x : t) {
      sum += x;
    }
    assertThat(sum & 0xFF).isZero();
  }

  @Test
  void rejectsUnalignedBaseAndBadVcpuCounts() {
    assertThatThrownBy(() -> AcpiTables.build(BASE + 4, 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0xe0004");
    assertThatThrownBy(() -> AcpiTables.build(BASE, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1..255");
    assertThatThrownBy(() -> AcpiTables.build(BASE, 256))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static void checkTable(byte[] a, int off, String signature) {
    ByteBuffer b = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(ascii(b, off, 4)).isEqualTo(signature);
    int len = b.getInt(off + 4);
    assertThat(len).as("%s length", signature).isGreaterThanOrEqualTo(36);
    assertThat(off + len).as("%s fits", signature).isLessThanOrEqualTo(a.length);
    assertThat(sum(a, off, len)).as("%s checksum", signature).isZero();
    assertThat(ascii(b, off + 10, 6)).isEqualTo("HOSPES");
  }

  private static int at(long physical) {
    assertThat(physical).isBetween(BASE, BASE + 0x1_0000);
    return (int) (physical - BASE);
  }

  private static int sum(byte[] a, int from, int len) {
    int s = 0;
    for (int i = from; i < from + len; i++) {
      s += a[i];
    }
    return s & 0xFF;
  }

  private static String ascii(ByteBuffer b, int off, int len) {
    byte[] out = new byte[len];
    b.get(off, out);
    return new String(out, StandardCharsets.US_ASCII);
  }
}
