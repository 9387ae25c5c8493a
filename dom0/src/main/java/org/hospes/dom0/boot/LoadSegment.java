package org.hospes.dom0.boot;

import java.util.List;
import org.hospes.x86.PhysicalMemory;

/**
 * A piece of a kernel image placed in guest-physical memory: {@code fileSize} bytes from
 * {@code fileOffset} copied to {@code physicalAddress}, then zeros up to {@code memorySize}.
 */
public record LoadSegment(long fileOffset, long physicalAddress, long fileSize, long memorySize) {

  public long end() {
    return physicalAddress + memorySize;
  }

  public boolean overlaps(long start, long length) {
    return start < end() && physicalAddress < start + length;
  }

  /** Copies each segment's file bytes from {@code image} and zeroes the rest of it (its bss). */
  public static void writeAll(List<LoadSegment> segments, byte[] image, PhysicalMemory memory) {
    for (LoadSegment s : segments) {
      memory.write(s.physicalAddress(), image, (int) s.fileOffset(), (int) s.fileSize());
      memory.zero(s.physicalAddress() + s.fileSize(), s.memorySize() - s.fileSize());
    }
  }
}
