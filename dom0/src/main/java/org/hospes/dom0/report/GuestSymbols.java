package org.hospes.dom0.report;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.BzImage;
import org.hospes.dom0.boot.ElfFile;
import org.hospes.dom0.boot.ProgramHeader;

/**
 * A guest kernel's code symbols: which function a virtual address lies in. Read from a
 * {@code System.map} ({@code nm} output: address, type, name) or from the symbol table of a
 * 32-bit ELF file (a kernel built with its symbols, such as the sample kernels and SDK guests;
 * Debian's vmlinux has none, its {@code System.map} is in the {@code -dbg} package).
 *
 * <p>A symbol covers its ELF size when it has one; else (a {@code System.map}, or a size of 0)
 * it covers the addresses up to the next symbol, as a map of kernel text does. Addresses before
 * the first symbol or past the last one's extent are not covered.
 */
public final class GuestSymbols {
  private final long[] starts;
  private final long[] ends;
  private final String[] names;
  /** The address of Linux's {@code linux_banner} string, or -1 when not named. */
  private final long banner;

  private GuestSymbols(List<Symbol> symbols, long banner) {
    this.banner = banner;
    List<Symbol> sorted = new ArrayList<>(symbols);
    sorted.sort(Comparator.comparingLong(Symbol::start).thenComparing(Symbol::weak)
        .thenComparing(Symbol::name));
    // One name per address: a strong symbol before a weak alias (blake2s_compress_generic, not
    // its weak alias blake2s_compress), then the first in name order, so that the result does
    // not depend on the file's order.
    List<Symbol> unique = new ArrayList<>();
    for (Symbol s : sorted) {
      if (unique.isEmpty() || unique.get(unique.size() - 1).start() != s.start()) {
        unique.add(s);
      }
    }
    int n = unique.size();
    starts = new long[n];
    ends = new long[n];
    names = new String[n];
    for (int i = 0; i < n; i++) {
      Symbol s = unique.get(i);
      long next = i + 1 < n ? unique.get(i + 1).start() : -1;
      starts[i] = s.start();
      names[i] = s.name();
      if (s.size() > 0) {
        ends[i] = next >= 0 ? Math.min(s.start() + s.size(), next) : s.start() + s.size();
      } else {
        ends[i] = next >= 0 ? next : s.start() + 1;
      }
    }
  }

  /** A named code address, with its size in bytes (0 when unknown), and whether it is weak. */
  record Symbol(long start, long size, String name, boolean weak) {}

  /** How many symbols there are. */
  public int size() {
    return names.length;
  }

  /** The function containing {@code address} (an unsigned 32-bit address), or null. */
  public String nameOf(long address) {
    int i = Arrays.binarySearch(starts, address);
    if (i < 0) {
      i = -i - 2;
    }
    return i >= 0 && address < ends[i] ? names[i] : null;
  }

  /**
   * Reads {@code file}: an ELF file's symbol table, else a {@code System.map}. Throws with a
   * one-line reason when it is neither, or names no code symbol.
   */
  public static GuestSymbols read(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    GuestSymbols symbols = isElf(bytes) ? fromElf(bytes) : fromSystemMap(
        new String(bytes, StandardCharsets.ISO_8859_1));
    if (symbols.size() == 0) {
      throw new IOException(isElf(bytes) ? "an ELF file without function symbols"
          : "no code symbols (expected a System.map: lines of address, type, name)");
    }
    return symbols;
  }

  /** True when {@code b} starts with the ELF magic. */
  public static boolean isElf(byte[] b) {
    return b.length >= 4 && b[0] == 0x7F && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
  }

  /**
   * The text symbols of a {@code System.map}: types T, t, W and w (code, global or local, weak
   * included). Other lines, and lines that are not {@code address type name}, are skipped.
   */
  static GuestSymbols fromSystemMap(String text) {
    List<Symbol> symbols = new ArrayList<>();
    long banner = -1;
    for (String line : text.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 3 || f[1].length() != 1) {
        continue;
      }
      long address;
      try {
        address = Long.parseUnsignedLong(f[0], 16);
      } catch (NumberFormatException e) {
        continue;
      }
      if (address > 0xFFFF_FFFFL) {
        continue;
      }
      if (LINUX_BANNER.equals(f[2])) {
        banner = address;
      }
      if ("TtWw".indexOf(f[1].charAt(0)) >= 0) {
        symbols.add(new Symbol(address, 0, f[2], f[1].equalsIgnoreCase("w")));
      }
    }
    return new GuestSymbols(symbols, banner);
  }

  /** The symbol of the string Linux prints first: "Linux version VERSION (builder) ...". */
  static final String LINUX_BANNER = "linux_banner";
  private static final String BANNER_START = "Linux version ";

  /**
   * Why these symbols are not those of kernel {@code image}, or null when nothing says so. A
   * System.map of another build names wrong functions without any sign of it; what tells is
   * Linux's {@code linux_banner}: in an ELF image of the same build, its address holds "Linux
   * version VERSION", and a map Debian ships is named {@code System.map-VERSION}. Null, too,
   * when nothing can tell: no {@code linux_banner} (not Linux), or an image that is neither an
   * ELF file nor a bzImage holding one (its vmlinux is what is checked, decompressed here once
   * more), or that does not load that address from the file.
   */
  public String mismatch(byte[] image, String fileName) {
    if (banner < 0) {
      return null;
    }
    ElfFile elf;
    try {
      if (BzImage.isBzImage(image)) {
        image = BzImage.vmlinux(image);
      }
      if (!isElf(image)) {
        return null;
      }
      elf = ElfFile.parse(image);
    } catch (BootException e) {
      return null;
    }
    for (ProgramHeader p : elf.loadSegments()) {
      long at = banner - p.vaddr();
      if (at < 0 || at >= p.filesz() || p.offset() + at >= image.length) {
        continue;
      }
      int from = (int) (p.offset() + at);
      String text = cString(image, from, (int) Math.min(image.length,
          Math.min(p.offset() + p.filesz(), from + 256L)));
      String where = String.format("%s at %#x", LINUX_BANNER, banner);
      if (!text.startsWith(BANNER_START)) {
        return "not the symbols of this kernel (its " + where + " does not hold \""
            + BANNER_START.trim() + "\"; a System.map of another build names wrong functions)";
      }
      String version = text.substring(BANNER_START.length()).split(" ", 2)[0];
      String prefix = "System.map-";
      if (fileName.startsWith(prefix) && !fileName.substring(prefix.length()).equals(version)) {
        return "a System.map of Linux " + fileName.substring(prefix.length())
            + ", but the kernel is Linux " + version + " (its " + where + ")";
      }
      return null;
    }
    return null;
  }

  /**
   * The code symbols of a little-endian 32-bit ELF file's {@code SHT_SYMTAB} (functions, and
   * labels or objects in sections of instructions), with their sizes; an empty set when it
   * has no symbol table or is malformed there (the table's offsets are checked against the
   * file, never trusted).
   */
  public static GuestSymbols fromElf(byte[] image) {
    List<Symbol> symbols = new ArrayList<>();
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    if (image.length < 52 || image[4] != 1 || image[5] != 1) {
      return new GuestSymbols(symbols, -1); // not ELFCLASS32 little-endian
    }
    long shoff = u32(b, 32);
    int shentsize = u16(b, 46);
    int shnum = u16(b, 48);
    if (shentsize < 40 || shoff + (long) shnum * shentsize > image.length) {
      return new GuestSymbols(symbols, -1);
    }
    for (int s = 0; s < shnum; s++) {
      int sh = (int) (shoff + (long) s * shentsize);
      if (u32(b, sh + 4) != 2) { // SHT_SYMTAB
        continue;
      }
      long off = u32(b, sh + 16);
      long size = u32(b, sh + 20);
      long link = u32(b, sh + 24);
      long entsize = u32(b, sh + 36);
      if (entsize < 16 || off + size > image.length || link >= shnum) {
        continue;
      }
      int strSh = (int) (shoff + link * shentsize);
      long strOff = u32(b, strSh + 16);
      long strSize = u32(b, strSh + 20);
      if (strOff + strSize > image.length) {
        continue;
      }
      for (long e = off; e + 16 <= off + size; e += entsize) {
        int type = image[(int) e + 12] & 0xF;
        boolean weak = (image[(int) e + 12] & 0xF0) == 0x20; // STB_WEAK
        int shndx = u16(b, (int) e + 14);
        // Functions, and assembly labels and objects placed in code (entry stubs, the
        // hypercall page): defined in a section that holds instructions (SHF_EXECINSTR).
        if (type > 2 || shndx == 0 || shndx >= shnum
            || (u32(b, (int) (shoff + (long) shndx * shentsize) + 8) & 0x4) == 0) {
          continue;
        }
        long nameAt = u32(b, (int) e);
        if (nameAt >= strSize) {
          continue;
        }
        String name = cString(image, (int) (strOff + nameAt), (int) (strOff + strSize));
        if (!name.isEmpty() && !name.startsWith(".L") && !name.startsWith("$")) {
          symbols.add(new Symbol(u32(b, (int) e + 4), u32(b, (int) e + 8), name, weak));
        }
      }
    }
    return new GuestSymbols(symbols, -1);
  }

  private static String cString(byte[] image, int from, int limit) {
    int end = from;
    while (end < limit && image[end] != 0) {
      end++;
    }
    return new String(image, from, end - from, StandardCharsets.ISO_8859_1);
  }

  private static long u32(ByteBuffer b, int offset) {
    return b.getInt(offset) & 0xFFFF_FFFFL;
  }

  private static int u16(ByteBuffer b, int offset) {
    return b.getShort(offset) & 0xFFFF;
  }
}
