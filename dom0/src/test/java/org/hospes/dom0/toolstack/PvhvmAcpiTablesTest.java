package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.hospes.dom0.acpi.HvmAcpiTables;
import org.hospes.dom0.boot.loader.BootMode;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.KernelLoader;
import org.hospes.dom0.plugin.HostPlugins;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Xen's hvmloader writes ACPI tables for every HVM guest, PVHVM ones included, whatever their
 * vCPU count: a PVHVM domain's BIOS area holds an RSDP whose MADT lists one local APIC per vCPU
 * and the I/O APIC, so that its kernel routes the platform device's INTx by the DSDT's _PRT.
 */
class PvhvmAcpiTablesTest {

  @ParameterizedTest(name = "{0} vCPU")
  @ValueSource(ints = {1, 2})
  void aPvhvmDomainGetsAnHvmPcsTablesWhateverItsVcpuCount(int cpus) throws Exception {
    HvmMachine m = HvmMachine.create(DomainMode.PVHVM, 16, cpus, OutputStream.nullOutputStream(),
        new PrintStream(OutputStream.nullOutputStream()));
    byte[] elf = ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4});
    KernelLoader loader = HostPlugins.classPath().kernelLoaders()
        .choose(null, BootMode.of(DomainMode.PVHVM), elf);
    m.load(loader, elf, "hlt.elf", new BootRequest("", List.of()), null);

    long base = HvmAcpiTables.BIOS_AREA_BASE;
    byte[] area = new byte[0x1_0000];
    m.domain().memory().read(base, area, 0, area.length);
    ByteBuffer b = ByteBuffer.wrap(area).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(new String(area, 0, 8, StandardCharsets.US_ASCII)).isEqualTo("RSD PTR ");
    int xsdt = (int) (b.getLong(24) - base);
    int madt = -1;
    for (int p = xsdt + 36; p < xsdt + b.getInt(xsdt + 4); p += 8) {
      int t = (int) (b.getLong(p) - base);
      if (new String(area, t, 4, StandardCharsets.US_ASCII).equals("APIC")) {
        madt = t;
      }
    }
    assertThat(madt).as("a MADT").isPositive();
    int lapics = 0;
    int ioapics = 0;
    for (int p = madt + 44; p < madt + b.getInt(madt + 4); p += area[p + 1] & 0xFF) {
      lapics += area[p] == 0 ? 1 : 0;
      ioapics += area[p] == 1 ? 1 : 0;
    }
    assertThat(lapics).isEqualTo(cpus);
    assertThat(ioapics).isEqualTo(1);
  }
}
