package org.hospes.dom0.boot;

import java.util.ArrayList;
import java.util.List;

/** Where loaders put their boot information: free, page-aligned blocks around the image. */
final class BootLayout {
  static final long PAGE = 0x1000;
  /** Boot information is kept off page 0, so that a NULL pointer never points at it. */
  static final long LOWEST = 0x1000;
  /** End of conventional memory: the legacy VGA and BIOS area follows, up to 1 MiB. */
  static final long CONVENTIONAL_END = 0xA_0000;
  static final long HIGH_MEMORY = 0x10_0000;

  private BootLayout() {}

  /**
   * The lowest page-aligned block of {@code size} bytes in {@code [lowest, limit)} that no
   * segment overlaps, or -1 if there is none.
   */
  static long freeBlock(long size, long lowest, long limit, List<LoadSegment> segments) {
    List<LoadSegment> sorted = new ArrayList<>(segments);
    // A lambda of this class, which the launcher's class-data archive holds; the JDK's own
    // Comparator.comparingLong lambda is spun again in every launch.
    sorted.sort((a, b) -> Long.compare(a.physicalAddress(), b.physicalAddress()));
    long base = pageUp(lowest);
    // Sorted by start, one pass suffices: moving past a segment never lands in an earlier one.
    for (LoadSegment s : sorted) {
      if (s.overlaps(base, size)) {
        base = pageUp(s.end());
      }
    }
    return base + size <= limit ? base : -1;
  }

  /**
   * RAM as a PC's firmware reports it (e820, Multiboot's memory map): conventional memory, the
   * legacy hole from 640 KiB to 1 MiB reserved (it is RAM here, but kernels expect VGA and BIOS
   * there), then the rest. fw_cfg tells firmware the same RAM size as one entry.
   */
  static List<MemoryMapEntry> pcMemoryMap(long ramBytes) {
    List<MemoryMapEntry> map = new ArrayList<>();
    map.add(new MemoryMapEntry(0, Math.min(ramBytes, CONVENTIONAL_END),
        MemoryMapEntry.TYPE_AVAILABLE));
    if (ramBytes > CONVENTIONAL_END) {
      map.add(new MemoryMapEntry(CONVENTIONAL_END,
          Math.min(ramBytes, HIGH_MEMORY) - CONVENTIONAL_END, MemoryMapEntry.TYPE_RESERVED));
    }
    if (ramBytes > HIGH_MEMORY) {
      map.add(new MemoryMapEntry(HIGH_MEMORY, ramBytes - HIGH_MEMORY,
          MemoryMapEntry.TYPE_AVAILABLE));
    }
    return map;
  }

  static long pageUp(long address) {
    return (address + PAGE - 1) & -PAGE;
  }
}
