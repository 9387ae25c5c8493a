package org.hospes.x86;

import static org.hospes.x86.Cpu.ECX;

/** LOOP, LOOPE, LOOPNE, JECXZ: the counter is CX or ECX by address size. */
final class Control {
  static final int LOOPNE = 0, LOOPE = 1, LOOP = 2, JCXZ = 3;

  private Control() {}

  static void loop(Cpu c, int f0, int kind, int target) {
    boolean a16 = (f0 & (1 << 27)) != 0;
    int[] r = c.r;
    if (kind == JCXZ) {
      int count = a16 ? r[ECX] & 0xFFFF : r[ECX];
      if (count == 0) {
        c.jumpTo(f0, target);
      }
      return;
    }
    int count;
    if (a16) {
      count = (r[ECX] - 1) & 0xFFFF;
      r[ECX] = (r[ECX] & 0xFFFF_0000) | count;
    } else {
      count = r[ECX] - 1;
      r[ECX] = count;
    }
    boolean take = count != 0;
    if (kind == LOOPE) {
      take &= c.zf() != 0;
    } else if (kind == LOOPNE) {
      take &= c.zf() == 0;
    }
    if (take) {
      c.jumpTo(f0, target);
    }
  }
}
