package org.hospes.x86;

import static org.hospes.x86.Cpu.EAX;
import static org.hospes.x86.Cpu.EBP;
import static org.hospes.x86.Cpu.EBX;
import static org.hospes.x86.Cpu.ECX;
import static org.hospes.x86.Cpu.EDX;
import static org.hospes.x86.Cpu.ESP;
import static org.hospes.x86.Cpu.LF_ADD;
import static org.hospes.x86.Cpu.LF_SUB;
import static org.hospes.x86.Cpu.MASK;
import static org.hospes.x86.Cpu.SHIFT;

/**
 * XCHG, XADD, CMPXCHG, CMPXCHG8B, CMOVcc and the stack instructions (POP r/m, PUSHA, POPA,
 * PUSHF, POPF, ENTER, LEAVE, RET). Each writes its memory before its registers so a fault leaves
 * the registers as they were.
 */
final class DataXfer {
  /** Flags POPF may change at CPL 0; VM, RF, VIF and VIP are never loaded by POPF. */
  private static final int POPF_MASK = Flags.STATUS | Flags.TF | Flags.IF | Flags.DF
      | Flags.IOPL | Flags.NT | Flags.AC | Flags.ID;

  private DataXfer() {}

  static void xchg(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int g = c.getG(f0, size);
    if (Cpu.isMem(f0)) {
      int lin = c.linW(f0, d, size);
      int m = c.readSized(size, lin);
      c.writeSized(size, lin, g);
      c.setG(f0, size, m);
    } else {
      int reg = (f0 >>> 14) & 15;
      int e = c.getReg(size, reg);
      c.setReg(size, reg, g);
      c.setG(f0, size, e);
    }
  }

  static void xadd(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int sh = SHIFT[size];
    int src = c.getG(f0, size);
    boolean mem = Cpu.isMem(f0);
    int lin = mem ? c.linW(f0, d, size) : 0;
    int dst = mem ? c.readSized(size, lin) : c.getReg(size, (f0 >>> 14) & 15);
    int sum = src + dst;
    if (mem) {
      c.writeSized(size, lin, sum);
      c.setG(f0, size, dst);
    } else {
      c.setG(f0, size, dst);
      c.setReg(size, (f0 >>> 14) & 15, sum);
    }
    c.setLazy(LF_ADD, dst << sh >> sh, src << sh >> sh, sum << sh >> sh);
  }

  static void cmpxchg(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int sh = SHIFT[size];
    boolean mem = Cpu.isMem(f0);
    int lin = mem ? c.linW(f0, d, size) : 0;
    int dst = mem ? c.readSized(size, lin) : c.getReg(size, (f0 >>> 14) & 15);
    int acc = c.getReg(size, EAX);
    c.setLazy(LF_SUB, acc << sh >> sh, dst << sh >> sh, (acc - dst) << sh >> sh);
    if (((acc ^ dst) & MASK[size]) == 0) {
      int src = c.getG(f0, size);
      if (mem) {
        c.writeSized(size, lin, src);
      } else {
        c.setReg(size, (f0 >>> 14) & 15, src);
      }
    } else {
      if (mem) {
        // The processor always writes the destination, with its old value on failure.
        c.writeSized(size, lin, dst);
      }
      c.setReg(size, EAX, dst);
    }
  }

  static void cmpxchg8b(Cpu c, int f0, int d) {
    int lin = c.operandAddress(f0, d, 8, true);
    int lo = c.read32(lin);
    int hi = c.read32(lin + 4);
    int[] r = c.r;
    int f = c.eflags();
    if (lo == r[EAX] && hi == r[EDX]) {
      c.write32(lin, r[EBX]);
      c.write32(lin + 4, r[ECX]);
      c.flags = f | Flags.ZF;
    } else {
      c.write32(lin, lo);
      c.write32(lin + 4, hi);
      r[EAX] = lo;
      r[EDX] = hi;
      c.flags = f & ~Flags.ZF;
    }
    c.lfOp = Cpu.LF_NONE;
  }

  static void cmov(Cpu c, int f0, int d, int cc) {
    int size = Cpu.size(f0);
    int v = c.getE(f0, d, size);
    if (c.cond(cc)) {
      c.setG(f0, size, v);
    }
  }

  static void ret(Cpu c, int f0, int release) {
    int size = Cpu.size(f0);
    int target = c.readStack(size, 0);
    c.adjustEsp((size == 2 ? 4 : 2) + release);
    c.eip = target;
  }

  static void popE(Cpu c, int f0, int d) {
    int size = Cpu.size(f0);
    int v = c.readStack(size, 0);
    int oldEsp = c.r[ESP];
    c.adjustEsp(size == 2 ? 4 : 2);
    if (Cpu.isMem(f0)) {
      try {
        // The address is computed with ESP already incremented (SDM, POP).
        c.writeSized(size, c.linW(f0, d, size), v);
      } catch (CpuFault fault) {
        c.r[ESP] = oldEsp;
        throw fault;
      }
    } else {
      c.setReg(size, (f0 >>> 14) & 15, v);
    }
  }

  private static int stackAddr(Cpu c, int sp, int size, boolean write) {
    return c.stackAddr(sp, size == 2 ? 4 : 2, write);
  }

  static void pusha(Cpu c, int size) {
    int[] r = c.r;
    int step = size == 2 ? 4 : 2;
    int sp = r[ESP];
    for (int reg = EAX; reg <= Cpu.EDI; reg++) {
      sp -= step;
      c.writeSized(size, stackAddr(c, sp, size, true), r[reg]);
    }
    c.adjustEsp(-8 * step);
  }

  static void popa(Cpu c, int size) {
    int[] r = c.r;
    int step = size == 2 ? 4 : 2;
    int[] vals = new int[8];
    for (int k = 0; k < 8; k++) {
      vals[k] = c.readStack(size, k * step);
    }
    for (int k = 0; k < 8; k++) {
      int reg = Cpu.EDI - k;
      if (reg != ESP) {
        c.setReg(size, reg, vals[k]);
      }
    }
    c.adjustEsp(8 * step);
  }

  static void pushf(Cpu c, int size) {
    if (c.v86()) {
      Vm86.checkIopl(c);
    }
    c.pushSized(size, c.eflags() & ~(Flags.VM | Flags.RF));
  }

  static void popf(Cpu c, int size) {
    if (c.v86()) {
      Vm86.checkIopl(c);
    }
    int v = c.pop(size);
    int old = c.eflags();
    int mask = POPF_MASK;
    if (c.cpl > 0) {
      mask &= ~Flags.IOPL;
      if (c.cpl > ((old >>> 12) & 3)) {
        mask &= ~Flags.IF;
      }
    }
    if (size != 2) {
      mask &= 0xFFFF;
    }
    c.setEflags(((old & ~mask) | (v & mask)) & ~Flags.RF);
  }

  static void enter(Cpu c, int size, int frame, int level) {
    int[] r = c.r;
    int step = size == 2 ? 4 : 2;
    level &= 31;
    int sp = r[ESP];
    int bp = r[EBP];
    sp -= step;
    c.writeSized(size, stackAddr(c, sp, size, true), bp);
    int frameTemp = sp;
    if (level > 0) {
      for (int k = 1; k < level; k++) {
        bp -= step;
        int v = c.readSized(size, stackAddr(c, bp, size, false));
        sp -= step;
        c.writeSized(size, stackAddr(c, sp, size, true), v);
      }
      sp -= step;
      c.writeSized(size, stackAddr(c, sp, size, true), frameTemp);
    }
    sp -= frame & 0xFFFF;
    c.setReg(size == 2 ? 2 : 1, EBP, frameTemp);
    if (c.ss32) {
      r[ESP] = sp;
    } else {
      r[ESP] = (r[ESP] & 0xFFFF_0000) | (sp & 0xFFFF);
    }
  }

  static void leave(Cpu c, int size) {
    int[] r = c.r;
    int oldEsp = r[ESP];
    if (c.ss32) {
      r[ESP] = r[EBP];
    } else {
      r[ESP] = (r[ESP] & 0xFFFF_0000) | (r[EBP] & 0xFFFF);
    }
    try {
      c.setReg(size == 2 ? 2 : 1, EBP, c.pop(size));
    } catch (CpuFault fault) {
      r[ESP] = oldEsp;
      throw fault;
    }
  }
}
