package org.hospes.x86;

/**
 * The emulated i686 processor: one logical CPU. (API skeleton; the implementation lands next.)
 */
public final class Cpu {
  public static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
  public static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

  private final MemoryBus mem;
  private final IoBus io;

  public Cpu(MemoryBus mem, IoBus io) {
    this.mem = mem;
    this.io = io;
  }

  public MemoryBus memory() { return mem; }
  public IoBus io() { return io; }
  /** General register by number (EAX=0 ... EDI=7). */
  public int reg(int r) { throw new UnsupportedOperationException(); }
  public void setReg(int r, int value) { throw new UnsupportedOperationException(); }
  public int eip() { throw new UnsupportedOperationException(); }
  public void setEip(int eip) { throw new UnsupportedOperationException(); }
  /** EFLAGS with all lazily kept status flags materialised; bit 1 reads as 1. */
  public int eflags() { throw new UnsupportedOperationException(); }
  public void setEflags(int value) { throw new UnsupportedOperationException(); }
  /** 32-bit flat protected mode, CPL 0, all segments base 0 limit 4 GiB, paging off. */
  public void resetFlat32() { throw new UnsupportedOperationException(); }
  /** Sets a segment register's hidden part directly (base, limit) without descriptor checks. */
  public void setSegmentBase(int seg, int base) { throw new UnsupportedOperationException(); }
  /** Runs at most {@code maxInstructions} instructions; returns a {@link CpuExit} code. */
  public int run(long maxInstructions) { throw new UnsupportedOperationException(); }
  /** Instructions retired since creation (a REP string instruction counts once). */
  public long instructions() { throw new UnsupportedOperationException(); }
  public int exceptionVector() { throw new UnsupportedOperationException(); }
  public int exceptionErrorCode() { throw new UnsupportedOperationException(); }
  /** Opcodes that raised #UD because they are undefined or not implemented. */
  public long undefinedOpcodes() { throw new UnsupportedOperationException(); }
  /** Asks {@link #run} to return {@link CpuExit#STOPPED} after the current instruction. */
  public void requestStop() { throw new UnsupportedOperationException(); }
}
