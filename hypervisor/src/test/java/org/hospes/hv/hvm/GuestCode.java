package org.hospes.hv.hvm;

import java.util.HexFormat;
import org.hospes.hv.domain.Domain;

/** Hand-assembled guest code for the HVM tests: machine code as hex, written into a domain. */
final class GuestCode {
  private GuestCode() {}

  /** Writes machine code given as hex (spaces allowed) at guest-physical {@code at}. */
  static void write(Domain d, int at, String hex) {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    d.memory().write(at, b, 0, b.length);
  }

  /** {@code v} as the four little-endian bytes of an imm32 or disp32, in hex. */
  static String le(int v) {
    return String.format("%02x%02x%02x%02x", v & 0xFF, (v >>> 8) & 0xFF, (v >>> 16) & 0xFF,
        v >>> 24);
  }
}
