package org.hospes.x86;

import static org.hospes.x86.Cpu.EAX;
import static org.hospes.x86.Cpu.ECX;
import static org.hospes.x86.Cpu.EDI;
import static org.hospes.x86.Cpu.EDX;
import static org.hospes.x86.Cpu.ES;
import static org.hospes.x86.Cpu.ESI;
import static org.hospes.x86.Cpu.LF_SUB;
import static org.hospes.x86.Cpu.MASK;
import static org.hospes.x86.Cpu.SHIFT;

/**
 * MOVS CMPS SCAS LODS STOS INS OUTS with REP/REPE/REPNE. The source is seg:ESI (DS unless
 * overridden), the destination always ES:EDI; CX/SI/DI replace ECX/ESI/EDI under 16-bit
 * addressing. Registers advance after every element, so a fault part-way leaves an exact,
 * restartable state.
 */
final class StringOps {
  private static final int A16 = 1 << 27;

  private StringOps() {}

  private static int step(Cpu c, int size) {
    return (c.flags & Flags.DF) != 0 ? -(1 << size) : 1 << size;
  }

  private static int index(Cpu c, int reg, boolean a16) {
    return a16 ? c.r[reg] & 0xFFFF : c.r[reg];
  }

  private static void advance(Cpu c, int reg, int delta, boolean a16) {
    if (a16) {
      c.r[reg] = (c.r[reg] & 0xFFFF_0000) | ((c.r[reg] + delta) & 0xFFFF);
    } else {
      c.r[reg] += delta;
    }
  }

  private static int count(Cpu c, boolean a16) {
    return a16 ? c.r[ECX] & 0xFFFF : c.r[ECX];
  }

  private static void decCount(Cpu c, boolean a16) {
    advance(c, ECX, -1, a16);
  }

  private static int src(Cpu c, int f0, int size, boolean a16) {
    return c.segAddr((f0 >>> 24) & 7, index(c, ESI, a16), 1 << size, false);
  }

  private static int dst(Cpu c, int size, boolean a16, boolean write) {
    return c.segAddr(ES, index(c, EDI, a16), 1 << size, write);
  }

  static void movs(Cpu c, int f0, int rep) {
    int size = Cpu.size(f0);
    boolean a16 = (f0 & A16) != 0;
    int step = step(c, size);
    if (rep == 0) {
      moveOne(c, f0, size, a16);
      advance(c, ESI, step, a16);
      advance(c, EDI, step, a16);
      return;
    }
    if (!a16 && step > 0 && c.segOk[ES] && c.segOk[(f0 >>> 24) & 7]) {
      forwardMovs(c, f0, size);
      return;
    }
    while (count(c, a16) != 0) {
      moveOne(c, f0, size, a16);
      advance(c, ESI, step, a16);
      advance(c, EDI, step, a16);
      decCount(c, a16);
    }
  }

  /**
   * One element of MOVS: the source is read before the destination is checked, as the CPU
   * does: with both pages bad the #PF is the source's (CR2 = ESI's address, a read's error
   * code; pagecross.c on the host). Java evaluates a call's arguments left to right, so the
   * read must not be an argument of the write whose address is computed first.
   */
  private static void moveOne(Cpu c, int f0, int size, boolean a16) {
    int v = c.readSized(size, src(c, f0, size, a16));
    c.writeSized(size, dst(c, size, a16, true), v);
  }

  /**
   * REP MOVS ascending with 32-bit addressing through flat segments: the first element of each
   * stretch goes the usual way (its segment checks, translations and any fault or MMIO), and
   * the rest of the stretch that stays inside both pages is copied at once when both stay
   * cached. Registers end as element-by-element copying leaves them: a fault leaves ECX, ESI
   * and EDI at the faulting element.
   */
  private static void forwardMovs(Cpu c, int f0, int size) {
    int bytes = 1 << size;
    while (c.r[ECX] != 0) {
      moveOne(c, f0, size, false);
      c.r[ESI] += bytes;
      c.r[EDI] += bytes;
      c.r[ECX]--;
      if (c.r[ECX] != 0) {
        // Flat segments: the linear addresses need no check, and nothing is probed here (an
        // uncached page is left to the next element's own translation, counted once).
        int n = c.copyRun(c.segBase[(f0 >>> 24) & 7] + c.r[ESI], c.segBase[ES] + c.r[EDI],
            size, c.r[ECX]);
        c.r[ESI] += n << size;
        c.r[EDI] += n << size;
        c.r[ECX] -= n;
      }
    }
  }

  static void stos(Cpu c, int f0, int rep) {
    int size = Cpu.size(f0);
    boolean a16 = (f0 & A16) != 0;
    int step = step(c, size);
    int v = c.r[EAX];
    if (rep == 0) {
      c.writeSized(size, dst(c, size, a16, true), v);
      advance(c, EDI, step, a16);
      return;
    }
    if (!a16 && step > 0 && c.segOk[ES]) {
      // Ascending with 32-bit addressing through a flat ES: the first element of each page
      // goes the usual way (translation, and any fault, MMIO or watchpoint), the rest of the
      // page at once while its write translation stays cached.
      while (c.r[ECX] != 0) {
        c.writeSized(size, dst(c, size, false, true), v);
        c.r[EDI] += 1 << size;
        c.r[ECX]--;
        if (c.r[ECX] != 0) {
          // A flat ES needs no check; an uncached page is left to the next element's own
          // translation (probing it here would count its walk twice).
          int n = c.storeRun(c.segBase[ES] + c.r[EDI], size, v, c.r[ECX]);
          c.r[EDI] += n << size;
          c.r[ECX] -= n;
        }
      }
      return;
    }
    while (count(c, a16) != 0) {
      c.writeSized(size, dst(c, size, a16, true), v);
      advance(c, EDI, step, a16);
      decCount(c, a16);
    }
  }

  static void lods(Cpu c, int f0, int rep) {
    int size = Cpu.size(f0);
    boolean a16 = (f0 & A16) != 0;
    int step = step(c, size);
    if (rep == 0) {
      c.setReg(size, EAX, c.readSized(size, src(c, f0, size, a16)));
      advance(c, ESI, step, a16);
      return;
    }
    while (count(c, a16) != 0) {
      c.setReg(size, EAX, c.readSized(size, src(c, f0, size, a16)));
      advance(c, ESI, step, a16);
      decCount(c, a16);
    }
  }

  private static void compare(Cpu c, int size, int a, int b) {
    int sh = SHIFT[size];
    c.setLazy(LF_SUB, a << sh >> sh, b << sh >> sh, (a - b) << sh >> sh);
  }

  /** REPE stops when ZF becomes 0, REPNE when it becomes 1. */
  private static boolean repStops(int rep, int a, int b, int size) {
    boolean equal = ((a ^ b) & MASK[size]) == 0;
    return rep == 1 ? !equal : equal;
  }

  static void cmps(Cpu c, int f0, int rep) {
    int size = Cpu.size(f0);
    boolean a16 = (f0 & A16) != 0;
    int step = step(c, size);
    if (rep == 0) {
      int a = c.readSized(size, src(c, f0, size, a16));
      int b = c.readSized(size, dst(c, size, a16, false));
      compare(c, size, a, b);
      advance(c, ESI, step, a16);
      advance(c, EDI, step, a16);
      return;
    }
    while (count(c, a16) != 0) {
      int a = c.readSized(size, src(c, f0, size, a16));
      int b = c.readSized(size, dst(c, size, a16, false));
      compare(c, size, a, b);
      advance(c, ESI, step, a16);
      advance(c, EDI, step, a16);
      decCount(c, a16);
      if (repStops(rep, a, b, size)) {
        break;
      }
    }
  }

  static void scas(Cpu c, int f0, int rep) {
    int size = Cpu.size(f0);
    boolean a16 = (f0 & A16) != 0;
    int step = step(c, size);
    int a = c.getReg(size, EAX);
    if (rep == 0) {
      int b = c.readSized(size, dst(c, size, a16, false));
      compare(c, size, a, b);
      advance(c, EDI, step, a16);
      return;
    }
    while (count(c, a16) != 0) {
      int b = c.readSized(size, dst(c, size, a16, false));
      compare(c, size, a, b);
      advance(c, EDI, step, a16);
      decCount(c, a16);
      if (repStops(rep, a, b, size)) {
        break;
      }
    }
  }

  static void ins(Cpu c, int f0, int rep) {
    int port = c.r[EDX] & 0xFFFF;
    c.checkIo(port, 1 << Cpu.size(f0));
    VmxNonRoot.ioExit(c, port, 1 << Cpu.size(f0), true, true, rep != 0, false);
    ins(c, f0, rep, c.io());
  }

  /** INS with the ports on {@code ports} (the hypervisor's handler after an I/O exit). */
  static void ins(Cpu c, int f0, int rep, IoBus ports) {
    int size = Cpu.size(f0);
    boolean a16 = (f0 & A16) != 0;
    int step = step(c, size);
    int port = c.r[EDX] & 0xFFFF;
    do {
      if (rep != 0 && count(c, a16) == 0) {
        return;
      }
      if (ports == c.io()) {
        c.chargePort(port, 1 << size);
      }
      c.writeSized(size, dst(c, size, a16, true), ports.in(port, 1 << size));
      advance(c, EDI, step, a16);
      if (rep != 0) {
        decCount(c, a16);
      }
    } while (rep != 0);
  }

  static void outs(Cpu c, int f0, int rep) {
    int port = c.r[EDX] & 0xFFFF;
    c.checkIo(port, 1 << Cpu.size(f0));
    VmxNonRoot.ioExit(c, port, 1 << Cpu.size(f0), false, true, rep != 0, false);
    outs(c, f0, rep, c.io());
  }

  /** OUTS with the ports on {@code ports}. */
  static void outs(Cpu c, int f0, int rep, IoBus ports) {
    int size = Cpu.size(f0);
    boolean a16 = (f0 & A16) != 0;
    int step = step(c, size);
    int port = c.r[EDX] & 0xFFFF;
    do {
      if (rep != 0 && count(c, a16) == 0) {
        return;
      }
      if (ports == c.io()) {
        c.chargePort(port, 1 << size);
      }
      ports.out(port, 1 << size, c.readSized(size, src(c, f0, size, a16)) & MASK[size]);
      advance(c, ESI, step, a16);
      if (rep != 0) {
        decCount(c, a16);
      }
    } while (rep != 0);
  }
}
