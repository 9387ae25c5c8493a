package org.hospes.dom0.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.hospes.dom0.testing.BzImageBuilder;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/** Where the boot-protocol loader puts the kernel, the initrd and the zero page, and what is in it. */
class LinuxLoaderTest {
  private static final int RAM = 64 << 20;
  private final MemoryBus mem = new MemoryBus(RAM);

  private String cString(long pa) {
    StringBuilder s = new StringBuilder();
    for (int c; (c = mem.read8(pa)) != 0; pa++) {
      s.append((char) c);
    }
    return s.toString();
  }

  private long u32(long pa) {
    return mem.read32(pa) & 0xFFFF_FFFFL;
  }

  @Test
  void theZeroPageHasTheImagesHeaderAndTheLoadersFields() throws Exception {
    byte[] image = new BzImageBuilder().code(new byte[] {1, 2, 3, 4, 5}).build();
    byte[] initrd = new byte[10_000];
    Arrays.fill(initrd, (byte) 0x5A);
    LinuxLoader.LinuxKernel k = new LinuxLoader().load(image, "console=ttyS0 earlyprintk=serial",
        initrd, mem, RAM);

    long bp = k.bootParams();
    assertThat(bp).isEqualTo(0x1000);
    // The header, copied from the image at the same offsets.
    assertThat(mem.read16(bp + 0x1FE)).isEqualTo(0xAA55);
    assertThat(u32(bp + 0x202)).isEqualTo(0x5372_6448L);
    assertThat(mem.read16(bp + 0x206)).isEqualTo(0x20F);
    assertThat(mem.read8(bp + 0x1F1)).isEqualTo(1);
    assertThat(u32(bp + 0x238)).isEqualTo(0x7FF);
    assertThat(u32(bp + 0x260)).isEqualTo(0x1_0000);
    // Nothing after the header's end (0x26C) is copied: the image has 0xCC there.
    assertThat(mem.read8(bp + 0x26C)).isZero();
    // The loader's fields.
    assertThat(mem.read8(bp + 0x210)).as("type_of_loader").isEqualTo(0xFF);
    assertThat(mem.read8(bp + 0x211) & 1).as("LOADED_HIGH").isEqualTo(1);
    assertThat(u32(bp + 0x214)).as("code32_start").isEqualTo(0x20_0000);
    assertThat(cString(u32(bp + 0x228))).isEqualTo("console=ttyS0 earlyprintk=serial");
    long rd = u32(bp + 0x218);
    assertThat(u32(bp + 0x21C)).as("ramdisk_size").isEqualTo(10_000);
    assertThat(rd).as("page-aligned, at the top of RAM").isEqualTo((RAM - 10_000) & -4096L);
    assertThat(rd).isEqualTo(k.initrd());
    byte[] back = new byte[initrd.length];
    mem.read(rd, back, 0, back.length);
    assertThat(back).isEqualTo(initrd);
    // screen_info all zero: orig_video_isVGA = 0, no lines or columns.
    for (int i = 0; i < 0x40; i += 4) {
      assertThat(mem.read32(bp + i)).isZero();
    }
    assertThat(u32(bp + 0x1E0)).as("alt_mem_k").isEqualTo((RAM - 0x10_0000) >> 10);
    // The e820 map: conventional memory, the legacy hole, the rest of RAM.
    assertThat(mem.read8(bp + 0x1E8)).isEqualTo(3);
    long[][] e820 = {{0, 0xA_0000, 1}, {0xA_0000, 0x6_0000, 2}, {0x10_0000, RAM - 0x10_0000, 1}};
    for (int i = 0; i < 3; i++) {
      long at = bp + 0x2D0 + 20L * i;
      assertThat(new long[] {mem.read64(at), mem.read64(at + 8), mem.read32(at + 16)})
          .as("e820[%d]", i).containsExactly(e820[i]);
    }
    assertThat(mem.read32(bp + 0x2D0 + 60)).isZero();
  }

  @Test
  void aRelocatableKernelRunsAtItsPreferredAddressAndTheSetupCodeStaysBehind() throws Exception {
    byte[] image = new BzImageBuilder().setupSects(4).code(new byte[] {9, 8, 7}).build();
    LinuxLoader.LinuxKernel k = new LinuxLoader().load(image, null, null, mem, RAM);
    assertThat(k.entry()).isEqualTo(0x20_0000);
    assertThat(mem.read8(0x20_0000)).isEqualTo(9);
    assertThat(mem.read8(0x20_0002)).isEqualTo(7);
    assertThat(k.segments()).hasSize(1);
    assertThat(k.segments().get(0).fileOffset()).isEqualTo(5 * 512);
    assertThat(u32(k.bootParams() + 0x218)).as("no ramdisk").isZero();
    assertThat(cString(u32(k.bootParams() + 0x228))).isEmpty();
  }

  @Test
  void aKernelThatIsNotRelocatableOrWouldNotFitAtItsPreferenceRunsAtOneMiB() throws Exception {
    byte[] fixed = new BzImageBuilder().relocatable(false).build();
    assertThat(new LinuxLoader().load(fixed, null, null, mem, RAM).entry()).isEqualTo(0x10_0000);
    byte[] big = new BzImageBuilder().prefAddress(0x100_0000).initSize(60 << 20).build();
    MemoryBus other = new MemoryBus(RAM);
    assertThat(new LinuxLoader().load(big, null, null, other, RAM).entry())
        .isEqualTo(0x10_0000);
  }

  @Test
  void theGdtHasFlatBootCsAndBootDs() throws Exception {
    LinuxLoader.LinuxKernel k = new LinuxLoader().load(new BzImageBuilder().build(), "x", null,
        mem, RAM);
    assertThat(k.gdtLimit()).isEqualTo(31);
    assertThat(mem.read64(k.gdt() + 0x10)).isEqualTo(0x00CF_9B00_0000_FFFFL);
    assertThat(mem.read64(k.gdt() + 0x18)).isEqualTo(0x00CF_9300_0000_FFFFL);
    assertThat(k.gdt()).isBetween(k.bootParams() + 0x1000, 0x9_FFFFL);
  }

  @Test
  void badImagesAndRequestsAreRefusedInOneLine() {
    LinuxLoader l = new LinuxLoader();
    assertThatThrownBy(() -> l.load(new byte[0x1000], null, null, mem, RAM))
        .hasMessage("not a Linux bzImage (no HdrS setup header at 0x202)");
    assertThatThrownBy(() -> l.load(new BzImageBuilder().version(0x201).build(), null, null,
        mem, RAM)).hasMessage("Linux boot protocol 2.01 is too old (2.02 or later needed)");
    assertThatThrownBy(() -> l.load(new BzImageBuilder().loadflags(0).build(), null, null,
        mem, RAM)).hasMessageStartingWith("a zImage");
    assertThatThrownBy(() -> l.load(new BzImageBuilder().cmdlineSize(3).build(), "four", null,
        mem, RAM)).hasMessage("the command line is 4 bytes; this kernel takes at most 3");
    assertThatThrownBy(() -> l.load(new BzImageBuilder().relocatable(false)
        .initSize(80 << 20).build(), null, null, mem, RAM))
        .hasMessage("the kernel needs 0x5000000 bytes at 0x100000 (its init_size); RAM is 64"
            + " MiB, at least 81 MiB needed");
    assertThatThrownBy(() -> l.load(new BzImageBuilder().initrdAddrMax(0x30_0000).build(), null,
        new byte[0x20_0000], mem, RAM))
        .hasMessageStartingWith("the initrd (2097152 bytes) does not fit");
  }
}
