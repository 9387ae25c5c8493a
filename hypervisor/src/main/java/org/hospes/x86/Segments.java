package org.hospes.x86;

import static org.hospes.x86.Cpu.CS;
import static org.hospes.x86.Cpu.SS;

import org.hospes.x86.vmx.ExitReason;

/**
 * Protected-mode segmentation: descriptor fetches, segment-register loads with every check of
 * SDM vol. 3 ch. 5, and far JMP/CALL/RET through code segments and call gates. Errors raise
 * #GP/#SS/#NP/#TS with selector error codes (index | TI, RPL bits clear).
 *
 * <p>A segment register's hidden part is kept as base, byte-granular limit and an attribute word:
 * bits 0-15 are bits 8-23 of the descriptor's high dword (type, S, DPL, P, limit 19:16, AVL, L,
 * D/B, G), and {@link #USABLE} marks a register that holds a non-null descriptor.
 */
final class Segments {
  static final int USABLE = 1 << 16;
  static final int ATTR_S = 1 << 4;
  static final int ATTR_P = 1 << 7;
  static final int ATTR_DB = 1 << 14;
  static final int ATTR_G = 1 << 15;
  /** Type bit 3: code (1) or data (0). */
  static final int TYPE_CODE = 8;
  /** Code: conforming. Data: expand-down. */
  static final int TYPE_CE = 4;
  /** Code: readable. Data: writable. */
  static final int TYPE_RW = 2;
  static final int TYPE_ACCESSED = 1;

  /** System descriptor types. */
  static final int SYS_TSS16_AVAIL = 1;
  static final int SYS_LDT = 2;
  static final int SYS_TSS16_BUSY = 3;
  static final int SYS_CALL_GATE16 = 4;
  static final int SYS_TASK_GATE = 5;
  static final int SYS_INT_GATE16 = 6;
  static final int SYS_TRAP_GATE16 = 7;
  static final int SYS_TSS32_AVAIL = 9;
  static final int SYS_TSS32_BUSY = 11;
  static final int SYS_CALL_GATE32 = 12;
  static final int SYS_INT_GATE32 = 14;
  static final int SYS_TRAP_GATE32 = 15;

  /** Attributes of a flat 32-bit read/write data segment as loaded by real-mode code. */
  static final int REAL_DATA_ATTR = USABLE | ATTR_P | ATTR_S | TYPE_RW | TYPE_ACCESSED;

  private Segments() {}

  static int base(int lo, int hi) {
    return (lo >>> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF00_0000);
  }

  static int limit(int lo, int hi) {
    int raw = (lo & 0xFFFF) | (hi & 0xF_0000);
    return (hi & (1 << 23)) != 0 ? (raw << 12) | 0xFFF : raw;
  }

  static int attr(int hi) {
    return ((hi >>> 8) & 0xFFFF) | USABLE;
  }

  static int dpl(int hi) {
    return (hi >>> 13) & 3;
  }

  static boolean present(int hi) {
    return (hi & (1 << 15)) != 0;
  }

  /** S=1 (code or data), not system. */
  static boolean isCodeOrData(int hi) {
    return (hi & (1 << 12)) != 0;
  }

  static boolean isCode(int hi) {
    return isCodeOrData(hi) && (hi & (TYPE_CODE << 8)) != 0;
  }

  static int type(int hi) {
    return (hi >>> 8) & 0xF;
  }

  static int err(int sel) {
    return sel & 0xFFFC;
  }

  /**
   * Reads the descriptor a selector names into {@code c.dLo/c.dHi}. Returns false when the
   * selector lies outside its table (or names the LDT while none is loaded).
   */
  static boolean fetch(Cpu c, int sel) {
    int base;
    int limit;
    if ((sel & 4) != 0) {
      if ((c.ldtAttr & USABLE) == 0) {
        return false;
      }
      base = c.ldtBase;
      limit = c.ldtLimit;
    } else {
      base = c.gdtBase;
      limit = c.gdtLimit;
    }
    int off = sel & 0xFFF8;
    if (Integer.compareUnsigned(off + 7, limit) > 0) {
      return false;
    }
    c.dAddr = base + off;
    c.dLo = c.readSys32(c.dAddr);
    c.dHi = c.readSys32(c.dAddr + 4);
    return true;
  }

  /** Sets the accessed bit of the descriptor last fetched, as the processor does on a load. */
  static void markAccessed(Cpu c) {
    if ((c.dHi & (TYPE_ACCESSED << 8)) == 0) {
      c.dHi |= TYPE_ACCESSED << 8;
      c.writeSys32(c.dAddr + 4, c.dHi);
    }
  }

  static void setHidden(Cpu c, int seg, int sel, int lo, int hi) {
    c.segSel[seg] = sel & 0xFFFF;
    c.segBase[seg] = base(lo, hi);
    c.segLimit[seg] = limit(lo, hi);
    c.segAttr[seg] = attr(hi);
    c.segmentChanged(seg);
  }

  /** MOV/POP/LDS... to a data segment register or SS. */
  static void load(Cpu c, int seg, int sel) {
    sel &= 0xFFFF;
    if (!c.protectedMode() || c.v86()) {
      c.segSel[seg] = sel;
      c.segBase[seg] = sel << 4;
      if (c.v86()) {
        c.segLimit[seg] = 0xFFFF;
        c.segAttr[seg] = REAL_DATA_ATTR | (3 << 5);
      }
      c.segmentChanged(seg);
      return;
    }
    int rpl = sel & 3;
    if (seg == SS) {
      if ((sel & 0xFFFC) == 0) {
        c.raise(Exceptions.GP, 0);
      }
      if (!fetch(c, sel)) {
        c.raise(Exceptions.GP, err(sel));
      }
      int hi = c.dHi;
      boolean writableData = isCodeOrData(hi) && !isCode(hi) && (type(hi) & TYPE_RW) != 0;
      if (rpl != c.cpl || dpl(hi) != c.cpl || !writableData) {
        c.raise(Exceptions.GP, err(sel));
      }
      if (!present(hi)) {
        c.raise(Exceptions.SS, err(sel));
      }
      markAccessed(c);
      setHidden(c, SS, sel, c.dLo, c.dHi);
      return;
    }
    if ((sel & 0xFFFC) == 0) {
      // A null selector loads fine; using the register faults.
      c.segSel[seg] = sel;
      c.segAttr[seg] = 0;
      c.segmentChanged(seg);
      return;
    }
    if (!fetch(c, sel)) {
      c.raise(Exceptions.GP, err(sel));
    }
    int hi = c.dHi;
    if (!isCodeOrData(hi) || (isCode(hi) && (type(hi) & TYPE_RW) == 0)) {
      c.raise(Exceptions.GP, err(sel));
    }
    boolean conformingCode = isCode(hi) && (type(hi) & TYPE_CE) != 0;
    if (!conformingCode && (rpl > dpl(hi) || c.cpl > dpl(hi))) {
      c.raise(Exceptions.GP, err(sel));
    }
    if (!present(hi)) {
      c.raise(Exceptions.NP, err(sel));
    }
    markAccessed(c);
    setHidden(c, seg, sel, c.dLo, c.dHi);
  }

  /** Loads CS for a transfer to {@code sel}:{@code offset} at privilege {@code newCpl}. */
  static void loadCs(Cpu c, int sel, int lo, int hi, int newCpl) {
    setHidden(c, CS, (sel & 0xFFFC) | newCpl, lo, hi);
    c.setCpl(newCpl);
  }

  /**
   * Checks a code-segment descriptor as the target of a far JMP/CALL without a gate; raises the
   * SDM's faults.
   */
  private static void checkDirectCode(Cpu c, int sel, int hi) {
    int dpl = dpl(hi);
    if ((type(hi) & TYPE_CE) != 0) {
      if (dpl > c.cpl) {
        c.raise(Exceptions.GP, err(sel));
      }
    } else if ((sel & 3) > c.cpl || dpl != c.cpl) {
      c.raise(Exceptions.GP, err(sel));
    }
    if (!present(hi)) {
      c.raise(Exceptions.NP, err(sel));
    }
  }

  private static void checkLimit(Cpu c, int offset, int lo, int hi) {
    if (Integer.compareUnsigned(offset, limit(lo, hi)) > 0) {
      c.raise(Exceptions.GP, 0);
    }
  }

  /** Far JMP ({@code call} false) or far CALL to sel:offset. {@code size} is the operand size. */
  static void farTransfer(Cpu c, int sel, int offset, int size, boolean call, int nextEip) {
    sel &= 0xFFFF;
    if (!c.protectedMode() || c.v86()) {
      if (call) {
        c.pushSized(size, c.segSel[CS]);
        c.pushSized(size, nextEip);
      }
      c.segSel[CS] = sel;
      c.segBase[CS] = sel << 4;
      c.segmentChanged(CS);
      c.eip = size == 2 ? offset : offset & 0xFFFF;
      return;
    }
    if ((sel & 0xFFFC) == 0) {
      c.raise(Exceptions.GP, 0);
    }
    if (!fetch(c, sel)) {
      c.raise(Exceptions.GP, err(sel));
    }
    int lo = c.dLo;
    int hi = c.dHi;
    if (isCode(hi)) {
      checkDirectCode(c, sel, hi);
      if (size != 2) {
        offset &= 0xFFFF;
      }
      checkLimit(c, offset, lo, hi);
      if (call) {
        pushFarReturn(c, size, nextEip);
      }
      markAccessed(c);
      loadCs(c, sel, lo, hi, c.cpl);
      c.eip = offset;
      return;
    }
    if (isCodeOrData(hi)) {
      c.raise(Exceptions.GP, err(sel));
    }
    switch (type(hi)) {
      case SYS_CALL_GATE16:
      case SYS_CALL_GATE32:
        throughCallGate(c, sel, lo, hi, call, nextEip);
        return;
      case SYS_TASK_GATE:
      case SYS_TSS32_AVAIL:
      case SYS_TSS16_AVAIL:
        if (dpl(hi) < c.cpl || dpl(hi) < (sel & 3)) {
          c.raise(Exceptions.GP, err(sel));
        }
        if (!present(hi)) {
          c.raise(Exceptions.NP, err(sel));
        }
        if (c.nonRoot()) {
          int tss = type(hi) == SYS_TASK_GATE ? lo >>> 16 : sel;
          c.vmExit(ExitReason.TASK_SWITCH, tss | ((call ? 0L : 2L) << 30));
        }
        c.eip = nextEip;
        Tasks.switchTo(c, sel, lo, hi, call ? Tasks.CALL : Tasks.JMP);
        return;
      default:
        c.raise(Exceptions.GP, err(sel));
    }
  }

  private static void pushFarReturn(Cpu c, int size, int nextEip) {
    // Write both slots before moving ESP so a fault leaves ESP unchanged.
    int step = size == 2 ? 4 : 2;
    int sp = c.r[Cpu.ESP];
    c.writeSized(size, c.stackAddr(sp - step, step, true), c.segSel[CS]);
    c.writeSized(size, c.stackAddr(sp - 2 * step, step, true), nextEip);
    c.adjustEsp(-2 * step);
  }

  private static void throughCallGate(Cpu c, int gateSel, int gLo, int gHi, boolean call,
      int nextEip) {
    if (dpl(gHi) < c.cpl || dpl(gHi) < (gateSel & 3)) {
      c.raise(Exceptions.GP, err(gateSel));
    }
    if (!present(gHi)) {
      c.raise(Exceptions.NP, err(gateSel));
    }
    boolean gate32 = type(gHi) == SYS_CALL_GATE32;
    int sel = gLo >>> 16;
    int offset = gate32 ? (gHi & 0xFFFF_0000) | (gLo & 0xFFFF) : gLo & 0xFFFF;
    int params = gHi & 0x1F;
    if ((sel & 0xFFFC) == 0) {
      c.raise(Exceptions.GP, 0);
    }
    if (!fetch(c, sel)) {
      c.raise(Exceptions.GP, err(sel));
    }
    int lo = c.dLo;
    int hi = c.dHi;
    if (!isCode(hi) || dpl(hi) > c.cpl) {
      c.raise(Exceptions.GP, err(sel));
    }
    boolean conforming = (type(hi) & TYPE_CE) != 0;
    if (!call && !conforming && dpl(hi) != c.cpl) {
      c.raise(Exceptions.GP, err(sel));
    }
    if (!present(hi)) {
      c.raise(Exceptions.NP, err(sel));
    }
    checkLimit(c, offset, lo, hi);
    int size = gate32 ? 2 : 1;
    int step = gate32 ? 4 : 2;
    if (call && !conforming && dpl(hi) < c.cpl) {
      // More privileged: switch to the inner stack named by the TSS and copy the parameters.
      int newCpl = dpl(hi);
      int oldCpl = c.cpl;
      int oldSs = c.segSel[SS];
      int oldSsBase = c.segBase[SS];
      int oldSsLimit = c.segLimit[SS];
      int oldSsAttr = c.segAttr[SS];
      int oldEsp = c.r[Cpu.ESP];
      int[] paramVals = new int[params];
      for (int k = 0; k < params; k++) {
        paramVals[k] = c.readStack(size, k * step);
      }
      // Marked now, while the scratch descriptor is still the target code segment.
      markAccessed(c);
      try {
        Tasks.loadInnerStack(c, newCpl);
        // The inner stack is written at the new privilege level (supervisor accesses for ring 0).
        c.setCpl(newCpl);
        int sp = c.r[Cpu.ESP];
        sp -= step;
        c.writeSized(size, c.stackAddr(sp, step, true), oldSs);
        sp -= step;
        c.writeSized(size, c.stackAddr(sp, step, true), oldEsp);
        for (int k = params - 1; k >= 0; k--) {
          sp -= step;
          c.writeSized(size, c.stackAddr(sp, step, true), paramVals[k]);
        }
        sp -= step;
        c.writeSized(size, c.stackAddr(sp, step, true), c.segSel[CS]);
        sp -= step;
        c.writeSized(size, c.stackAddr(sp, step, true), nextEip);
        c.setStackPointer(sp);
      } catch (CpuFault f) {
        // A fault leaves the caller's context as it was.
        c.segSel[SS] = oldSs;
        c.segBase[SS] = oldSsBase;
        c.segLimit[SS] = oldSsLimit;
        c.segAttr[SS] = oldSsAttr;
        c.segmentChanged(SS);
        c.r[Cpu.ESP] = oldEsp;
        c.setCpl(oldCpl);
        throw f;
      }
      loadCs(c, sel, lo, hi, newCpl);
    } else {
      if (call) {
        pushFarReturn(c, size, nextEip);
      }
      markAccessed(c);
      loadCs(c, sel, lo, hi, c.cpl);
    }
    c.eip = offset;
  }

  /** RETF [imm16]: to the same or an outer privilege level. */
  static void farReturn(Cpu c, int size, int release) {
    int step = size == 2 ? 4 : 2;
    int newEip = c.readStack(size, 0);
    int sel = c.readStack(size, step) & 0xFFFF;
    if (!c.protectedMode() || c.v86()) {
      c.adjustEsp(2 * step + release);
      c.segSel[CS] = sel;
      c.segBase[CS] = sel << 4;
      c.segmentChanged(CS);
      c.eip = newEip;
      return;
    }
    int[] target = checkReturnCs(c, sel);
    int lo = target[0];
    int hi = target[1];
    int rpl = sel & 3;
    if (size != 2) {
      newEip &= 0xFFFF;
    }
    if (rpl == c.cpl) {
      checkLimit(c, newEip, lo, hi);
      c.adjustEsp(2 * step + release);
      loadCs(c, sel, lo, hi, rpl);
      c.eip = newEip;
      return;
    }
    int newEsp = c.readStack(size, 2 * step + release);
    int newSs = c.readStack(size, 3 * step + release) & 0xFFFF;
    returnToOuter(c, sel, lo, hi, newEip, newSs, newEsp);
    c.adjustEsp(release);
  }

  /** The CS checks shared by RETF and IRET; returns the descriptor words. */
  static int[] checkReturnCs(Cpu c, int sel) {
    if ((sel & 0xFFFC) == 0) {
      c.raise(Exceptions.GP, 0);
    }
    if (!fetch(c, sel)) {
      c.raise(Exceptions.GP, err(sel));
    }
    int hi = c.dHi;
    int rpl = sel & 3;
    if (!isCode(hi) || rpl < c.cpl) {
      c.raise(Exceptions.GP, err(sel));
    }
    boolean conforming = (type(hi) & TYPE_CE) != 0;
    if (conforming ? dpl(hi) > rpl : dpl(hi) != rpl) {
      c.raise(Exceptions.GP, err(sel));
    }
    if (!present(hi)) {
      c.raise(Exceptions.NP, err(sel));
    }
    markAccessed(c);
    return new int[] {c.dLo, c.dHi};
  }

  /** Completes a return to an outer ring: loads SS:ESP and CS, then drops stale data segments. */
  static void returnToOuter(Cpu c, int sel, int lo, int hi, int newEip, int newSs, int newEsp) {
    int rpl = sel & 3;
    if ((newSs & 0xFFFC) == 0) {
      c.raise(Exceptions.GP, 0);
    }
    if (!fetch(c, newSs)) {
      c.raise(Exceptions.GP, err(newSs));
    }
    int sHi = c.dHi;
    int sLo = c.dLo;
    boolean writableData = isCodeOrData(sHi) && !isCode(sHi) && (type(sHi) & TYPE_RW) != 0;
    if ((newSs & 3) != rpl || dpl(sHi) != rpl || !writableData) {
      c.raise(Exceptions.GP, err(newSs));
    }
    if (!present(sHi)) {
      c.raise(Exceptions.SS, err(newSs));
    }
    checkLimit(c, newEip, lo, hi);
    markAccessed(c);
    loadCs(c, sel, lo, hi, rpl);
    setHidden(c, SS, newSs, sLo, sHi);
    c.r[Cpu.ESP] = (c.segAttr[SS] & ATTR_DB) != 0 ? newEsp
        : (c.r[Cpu.ESP] & 0xFFFF_0000) | (newEsp & 0xFFFF);
    c.eip = newEip;
    for (int seg : new int[] {Cpu.ES, Cpu.DS, Cpu.FS, Cpu.GS}) {
      int a = c.segAttr[seg];
      boolean dataOrNonconforming = (a & TYPE_CODE) == 0 || (a & TYPE_CE) == 0;
      if ((a & USABLE) != 0 && dataOrNonconforming && ((a >>> 5) & 3) < rpl) {
        c.segSel[seg] = 0;
        c.segAttr[seg] = 0;
        c.segmentChanged(seg);
      }
    }
  }
}
