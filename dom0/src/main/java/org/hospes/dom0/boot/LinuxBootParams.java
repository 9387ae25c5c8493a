package org.hospes.dom0.boot;

/**
 * The layout of Linux's {@code struct boot_params}, the 4 KiB "zero page" a 32-bit boot loader
 * fills and passes in ESI (Documentation/arch/x86/zero-page.rst, arch/x86/include/uapi/asm/
 * bootparam.h). Only the fields a loader writes are named.
 *
 * <pre>
 * 0x000  screen_info (64)     all zero: no VGA text console (orig_video_isVGA, 0x00F, is 0)
 * 0x070  acpi_rsdp_addr (u64) the RSDP an HVM domain's toolstack wrote, or 0 (Linux scans)
 * 0x0C0  ext_ramdisk_image, ext_ramdisk_size, ext_cmd_line_ptr (u32 each): high halves, 0
 * 0x1E0  alt_mem_k (u32)      KiB of memory above 1 MiB, for kernels without e820
 * 0x1E8  e820_entries (u8)
 * 0x1F1  struct setup_header  copied from the image, then the loader's fields
 * 0x2D0  e820_table[128]      20 bytes each: addr u64, size u64, type u32
 * </pre>
 */
public final class LinuxBootParams {
  public static final int SIZE = 0x1000;
  public static final int SCREEN_INFO = 0x000;
  public static final int SCREEN_INFO_SIZE = 0x40;
  /** screen_info.orig_video_isVGA: 0, no VGA; Linux's decompressor then prints only to serial. */
  public static final int ORIG_VIDEO_IS_VGA = 0x00F;
  public static final int ACPI_RSDP_ADDR = 0x070;
  public static final int EXT_RAMDISK_IMAGE = 0x0C0;
  public static final int EXT_RAMDISK_SIZE = 0x0C4;
  public static final int EXT_CMD_LINE_PTR = 0x0C8;
  public static final int ALT_MEM_K = 0x1E0;
  public static final int E820_ENTRIES = 0x1E8;
  public static final int SETUP_HEADER = 0x1F1;
  public static final int E820_TABLE = 0x2D0;
  public static final int E820_ENTRY_SIZE = 20;
  /** E820_MAX_ENTRIES_ZEROPAGE. */
  public static final int E820_MAX_ENTRIES = 128;

  /** type_of_loader 0xFF: "undefined", a loader without an assigned ID. */
  public static final int LOADER_UNDEFINED = 0xFF;

  // e820 types (the ACPI address range types).
  public static final int E820_RAM = 1;
  public static final int E820_RESERVED = 2;

  /** The GDT the 32-bit boot protocol wants loaded: __BOOT_CS and __BOOT_DS, flat 4 GiB. */
  public static final int BOOT_CS = 0x10;
  public static final int BOOT_DS = 0x18;

  private LinuxBootParams() {}

  /** e820_table[index]'s offset in the zero page. */
  public static int e820Entry(int index) {
    return E820_TABLE + index * E820_ENTRY_SIZE;
  }
}
