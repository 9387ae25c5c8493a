package org.hospes.dom0.boot;

import java.util.List;

/**
 * What a loader left in guest memory and the register state the kernel must start with: EAX =
 * {@link MultibootInfo#BOOTLOADER_MAGIC}, EBX = {@code bootInfoAddress}, EIP = {@code entry},
 * GDTR = {@code gdtAddress} with limit {@link #gdtLimit()} (a flat GDT, as GRUB leaves one).
 */
public record LoadedKernel(long entry, long bootInfoAddress, long gdtAddress,
    List<LoadSegment> segments) {

  public LoadedKernel {
    segments = List.copyOf(segments);
  }

  public int gdtLimit() {
    return MultibootLoader.FLAT_GDT.length - 1;
  }

  public int eax() {
    return MultibootInfo.BOOTLOADER_MAGIC;
  }
}
