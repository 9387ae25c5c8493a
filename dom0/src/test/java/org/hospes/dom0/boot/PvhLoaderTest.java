package org.hospes.dom0.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/** Where the PVH builder puts the kernel, its modules and the start info with its tables. */
class PvhLoaderTest {
  private static final int RAM = 64 << 20;
  private static final long KERNEL = 0x100_0000;

  private final MemoryBus mem = new MemoryBus(RAM);

  private static byte[] kernelAt(long paddr, int size) {
    byte[] text = new byte[size];
    text[0] = (byte) 0xF4;
    return new ElfImageBuilder().entry(paddr).segment(paddr, text, size).pvhEntryNote(paddr)
        .build();
  }

  private String cString(long pa) {
    StringBuilder s = new StringBuilder();
    for (int c; (c = mem.read8(pa)) != 0; pa++) {
      s.append((char) c);
    }
    return s.toString();
  }

  @Test
  void theStartInfoAndItsTablesGoInLowMemoryBelowTheKernelAndModulesAbove() throws Exception {
    byte[] initrd = new byte[3 << 20];
    Arrays.fill(initrd, (byte) 0x5A);
    PvhLoader.PvhKernel k = new PvhLoader().load(kernelAt(KERNEL, 0x2345), "console=hvc0",
        List.of(new BootModule(initrd, "initrd.cpio")), mem, RAM);

    assertThat(k.entry()).isEqualTo(KERNEL);
    assertThat(k.startInfo()).isEqualTo(0x1000);
    assertThat(mem.read32(k.startInfo() + PvhLoader.SI_MAGIC))
        .isEqualTo(PvhLoader.START_INFO_MAGIC);
    long memmap = mem.read32(k.startInfo() + PvhLoader.SI_MEMMAP) & 0xFFFF_FFFFL;
    long modlist = mem.read32(k.startInfo() + PvhLoader.SI_MODLIST) & 0xFFFF_FFFFL;
    long cmdline = mem.read32(k.startInfo() + PvhLoader.SI_CMDLINE) & 0xFFFF_FFFFL;
    for (long table : new long[] {memmap, modlist, cmdline}) {
      assertThat(table).isBetween(k.startInfo() + PvhLoader.SI_SIZE, 0x9_FFFFL);
    }
    assertThat(cString(cmdline)).isEqualTo("console=hvc0");
    // The module starts on the page after the kernel's end, whole.
    long modAddr = mem.read32(modlist) & 0xFFFF_FFFFL;
    assertThat(modAddr).isEqualTo(KERNEL + 0x3000);
    assertThat(mem.read32(modlist + 8)).isEqualTo(initrd.length);
    assertThat(cString(mem.read32(modlist + 16) & 0xFFFF_FFFFL)).isEqualTo("initrd.cpio");
    byte[] back = new byte[initrd.length];
    mem.read(modAddr, back, 0, back.length);
    assertThat(back).isEqualTo(initrd);
    // The RSDP stays where it was, in the reserved hole.
    assertThat(mem.read32(k.startInfo() + PvhLoader.SI_RSDP)).isEqualTo(0xE_0000);
  }

  @Test
  void aKernelInLowMemoryPushesTheStartInfoPastItsEnd() throws Exception {
    PvhLoader.PvhKernel k = new PvhLoader().load(kernelAt(0x1000, 0x2800), null, mem, RAM);
    assertThat(k.startInfo()).isEqualTo(0x4000);
    assertThat(mem.read32(k.startInfo() + PvhLoader.SI_CMDLINE)).isZero();
  }

  @Test
  void aKernelFillingLowMemoryGetsItsStartInfoAboveTheModules() throws Exception {
    byte[] mod = "module".getBytes(StandardCharsets.US_ASCII);
    PvhLoader.PvhKernel k = new PvhLoader().load(kernelAt(0x1000, 0x9_F000), "x",
        List.of(new BootModule(mod, null)), mem, RAM);
    assertThat(k.startInfo()).isEqualTo(0xA_1000);
    long modlist = mem.read32(k.startInfo() + PvhLoader.SI_MODLIST) & 0xFFFF_FFFFL;
    assertThat(mem.read32(modlist)).isEqualTo(0xA_0000);
    assertThat(mem.read32(modlist + 16)).as("no module cmdline").isZero();
  }

  @Test
  void aSegmentInTheLegacyHoleIsRefusedRatherThanOverwrittenByTheAcpiTables() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new PvhLoader().load(
        kernelAt(0xD_0000, 0x2_0000), null, mem, RAM))
        .isInstanceOf(BootException.class)
        .hasMessage("segment 0 at 0xd0000 (+0x20000) lies in the legacy hole 0xa0000-0xfffff,"
            + " where the ACPI tables go");
  }

  /**
   * Generated layouts: kernels anywhere in the first 16 MiB, up to four modules, command lines
   * of any length. Nothing the builder writes overlaps anything else, or the ACPI tables.
   */
  @Test
  void generatedLayoutsNeverOverlap() throws Exception {
    long seed = 0x5EED_10ADL;
    Random r = new Random(seed);
    for (int round = 0; round < 200; round++) {
      String why = "seed " + Long.toHexString(seed) + " round " + round;
      long kernel = (1 + r.nextInt(4096)) * 0x1000L;
      int size = 1 + r.nextInt(0x4_0000);
      if (kernel < 0x10_0000 && kernel + size > 0xA_0000) {
        kernel += 0x10_0000; // the legacy hole is refused (see the test below)
      }
      List<BootModule> mods = new ArrayList<>();
      int n = r.nextInt(5);
      for (int i = 0; i < n; i++) {
        mods.add(new BootModule(new byte[1 + r.nextInt(0x2_0000)],
            r.nextBoolean() ? null : "m".repeat(r.nextInt(300))));
      }
      String cmd = r.nextBoolean() ? null : "c".repeat(r.nextInt(2000));
      PvhLoader.PvhKernel k = new PvhLoader().load(kernelAt(kernel, size), cmd, mods, mem, RAM);
      List<long[]> used = new ArrayList<>();
      used.add(new long[] {kernel, kernel + size});
      used.add(new long[] {PvhLoader.ACPI_BASE, PvhLoader.ACPI_BASE + 0x1000});
      long si = k.startInfo();
      long modlist = mem.read32(si + PvhLoader.SI_MODLIST) & 0xFFFF_FFFFL;
      long infoEnd = si + PvhLoader.SI_SIZE + 3 * PvhLoader.MEMMAP_ENTRY_SIZE
          + (long) n * PvhLoader.MODLIST_ENTRY_SIZE + (cmd == null ? 0 : cmd.length()) + 1;
      for (int i = 0; i < n; i++) {
        long pa = mem.read32(modlist + 32L * i) & 0xFFFF_FFFFL;
        assertThat(pa & 0xFFF).as(why).isZero();
        used.add(new long[] {pa, pa + mods.get(i).data().length});
        long c = mem.read32(modlist + 32L * i + 16) & 0xFFFF_FFFFL;
        if (c != 0) {
          infoEnd = Math.max(infoEnd, c + mods.get(i).cmdline().length() + 1);
        }
      }
      used.add(new long[] {si, infoEnd});
      if (kernel >= 0x10_0000) {
        assertThat(infoEnd).as(why + ": a kernel above 1 MiB leaves low memory free")
            .isLessThanOrEqualTo(0xA_0000);
      }
      for (int a = 0; a < used.size(); a++) {
        for (int b = a + 1; b < used.size(); b++) {
          long[] x = used.get(a);
          long[] y = used.get(b);
          assertThat(x[0] < y[1] && y[0] < x[1])
              .as("%s: [%x,%x) overlaps [%x,%x)", why, x[0], x[1], y[0], y[1]).isFalse();
        }
      }
    }
  }
}
