package org.hospes.dom0.boot;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Where loaders put their boot information: free, page-aligned blocks around the image. */
final class BootLayout {
  static final long PAGE = 0x1000;
  /** Boot information is kept off page 0, so that a NULL pointer never points at it. */
  static final long LOWEST = 0x1000;
  /** End of conventional memory: the legacy VGA and BIOS area follows, up to 1 MiB. */
  static final long CONVENTIONAL_END = 0xA_0000;

  private BootLayout() {}

  /**
   * The lowest page-aligned block of {@code size} bytes in {@code [lowest, limit)} that no
   * segment overlaps, or -1 if there is none.
   */
  static long freeBlock(long size, long lowest, long limit, List<LoadSegment> segments) {
    List<LoadSegment> sorted = new ArrayList<>(segments);
    sorted.sort(Comparator.comparingLong(LoadSegment::physicalAddress));
    long base = pageUp(lowest);
    // Sorted by start, one pass suffices: moving past a segment never lands in an earlier one.
    for (LoadSegment s : sorted) {
      if (s.overlaps(base, size)) {
        base = pageUp(s.end());
      }
    }
    return base + size <= limit ? base : -1;
  }

  static long pageUp(long address) {
    return (address + PAGE - 1) & -PAGE;
  }
}
