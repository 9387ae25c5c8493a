package org.hospes.dom0.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.hospes.x86.PhysicalMemory;

/**
 * Loads a PVH kernel: an ELF32 image whose PT_NOTE segment carries Xen's
 * XEN_ELFNOTE_PHYS32_ENTRY note, the 32-bit physical entry point (docs/misc/pvh.pandoc). The
 * PT_LOAD segments go to their physical addresses; an {@code hvm_start_info} (version 1, with the
 * command line, an e820-style memory map and the RSDP of {@link AcpiTables}) is placed in low
 * memory below the kernel, and the vCPU starts at
 * the entry in flat 32-bit protected mode with EBX pointing at it.
 */
public final class PvhLoader {
  /** XEN_ELFNOTE_PHYS32_ENTRY (public/elfnote.h). */
  public static final int NOTE_PHYS32_ENTRY = 18;
  public static final int START_INFO_MAGIC = 0x336e_c578;
  /** hvm_start_info layout (x86_32): 56 bytes. */
  public static final int SI_MAGIC = 0;
  public static final int SI_VERSION = 4;
  public static final int SI_FLAGS = 8;
  public static final int SI_NR_MODULES = 12;
  public static final int SI_MODLIST = 16;
  public static final int SI_CMDLINE = 24;
  public static final int SI_RSDP = 32;
  public static final int SI_MEMMAP = 40;
  public static final int SI_MEMMAP_ENTRIES = 48;
  public static final int SI_SIZE = 56;
  /** hvm_memmap_table_entry: addr u64, size u64, type u32, reserved u32. */
  public static final int MEMMAP_ENTRY_SIZE = 24;
  /** Conventional memory, the legacy hole, RAM above 1 MiB. */
  public static final int MEMMAP_ENTRIES = 3;
  public static final int E820_RAM = 1;
  public static final int E820_RESERVED = 2;

  /** Where the ACPI tables go: in the reserved hole below 1 MiB, where firmware keeps them. */
  public static final long ACPI_BASE = 0xE_0000L;

  /** hvm_modlist_entry: paddr u64 @0, size u64 @8, cmdline_paddr u64 @16, reserved @24. */
  public static final int MODLIST_ENTRY_SIZE = 32;

  /**
   * RAM in MiB that holds every load segment of {@code elf} plus what the caller keeps above
   * the usable RAM it passed (the toolstack's special pages), rounded up.
   */
  private static long neededMiB(ElfFile elf, long ramBytes) {
    long end = 0;
    for (ProgramHeader ph : elf.loadSegments()) {
      end = Math.max(end, ph.paddr() + ph.memsz());
    }
    long reserved = (-ramBytes) & ((1 << 20) - 1); // the part of the last MiB kept back
    return (end + reserved + (1 << 20) - 1) >> 20;
  }

  /** Entry point, start-info address and loaded segments. */
  public record PvhKernel(long entry, long startInfo, List<LoadSegment> segments) {}

  public PvhKernel load(byte[] image, String cmdline, PhysicalMemory memory, long ramBytes)
      throws BootException {
    return load(image, cmdline, List.of(), memory, ramBytes);
  }

  /**
   * Loads the kernel, then each module page-aligned above it, and lists the modules in the start
   * info's modlist (the first one is what Linux takes as its initrd).
   *
   * <p>The start info, memory map, modlist and command lines go in one block in low memory
   * ({@link BootLayout#LOWEST} up to 640 KiB), below the kernel, as QEMU places them: a kernel's
   * early page tables map little beyond its own image (Debian's 686-pae Linux maps only a few
   * MiB past {@code _end}), so with a large initramfs anything placed after the modules would
   * be out of its reach. Only if low memory is taken by the kernel does the block go above the
   * modules.
   */
  public PvhKernel load(byte[] image, String cmdline, List<BootModule> modules,
      PhysicalMemory memory, long ramBytes) throws BootException {
    if (BzImage.isBzImage(image)) {
      // A bzImage (e.g. Debian's vmlinuz): boot the vmlinux ELF inside it, as Xen's builder does.
      image = BzImage.vmlinux(image);
    }
    ElfFile elf = ElfFile.parse(image);
    long entry = findEntry(image, elf);
    List<LoadSegment> segments = new ArrayList<>();
    long end = 0;
    for (ProgramHeader ph : elf.loadSegments()) {
      if (ph.paddr() + ph.memsz() > ramBytes) {
        // Name what is needed, not a rounded-down size: RAM less the special pages can be
        // under 1 MiB.
        throw BootException.format("segment %d at 0x%x (+0x%x) does not fit in the guest's"
            + " %d KiB of usable RAM; this kernel needs at least %d MiB", ph.index(), ph.paddr(),
            ph.memsz(), ramBytes >> 10, neededMiB(elf, ramBytes));
      }
      if (ph.memsz() > 0 && ph.paddr() < 0x10_0000
          && ph.paddr() + ph.memsz() > BootLayout.CONVENTIONAL_END) {
        throw BootException.format("segment %d at 0x%x (+0x%x) lies in the legacy hole"
            + " 0xa0000-0xfffff, where the ACPI tables go", ph.index(), ph.paddr(), ph.memsz());
      }
      segments.add(new LoadSegment(ph.offset(), ph.paddr(), ph.filesz(), ph.memsz()));
      end = Math.max(end, ph.paddr() + ph.memsz());
    }
    LoadSegment.writeAll(segments, image, memory);
    if (entry < 0 || entry >= ramBytes) {
      throw BootException.format("PVH entry point 0x%x is outside RAM", entry);
    }
    long next = BootLayout.pageUp(end);
    long[] modAddr = new long[modules.size()];
    for (int i = 0; i < modules.size(); i++) {
      byte[] data = modules.get(i).data();
      if (next + data.length > ramBytes) {
        throw BootException.format("module %d (%d bytes) does not fit in RAM above the kernel"
            + " (%d MiB; raise --ram)", i + 1, data.length, ramBytes >> 20);
      }
      memory.write(next, data, 0, data.length);
      modAddr[i] = next;
      next = BootLayout.pageUp(next + data.length);
    }
    byte[] cmd = cmdline == null ? new byte[0] : cmdline.getBytes(StandardCharsets.US_ASCII);
    long stringBytes = 0;
    for (BootModule m : modules) {
      stringBytes += (m.cmdline() == null ? 0 : m.cmdline().length()) + 1;
    }
    long size = SI_SIZE + MEMMAP_ENTRIES * MEMMAP_ENTRY_SIZE
        + (long) modules.size() * MODLIST_ENTRY_SIZE + cmd.length + 1 + stringBytes;
    long info = BootLayout.freeBlock(size, BootLayout.LOWEST, BootLayout.CONVENTIONAL_END,
        segments);
    if (info < 0) {
      info = next;
      if (info + size > ramBytes) {
        throw new BootException("no room for the start info, below or above the kernel");
      }
    }
    long memmap = info + SI_SIZE;
    long modlist = memmap + MEMMAP_ENTRIES * MEMMAP_ENTRY_SIZE;
    long cmdAddr = modlist + (long) modules.size() * MODLIST_ENTRY_SIZE;
    long strings = cmdAddr + cmd.length + 1;
    if (!modules.isEmpty()) {
      ByteBuffer ml = ByteBuffer.allocate(modules.size() * MODLIST_ENTRY_SIZE)
          .order(ByteOrder.LITTLE_ENDIAN);
      long s = strings;
      for (int i = 0; i < modules.size(); i++) {
        BootModule m = modules.get(i);
        byte[] mc = m.cmdline() == null ? new byte[0]
            : m.cmdline().getBytes(StandardCharsets.US_ASCII);
        ml.putLong(modAddr[i]).putLong(m.data().length).putLong(mc.length == 0 ? 0 : s)
            .putLong(0);
        byte[] z = new byte[mc.length + 1];
        System.arraycopy(mc, 0, z, 0, mc.length);
        memory.write(s, z, 0, z.length);
        s += z.length;
      }
      memory.write(modlist, ml.array(), 0, ml.capacity());
    }
    ByteBuffer si = ByteBuffer.allocate(SI_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    si.putInt(SI_MAGIC, START_INFO_MAGIC);
    si.putInt(SI_VERSION, 1);
    si.putInt(SI_NR_MODULES, modules.size());
    si.putLong(SI_MODLIST, modules.isEmpty() ? 0 : modlist);
    si.putLong(SI_CMDLINE, cmd.length == 0 ? 0 : cmdAddr);
    si.putLong(SI_RSDP, ACPI_BASE);
    si.putLong(SI_MEMMAP, memmap);
    si.putInt(SI_MEMMAP_ENTRIES, MEMMAP_ENTRIES);
    memory.write(info, si.array(), 0, SI_SIZE);
    AcpiTables.Image acpi = AcpiTables.build(ACPI_BASE, 1);
    memory.write(ACPI_BASE, acpi.bytes(), 0, acpi.bytes().length);
    ByteBuffer mm = ByteBuffer.allocate(MEMMAP_ENTRIES * MEMMAP_ENTRY_SIZE)
        .order(ByteOrder.LITTLE_ENDIAN);
    putEntry(mm, 0, BootLayout.CONVENTIONAL_END, E820_RAM);
    putEntry(mm, BootLayout.CONVENTIONAL_END, 0x10_0000 - BootLayout.CONVENTIONAL_END,
        E820_RESERVED);
    putEntry(mm, 0x10_0000, ramBytes - 0x10_0000, E820_RAM);
    memory.write(memmap, mm.array(), 0, mm.capacity());
    if (cmd.length > 0) {
      byte[] z = new byte[cmd.length + 1];
      System.arraycopy(cmd, 0, z, 0, cmd.length);
      memory.write(cmdAddr, z, 0, z.length);
    }
    return new PvhKernel(entry, info, segments);
  }

  private static void putEntry(ByteBuffer b, long addr, long size, int type) {
    b.putLong(addr).putLong(size).putInt(type).putInt(0);
  }

  /** The PHYS32_ENTRY note's address, or a BootException naming what is missing. */
  public static long findEntry(byte[] image, ElfFile elf) throws BootException {
    XenElfNotes notes = XenElfNotes.read(image, elf);
    if (notes.has(NOTE_PHYS32_ENTRY) && notes.size(NOTE_PHYS32_ENTRY) >= 4) {
      return notes.number(NOTE_PHYS32_ENTRY, 0) & 0xFFFF_FFFFL;
    }
    if (notes.has(XenElfNotes.GUEST_OS) || notes.has(XenElfNotes.LOADER)) {
      throw new BootException("not a PVH kernel (no Xen PHYS32_ENTRY note): a classic PV"
          + " kernel (Xen's PV notes), which boots with --mode pv");
    }
    throw new BootException("not a PVH kernel (no Xen PHYS32_ENTRY note)");
  }
}
