package org.hospes.dom0.boot;

/**
 * The ELF32 file header (System V ABI, "ELF Header"), with the fields a loader needs. Addresses
 * and offsets are unsigned 32-bit values held in longs.
 */
public record ElfHeader(
    int type, int machine, long entry, long phoff, int phentsize, int phnum) {

  /** Size of the ELF32 header. */
  public static final int SIZE = 52;

  // e_ident bytes.
  public static final int EI_CLASS = 4;
  public static final int EI_DATA = 5;
  public static final int ELFCLASS32 = 1;
  public static final int ELFCLASS64 = 2;
  public static final int ELFDATA2LSB = 1;

  // Field offsets.
  public static final int E_TYPE = 16;
  public static final int E_MACHINE = 18;
  public static final int E_VERSION = 20;
  public static final int E_ENTRY = 24;
  public static final int E_PHOFF = 28;
  public static final int E_SHOFF = 32;
  public static final int E_FLAGS = 36;
  public static final int E_EHSIZE = 40;
  public static final int E_PHENTSIZE = 42;
  public static final int E_PHNUM = 44;

  public static final int ET_EXEC = 2;
  public static final int ET_DYN = 3;
  public static final int EM_386 = 3;
  public static final int EM_X86_64 = 62;

  /** True if {@code image} starts with the ELF magic {@code 0x7F 'E' 'L' 'F'}. */
  public static boolean hasMagic(byte[] image) {
    return image.length >= 4 && image[0] == 0x7F && image[1] == 'E' && image[2] == 'L'
        && image[3] == 'F';
  }
}
