package org.hospes.x86;

/**
 * The packed-integer operations of MMX and SSE2 on one 64-bit quantity: an MMX register, or
 * either half of an XMM register (every lane-wise operation treats the halves independently, so
 * the 128-bit forms call these twice). Operations are selected by their 0F opcode byte, which
 * names each one uniquely in both the MMX and the 66-prefixed XMM forms.
 */
final class SimdInt {
  private SimdInt() {}

  private static long lane(long v, int i, int bits) {
    return bits == 64 ? v : (v >>> (i * bits)) & ((1L << bits) - 1);
  }

  private static long sext(long v, int bits) {
    return bits == 64 ? v : v << (64 - bits) >> (64 - bits);
  }

  private static long put(long acc, long v, int i, int bits) {
    if (bits == 64) {
      return v;
    }
    long m = (1L << bits) - 1;
    return acc | (v & m) << (i * bits);
  }

  private static long sat(long v, long lo, long hi) {
    return v < lo ? lo : v > hi ? hi : v;
  }

  /** Lane width in bits of a lane-wise opcode. */
  static int laneBits(int opc) {
    switch (opc) {
      case 0xFC: case 0xF8: case 0xEC: case 0xDC: case 0xE8: case 0xD8: case 0x74: case 0x64:
      case 0xE0: case 0xDA: case 0xDE:
        return 8;
      case 0xFD: case 0xF9: case 0xED: case 0xDD: case 0xE9: case 0xD9: case 0x75: case 0x65:
      case 0xD5: case 0xE5: case 0xE4: case 0xE3: case 0xEA: case 0xEE:
      case 0xD1: case 0xE1: case 0xF1:
        return 16;
      case 0xFE: case 0xFA: case 0x76: case 0x66: case 0xD2: case 0xE2: case 0xF2:
        return 32;
      default:
        return 64;
    }
  }

  /** A lane-wise operation {@code a op b} (a = destination, b = source). */
  static long op(int opc, long a, long b) {
    switch (opc) {
      case 0xDB: return a & b;
      case 0xDF: return ~a & b;
      case 0xEB: return a | b;
      case 0xEF: return a ^ b;
      case 0xD4: return a + b;
      case 0xFB: return a - b;
      case 0xF4: return (a & 0xFFFF_FFFFL) * (b & 0xFFFF_FFFFL);
      case 0xF5: {
        long r = 0;
        for (int i = 0; i < 2; i++) {
          long p = sext(lane(a, 2 * i, 16), 16) * sext(lane(b, 2 * i, 16), 16)
              + sext(lane(a, 2 * i + 1, 16), 16) * sext(lane(b, 2 * i + 1, 16), 16);
          r = put(r, p, i, 32);
        }
        return r;
      }
      case 0xF6: {
        long s = 0;
        for (int i = 0; i < 8; i++) {
          s += Math.abs(lane(a, i, 8) - lane(b, i, 8));
        }
        return s;
      }
      default:
        break;
    }
    int bits = laneBits(opc);
    int n = 64 / bits;
    long r = 0;
    for (int i = 0; i < n; i++) {
      long x = lane(a, i, bits);
      long y = lane(b, i, bits);
      long sx = sext(x, bits);
      long sy = sext(y, bits);
      long smin = -(1L << (bits - 1));
      long smax = (1L << (bits - 1)) - 1;
      long umax = (1L << bits) - 1;
      long v;
      switch (opc) {
        case 0xFC: case 0xFD: case 0xFE: v = x + y; break;
        case 0xF8: case 0xF9: case 0xFA: v = x - y; break;
        case 0xEC: case 0xED: v = sat(sx + sy, smin, smax); break;
        case 0xDC: case 0xDD: v = sat(x + y, 0, umax); break;
        case 0xE8: case 0xE9: v = sat(sx - sy, smin, smax); break;
        case 0xD8: case 0xD9: v = sat(x - y, 0, umax); break;
        case 0x74: case 0x75: case 0x76: v = x == y ? -1 : 0; break;
        case 0x64: case 0x65: case 0x66: v = sx > sy ? -1 : 0; break;
        case 0xD5: v = sx * sy; break;
        case 0xE5: v = (sx * sy) >> 16; break;
        case 0xE4: v = (x * y) >>> 16; break;
        case 0xE0: case 0xE3: v = (x + y + 1) >>> 1; break;
        case 0xDA: v = Math.min(x, y); break;
        case 0xDE: v = Math.max(x, y); break;
        case 0xEA: v = Math.min(sx, sy); break;
        case 0xEE: v = Math.max(sx, sy); break;
        default: throw new IllegalStateException("not a lane-wise opcode " + opc);
      }
      r = put(r, v, i, bits);
    }
    return r;
  }

  /**
   * Shift of every lane by {@code count} (the whole 64-bit count operand): PSRL, PSRA, PSLL with
   * {@code kind} 2, 4, 6 as in the group encodings. Counts past the lane width give zero, or
   * the sign for PSRA.
   */
  static long shift(int kind, int bits, long a, long count) {
    if (count < 0 || count >= bits) {
      if (kind != 4) {
        return 0;
      }
      count = bits - 1;
    }
    int c = (int) count;
    if (bits == 64) {
      return kind == 2 ? a >>> c : kind == 6 ? a << c : a >> c;
    }
    long r = 0;
    for (int i = 0; i < 64 / bits; i++) {
      long x = lane(a, i, bits);
      long v = kind == 2 ? x >>> c : kind == 6 ? x << c : sext(x, bits) >> c;
      r = put(r, v, i, bits);
    }
    return r;
  }

  /** PACKSSWB (0x63), PACKUSWB (0x67), PACKSSDW (0x6B): x's lanes to the low half, y's high. */
  static long pack(int opc, long x, long y) {
    int in = opc == 0x6B ? 32 : 16;
    int out = in / 2;
    int n = 64 / in;
    long r = 0;
    for (int k = 0; k < 2 * n; k++) {
      long v = sext(lane(k < n ? x : y, k % n, in), in);
      v = opc == 0x67 ? sat(v, 0, 255) : sat(v, -(1L << (out - 1)), (1L << (out - 1)) - 1);
      r = put(r, v, k, out);
    }
    return r;
  }

  /** Interleaves the lanes of two 32-bit halves: x0 y0 x1 y1 ... */
  static long interleave(int bits, int x, int y) {
    long r = 0;
    int n = 32 / bits;
    for (int i = 0; i < n; i++) {
      r = put(r, lane(x & 0xFFFF_FFFFL, i, bits), 2 * i, bits);
      r = put(r, lane(y & 0xFFFF_FFFFL, i, bits), 2 * i + 1, bits);
    }
    return r;
  }

  /** Unpack lane width of 0x60-0x62 / 0x68-0x6A. */
  static int unpackBits(int opc) {
    switch (opc & 0xF7) {
      case 0x60: return 8;
      case 0x61: return 16;
      default: return 32;
    }
  }

  /** PSHUFW/PSHUFLW/PSHUFHW on four words. */
  static long shuffleWords(long v, int imm) {
    long r = 0;
    for (int i = 0; i < 4; i++) {
      r = put(r, lane(v, (imm >>> (2 * i)) & 3, 16), i, 16);
    }
    return r;
  }

  /** PMOVMSKB: the top bit of each byte. */
  static int byteMask(long v) {
    int m = 0;
    for (int i = 0; i < 8; i++) {
      m |= (int) ((v >>> (8 * i + 7)) & 1) << i;
    }
    return m;
  }
}
