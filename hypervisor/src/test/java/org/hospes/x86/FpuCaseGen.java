package org.hospes.x86;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * Generates x87 test cases for {@link FpuDiffTest}: a random but consistent x87 state (no
 * pending unmasked exception), an operand buffer and one instruction, with edge values (zeros,
 * denormals, pseudo-denormals, infinities, NaNs, unsupported encodings, extreme exponents,
 * values at rounding boundaries) over-represented.
 */
final class FpuCaseGen {
  private static final String[] ARITH = {"add", "mul", "com", "comp", "sub", "subr", "div", "divr"};
  private static final String[] D9_MEM = {"fld m32", "?", "fst m32", "fstp m32", "fldenv",
      "fldcw", "fnstenv", "fnstcw"};
  private static final String[] DB_MEM = {"fild m32", "?", "fist m32", "fistp m32", "?",
      "fld m80", "?", "fstp m80"};
  private static final String[] DD_MEM = {"fld m64", "?", "fst m64", "fstp m64", "frstor", "?",
      "fnsave", "fnstsw m16"};
  private static final String[] DF_MEM = {"fild m16", "?", "fist m16", "fistp m16", "fbld",
      "fild m64", "fbstp", "fistp m64"};

  private final Random rnd;
  /** Values of the registers of the case being built, for operands near them. */
  private final long[] lastSig = new long[8];
  private final int[] lastSe = new int[8];

  /** Whether to generate 16-bit (66h) FNSTENV/FLDENV/FNSAVE/FRSTOR forms. */
  private final boolean sixteen;

  FpuCaseGen(Random rnd, boolean sixteen) {
    this.rnd = rnd;
    this.sixteen = sixteen;
  }

  FpuDiffTest.Case next() {
    FpuDiffTest.Case k = new FpuDiffTest.Case();
    // A few states carry a pending unmasked exception: waiting instructions must then raise
    // #MF (SIGFPE on the host) and the no-wait ones must not.
    fillState(k.state, rnd.nextInt(100) < 4);
    k.eflags = rnd.nextInt() & 0x8D5;
    k.eax = rnd.nextInt();
    rnd.nextBytes(k.mem);
    int esc = rnd.nextInt(8);
    boolean memForm = rnd.nextInt(100) < 45;
    if (sixteen && rnd.nextInt(100) < 2) {
      // 16-bit environment and save formats (14 and 94 bytes).
      int reg = rnd.nextBoolean() ? 4 : 6;
      esc = rnd.nextBoolean() ? 1 : 5;
      k.code = new byte[] {0x66, (byte) (0xD8 + esc), (byte) (reg << 3 | 6)};
      k.mnemonic = "o16 " + memMnemonic(esc, reg);
      k.envStore16 = reg == 6;
      if (reg == 4) {
        fillState(k.mem);
        to16(k.mem);
      }
      return k;
    }
    if (memForm) {
      int reg = rnd.nextInt(8);
      if (reg == 1 && (esc == 3 || esc == 5 || esc == 7)) {
        // FISTTP is SSE3: #UD on the i686, but the host has it.
        reg = 2;
      }
      k.code = new byte[] {(byte) (0xD8 + esc), (byte) (reg << 3 | 6)};
      k.mnemonic = memMnemonic(esc, reg);
      fillOperand(k, esc, reg);
      k.envStore = (esc == 1 && reg == 6) || (esc == 5 && reg == 6);
    } else {
      int modrm = 0xC0 + rnd.nextInt(64);
      if (esc == 1 && rnd.nextInt(3) == 0) {
        // D9 E0-FF holds most of the one-operand instructions: give it more weight.
        modrm = 0xE0 + rnd.nextInt(32);
      }
      k.code = new byte[] {(byte) (0xD8 + esc), (byte) modrm};
      k.mnemonic = String.format("%02x %02x", 0xD8 + esc, modrm);
      k.transcendental = esc == 1 && (modrm == 0xF0 || modrm == 0xF1 || modrm == 0xF2
          || modrm == 0xF3 || modrm == 0xF9 || modrm == 0xFB || modrm == 0xFE || modrm == 0xFF);
    }
    return k;
  }

  private static String memMnemonic(int esc, int reg) {
    switch (esc) {
      case 0: return "f" + ARITH[reg] + " m32fp";
      case 1: return D9_MEM[reg];
      case 2: return "fi" + ARITH[reg] + " m32int";
      case 3: return DB_MEM[reg];
      case 4: return "f" + ARITH[reg] + " m64fp";
      case 5: return DD_MEM[reg];
      case 6: return "fi" + ARITH[reg] + " m16int";
      default: return DF_MEM[reg];
    }
  }

  /** Rewrites a 32-bit protected-mode FSAVE image in place into the 16-bit (94-byte) layout. */
  private static void to16(byte[] s) {
    ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
    short[] env = new short[7];
    for (int k = 0; k < 7; k++) {
      env[k] = b.getShort(4 * k);
    }
    byte[] regs = new byte[80];
    System.arraycopy(s, 28, regs, 0, 80);
    for (int k = 0; k < 7; k++) {
      b.putShort(2 * k, env[k]);
    }
    System.arraycopy(regs, 0, s, 14, 80);
  }

  // ================================================================== state

  private void fillState(byte[] s) {
    fillState(s, false);
  }

  private void fillState(byte[] s, boolean pending) {
    ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
    int masks = rnd.nextInt(100) < 65 ? 0x3F : rnd.nextInt(64);
    if (pending && masks == 0x3F) {
      masks &= ~(1 << rnd.nextInt(6));
    }
    int pcs = rnd.nextInt(100) < 60 ? 3 : new int[] {0, 2, 3}[rnd.nextInt(3)];
    int cw = 0x40 | masks | pcs << 8 | rnd.nextInt(4) << 10;
    int flagsSet = rnd.nextInt(100) < 50 ? 0 : rnd.nextInt(128) & (masks | 0x40);
    if (pending) {
      int unmasked = ~masks & 0x3F;
      flagsSet |= (unmasked & -unmasked) | (unmasked & rnd.nextInt(64)) | 0x80 | 0x8000;
    }
    int top = rnd.nextInt(8);
    int sw = flagsSet | top << 11 | (rnd.nextInt(16) & 0x7) << 8 | (rnd.nextBoolean() ? 0x4000 : 0);
    int emptyMask = 0;
    int density = rnd.nextInt(100);
    for (int p = 0; p < 8; p++) {
      int st = (p - top) & 7;
      int pEmpty = st <= 1 ? 8 : st == 7 ? (density < 50 ? 85 : 30) : 40;
      if (rnd.nextInt(100) < pEmpty) {
        emptyMask |= 1 << p;
      }
    }
    for (int i = 0; i < 8; i++) {
      long[] v = value80(i > 0 ? i - 1 : -1);
      lastSig[i] = v[0];
      lastSe[i] = (int) v[1];
    }
    int tw = 0;
    for (int p = 0; p < 8; p++) {
      int st = (p - top) & 7;
      int t;
      if ((emptyMask >>> p & 1) != 0) {
        t = 3;
      } else {
        int cls = Float80.classify(lastSe[st], lastSig[st]);
        t = cls == Float80.ZERO ? 1 : cls == Float80.NORMAL ? 0 : 2;
      }
      tw |= t << (2 * p);
    }
    b.putInt(0, 0xFFFF_0000 | cw);
    b.putInt(4, 0xFFFF_0000 | sw);
    b.putInt(8, 0xFFFF_0000 | tw);
    b.putInt(12, rnd.nextInt());
    b.putInt(16, rnd.nextInt() & 0x07FF_FFFF);
    b.putInt(20, rnd.nextInt());
    b.putInt(24, 0xFFFF_0000 | rnd.nextInt(0x10000));
    for (int i = 0; i < 8; i++) {
      b.putLong(28 + 10 * i, lastSig[i]);
      b.putShort(28 + 10 * i + 8, (short) lastSe[i]);
    }
  }

  /**
   * An 80-bit value as {sig, se}; {@code near} names an earlier register to stay close to
   * (cancellation, equal exponents, ties), or -1.
   */
  long[] value80(int near) {
    int sign = rnd.nextBoolean() ? 0x8000 : 0;
    int r = rnd.nextInt(1000);
    long sig;
    int exp;
    if (r < 300) {
      exp = 0x3FFF + rnd.nextInt(80) - 40;
      sig = Float80.INT_BIT | rnd.nextLong();
    } else if (r < 380 && near >= 0 && lastSe[near] != 0 && (lastSe[near] & 0x7FFF) < 0x7FFF) {
      exp = (lastSe[near] & 0x7FFF) + rnd.nextInt(5) - 2;
      sig = lastSig[near] ^ (rnd.nextLong() >>> (40 + rnd.nextInt(24)));
      sig |= Float80.INT_BIT;
      if (rnd.nextBoolean()) {
        sign = lastSe[near] & 0x8000;
      }
    } else if (r < 460) {
      // Few significant bits: exact in single or double, or exactly halfway at 24/53/64 bits.
      exp = 0x3FFF + rnd.nextInt(40) - 20;
      int keep = new int[] {8, 24, 25, 53, 54, 63}[rnd.nextInt(6)];
      sig = (Float80.INT_BIT | rnd.nextLong()) & (-1L << (64 - keep));
    } else if (r < 520) {
      // Small integers and halves.
      long v = rnd.nextInt(2000) - 1000;
      if (v == 0) {
        v = 1;
      }
      long mag = Math.abs(v);
      int nlz = Long.numberOfLeadingZeros(mag);
      sig = mag << nlz;
      exp = 0x3FFF + 63 - nlz - (rnd.nextInt(4) == 0 ? 1 : 0);
    } else if (r < 570) {
      sig = 0;
      exp = 0;
    } else if (r < 620) {
      exp = 0;
      sig = rnd.nextLong() >>> (1 + rnd.nextInt(63));
      if (sig == 0) {
        sig = 1;
      }
    } else if (r < 630) {
      exp = 0;
      sig = Float80.INT_BIT | rnd.nextLong();
    } else if (r < 670) {
      exp = 0x7FFF;
      sig = Float80.INT_BIT;
    } else if (r < 700) {
      exp = 0x7FFF;
      sig = Float80.INT_BIT | Float80.QUIET_BIT | (rnd.nextBoolean() ? 0 : rnd.nextLong() >>> 2);
    } else if (r < 730) {
      exp = 0x7FFF;
      sig = Float80.INT_BIT | (rnd.nextLong() >>> 2 | 1);
    } else if (r < 745) {
      // Unsupported: unnormal, pseudo-NaN, pseudo-infinity.
      exp = rnd.nextBoolean() ? 0x7FFF : 1 + rnd.nextInt(0x7FFE);
      sig = rnd.nextLong() >>> 1;
    } else if (r < 800) {
      // Near the extended range limits.
      exp = rnd.nextBoolean() ? 0x7FFE - rnd.nextInt(70) : 1 + rnd.nextInt(70);
      sig = rnd.nextInt(4) == 0 ? -1L : Float80.INT_BIT | rnd.nextLong();
    } else if (r < 900) {
      // Near the single and double range limits.
      int[] edges = {0x3FFF + 127, 0x3FFF - 126, 0x3FFF - 149, 0x3FFF + 1023, 0x3FFF - 1022,
          0x3FFF - 1074, 0x3FFF + 63, 0x3FFF + 31, 0x3FFF + 15, 0x3FFF + 59};
      exp = edges[rnd.nextInt(edges.length)] + rnd.nextInt(5) - 2;
      sig = rnd.nextInt(3) == 0 ? -1L : Float80.INT_BIT | rnd.nextLong();
      if (rnd.nextInt(3) == 0) {
        sig &= -1L << (64 - new int[] {24, 25, 53, 54}[rnd.nextInt(4)]);
      }
    } else {
      exp = 1 + rnd.nextInt(0x7FFE);
      sig = Float80.INT_BIT | rnd.nextLong();
    }
    return new long[] {sig, sign | exp};
  }

  // ================================================================== operands

  private void fillOperand(FpuDiffTest.Case k, int esc, int reg) {
    ByteBuffer m = ByteBuffer.wrap(k.mem).order(ByteOrder.LITTLE_ENDIAN);
    switch (esc) {
      case 0: m.putInt(0, float32()); break;
      case 4: m.putLong(0, float64()); break;
      case 2: m.putInt(0, (int) integer(32)); break;
      case 6: m.putShort(0, (short) integer(16)); break;
      case 1:
        if (reg == 0) {
          m.putInt(0, float32());
        } else if (reg == 4) {
          fillState(k.mem);
        } else if (reg == 5) {
          int masks = rnd.nextInt(3) == 0 ? rnd.nextInt(64) : 0x3F;
          // Keep pending exceptions masked so that no #MF is left for the next case.
          int sw = ByteBuffer.wrap(k.state).order(ByteOrder.LITTLE_ENDIAN).getShort(4) & 0x3F;
          masks |= sw;
          m.putShort(0, (short) (masks | rnd.nextInt(4) << 8 | rnd.nextInt(4) << 10
              | (rnd.nextInt(8) == 0 ? rnd.nextInt(0x10000) & 0xF0C0 : 0x40)));
        }
        break;
      case 3:
        if (reg == 0) {
          m.putInt(0, (int) integer(32));
        } else if (reg == 5) {
          long[] v = value80(0);
          m.putLong(0, v[0]);
          m.putShort(8, (short) v[1]);
        }
        break;
      case 5:
        if (reg == 0) {
          m.putLong(0, float64());
        } else if (reg == 4) {
          fillState(k.mem);
        }
        break;
      default:
        if (reg == 0) {
          m.putShort(0, (short) integer(16));
        } else if (reg == 5) {
          m.putLong(0, integer(64));
        } else if (reg == 4) {
          long lo = 0;
          int digits = 1 + rnd.nextInt(18);
          for (int d = 0; d < digits; d++) {
            lo |= (long) rnd.nextInt(10) << (4 * d);
          }
          m.putLong(0, digits > 16 ? lo : lo);
          int hi = 0;
          if (digits > 16) {
            hi = rnd.nextInt(10) | rnd.nextInt(10) << 4;
          }
          m.putShort(8, (short) (hi | (rnd.nextBoolean() ? 0x8000 : 0)));
        }
        break;
    }
  }

  private long integer(int bits) {
    int r = rnd.nextInt(10);
    long min = bits == 64 ? Long.MIN_VALUE : -(1L << (bits - 1));
    long max = bits == 64 ? Long.MAX_VALUE : (1L << (bits - 1)) - 1;
    switch (r) {
      case 0: return 0;
      case 1: return min;
      case 2: return max;
      case 3: return rnd.nextInt(21) - 10;
      default: return bits == 64 ? rnd.nextLong() >> rnd.nextInt(64) : rnd.nextLong() >> (64 - bits);
    }
  }

  private int float32() {
    int sign = rnd.nextBoolean() ? 1 << 31 : 0;
    switch (rnd.nextInt(12)) {
      case 0: return sign;
      case 1: return sign | rnd.nextInt(1 << 23);
      case 2: return sign | 0x7F80_0000;
      case 3: return sign | 0x7FC0_0000 | rnd.nextInt(1 << 22);
      case 4: return sign | 0x7F80_0000 | (rnd.nextInt(1 << 22) | 1);
      case 5: return sign | (rnd.nextBoolean() ? 0x7F7F_FFFF : 0x0080_0000);
      default: {
        // Near the register values, else anywhere.
        if (rnd.nextBoolean()) {
          return sign | (rnd.nextInt(254) + 1) << 23 | rnd.nextInt(1 << 23);
        }
        return sign | (127 + rnd.nextInt(40) - 20) << 23 | rnd.nextInt(1 << 23);
      }
    }
  }

  private long float64() {
    long sign = rnd.nextBoolean() ? 1L << 63 : 0;
    long frac = rnd.nextLong() >>> 12;
    switch (rnd.nextInt(12)) {
      case 0: return sign;
      case 1: return sign | frac;
      case 2: return sign | 0x7FF0_0000_0000_0000L;
      case 3: return sign | 0x7FF8_0000_0000_0000L | (frac >>> 1);
      case 4: return sign | 0x7FF0_0000_0000_0000L | (frac >>> 1 | 1);
      case 5: return sign | (rnd.nextBoolean() ? 0x7FEF_FFFF_FFFF_FFFFL : 0x0010_0000_0000_0000L);
      default: {
        long exp = rnd.nextBoolean() ? 1 + rnd.nextInt(2046) : 1023 + rnd.nextInt(80) - 40;
        return sign | exp << 52 | frac;
      }
    }
  }
}
