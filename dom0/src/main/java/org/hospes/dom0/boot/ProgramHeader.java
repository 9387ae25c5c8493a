package org.hospes.dom0.boot;

/**
 * One ELF32 program header (System V ABI, "Program Header"). Unsigned 32-bit fields are longs.
 *
 * @param index position in the program header table, for messages
 */
public record ProgramHeader(
    int index, int type, long offset, long vaddr, long paddr, long filesz, long memsz, int flags) {

  /** Size of an ELF32 program header entry. */
  public static final int SIZE = 32;

  public static final int P_TYPE = 0;
  public static final int P_OFFSET = 4;
  public static final int P_VADDR = 8;
  public static final int P_PADDR = 12;
  public static final int P_FILESZ = 16;
  public static final int P_MEMSZ = 20;
  public static final int P_FLAGS = 24;
  public static final int P_ALIGN = 28;

  public static final int PT_NULL = 0;
  public static final int PT_LOAD = 1;
  public static final int PT_NOTE = 4;

  public boolean isLoad() {
    return type == PT_LOAD;
  }
}
