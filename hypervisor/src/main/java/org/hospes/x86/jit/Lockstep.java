package org.hospes.x86.jit;

import java.util.Arrays;
import org.hospes.x86.JitAbi;

/**
 * Lockstep checking of translations against the interpreter. For every translated block the
 * processor runs the translation first, with its stores journaled (old bytes kept) and faults
 * not delivered; this object keeps the resulting state and undoes the stores; then the
 * interpreter runs the same block from the same state and {@link #compare} checks registers,
 * EIP, materialised EFLAGS, the instruction count and every byte the translation stored. A
 * fault is compared before it is delivered: where it happened (the instruction count), its
 * vector, error code and (for #PF) address, the registers and EFLAGS. A block whose
 * stores went to MMIO or to a page holding code cannot be undone: its translation's outcome
 * stands unchecked and is counted. Stores that cross a page, or go to a page the write TLB
 * does not hold, are journaled frame by frame by the processor's slow write path (each byte
 * range of each frame before it is written, in the frame's own storage: a frame backed on
 * that first touch is journaled as the zeros it read as), so their blocks are compared too.
 */
public final class Lockstep {
  private static final String[] REG = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
  private static final int PF = 14;

  /** Per journaled store: the frame's storage, the offset in it and the physical address. */
  private byte[][] frame = new byte[16][];
  private int[] index = new int[16];
  private long[] physAt = new long[16];
  private int[] length = new int[16];
  private byte[] old = new byte[64];
  private byte[] stored = new byte[64];
  private int entries;
  private int oldBytes;
  private boolean unjournaled;

  private final int[] regs = new int[8];
  private int eip;
  private int eflags;
  private long retired;
  private int vector;
  private int error;
  private int pfAddr;

  private long checked;
  private long unchecked;

  /** Test seam: the physical address of a byte the translation is made to store wrong, or -1. */
  private long planted = -1;

  /** Starts journaling the stores of one translated run. */
  public void begin() {
    entries = 0;
    oldBytes = 0;
    unjournaled = false;
  }

  /**
   * The translation is about to store {@code bytes} bytes at {@code page[at]}, the storage of
   * the machine frame holding physical address {@code pa}.
   */
  public void journal(byte[] page, int at, int bytes, long pa) {
    if (entries == index.length) {
      frame = Arrays.copyOf(frame, entries * 2);
      index = Arrays.copyOf(index, entries * 2);
      physAt = Arrays.copyOf(physAt, entries * 2);
      length = Arrays.copyOf(length, entries * 2);
    }
    frame[entries] = page;
    physAt[entries] = pa;
    if (oldBytes + bytes > old.length) {
      old = Arrays.copyOf(old, (oldBytes + bytes) * 2);
      stored = Arrays.copyOf(stored, old.length);
    }
    index[entries] = at;
    length[entries] = bytes;
    entries++;
    System.arraycopy(page, at, old, oldBytes, bytes);
    oldBytes += bytes;
  }

  /** A store went to MMIO, a page holding code or past RAM: the run cannot be undone. */
  public void unjournaled() {
    unjournaled = true;
  }

  public boolean unjournaledWrites() {
    return unjournaled;
  }

  public void countUnchecked() {
    unchecked++;
  }

  /** Keeps the translation's outcome and the bytes it stored. */
  public void keepTranslated(int[] r, int eip, int eflags, long retired, int vector, int error,
      int pfAddr) {
    System.arraycopy(r, 0, regs, 0, 8);
    this.eip = eip;
    this.eflags = eflags;
    this.retired = retired;
    this.vector = vector;
    this.error = error;
    this.pfAddr = pfAddr;
    int k = 0;
    for (int e = 0; e < entries; e++) {
      if (planted >= physAt[e] && planted < physAt[e] + length[e]) {
        frame[e][index[e] + (int) (planted - physAt[e])] ^= (byte) 0x5A;
      }
      System.arraycopy(frame[e], index[e], stored, k, length[e]);
      k += length[e];
    }
  }

  /** Puts back the bytes the translation overwrote, newest first. */
  public void undo() {
    int k = oldBytes;
    for (int e = entries - 1; e >= 0; e--) {
      k -= length[e];
      System.arraycopy(old, k, frame[e], index[e], length[e]);
    }
  }

  /**
   * Compares the interpreter's outcome with the kept one; throws {@link LockstepMismatch}
   * naming the block, its instructions and the differing state.
   */
  public void compare(long phys, int base, int[] code, int count, int faultAt, int[] r, int eipNow,
      int eflagsNow, long retiredNow, int vectorNow, int errorNow, int pfNow) {
    checked++;
    StringBuilder diff = new StringBuilder();
    if (faultAt > 0) {
      expect(diff, "instructions retired before the fault", retiredNow, faultAt - 1);
      expect(diff, "vector", vectorNow, vector);
      expect(diff, "error code", errorNow, error);
      if (vector == PF) {
        expect(diff, "#PF address", pfNow, pfAddr);
      }
    } else {
      expect(diff, "instructions retired", retiredNow, retired);
      expect(diff, "EIP", eipNow, eip);
    }
    expect(diff, "EFLAGS", eflagsNow, eflags);
    for (int k = 0; k < 8; k++) {
      expect(diff, REG[k], r[k], regs[k]);
    }
    int s = 0;
    for (int e = 0; e < entries; e++) {
      for (int b = 0; b < length[e]; b++, s++) {
        if (frame[e][index[e] + b] != stored[s]) {
          diff.append(String.format(" byte at physical 0x%x: interpreter 0x%02x, jit 0x%02x;",
              physAt[e] + b, frame[e][index[e] + b] & 0xFF, stored[s] & 0xFF));
        }
      }
    }
    if (diff.length() > 0) {
      throw new LockstepMismatch(String.format(
          "lockstep mismatch in the block at EIP 0x%08x (physical 0x%x)%s:%s", base, phys,
          faultAt > 0 ? ", faulting at its instruction " + faultAt : "", diff)
          + " instructions: " + listing(code, count, faultAt));
    }
  }

  private static void expect(StringBuilder diff, String what, long interp, long jit) {
    if (interp != jit) {
      diff.append(String.format(" %s interpreter 0x%x, jit 0x%x;", what, interp, jit));
    }
  }

  private static void expect(StringBuilder diff, String what, int interp, int jit) {
    expect(diff, what, interp & 0xFFFF_FFFFL, jit & 0xFFFF_FFFFL);
  }

  /** The block's instructions as handler names with their EIP offsets. */
  static String listing(int[] code, int count, int mark) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < count && i < 64; i++) {
      int f0 = code[4 * i];
      int f3 = code[4 * i + 3];
      int end = f3 & 0xFFFF;
      int len = (f3 >>> 16) & 15;
      if (i > 0) {
        s.append(", ");
      }
      s.append(String.format("+%d %s/%d", end - len, JitAbi.opName(f0 & 0x3FF), f3 >>> 20));
      if (i + 1 == mark) {
        s.append(" <-- faulted");
      }
    }
    return s.toString();
  }

  /**
   * Test seam: from now on, every translated run that journals a store to physical address
   * {@code pa} leaves a wrong byte there (as if the translation had stored it), which the
   * comparison must catch; -1 turns it off.
   */
  void plantWrongStore(long pa) {
    planted = pa;
  }

  /** Translated block runs compared with the interpreter. */
  public long checked() {
    return checked;
  }

  /** Translated block runs whose stores could not be undone, so were not compared. */
  public long unchecked() {
    return unchecked;
  }
}
