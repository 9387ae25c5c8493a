package org.hospes.x86.diff;

import java.util.SplittableRandom;

/**
 * Helpers shared by the form generators: interesting operand values, register choice, memory
 * operands that land in the scratch window, and prefixes. One {@code Gen} builds one case.
 */
final class Gen {
  /** Edge values; each is also used truncated to 8 and 16 bits. */
  private static final int[] EDGES = {
    0, 1, 2, -1, -2, 0x7F, 0x80, 0x81, 0xFF, 0x100, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x10000,
    0x7FFFFFFF, 0x80000000, 0x80000001, 0x0F, 0x10, 0x55555555, 0xAAAAAAAA, 0x3F, 0x40, 0xFFFF_FF80
  };
  private static final String[] SEG_NAMES = {"es", "cs", "ss", "ds"};

  final SplittableRandom rnd;
  final DiffCase c;
  /** True when encoding for the host CPU in 64-bit mode. */
  final boolean host;

  Gen(SplittableRandom rnd, DiffCase c, boolean host) {
    this.rnd = rnd;
    this.c = c;
    this.host = host;
    for (int r = 0; r < 8; r++) {
      c.regs[r] = val(32);
    }
    for (int i = 0; i < c.mem.length; i++) {
      c.mem[i] = (byte) rnd.nextInt(256);
    }
    c.eflags = 2 | (rnd.nextInt() & DefinedFlags.COMPARABLE);
  }

  Insn.Builder b() {
    return new Insn.Builder(host);
  }

  boolean chance(double p) {
    return rnd.nextDouble() < p;
  }

  int pick(int... options) {
    return options[rnd.nextInt(options.length)];
  }

  int size() {
    return pick(8, 16, 32);
  }

  int size1632() {
    return pick(16, 32);
  }

  /** An operand value of {@code size} bits: edges, small numbers, or uniform. */
  int val(int size) {
    int v = switch (rnd.nextInt(5)) {
      case 0, 1 -> EDGES[rnd.nextInt(EDGES.length)];
      case 2 -> rnd.nextInt(33) - 16;
      default -> rnd.nextInt();
    };
    if (size < 32 && rnd.nextInt(4) == 0) {
      v = v >> (32 - size); // the top bits of an edge value give sign-boundary cases too
    }
    return v & Regs.mask(size);
  }

  /** A shift or rotate count covering 0/1, widths, and counts the processor masks. */
  int count() {
    return rnd.nextInt(3) == 0
        ? rnd.nextInt(256)
        : pick(0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 18, 24, 31, 32, 33, 63, 64, 255);
  }

  int reg() {
    return rnd.nextInt(8);
  }

  int regExcept(int avoidMask) {
    int r;
    do {
      r = rnd.nextInt(8);
    } while ((avoidMask & (1 << r)) != 0);
    return r;
  }

  /** Bit of the full register behind a {@code size}-bit register number. */
  static int bit(int size, int r) {
    return 1 << Regs.full(size, r);
  }

  void setReg(int size, int r, int value) {
    Regs.set(c.regs, size, r, value);
  }

  int getReg(int size, int r) {
    return Regs.get(c.regs, size, r);
  }

  void putMem(int offset, int value, int bytes) {
    for (int i = 0; i < bytes; i++) {
      c.mem[offset + i] = (byte) (value >>> (8 * i));
    }
  }

  int getMem(int offset, int bytes) {
    int v = 0;
    for (int i = 0; i < bytes; i++) {
      v |= (c.mem[offset + i] & 0xFF) << (8 * i);
    }
    return v;
  }

  /** A random scratch offset with {@code margin} bytes free on both sides of {@code bytes}. */
  int offset(int bytes, int margin) {
    return margin + rnd.nextInt(c.mem.length - bytes - 2 * margin + 1);
  }

  /**
   * A memory operand whose effective address is {@code target}: picks an addressing form and
   * sets base and index registers (never those in {@code avoidMask}) so the sum, wrapped at 32
   * bits, hits it.
   */
  Mem memAt(int target, int avoidMask) {
    int form = rnd.nextInt(10);
    int dispBytes = pick(0, 1, 4);
    int disp = dispBytes == 0 ? 0 : dispBytes == 1 ? rnd.nextInt(256) - 128 : rnd.nextInt();
    if (form == 0) {
      return Mem.absolute(target, chance(0.5));
    }
    if (form <= 4 || (avoidMask & 0xEF) == 0xEF) { // base (+disp); base may be ESP
      int base = regExcept(avoidMask);
      c.regs[base] = target - disp;
      return new Mem(base, -1, 0, disp, dispBytes, false);
    }
    int indexAvoid = avoidMask | (1 << Regs.ESP);
    int index = regExcept(indexAvoid);
    int scale = rnd.nextInt(4);
    c.regs[index] = chance(0.5) ? val(32) : rnd.nextInt(64) - 16;
    if (form == 5 || (avoidMask | (1 << index)) == 0xFF) { // index*scale + disp32, no base
      int d = target - (c.regs[index] << scale);
      return new Mem(-1, index, scale, d, 4, false);
    }
    int base = regExcept(avoidMask | (1 << index));
    c.regs[base] = target - disp - (c.regs[index] << scale);
    return new Mem(base, index, scale, disp, dispBytes, false);
  }

  /**
   * A 16-bit memory operand whose effective address is {@code target} (below 64 KiB): sets the
   * low halves of its registers and leaves random upper halves, which the processor must ignore.
   */
  Mem16 mem16At(int target, int avoidMask) {
    while (true) {
      int rm = rnd.nextInt(8);
      int mod = rnd.nextInt(3);
      int disp = mod == 1 ? rnd.nextInt(256) - 128 : rnd.nextInt(0x10000);
      Mem16 m = new Mem16(rm, mod, m16Disp(rm, mod, disp, target));
      int[] regs = m.regs();
      boolean clash = false;
      for (int r : regs) {
        clash |= (avoidMask & (1 << r)) != 0;
      }
      if (clash) {
        continue;
      }
      if (m.absolute()) {
        return m;
      }
      int sum = m.disp;
      for (int i = 0; i < regs.length - 1; i++) {
        c.regs[regs[i]] = val(32);
        sum += c.regs[regs[i]];
      }
      int last = regs[regs.length - 1];
      c.regs[last] = (rnd.nextInt() & 0xFFFF_0000) | ((target - sum) & 0xFFFF);
      return m;
    }
  }

  private static int m16Disp(int rm, int mod, int disp, int target) {
    return rm == 6 && mod == 0 ? target : disp;
  }

  /**
   * Adds a segment-override prefix (ES/CS/SS/DS only) with probability {@code p}; returns its
   * text. For an operand that is written, CS is left out: in 32-bit protected mode a write
   * through the (read/execute) code segment raises #GP, while 64-bit mode ignores the override.
   */
  String seg(Insn.Builder b, double p, boolean written) {
    if (!chance(p)) {
      return "";
    }
    int s = written ? pick(0, 2, 3) : rnd.nextInt(4);
    b.prefix(0x26 + 8 * s);
    return SEG_NAMES[s] + ": ";
  }

  /** An r/m operand: a register or a scratch memory location, with an interesting value. */
  final class Rm {
    final int size;
    final boolean isMem;
    final int reg;
    final Mem mem;
    /** Scratch offset of a memory operand. */
    final int off;

    Rm(int size, int reg) {
      this.size = size;
      this.isMem = false;
      this.reg = reg;
      this.mem = null;
      this.off = -1;
    }

    Rm(int size, int off, Mem mem) {
      this.size = size;
      this.isMem = true;
      this.reg = -1;
      this.mem = mem;
      this.off = off;
    }

    void modrm(Insn.Builder b, int regField) {
      if (isMem) {
        b.modrmMem(regField, mem);
      } else {
        b.modrmReg(regField, reg);
      }
    }

    String text() {
      return isMem ? mem.text(size) : Regs.name(size, reg);
    }

    /** The operand's value as it stands in the case now. */
    int value() {
      return isMem ? getMem(off, size / 8) : getReg(size, reg);
    }

    void set(int v) {
      if (isMem) {
        putMem(off, v, size / 8);
      } else {
        setReg(size, reg, v);
      }
    }

    /** Masks the operand out of the comparison (its result is undefined). */
    void maskOut() {
      if (isMem) {
        c.maskMem(off, size / 8, 0);
      } else {
        maskReg(size, reg);
      }
    }

    String kind() {
      return isMem ? "mem" : "reg";
    }
  }

  void maskReg(int size, int r) {
    if (size == 8) {
      c.regMask[Regs.full(8, r)] &= r < 4 ? ~0xFF : ~0xFF00;
    } else {
      c.regMask[r] &= ~Regs.mask(size);
    }
  }

  Rm regRm(int size, int r) {
    setReg(size, r, val(size));
    return new Rm(size, r);
  }

  Rm memRm(int size, int avoidMask) {
    return memRm(size, avoidMask, false);
  }

  /**
   * A memory r/m operand; with {@code locked} it lies within one 64-byte cache line. A locked
   * access that straddles two lines is a split lock: Linux traps it on the host reference
   * ("took a bus_lock trap") and throttles the process, which can then miss its 2 s alarm on a
   * loaded machine. So LOCKed and XCHG accesses are generated within a line ({@link #lockable}).
   */
  Rm memRm(int size, int avoidMask, boolean locked) {
    int off = offset(size / 8, 0);
    while (locked && !withinLine(off, size / 8)) {
      off = offset(size / 8, 0);
    }
    putMem(off, val(size), size / 8);
    return new Rm(size, off, memAt(Layout.SCRATCH_ADDR + off, avoidMask));
  }

  /** A register or memory r/m operand with probability 1/2 each. */
  Rm rm(int size, int avoidMask) {
    return chance(0.5) ? memRm(size, avoidMask) : regRm(size, reg());
  }

  /** As {@link #rm(int, int)}, for an always-locked access (XCHG with memory). */
  Rm lockedRm(int size, int avoidMask) {
    return chance(0.5) ? memRm(size, avoidMask, true) : regRm(size, reg());
  }

  /** The {@code bytes} at scratch offset {@code off} lie within one 64-byte cache line. */
  static boolean withinLine(int off, int bytes) {
    int a = Layout.SCRATCH_ADDR + off;
    return (a & 63) + bytes <= 64;
  }

  /** A LOCK prefix may go on this operand: memory, and no split lock (see {@link #memRm}). */
  static boolean lockable(Rm rm) {
    return rm.isMem && withinLine(rm.off, rm.size / 8);
  }

  static void opsize(Insn.Builder b, int size) {
    if (size == 16) {
      b.prefix(0x66);
    }
  }

  /** Opcode for the byte form {@code op8}; {@code op8 + 1} for 16/32-bit. */
  static int w(int op8, int size) {
    return size == 8 ? op8 : op8 + 1;
  }

  static int immBytes(int size) {
    return size == 32 ? 4 : size / 8;
  }
}
