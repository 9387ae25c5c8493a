package org.hospes.dom0.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hospes.dom0.testing.ElfImageBuilder.concat;
import static org.hospes.dom0.testing.ElfImageBuilder.multibootHeader;
import static org.hospes.dom0.testing.ElfImageBuilder.multibootHeaderWithAddresses;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MultibootLoaderTest {

  private static final int RAM = 64 << 20;
  private static final long KERNEL = 0x100000;

  private final MultibootLoader loader = new MultibootLoader();
  private MemoryBus mem;

  @BeforeEach
  void dirtyRam() {
    mem = new MemoryBus(RAM);
    // Garbage in the low 4 MiB where the tests load, so that a missing bss clear or unset field shows.
    byte[] junk = new byte[4 << 20];
    Arrays.fill(junk, (byte) 0xCC);
    mem.write(0, junk, 0, junk.length);
  }

  private static byte[] code(int... bytes) {
    byte[] b = new byte[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      b[i] = (byte) bytes[i];
    }
    return b;
  }

  private LoadedKernel load(byte[] image, String cmdline) throws BootException {
    return loader.load(image, cmdline, mem, RAM);
  }

  private String cString(long pa) {
    StringBuilder s = new StringBuilder();
    for (int c; (c = mem.read8(pa)) != 0; pa++) {
      s.append((char) c);
    }
    return s.toString();
  }

  @Test
  void loadsElfSegmentsAtTheirPhysicalAddressesAndZeroesTheBss() throws BootException {
    byte[] text = concat(multibootHeader(0x3), code(0xF4, 0x90, 0x90, 0x90));
    byte[] data = code(1, 2, 3, 4);
    ElfImageBuilder builder = new ElfImageBuilder()
        .entry(KERNEL + 12)
        .segment(KERNEL, text, text.length)
        .segment(0x200000, data, 0x1000);
    byte[] image = builder.build();

    LoadedKernel k = load(image, null);

    assertThat(k.entry()).isEqualTo(KERNEL + 12);
    assertThat(k.eax()).isEqualTo(0x2BADB002);
    assertThat(mem.read8(KERNEL + 12)).isEqualTo(0xF4);
    assertThat(mem.read32(0x200000)).isEqualTo(0x04030201);
    assertThat(mem.read32(0x200004)).as("bss cleared").isZero();
    assertThat(mem.read32(0x200FFC)).as("end of bss cleared").isZero();
    assertThat(mem.read8(0x201000)).as("nothing past memsz").isEqualTo(0xCC);
    assertThat(k.segments()).containsExactly(
        new LoadSegment(builder.dataOffset(0), KERNEL, text.length, text.length),
        new LoadSegment(builder.dataOffset(1), 0x200000, 4, 0x1000));
  }

  @Test
  void writesBootInformationWithMemoryMapAndLoaderName() throws BootException {
    LoadedKernel k = load(ElfImageBuilder.multibootKernel(code(0xF4)), null);

    MultibootInfo info = MultibootInfo.readFrom(mem, k.bootInfoAddress());
    assertThat(info.flags()).isEqualTo(MultibootInfo.INFO_MEMORY | MultibootInfo.INFO_MEMORY_MAP
        | MultibootInfo.INFO_BOOT_LOADER_NAME);
    assertThat(info.memLower()).isEqualTo(640);
    assertThat(info.memUpper()).isEqualTo(64 * 1024 - 1024);
    assertThat(info.cmdline()).isZero();
    assertThat(cString(info.bootLoaderName())).isEqualTo("Hospes");

    List<MemoryMapEntry> map = new ArrayList<>();
    for (long at = info.mmapAddr(); at < info.mmapAddr() + info.mmapLength();
        at += mem.read32(at) + 4) {
      map.add(MemoryMapEntry.readFrom(mem, at));
    }
    assertThat(map).containsExactly(
        new MemoryMapEntry(0, 0xA0000, MemoryMapEntry.TYPE_AVAILABLE),
        new MemoryMapEntry(0xA0000, 0x60000, MemoryMapEntry.TYPE_RESERVED),
        new MemoryMapEntry(0x100000, RAM - 0x100000, MemoryMapEntry.TYPE_AVAILABLE));
  }

  @Test
  void placesTheBootInformationInLowMemoryOffPageZero() throws BootException {
    LoadedKernel k = load(ElfImageBuilder.multibootKernel(code(0xF4)), null);
    assertThat(k.bootInfoAddress()).isEqualTo(0x1000);
  }

  @Test
  void movesTheBootInformationOutOfTheKernelsWay() throws BootException {
    byte[] text = concat(multibootHeader(0), code(0xF4));
    byte[] image = new ElfImageBuilder()
        .entry(0x1000 + 12).segment(0x1000, text, 0x3800).build();
    LoadedKernel k = load(image, "x");
    assertThat(k.bootInfoAddress()).isEqualTo(0x5000);
    assertThat(mem.read8(0x1000 + 12)).isEqualTo(0xF4);
  }

  @Test
  void passesTheCommandLine() throws BootException {
    LoadedKernel k = load(ElfImageBuilder.multibootKernel(code(0xF4)), "console=ttyS0 quiet");
    MultibootInfo info = MultibootInfo.readFrom(mem, k.bootInfoAddress());
    assertThat(info.flags() & MultibootInfo.INFO_CMDLINE).isNotZero();
    assertThat(cString(info.cmdline())).isEqualTo("console=ttyS0 quiet");
  }

  @Test
  void anEmptyCommandLineIsStillACommandLine() throws BootException {
    LoadedKernel k = load(ElfImageBuilder.multibootKernel(code(0xF4)), "");
    MultibootInfo info = MultibootInfo.readFrom(mem, k.bootInfoAddress());
    assertThat(info.flags() & MultibootInfo.INFO_CMDLINE).isNotZero();
    assertThat(mem.read8(info.cmdline())).isZero();
  }

  @Test
  void translatesAHigherHalfEntryToItsPhysicalAddress() throws BootException {
    byte[] text = concat(multibootHeader(0x3), code(0xF4));
    byte[] image = new ElfImageBuilder()
        .entry(0xC0100000L + 12)
        .segment(0xC0100000L, KERNEL, text, text.length)
        .build();
    assertThat(load(image, null).entry()).isEqualTo(KERNEL + 12);
  }

  @Test
  void aoutKludgeAddressesOverrideTheElfHeaders() throws BootException {
    // A flat binary: the header sits at file offset 0 and is loaded at 0x100000.
    byte[] header = multibootHeaderWithAddresses(0x3, 0x100000, 0x100000, 0x100040, 0x102000,
        0x100020);
    byte[] body = new byte[0x40 - header.length];
    body[0x20 - header.length] = (byte) 0xF4;
    byte[] image = concat(header, body, "trailing junk not loaded".getBytes());

    LoadedKernel k = load(image, null);

    assertThat(k.entry()).isEqualTo(0x100020);
    assertThat(k.segments()).containsExactly(new LoadSegment(0, 0x100000, 0x40, 0x2000));
    assertThat(mem.read32(0x100000)).isEqualTo(0x1BADB002);
    assertThat(mem.read8(0x100020)).isEqualTo(0xF4);
    assertThat(mem.read8(0x100040)).as("bss").isZero();
    assertThat(mem.read8(0x101FFF)).as("bss end").isZero();
  }

  @Test
  void aoutKludgeWithHeaderInsideTheFileAndLoadEndZeroLoadsToTheEndOfTheFile()
      throws BootException {
    // 0x10 bytes of text precede the header: header_addr - load_addr = 0x10.
    byte[] text = new byte[0x10];
    text[0] = (byte) 0xF4;
    byte[] header = multibootHeaderWithAddresses(0, 0x200010, 0x200000, 0, 0, 0x200000);
    byte[] image = concat(text, header, code(0xAA));

    LoadedKernel k = load(image, null);

    assertThat(k.segments()).containsExactly(new LoadSegment(0, 0x200000, image.length,
        image.length));
    assertThat(mem.read8(0x200000)).isEqualTo(0xF4);
    assertThat(mem.read8(0x200000 + image.length - 1)).isEqualTo(0xAA);
  }

  @Test
  void rejectsAoutKludgeFieldsThatStartBeforeTheFile() {
    byte[] image = multibootHeaderWithAddresses(0, 0x100000, 0xF0000, 0, 0, 0x100000);
    assertThatThrownBy(() -> load(image, null))
        .hasMessageContaining("before the beginning of the file");
  }

  @Test
  void aoutKludgeBssEndInsideTheDataMeansNoBss() throws BootException {
    byte[] image = concat(multibootHeaderWithAddresses(0, 0x100000, 0x100000, 0x100040,
        0x100020, 0x100020), new byte[0x20]);
    assertThat(load(image, null).segments())
        .containsExactly(new LoadSegment(0, 0x100000, 0x40, 0x40));
  }

  @Test
  void rejectsAoutKludgeBssEndBelowTheLoadAddress() {
    byte[] image = concat(multibootHeaderWithAddresses(0, 0x100000, 0x100000, 0x100040,
        0xF0000, 0x100020), new byte[0x20]);
    assertThatThrownBy(() -> load(image, null))
        .hasMessageContaining("bss_end_addr 0xf0000 is below load_addr 0x100000");
  }

  @Test
  void rejectsAoutKludgeLoadEndPastTheFile() {
    byte[] image = multibootHeaderWithAddresses(0, 0x100000, 0x100000, 0x200000, 0, 0x100000);
    assertThatThrownBy(() -> load(image, null)).hasMessageStartingWith("truncated");
  }

  @Test
  void rejectsAFileThatIsNeitherElfNorMultiboot() {
    assertThatThrownBy(() -> load("hello".getBytes(StandardCharsets.US_ASCII), null))
        .isInstanceOf(BootException.class)
        .hasMessage("not an ELF file and no Multiboot header in the first 8192 bytes");
  }

  @Test
  void rejectsAnElfWithoutMultibootHeader() {
    byte[] image = new ElfImageBuilder().entry(KERNEL).segment(KERNEL, code(0xF4), 1).build();
    assertThatThrownBy(() -> load(image, null))
        .hasMessageStartingWith("not a Multiboot kernel");
  }

  @Test
  void reportsElfProblemsForAMultibootKernelWithoutAddressFields() {
    byte[] image = concat(new byte[64], multibootHeader(0));
    assertThatThrownBy(() -> load(image, null)).hasMessageStartingWith("not an ELF file");
  }

  @Test
  void refusesAKernelThatNeedsAVideoMode() {
    byte[] text = concat(multibootHeader(0x7), new byte[36], code(0xF4));
    byte[] image = new ElfImageBuilder().entry(KERNEL).segment(KERNEL, text, text.length).build();
    assertThatThrownBy(() -> load(image, null)).hasMessageContaining("video mode");
  }

  @Test
  void refusesUnknownRequiredFlagsButIgnoresUnknownOptionalOnes() throws BootException {
    byte[] required = concat(multibootHeader(0x8), code(0xF4));
    assertThatThrownBy(() -> load(new ElfImageBuilder().entry(KERNEL + 12)
        .segment(KERNEL, required, required.length).build(), null))
        .hasMessageContaining("0x0008");
    byte[] optional = concat(multibootHeader(0x4_0003), code(0xF4));
    load(new ElfImageBuilder().entry(KERNEL + 12).segment(KERNEL, optional, optional.length)
        .build(), null);
  }

  @Test
  void rejectsASegmentOutsideRam() {
    byte[] text = concat(multibootHeader(0), code(0xF4));
    byte[] image = new ElfImageBuilder()
        .entry(0x3FFF000).segment(0x3FFF000, text, 0x2000).build();
    assertThatThrownBy(() -> load(image, null))
        .hasMessage("segment 0 at 0x03fff000-0x04000fff lies outside RAM (64 MiB)");
  }

  @Test
  void rejectsAnEntryPointOutsideTheImage() {
    byte[] text = concat(multibootHeader(0), code(0xF4));
    byte[] image = new ElfImageBuilder().entry(0x500000).segment(KERNEL, text, 13).build();
    assertThatThrownBy(() -> load(image, null))
        .hasMessage("entry point 0x00500000 is not inside the loaded image");
  }

  @Test
  void describesSmallRamHonestly() {
    assertThat(MultibootLoader.memoryMap(512 << 10))
        .containsExactly(new MemoryMapEntry(0, 512 << 10, MemoryMapEntry.TYPE_AVAILABLE));
  }
}
