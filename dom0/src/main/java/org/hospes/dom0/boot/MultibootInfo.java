package org.hospes.dom0.boot;

import org.hospes.x86.PhysicalMemory;

/**
 * The boot information structure a Multiboot loader hands the kernel in EBX (Multiboot spec
 * 0.6.96, section 3.3). Written by the loader, read by the kernel; only the fields Hospes fills
 * are components, the rest of the {@link #SIZE} bytes are written as zero.
 *
 * <pre>
 * offset  field              valid when flags has
 *   0     flags              always
 *   4     mem_lower (KiB)    INFO_MEMORY
 *   8     mem_upper (KiB)    INFO_MEMORY
 *  12     boot_device        INFO_BOOT_DEVICE
 *  16     cmdline            INFO_CMDLINE        (physical address of a NUL-terminated string)
 *  20     mods_count         INFO_MODS
 *  24     mods_addr          INFO_MODS
 *  28     syms (16 bytes)    INFO_AOUT_SYMS or INFO_ELF_SECTIONS
 *  44     mmap_length        INFO_MEMORY_MAP     (bytes)
 *  48     mmap_addr          INFO_MEMORY_MAP     (first entry's size field)
 *  52     drives_length      INFO_DRIVES
 *  56     drives_addr        INFO_DRIVES
 *  60     config_table       INFO_CONFIG_TABLE
 *  64     boot_loader_name   INFO_BOOT_LOADER_NAME
 *  68     apm_table          INFO_APM_TABLE
 *  72     vbe_* (16 bytes)   INFO_VBE
 * </pre>
 */
public record MultibootInfo(
    int flags, int memLower, int memUpper, int cmdline, int mmapLength, int mmapAddr,
    int bootLoaderName) {

  /** The magic the kernel finds in EAX when a Multiboot loader started it. */
  public static final int BOOTLOADER_MAGIC = 0x2BADB002;

  public static final int SIZE = 88;

  public static final int OFFSET_FLAGS = 0;
  public static final int OFFSET_MEM_LOWER = 4;
  public static final int OFFSET_MEM_UPPER = 8;
  public static final int OFFSET_BOOT_DEVICE = 12;
  public static final int OFFSET_CMDLINE = 16;
  public static final int OFFSET_MODS_COUNT = 20;
  public static final int OFFSET_MODS_ADDR = 24;
  public static final int OFFSET_SYMS = 28;
  public static final int OFFSET_MMAP_LENGTH = 44;
  public static final int OFFSET_MMAP_ADDR = 48;
  public static final int OFFSET_DRIVES_LENGTH = 52;
  public static final int OFFSET_DRIVES_ADDR = 56;
  public static final int OFFSET_CONFIG_TABLE = 60;
  public static final int OFFSET_BOOT_LOADER_NAME = 64;
  public static final int OFFSET_APM_TABLE = 68;
  public static final int OFFSET_VBE = 72;

  public static final int INFO_MEMORY = 1 << 0;
  public static final int INFO_BOOT_DEVICE = 1 << 1;
  public static final int INFO_CMDLINE = 1 << 2;
  public static final int INFO_MODS = 1 << 3;
  public static final int INFO_AOUT_SYMS = 1 << 4;
  public static final int INFO_ELF_SECTIONS = 1 << 5;
  public static final int INFO_MEMORY_MAP = 1 << 6;
  public static final int INFO_DRIVES = 1 << 7;
  public static final int INFO_CONFIG_TABLE = 1 << 8;
  public static final int INFO_BOOT_LOADER_NAME = 1 << 9;
  public static final int INFO_APM_TABLE = 1 << 10;
  public static final int INFO_VBE = 1 << 11;

  /** Writes all {@link #SIZE} bytes at {@code pa}, zeroing the fields Hospes does not provide. */
  public void writeTo(PhysicalMemory memory, long pa) {
    memory.write(pa, new byte[SIZE], 0, SIZE);
    memory.write32(pa + OFFSET_FLAGS, flags);
    memory.write32(pa + OFFSET_MEM_LOWER, memLower);
    memory.write32(pa + OFFSET_MEM_UPPER, memUpper);
    memory.write32(pa + OFFSET_CMDLINE, cmdline);
    memory.write32(pa + OFFSET_MMAP_LENGTH, mmapLength);
    memory.write32(pa + OFFSET_MMAP_ADDR, mmapAddr);
    memory.write32(pa + OFFSET_BOOT_LOADER_NAME, bootLoaderName);
  }

  public static MultibootInfo readFrom(PhysicalMemory memory, long pa) {
    return new MultibootInfo(memory.read32(pa + OFFSET_FLAGS),
        memory.read32(pa + OFFSET_MEM_LOWER), memory.read32(pa + OFFSET_MEM_UPPER),
        memory.read32(pa + OFFSET_CMDLINE), memory.read32(pa + OFFSET_MMAP_LENGTH),
        memory.read32(pa + OFFSET_MMAP_ADDR), memory.read32(pa + OFFSET_BOOT_LOADER_NAME));
  }
}
