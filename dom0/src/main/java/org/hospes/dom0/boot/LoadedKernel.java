package org.hospes.dom0.boot;

import java.util.List;

/**
 * What a loader left in guest memory and the register state the kernel must start with: EAX =
 * {@link MultibootInfo#BOOTLOADER_MAGIC}, EBX = {@code bootInfoAddress}, EIP = {@code entry}.
 */
public record LoadedKernel(long entry, long bootInfoAddress, List<LoadSegment> segments) {

  public LoadedKernel {
    segments = List.copyOf(segments);
  }

  public int eax() {
    return MultibootInfo.BOOTLOADER_MAGIC;
  }
}
