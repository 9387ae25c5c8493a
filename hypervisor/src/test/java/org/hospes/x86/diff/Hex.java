package org.hospes.x86.diff;

/** Small hex formatting helpers for reports and mnemonics. */
final class Hex {
  private Hex() {}

  static String h32(int v) {
    return "0x" + Integer.toHexString(v);
  }

  static String w32(int v) {
    return String.format("%08x", v);
  }

  static String bytes(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < b.length; i++) {
      if (i > 0) {
        s.append(' ');
      }
      s.append(String.format("%02x", b[i] & 0xFF));
    }
    return s.toString();
  }

  static String imm(int v, int size) {
    return h32(v & Regs.mask(size));
  }
}
