package org.hospes.x86;

import static org.hospes.x86.Cpu.BITS;

/** BT BTS BTR BTC, BSF, BSR, BSWAP. */
final class BitOps {
  static final int BT = 0, BTS = 1, BTR = 2, BTC = 3;

  private BitOps() {}

  /** Bit offset from a register: for memory operands it is signed and may leave the operand. */
  static void btEG(Cpu c, int f0, int d, int op) {
    int size = Cpu.size(f0);
    int bitOff = c.getG(f0, size);
    if (Cpu.isMem(f0)) {
      int bits = BITS[size];
      int signed = size == 1 ? (short) bitOff : bitOff;
      int seg = (f0 >>> 24) & 7;
      int off = c.offset(f0, d) + (signed >> (size == 1 ? 4 : 5)) * (bits >>> 3);
      int lin = c.segAddr(seg, off, bits >>> 3, op != BT);
      apply(c, f0, d, op, size, signed & (bits - 1), lin, true);
    } else {
      apply(c, f0, d, op, size, bitOff & (BITS[size] - 1), 0, false);
    }
  }

  static void btEI(Cpu c, int f0, int d, int imm, int op) {
    int size = Cpu.size(f0);
    int bit = imm & (BITS[size] - 1);
    boolean mem = Cpu.isMem(f0);
    int lin = !mem ? 0 : op == BT ? c.linR(f0, d, size) : c.linW(f0, d, size);
    apply(c, f0, d, op, size, bit, lin, mem);
  }

  private static void apply(Cpu c, int f0, int d, int op, int size, int bit, int lin,
      boolean mem) {
    int v = mem ? c.readSized(size, lin) : c.getReg(size, (f0 >>> 14) & 15);
    int cf = (v >>> bit) & 1;
    int res;
    switch (op) {
      case BTS: res = v | (1 << bit); break;
      case BTR: res = v & ~(1 << bit); break;
      case BTC: res = v ^ (1 << bit); break;
      default: res = v; break;
    }
    if (op != BT) {
      if (mem) {
        c.writeSized(size, lin, res);
      } else {
        c.setReg(size, (f0 >>> 14) & 15, res);
      }
    }
    c.setCfOnly(cf);
  }

  static void bsf(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int src = c.getE(f0, d, size);
    scanResult(c, f0, size, src, src == 0 ? 0 : Integer.numberOfTrailingZeros(src));
  }

  static void bsr(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int src = c.getE(f0, d, size);
    scanResult(c, f0, size, src, src == 0 ? 0 : 31 - Integer.numberOfLeadingZeros(src));
  }

  /** ZF tells whether the source was zero; then the destination keeps its value. */
  private static void scanResult(Cpu c, int f0, int size, int src, int index) {
    int f = c.eflags();
    if (src == 0) {
      c.flags = f | Flags.ZF;
    } else {
      c.flags = f & ~Flags.ZF;
      c.setG(f0, size, index);
    }
    c.lfOp = Cpu.LF_NONE;
  }

  static void bswap(Cpu c, int f0) {
    int reg = (f0 >>> 14) & 15;
    if (Cpu.size(f0) == 2) {
      c.r[reg] = Integer.reverseBytes(c.r[reg]);
    } else {
      // With a 16-bit operand the result is undefined; Intel processors clear the low word.
      c.r[reg] &= 0xFFFF_0000;
    }
  }
}
