package org.hospes.x86;

import static org.hospes.x86.Cpu.CS;
import static org.hospes.x86.Cpu.SS;

/**
 * The task-state segment: inner-stack lookup for privilege changes, the I/O permission bitmap,
 * and hardware task switches through TSS descriptors and task gates (32-bit TSS format, SDM vol.
 * 3 ch. 8). Task switches are what a double-fault handler behind a task gate needs.
 */
final class Tasks {
  static final int JMP = 0, CALL = 1, IRET = 2, INT = 3;

  // 32-bit TSS offsets.
  static final int LINK = 0x00;
  static final int ESP0 = 0x04;
  static final int CR3 = 0x1C;
  static final int EIP = 0x20;
  static final int EFLAGS = 0x24;
  static final int EAX = 0x28;
  static final int ES = 0x48;
  static final int LDT = 0x60;
  static final int IOMAP = 0x66;
  static final int MIN_LIMIT = 0x67;

  private Tasks() {}

  private static boolean tss32(Cpu c) {
    int type = c.trAttr & 0xF;
    return type == Segments.SYS_TSS32_BUSY || type == Segments.SYS_TSS32_AVAIL;
  }

  /** Loads SS:ESP for privilege level {@code level} from the current TSS; faults are #TS. */
  static void loadInnerStack(Cpu c, int level) {
    int trErr = Segments.err(c.trSel);
    int esp;
    int ss;
    if (tss32(c)) {
      int off = ESP0 + 8 * level;
      if (Integer.compareUnsigned(off + 7, c.trLimit) > 0) {
        c.raise(Exceptions.TS, trErr);
      }
      esp = c.readSys32(c.trBase + off);
      ss = c.readSys32(c.trBase + off + 4) & 0xFFFF;
    } else {
      int off = 2 + 4 * level;
      if (Integer.compareUnsigned(off + 3, c.trLimit) > 0) {
        c.raise(Exceptions.TS, trErr);
      }
      esp = c.readSys32(c.trBase + off) & 0xFFFF;
      ss = c.readSys32(c.trBase + off + 2) & 0xFFFF;
    }
    if ((ss & 0xFFFC) == 0) {
      c.raise(Exceptions.TS, 0);
    }
    if (!Segments.fetch(c, ss)) {
      c.raise(Exceptions.TS, Segments.err(ss));
    }
    int hi = c.dHi;
    boolean writableData = Segments.isCodeOrData(hi) && !Segments.isCode(hi)
        && (Segments.type(hi) & Segments.TYPE_RW) != 0;
    if ((ss & 3) != level || Segments.dpl(hi) != level || !writableData) {
      c.raise(Exceptions.TS, Segments.err(ss));
    }
    if (!Segments.present(hi)) {
      c.raise(Exceptions.SS, Segments.err(ss));
    }
    Segments.markAccessed(c);
    Segments.setHidden(c, SS, ss, c.dLo, c.dHi);
    c.r[Cpu.ESP] = esp;
  }

  /** True when the TSS I/O bitmap allows {@code bytes} ports from {@code port}. */
  static boolean ioAllowed(Cpu c, int port, int bytes) {
    if (!tss32(c) || Integer.compareUnsigned(c.trLimit, MIN_LIMIT) < 0) {
      return false;
    }
    int base = c.readSys32(c.trBase + IOMAP - 2) >>> 16;
    int byteOff = base + (port >>> 3);
    if (Integer.compareUnsigned(byteOff + 1, c.trLimit) > 0) {
      return false;
    }
    int bits = c.readSys32(c.trBase + byteOff) & 0xFFFF;
    int mask = ((1 << bytes) - 1) << (port & 7);
    return (bits & mask) == 0;
  }

  /**
   * Switches to the task named by {@code sel} (a TSS descriptor or a task gate whose words are
   * {@code lo}/{@code hi}). The caller has set {@code c.eip} to the EIP to save in the old task.
   */
  static void switchTo(Cpu c, int sel, int lo, int hi, int reason) {
    if (Segments.type(hi) == Segments.SYS_TASK_GATE) {
      int tssSel = lo >>> 16;
      if ((tssSel & 4) != 0 || !Segments.fetch(c, tssSel)) {
        c.raise(Exceptions.GP, Segments.err(tssSel));
      }
      sel = tssSel;
      lo = c.dLo;
      hi = c.dHi;
    } else {
      Segments.fetch(c, sel);
    }
    int tssAddr = c.dAddr;
    int type = Segments.type(hi);
    boolean wantBusy = reason == IRET;
    int expected = wantBusy ? Segments.SYS_TSS32_BUSY : Segments.SYS_TSS32_AVAIL;
    if (Segments.isCodeOrData(hi) || type != expected) {
      c.raise(reason == IRET ? Exceptions.TS : Exceptions.GP, Segments.err(sel));
    }
    if (!Segments.present(hi)) {
      c.raise(Exceptions.NP, Segments.err(sel));
    }
    int newBase = Segments.base(lo, hi);
    int newLimit = Segments.limit(lo, hi);
    if (Integer.compareUnsigned(newLimit, MIN_LIMIT) < 0) {
      c.raise(Exceptions.TS, Segments.err(sel));
    }

    // Read the whole incoming state first.
    int newCr3 = c.readSys32(newBase + CR3);
    int newEip = c.readSys32(newBase + EIP);
    int newFlags = c.readSys32(newBase + EFLAGS);
    int[] newRegs = new int[8];
    for (int k = 0; k < 8; k++) {
      newRegs[k] = c.readSys32(newBase + EAX + 4 * k);
    }
    int[] newSegs = new int[6];
    for (int s = 0; s < 6; s++) {
      newSegs[s] = c.readSys32(newBase + ES + 4 * s) & 0xFFFF;
    }
    int newLdt = c.readSys32(newBase + LDT) & 0xFFFF;

    // Save the outgoing state into the current TSS.
    int oldBase = c.trBase;
    int oldFlags = c.eflags();
    if (reason == IRET) {
      oldFlags &= ~Flags.NT;
    }
    c.writeSys32(oldBase + EIP, c.eip);
    c.writeSys32(oldBase + EFLAGS, oldFlags);
    for (int k = 0; k < 8; k++) {
      c.writeSys32(oldBase + EAX + 4 * k, c.r[k]);
    }
    for (int s = 0; s < 6; s++) {
      c.writeSys32(oldBase + ES + 4 * s, c.segSel[s]);
    }
    if (reason == JMP || reason == IRET) {
      setBusy(c, c.trSel, false);
    }
    if (reason == CALL || reason == INT) {
      c.writeSys32(newBase + LINK, c.trSel);
      newFlags |= Flags.NT;
    }
    if (reason != IRET) {
      int dHi = c.readSys32(tssAddr + 4);
      c.writeSys32(tssAddr + 4, dHi | (2 << 8));
      hi |= 2 << 8;
    }
    c.trSel = sel;
    c.taskCommitted = true;
    c.trBase = newBase;
    c.trLimit = newLimit;
    c.trAttr = Segments.attr(hi);
    c.cr0 |= Cpu.CR0_TS;

    if ((c.cr0 & Cpu.CR0_PG) != 0) {
      long cr3 = c.taskCr3Load != null ? c.taskCr3Load.applyAsLong(newCr3)
          : newCr3 & 0xFFFF_FFFFL;
      if (cr3 < 0) {
        // The hypervisor's paging cannot load it (PAE roots with reserved bits): #GP(0) in the
        // new task, as MOV to CR3 (and Xen's hvm_task_switch when hvm_set_cr3 fails).
        c.raise(Exceptions.GP, 0);
      }
      c.writeCr3((int) cr3);
    }
    c.setEflags(newFlags);
    c.eip = newEip;
    System.arraycopy(newRegs, 0, c.r, 0, 8);
    // Selectors become visible before their checks, so a #TS reports the new task's state.
    for (int s = 0; s < 6; s++) {
      c.segSel[s] = newSegs[s];
    }
    c.setCpl(c.v86() ? 3 : newSegs[CS] & 3);
    try {
      loadLdt(c, newLdt);
      if (c.v86()) {
        // A VM86 task: 8086 segments, whatever the selectors are (SDM vol. 3, 20.2.5).
        Vm86.loadSegment(c, CS, newSegs[CS]);
      } else {
        loadTaskCs(c, newSegs[CS]);
      }
      Segments.load(c, SS, newSegs[SS]);
      for (int s : new int[] {Cpu.ES, Cpu.DS, Cpu.FS, Cpu.GS}) {
        Segments.load(c, s, newSegs[s]);
      }
    } catch (CpuFault f) {
      if (c.excVector == Exceptions.GP) {
        c.excVector = Exceptions.TS;
      }
      throw f;
    }
  }

  private static void loadTaskCs(Cpu c, int sel) {
    if ((sel & 0xFFFC) == 0 || !Segments.fetch(c, sel) || !Segments.isCode(c.dHi)) {
      c.raise(Exceptions.TS, Segments.err(sel));
    }
    if (!Segments.present(c.dHi)) {
      c.raise(Exceptions.NP, Segments.err(sel));
    }
    Segments.loadCs(c, sel, c.dLo, c.dHi, sel & 3);
  }

  /** LLDT semantics without the privilege check (used by LLDT and task switches). */
  static void loadLdt(Cpu c, int sel) {
    if ((sel & 0xFFFC) == 0) {
      c.ldtSel = sel;
      c.ldtAttr = 0;
      return;
    }
    if ((sel & 4) != 0 || !Segments.fetch(c, sel) || Segments.isCodeOrData(c.dHi)
        || Segments.type(c.dHi) != Segments.SYS_LDT) {
      c.raise(Exceptions.GP, Segments.err(sel));
    }
    if (!Segments.present(c.dHi)) {
      c.raise(Exceptions.NP, Segments.err(sel));
    }
    c.ldtSel = sel;
    c.ldtBase = Segments.base(c.dLo, c.dHi);
    c.ldtLimit = Segments.limit(c.dLo, c.dHi);
    c.ldtAttr = Segments.attr(c.dHi);
  }

  /** LTR: loads an available TSS and marks it busy. */
  static void loadTr(Cpu c, int sel) {
    if ((sel & 0xFFFC) == 0) {
      c.raise(Exceptions.GP, 0);
    }
    if ((sel & 4) != 0 || !Segments.fetch(c, sel) || Segments.isCodeOrData(c.dHi)) {
      c.raise(Exceptions.GP, Segments.err(sel));
    }
    int type = Segments.type(c.dHi);
    if (type != Segments.SYS_TSS32_AVAIL && type != Segments.SYS_TSS16_AVAIL) {
      c.raise(Exceptions.GP, Segments.err(sel));
    }
    if (!Segments.present(c.dHi)) {
      c.raise(Exceptions.NP, Segments.err(sel));
    }
    c.dHi |= 2 << 8;
    c.writeSys32(c.dAddr + 4, c.dHi);
    c.trSel = sel;
    c.trBase = Segments.base(c.dLo, c.dHi);
    c.trLimit = Segments.limit(c.dLo, c.dHi);
    c.trAttr = Segments.attr(c.dHi);
  }

  private static void setBusy(Cpu c, int sel, boolean busy) {
    int addr = c.gdtBase + (sel & 0xFFF8);
    int hi = c.readSys32(addr + 4);
    c.writeSys32(addr + 4, busy ? hi | (2 << 8) : hi & ~(2 << 8));
  }
}
