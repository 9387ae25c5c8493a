package org.hospes.dom0.boot;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/** Pins the Multiboot structure layouts to the spec's offsets (0.6.96, sections 3.1 and 3.3). */
class MultibootAbiLayoutTest {

  @Test
  void infoOffsetsFollowTheSpec() {
    assertThat(MultibootInfo.OFFSET_FLAGS).isZero();
    assertThat(MultibootInfo.OFFSET_MEM_LOWER).isEqualTo(4);
    assertThat(MultibootInfo.OFFSET_MEM_UPPER).isEqualTo(8);
    assertThat(MultibootInfo.OFFSET_BOOT_DEVICE).isEqualTo(12);
    assertThat(MultibootInfo.OFFSET_CMDLINE).isEqualTo(16);
    assertThat(MultibootInfo.OFFSET_MODS_COUNT).isEqualTo(20);
    assertThat(MultibootInfo.OFFSET_MODS_ADDR).isEqualTo(24);
    assertThat(MultibootInfo.OFFSET_SYMS).isEqualTo(28);
    assertThat(MultibootInfo.OFFSET_MMAP_LENGTH).isEqualTo(44);
    assertThat(MultibootInfo.OFFSET_MMAP_ADDR).isEqualTo(48);
    assertThat(MultibootInfo.OFFSET_DRIVES_LENGTH).isEqualTo(52);
    assertThat(MultibootInfo.OFFSET_DRIVES_ADDR).isEqualTo(56);
    assertThat(MultibootInfo.OFFSET_CONFIG_TABLE).isEqualTo(60);
    assertThat(MultibootInfo.OFFSET_BOOT_LOADER_NAME).isEqualTo(64);
    assertThat(MultibootInfo.OFFSET_APM_TABLE).isEqualTo(68);
    assertThat(MultibootInfo.OFFSET_VBE).isEqualTo(72);
    assertThat(MultibootInfo.SIZE).isEqualTo(88);
    assertThat(MultibootInfo.INFO_MEMORY_MAP).isEqualTo(0x40);
    assertThat(MultibootInfo.INFO_BOOT_LOADER_NAME).isEqualTo(0x200);
  }

  @Test
  void headerOffsetsFollowTheSpec() {
    assertThat(MultibootHeader.OFFSET_FLAGS).isEqualTo(4);
    assertThat(MultibootHeader.OFFSET_CHECKSUM).isEqualTo(8);
    assertThat(MultibootHeader.OFFSET_HEADER_ADDR).isEqualTo(12);
    assertThat(MultibootHeader.OFFSET_ENTRY_ADDR).isEqualTo(28);
    assertThat(MultibootHeader.FLAG_ADDRESS_FIELDS).isEqualTo(0x10000);
  }

  @Test
  void memoryMapEntryIsTwentyFourBytesWithASizeFieldOfTwenty() {
    MemoryBus mem = new MemoryBus(4096);
    new MemoryMapEntry(0x100000, 0x3F00000, MemoryMapEntry.TYPE_AVAILABLE).writeTo(mem, 16);
    assertThat(mem.read32(16)).isEqualTo(20);
    assertThat(mem.read64(20)).isEqualTo(0x100000);
    assertThat(mem.read64(28)).isEqualTo(0x3F00000);
    assertThat(mem.read32(36)).isEqualTo(1);
    assertThat(MemoryMapEntry.readFrom(mem, 16))
        .isEqualTo(new MemoryMapEntry(0x100000, 0x3F00000, 1));
  }

  @Test
  void infoRoundTripsAndZeroesWhatItDoesNotProvide() {
    MemoryBus mem = new MemoryBus(4096);
    for (int i = 0; i < 128; i++) {
      mem.write8(i, 0xEE);
    }
    MultibootInfo info = new MultibootInfo(0x245, 640, 64512, 0x2000, 72, 0x1058, 0x2100);
    info.writeTo(mem, 0);
    assertThat(MultibootInfo.readFrom(mem, 0)).isEqualTo(info);
    assertThat(mem.read32(MultibootInfo.OFFSET_MODS_COUNT)).isZero();
    assertThat(mem.read32(MultibootInfo.OFFSET_VBE + 12)).isZero();
    assertThat(mem.read8(MultibootInfo.SIZE)).as("nothing past the struct").isEqualTo(0xEE);
  }
}
