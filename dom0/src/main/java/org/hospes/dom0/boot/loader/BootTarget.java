package org.hospes.dom0.boot.loader;

import org.hospes.x86.Cpu;
import org.hospes.x86.Flags;
import org.hospes.x86.PhysicalMemory;

/**
 * What a loader loads into: guest-physical memory, the RAM the kernel may use ({@code [0,
 * ramBytes)}; special pages a toolstack keeps above it are not included) and the boot vCPU,
 * whose start-of-day state the loader sets. The same seam serves the bare machine
 * ({@code NativeMachine}) and a hypervisor domain (its P2M-backed memory and vCPU 0).
 *
 * @param mode how the kernel will run, for loaders whose hand-off differs by mode
 * @param acpiRsdp where the toolstack put the ACPI RSDP (an HVM domain's tables), or 0 if the
 *     machine has none; a loader whose protocol can say so passes it on (Linux's
 *     boot_params.acpi_rsdp_addr)
 */
public record BootTarget(BootMode mode, PhysicalMemory memory, long ramBytes, Cpu cpu,
    long acpiRsdp) {

  /** A machine without ACPI tables. */
  public BootTarget(BootMode mode, PhysicalMemory memory, long ramBytes, Cpu cpu) {
    this(mode, memory, ramBytes, cpu, 0);
  }

  /**
   * Flat 32-bit protected mode at {@code entry}: CS and the data segments with base 0 and a
   * 4 GiB limit, paging and interrupts off, the other registers as the caller leaves them.
   */
  public void startFlat32(long entry) {
    cpu.resetFlat32();
    cpu.setEflags(Flags.FIXED1);
    cpu.setEip((int) entry);
  }

  /** As {@link #startFlat32(long)}, with CS and the data segments holding these selectors. */
  public void startFlat32(long entry, int codeSelector, int dataSelector) {
    cpu.resetFlat32(codeSelector, dataSelector);
    cpu.setEflags(Flags.FIXED1);
    cpu.setEip((int) entry);
  }
}
