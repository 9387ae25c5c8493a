package org.hospes.dom0.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestSymbolsTest {
  @TempDir
  Path dir;

  @Test
  void aSystemMapsCodeSymbolCoversUpToTheNextOne() {
    GuestSymbols s = GuestSymbols.fromSystemMap(String.join("\n",
        "c1000000 T _text",
        "c1000000 T startup_32",
        "c1000100 t helper",
        "c1000180 D some_data",
        "c1000200 W weak_fn",
        "c1000280 W a_weak_alias",
        "c1000280 t strong_body",
        "c1000300 T _etext",
        "not a line",
        "zzzz T bad_address",
        ""));
    assertThat(s.size()).isEqualTo(5); // aliases count once; data is not code
    assertThat(s.nameOf(0xBFFF_FFFFL)).isNull();
    // Of two names at one address, the first in name order, whatever the file's order.
    assertThat(s.nameOf(0xC100_0000L)).isEqualTo("_text");
    assertThat(s.nameOf(0xC100_00FFL)).isEqualTo("_text");
    assertThat(s.nameOf(0xC100_0100L)).isEqualTo("helper");
    assertThat(s.nameOf(0xC100_01FFL)).isEqualTo("helper"); // D symbols do not end code
    assertThat(s.nameOf(0xC100_0250L)).isEqualTo("weak_fn"); // weak, but alone there
    // A strong symbol wins over a weak alias at its address, even one first in name order.
    assertThat(s.nameOf(0xC100_0290L)).isEqualTo("strong_body");
    // The last symbol (here the end-of-text label) covers only its own address.
    assertThat(s.nameOf(0xC100_0300L)).isEqualTo("_etext");
    assertThat(s.nameOf(0xC100_0301L)).isNull();
  }

  @Test
  void anElfSymbolCoversItsSizeAndOnlyCodeSectionsCount() {
    byte[] elf = elfWithSymbols();
    GuestSymbols s = GuestSymbols.fromElf(elf);
    assertThat(s.size()).isEqualTo(3);
    assertThat(s.nameOf(0x10_0000)).isEqualTo("start");     // NOTYPE label in .text
    assertThat(s.nameOf(0x10_000F)).isEqualTo("start");     // size 0: up to the next symbol
    assertThat(s.nameOf(0x10_0010)).isEqualTo("kmain");     // FUNC, size 0x20
    assertThat(s.nameOf(0x10_002F)).isEqualTo("kmain");
    assertThat(s.nameOf(0x10_0030)).isNull();               // past kmain's size
    assertThat(s.nameOf(0x10_0040)).isEqualTo("tail");
    assertThat(s.nameOf(0x20_0000)).isNull();               // the data object is not code
  }

  @Test
  void readTellsAnElfFromAMapAndRefusesFilesWithoutCodeSymbols() throws IOException {
    Path elf = Files.write(dir.resolve("k.elf"), elfWithSymbols());
    assertThat(GuestSymbols.read(elf).nameOf(0x10_0010)).isEqualTo("kmain");
    Path map = Files.writeString(dir.resolve("System.map"), "00100000 T main\n");
    assertThat(GuestSymbols.read(map).nameOf(0x10_0000)).isEqualTo("main");
    Path text = Files.writeString(dir.resolve("notes.txt"), "hello\nworld\n");
    assertThatThrownBy(() -> GuestSymbols.read(text)).isInstanceOf(IOException.class)
        .hasMessageContaining("no code symbols");
    byte[] stripped = elfWithSymbols();
    ByteBuffer.wrap(stripped).order(ByteOrder.LITTLE_ENDIAN).putShort(48, (short) 0); // shnum
    Path bare = Files.write(dir.resolve("bare.elf"), stripped);
    assertThatThrownBy(() -> GuestSymbols.read(bare)).isInstanceOf(IOException.class)
        .hasMessageContaining("ELF file without");
  }

  @Test
  void aSymbolTableThatPointsOutsideTheFileIsIgnoredNotTrusted() {
    byte[] elf = elfWithSymbols();
    ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
    int symtabHeader = b.getInt(32) + 3 * 40;
    b.putInt(symtabHeader + 20, 0x7FFF_0000); // sh_size far past the end
    assertThat(GuestSymbols.fromElf(elf).size()).isZero();
    b.putInt(symtabHeader + 20, 5 * 16);
    b.putInt(symtabHeader + 24, 99); // sh_link: no such section
    assertThat(GuestSymbols.fromElf(elf).size()).isZero();
  }

  /**
   * A little-endian ELF32 file with sections null, .text (code, 0x100000), .data (0x200000),
   * .symtab and .strtab; symbols: start (NOTYPE, .text), kmain (FUNC, size 0x20, .text),
   * tail (FUNC, .text), table (OBJECT, .data).
   */
  static byte[] elfWithSymbols() {
    byte[] strtab = "\0start\0kmain\0tail\0table\0".getBytes(StandardCharsets.ISO_8859_1);
    int symOff = 52;
    int symSize = 5 * 16;
    int strOff = symOff + symSize;
    int shOff = (strOff + strtab.length + 3) & ~3;
    int shnum = 5;
    ByteBuffer b = ByteBuffer.allocate(shOff + shnum * 40).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {0x7F, 'E', 'L', 'F', 1, 1, 1});
    b.putShort(16, (short) 2).putShort(18, (short) 3).putInt(20, 1);
    b.putInt(32, shOff).putShort(40, (short) 52).putShort(46, (short) 40)
        .putShort(48, (short) shnum).putShort(50, (short) 4);
    // Symbols: index 0 is the null symbol.
    symbol(b, symOff + 16, 1, 0x10_0000, 0, 0, 1);   // start: NOTYPE in .text
    symbol(b, symOff + 32, 7, 0x10_0010, 0x20, 2, 1); // kmain: FUNC
    symbol(b, symOff + 48, 13, 0x10_0040, 0x10, 2, 1); // tail: FUNC
    symbol(b, symOff + 64, 18, 0x20_0000, 8, 1, 2);   // table: OBJECT in .data
    b.put(strOff, strtab);
    section(b, shOff + 40, 1, 0x6, 0x10_0000, 0, 0x100, 0, 0);       // .text: AX
    section(b, shOff + 80, 1, 0x3, 0x20_0000, 0, 0x100, 0, 0);       // .data: WA
    section(b, shOff + 120, 2, 0, 0, symOff, symSize, 4, 16);        // .symtab -> .strtab
    section(b, shOff + 160, 3, 0, 0, strOff, strtab.length, 0, 0);   // .strtab
    return b.array();
  }

  private static void symbol(ByteBuffer b, int at, int name, int value, int size, int type,
      int shndx) {
    b.putInt(at, name).putInt(at + 4, value).putInt(at + 8, size);
    b.put(at + 12, (byte) (0x10 | type)); // STB_GLOBAL
    b.putShort(at + 14, (short) shndx);
  }

  private static void section(ByteBuffer b, int at, int type, int flags, int addr, int offset,
      int size, int link, int entsize) {
    b.putInt(at + 4, type).putInt(at + 8, flags).putInt(at + 12, addr).putInt(at + 16, offset)
        .putInt(at + 20, size).putInt(at + 24, link).putInt(at + 36, entsize);
  }

  @Test
  void whatCannotTellABuildApartIsNoMismatch() {
    byte[] elf = org.hospes.dom0.testing.ElfImageBuilder.multibootKernel(new byte[] {1, 2});
    // Not Linux: no linux_banner.
    assertThat(GuestSymbols.fromSystemMap("0010000c T main\n").mismatch(elf, "System.map"))
        .isNull();
    GuestSymbols linux = GuestSymbols.fromSystemMap("0010000c T main\n00200000 D linux_banner\n");
    // The banner's address is not loaded from the file, or the image is not an ELF file.
    assertThat(linux.mismatch(elf, "System.map")).isNull();
    assertThat(linux.mismatch(new byte[64], "System.map")).isNull();
    // Where it is loaded, it must hold the banner.
    GuestSymbols here = GuestSymbols.fromSystemMap("0010000c T main\n0010000c D linux_banner\n");
    assertThat(here.mismatch(elf, "System.map")).startsWith("not the symbols of this kernel");
  }
}
