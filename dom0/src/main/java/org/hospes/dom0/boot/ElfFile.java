package org.hospes.dom0.boot;

import static org.hospes.dom0.boot.ElfHeader.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A parsed ELF32 little-endian i386 executable: its header and program headers, checked against
 * the file so that nothing that uses them can read past its end.
 */
public record ElfFile(ElfHeader header, List<ProgramHeader> programHeaders) {

  public ElfFile {
    programHeaders = List.copyOf(programHeaders);
  }

  /** The PT_LOAD segments, in file order. */
  public List<ProgramHeader> loadSegments() {
    return programHeaders.stream().filter(ProgramHeader::isLoad).toList();
  }

  /**
   * e_entry, moved to its physical address when it lies in a segment linked at a different
   * virtual address (higher-half kernels), as GRUB does: the kernel starts with paging off.
   */
  public long physicalEntry() {
    long entry = header.entry();
    for (ProgramHeader ph : loadSegments()) {
      if (entry >= ph.vaddr() && entry < ph.vaddr() + ph.memsz()) {
        return entry - ph.vaddr() + ph.paddr();
      }
    }
    return entry;
  }

  /** Parses {@code image}; throws with a one-line reason if it is not a loadable i386 ELF. */
  public static ElfFile parse(byte[] image) throws BootException {
    if (!hasMagic(image)) {
      throw new BootException("not an ELF file (no \\x7fELF magic)");
    }
    if (image.length <= EI_DATA) {
      throw truncated(image, "ELF identification");
    }
    int elfClass = image[EI_CLASS];
    if (elfClass == ELFCLASS64) {
      throw new BootException("not a 32-bit ELF file (ELFCLASS64); build the kernel with -m32");
    }
    if (elfClass != ELFCLASS32) {
      throw BootException.format("not a 32-bit ELF file (unknown class %d)", elfClass);
    }
    if (image[EI_DATA] != ELFDATA2LSB) {
      throw new BootException("not a little-endian ELF file");
    }
    if (image.length < ElfHeader.SIZE) {
      throw truncated(image, "ELF header");
    }
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    int machine = b.getShort(E_MACHINE) & 0xFFFF;
    if (machine != EM_386) {
      throw BootException.format("not an x86 ELF file (e_machine %d%s, expected EM_386)",
          machine, machine == EM_X86_64 ? " = x86-64" : "");
    }
    int type = b.getShort(E_TYPE) & 0xFFFF;
    if (type != ET_EXEC) {
      throw BootException.format("not an executable ELF file (e_type %d%s); link it -static"
          + " -no-pie at a fixed address", type, type == ET_DYN ? " = ET_DYN" : "");
    }
    ElfHeader header = new ElfHeader(type, machine, u32(b, E_ENTRY), u32(b, E_PHOFF),
        b.getShort(E_PHENTSIZE) & 0xFFFF, b.getShort(E_PHNUM) & 0xFFFF);
    return new ElfFile(header, programHeaders(b, header, image.length));
  }

  private static List<ProgramHeader> programHeaders(ByteBuffer b, ElfHeader h, int length)
      throws BootException {
    if (h.phnum() == 0) {
      return List.of();
    }
    if (h.phentsize() < ProgramHeader.SIZE) {
      throw BootException.format("bad ELF program header size %d (expected at least %d)",
          h.phentsize(), ProgramHeader.SIZE);
    }
    long tableEnd = h.phoff() + (long) h.phnum() * h.phentsize();
    if (tableEnd > length) {
      throw BootException.format("truncated: program headers end at 0x%x but the file has %d"
          + " bytes", tableEnd, length);
    }
    List<ProgramHeader> result = new ArrayList<>(h.phnum());
    for (int i = 0; i < h.phnum(); i++) {
      int at = (int) (h.phoff() + (long) i * h.phentsize());
      ProgramHeader ph = new ProgramHeader(i, b.getInt(at + ProgramHeader.P_TYPE),
          u32(b, at + ProgramHeader.P_OFFSET), u32(b, at + ProgramHeader.P_VADDR),
          u32(b, at + ProgramHeader.P_PADDR), u32(b, at + ProgramHeader.P_FILESZ),
          u32(b, at + ProgramHeader.P_MEMSZ), b.getInt(at + ProgramHeader.P_FLAGS));
      if (ph.isLoad()) {
        if (ph.offset() + ph.filesz() > length) {
          throw BootException.format("truncated: segment %d (file offset 0x%x, 0x%x bytes)"
              + " extends past the end of the file (%d bytes)", i, ph.offset(), ph.filesz(),
              length);
        }
        if (ph.filesz() > ph.memsz()) {
          throw BootException.format("bad segment %d: file size 0x%x exceeds memory size 0x%x",
              i, ph.filesz(), ph.memsz());
        }
      }
      result.add(ph);
    }
    return result;
  }

  private static BootException truncated(byte[] image, String what) {
    return BootException.format("truncated: the file has %d bytes, too few for the %s",
        image.length, what);
  }

  private static long u32(ByteBuffer b, int offset) {
    return b.getInt(offset) & 0xFFFF_FFFFL;
  }
}
