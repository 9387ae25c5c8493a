package org.hospes.dom0.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.hospes.x86.PhysicalMemory;

/**
 * Loads a bzImage by Linux's 32-bit boot protocol (Documentation/arch/x86/boot.rst, "32-bit
 * boot protocol"), doing what a boot loader does before the jump and nothing more; the caller
 * sets the registers ({@link LinuxKernel}).
 *
 * <ul>
 *   <li>The protected-mode kernel (the file after its {@code setup_sects + 1} sectors of
 *       real-mode code, which is never run) goes to {@code pref_address} when the kernel is
 *       relocatable and the {@code init_size} bytes it needs from there fit in RAM, else to
 *       {@code code32_start} (1 MiB). The kernel decompresses itself there.
 *   <li>The initrd (the first boot module) goes as high as {@code initrd_addr_max} and RAM
 *       allow, page-aligned, as QEMU and GRUB place it, above what the kernel needs.
 *   <li>The zero page, the command line and the GDT go in one block in conventional memory: the
 *       zero page gets the setup header copied from the image (0x1F1 to the end its jump at 0x200
 *       gives), then the loader's fields: {@code type_of_loader} 0xFF, {@code code32_start},
 *       {@code cmd_line_ptr}, {@code ramdisk_image}/{@code ramdisk_size}, and the e820 map,
 *       which is the machine's: {@link BootLayout#pcMemoryMap} (what fw_cfg's RAM size says,
 *       with the legacy hole as a BIOS reports it). {@code screen_info} stays zero: no VGA, so
 *       the console is the serial port the command line names.
 * </ul>
 */
public final class LinuxLoader {
  /** Where the protected-mode kernel of a non-relocatable bzImage runs. */
  public static final long HIGH_LOAD = 0x10_0000;

  /**
   * The GDT the protocol asks for: entries 0 and 1 unused, __BOOT_CS (0x10) flat 4 GiB
   * execute/read, __BOOT_DS (0x18) flat 4 GiB read/write, ring 0, marked accessed.
   */
  static final byte[] BOOT_GDT = {
      0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0,
      (byte) 0xFF, (byte) 0xFF, 0, 0, 0, (byte) 0x9B, (byte) 0xCF, 0,
      (byte) 0xFF, (byte) 0xFF, 0, 0, 0, (byte) 0x93, (byte) 0xCF, 0};

  /**
   * Where the kernel starts and what it was given.
   *
   * @param entry the 32-bit entry: the load address of the protected-mode kernel
   * @param bootParams the zero page (ESI)
   * @param gdt the GDT's base; its limit is {@link #gdtLimit()}
   * @param initrd where the initrd was put (0 for none)
   */
  public record LinuxKernel(LinuxSetupHeader header, long entry, long bootParams, long gdt,
      long initrd, List<LoadSegment> segments) {
    public LinuxKernel {
      segments = List.copyOf(segments);
    }

    public int gdtLimit() {
      return BOOT_GDT.length - 1;
    }
  }

  /**
   * Loads {@code image} into {@code memory}, whose RAM spans {@code [0, ramBytes)}.
   *
   * @param cmdline the kernel command line, or null for an empty one
   * @param initrd the initrd's bytes, or null for none
   */
  public LinuxKernel load(byte[] image, String cmdline, byte[] initrd, PhysicalMemory memory,
      long ramBytes) throws BootException {
    return load(image, cmdline, initrd, memory, ramBytes, 0);
  }

  /**
   * As above; {@code acpiRsdp}, if not 0, is where the machine's ACPI RSDP is, given to the
   * kernel in {@code boot_params.acpi_rsdp_addr} (protocol 2.14: it then need not scan).
   */
  public LinuxKernel load(byte[] image, String cmdline, byte[] initrd, PhysicalMemory memory,
      long ramBytes, long acpiRsdp) throws BootException {
    LinuxSetupHeader h = LinuxSetupHeader.parse(image);
    long offset = h.kernelOffset();
    if (offset >= image.length) {
      throw BootException.format("truncated bzImage: %d setup sectors but %d bytes in the file",
          h.setupSects(), image.length);
    }
    long fileSize = image.length - offset;
    if (h.syssize() != 0 && h.syssize() * 16 < fileSize) {
      // syssize is the kernel's own statement of its size; anything after it is not kernel.
      fileSize = h.syssize() * 16;
    }
    long need = Math.max(fileSize, h.initSize());
    long load = h.relocatable() && h.prefAddress() >= HIGH_LOAD
        && h.prefAddress() + need <= ramBytes ? h.prefAddress() : h.code32Start();
    if (load < HIGH_LOAD || load + need > ramBytes) {
      throw BootException.format("the kernel needs 0x%x bytes at 0x%x (its init_size); RAM is"
          + " %d MiB, at least %d MiB needed", need, load, ramBytes >> 20,
          (load + need + (1 << 20) - 1) >> 20);
    }
    List<LoadSegment> segments = new ArrayList<>();
    segments.add(new LoadSegment(offset, load, fileSize, fileSize));

    long initrdAddr = 0;
    if (initrd != null) {
      long top = Math.min(h.initrdAddrMax() + 1, ramBytes);
      initrdAddr = (top - initrd.length) & -BootLayout.PAGE;
      if (initrd.length > top || initrdAddr < load + need) {
        throw BootException.format("the initrd (%d bytes) does not fit between the kernel's end"
            + " 0x%x and 0x%x (raise --ram)", initrd.length, load + need, top);
      }
    }

    byte[] cmd = (cmdline == null ? "" : cmdline).getBytes(StandardCharsets.US_ASCII);
    if (cmd.length > h.cmdlineSize()) {
      throw BootException.format("the command line is %d bytes; this kernel takes at most %d",
          cmd.length, h.cmdlineSize());
    }
    long cmdOffset = LinuxBootParams.SIZE;
    long gdtOffset = (cmdOffset + cmd.length + 1 + 7) & ~7L;
    long blockSize = gdtOffset + BOOT_GDT.length;
    // The kernel occupies [load, load + need) while it decompresses: keep off all of it.
    List<LoadSegment> taken = new ArrayList<>(segments);
    taken.set(0, new LoadSegment(offset, load, fileSize, need));
    long block = BootLayout.freeBlock(blockSize, BootLayout.LOWEST, BootLayout.CONVENTIONAL_END,
        taken);
    if (block < 0 || block + blockSize > ramBytes) {
      throw new BootException("no room in conventional memory for the zero page");
    }

    LoadSegment.writeAll(segments, image, memory);
    if (initrd != null) {
      memory.write(initrdAddr, initrd, 0, initrd.length);
    }
    ByteBuffer bp = zeroPage(image, h, load, block + cmdOffset, initrdAddr,
        initrd == null ? 0 : initrd.length, BootLayout.pcMemoryMap(ramBytes), ramBytes);
    bp.putLong(LinuxBootParams.ACPI_RSDP_ADDR, acpiRsdp);
    memory.write(block, bp.array(), 0, LinuxBootParams.SIZE);
    byte[] z = new byte[cmd.length + 1];
    System.arraycopy(cmd, 0, z, 0, cmd.length);
    memory.write(block + cmdOffset, z, 0, z.length);
    memory.write(block + gdtOffset, BOOT_GDT, 0, BOOT_GDT.length);
    return new LinuxKernel(h, load, block, block + gdtOffset, initrdAddr, segments);
  }

  /** The zero page: the image's setup header, then what the loader fills in. */
  static ByteBuffer zeroPage(byte[] image, LinuxSetupHeader h, long load, long cmdLine,
      long initrdAddr, long initrdSize, List<MemoryMapEntry> map, long ramBytes)
      throws BootException {
    if (map.size() > LinuxBootParams.E820_MAX_ENTRIES) {
      throw BootException.format("%d memory map entries; the zero page holds %d", map.size(),
          LinuxBootParams.E820_MAX_ENTRIES);
    }
    ByteBuffer bp = ByteBuffer.allocate(LinuxBootParams.SIZE).order(ByteOrder.LITTLE_ENDIAN);
    bp.put(LinuxBootParams.SETUP_HEADER, image, LinuxSetupHeader.SETUP_SECTS,
        h.headerEnd() - LinuxSetupHeader.SETUP_SECTS);
    bp.put(LinuxSetupHeader.TYPE_OF_LOADER, (byte) LinuxBootParams.LOADER_UNDEFINED);
    bp.putInt(LinuxSetupHeader.CODE32_START, (int) load);
    bp.putInt(LinuxSetupHeader.CMD_LINE_PTR, (int) cmdLine);
    bp.putInt(LinuxSetupHeader.RAMDISK_IMAGE, (int) initrdAddr);
    bp.putInt(LinuxSetupHeader.RAMDISK_SIZE, (int) initrdSize);
    bp.putInt(LinuxBootParams.ALT_MEM_K, (int) (Math.max(0, ramBytes - HIGH_LOAD) >> 10));
    bp.put(LinuxBootParams.E820_ENTRIES, (byte) map.size());
    for (int i = 0; i < map.size(); i++) {
      MemoryMapEntry e = map.get(i);
      int at = LinuxBootParams.e820Entry(i);
      bp.putLong(at, e.base()).putLong(at + 8, e.length()).putInt(at + 16, e.type());
    }
    return bp;
  }
}
