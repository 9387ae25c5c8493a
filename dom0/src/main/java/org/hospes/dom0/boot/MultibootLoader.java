package org.hospes.dom0.boot;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.hospes.x86.PhysicalMemory;

/**
 * Loads a Multiboot (v1, spec 0.6.96) kernel into guest-physical memory and writes the boot
 * information it expects. It does what a Multiboot boot loader does before the jump and nothing
 * more: the caller puts the processor into the documented state (see {@link LoadedKernel}).
 *
 * <p>The image is placed from its ELF PT_LOAD segments at their physical addresses, or, when
 * header flag bit 16 is set, from the header's address fields (the "a.out kludge"), which then
 * take precedence over any ELF headers, as the spec requires. Boot modules are not supported.
 */
public final class MultibootLoader {

  /** Written into the boot information's boot_loader_name. */
  public static final String BOOT_LOADER_NAME = "Hospes";

  /** End of conventional memory: the legacy VGA and BIOS area follows, up to 1 MiB. */
  static final long CONVENTIONAL_END = 0xA_0000;
  static final long HIGH_MEMORY = 0x10_0000;
  /**
   * The GDT left loaded at hand-off, as GRUB and QEMU leave one: null, then flat 4 GiB ring-0
   * code (selector 0x08, the CS the kernel starts with) and data (0x10, its DS/ES/FS/GS/SS),
   * marked accessed so that reloading them changes nothing. The spec lets GDTR be garbage;
   * kernels that reload a segment before their own LGDT work on GRUB and QEMU, so here too.
   */
  static final byte[] FLAT_GDT = {
      0, 0, 0, 0, 0, 0, 0, 0,
      (byte) 0xFF, (byte) 0xFF, 0, 0, 0, (byte) 0x9B, (byte) 0xCF, 0,
      (byte) 0xFF, (byte) 0xFF, 0, 0, 0, (byte) 0x93, (byte) 0xCF, 0};
  /** The boot information is kept off page 0 so that a NULL pointer never points at it. */
  static final long BOOT_INFO_LOWEST = 0x1000;

  /**
   * Loads {@code image} into {@code memory}, whose RAM spans {@code [0, ramBytes)}.
   *
   * @param cmdline passed to the kernel as is; {@code null} means none (flag bit 2 clear)
   */
  public LoadedKernel load(byte[] image, String cmdline, PhysicalMemory memory, long ramBytes)
      throws BootException {
    MultibootHeader header = MultibootHeader.find(image).orElseThrow(() -> new BootException(
        ElfHeader.hasMagic(image)
            ? "not a Multiboot kernel (no header with magic 0x1BADB002 in the first 8192 bytes)"
            : "not an ELF file and no Multiboot header in the first 8192 bytes"));
    checkRequirements(header);

    List<LoadSegment> segments = new ArrayList<>();
    long entry;
    if (header.hasAddressFields()) {
      segments.add(aoutKludgeSegment(header, image.length));
      entry = header.entryAddr();
    } else {
      ElfFile elf = ElfFile.parse(image);
      for (ProgramHeader ph : elf.loadSegments()) {
        if (ph.memsz() > 0) {
          segments.add(new LoadSegment(ph.offset(), ph.paddr(), ph.filesz(), ph.memsz()));
        }
      }
      if (segments.isEmpty()) {
        throw new BootException("no loadable (PT_LOAD) segments");
      }
      entry = elf.physicalEntry();
    }
    for (int i = 0; i < segments.size(); i++) {
      LoadSegment s = segments.get(i);
      if (s.end() > ramBytes) {
        throw BootException.format("segment %d at 0x%08x-0x%08x lies outside RAM (%d MiB)",
            i, s.physicalAddress(), s.end() - 1, ramBytes >> 20);
      }
    }
    if (segments.stream().noneMatch(s -> entry >= s.physicalAddress() && entry < s.end())) {
      throw BootException.format("entry point 0x%08x is not inside the loaded image", entry);
    }

    LoadSegment.writeAll(segments, image, memory);
    long[] info = writeBootInformation(memory, ramBytes, cmdline, segments);
    return new LoadedKernel(entry, info[0], info[1], segments);
  }

  private static void checkRequirements(MultibootHeader header) throws BootException {
    int required = header.flags() & MultibootHeader.REQUIRED_FLAGS_MASK;
    // Modules are never loaded, so page-aligning them is trivially met; memory info is provided.
    int unmet = required & ~(MultibootHeader.FLAG_PAGE_ALIGN | MultibootHeader.FLAG_MEMORY_INFO);
    if ((unmet & MultibootHeader.FLAG_VIDEO_MODE) != 0) {
      throw new BootException("the kernel requires a video mode (Multiboot flag bit 2), which"
          + " Hospes does not provide");
    }
    if (unmet != 0) {
      throw BootException.format("the kernel requires Multiboot features Hospes does not know"
          + " (required flag bits 0x%04x)", unmet);
    }
  }

  /**
   * The a.out kludge: header_addr is where the header itself must land, which fixes the file
   * offset that corresponds to load_addr.
   */
  private static LoadSegment aoutKludgeSegment(MultibootHeader h, int fileLength)
      throws BootException {
    if (h.loadAddr() > h.headerAddr()) {
      throw BootException.format("bad Multiboot address fields: load_addr 0x%x is above"
          + " header_addr 0x%x", h.loadAddr(), h.headerAddr());
    }
    long fileStart = h.fileOffset() - (h.headerAddr() - h.loadAddr());
    if (fileStart < 0) {
      throw BootException.format("bad Multiboot address fields: load_addr 0x%x would start"
          + " before the beginning of the file", h.loadAddr());
    }
    long loadEnd = h.loadEndAddr() == 0 ? h.loadAddr() + (fileLength - fileStart)
        : h.loadEndAddr();
    if (loadEnd < h.loadAddr()) {
      throw BootException.format("bad Multiboot address fields: load_end_addr 0x%x is below"
          + " load_addr 0x%x", loadEnd, h.loadAddr());
    }
    long fileSize = loadEnd - h.loadAddr();
    if (fileStart + fileSize > fileLength) {
      throw BootException.format("truncated: load_end_addr 0x%x needs 0x%x bytes from file"
          + " offset 0x%x but the file has %d bytes", loadEnd, fileSize, fileStart, fileLength);
    }
    long memEnd = loadEnd;
    if (h.bssEndAddr() != 0) {
      if (h.bssEndAddr() < h.loadAddr()) {
        throw BootException.format("bad Multiboot address fields: bss_end_addr 0x%x is below"
            + " load_addr 0x%x", h.bssEndAddr(), h.loadAddr());
      }
      // A bss end inside the loaded data means no bss; QEMU boots such kernels, so do we.
      memEnd = Math.max(loadEnd, h.bssEndAddr());
    }
    return new LoadSegment(fileStart, h.loadAddr(), fileSize, memEnd - h.loadAddr());
  }

  /**
   * Lays out info, memory map, strings and the flat GDT in one block below the kernel where
   * possible; returns the info's and the GDT's addresses.
   */
  private static long[] writeBootInformation(PhysicalMemory memory, long ramBytes, String cmdline,
      List<LoadSegment> segments) throws BootException {
    List<MemoryMapEntry> map = memoryMap(ramBytes);
    byte[] cmdlineBytes = cmdline == null ? null : cString(cmdline);
    byte[] nameBytes = cString(BOOT_LOADER_NAME);

    long mapOffset = MultibootInfo.SIZE;
    long cmdlineOffset = mapOffset + (long) map.size() * MemoryMapEntry.SIZE;
    long nameOffset = cmdlineOffset + (cmdlineBytes == null ? 0 : cmdlineBytes.length);
    long gdtOffset = (nameOffset + nameBytes.length + 7) & ~7L;
    long size = gdtOffset + FLAT_GDT.length;
    long base = freeBlock(size, ramBytes, segments);
    memory.write(base + gdtOffset, FLAT_GDT, 0, FLAT_GDT.length);

    int flags = MultibootInfo.INFO_MEMORY | MultibootInfo.INFO_MEMORY_MAP
        | MultibootInfo.INFO_BOOT_LOADER_NAME;
    if (cmdlineBytes != null) {
      flags |= MultibootInfo.INFO_CMDLINE;
      memory.write(base + cmdlineOffset, cmdlineBytes, 0, cmdlineBytes.length);
    }
    memory.write(base + nameOffset, nameBytes, 0, nameBytes.length);
    for (int i = 0; i < map.size(); i++) {
      map.get(i).writeTo(memory, base + mapOffset + (long) i * MemoryMapEntry.SIZE);
    }
    long memLower = Math.min(ramBytes, CONVENTIONAL_END) >> 10;
    long memUpper = Math.max(0, ramBytes - HIGH_MEMORY) >> 10;
    new MultibootInfo(flags, (int) memLower, (int) memUpper,
        cmdlineBytes == null ? 0 : (int) (base + cmdlineOffset),
        map.size() * MemoryMapEntry.SIZE, (int) (base + mapOffset), (int) (base + nameOffset))
        .writeTo(memory, base);
    return new long[] {base, base + gdtOffset};
  }

  /** The PC memory map ({@link BootLayout#pcMemoryMap}). */
  static List<MemoryMapEntry> memoryMap(long ramBytes) {
    return BootLayout.pcMemoryMap(ramBytes);
  }

  /** The lowest page-aligned block of {@code size} bytes that no segment overlaps. */
  private static long freeBlock(long size, long ramBytes, List<LoadSegment> segments)
      throws BootException {
    long base = BootLayout.freeBlock(size, BOOT_INFO_LOWEST, ramBytes, segments);
    if (base < 0) {
      throw BootException.format("no room in RAM (%d MiB) for the boot information",
          ramBytes >> 20);
    }
    return base;
  }

  private static byte[] cString(String s) {
    byte[] text = s.getBytes(StandardCharsets.UTF_8);
    byte[] result = new byte[text.length + 1];
    System.arraycopy(text, 0, result, 0, text.length);
    return result;
  }
}
