package org.hospes.dom0.boot;

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
}
