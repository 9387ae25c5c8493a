package org.hospes.x86;

import static org.hospes.x86.Cpu.CS;
import static org.hospes.x86.Cpu.DS;
import static org.hospes.x86.Cpu.ES;
import static org.hospes.x86.Cpu.FS;
import static org.hospes.x86.Cpu.GS;
import static org.hospes.x86.Cpu.SS;

/**
 * Virtual-8086 mode (SDM vol. 3, chapter 20): entry by IRET from CPL 0 with EFLAGS.VM in the
 * popped image, the ring-0 frame of an interrupt or exception taken in it (GS, FS, DS and ES
 * pushed, then zeroed), and the IOPL-sensitive IRET, PUSHF and POPF inside it. Segments in
 * VM86 mode are 8086 segments: base = selector * 16, limit 0xFFFF, CPL 3. Entry by a task
 * switch goes through {@link #loadSegment} from {@link Tasks}.
 */
final class Vm86 {
  /** Attributes of a VM86 code segment: present, DPL 3, 16-bit, execute/read, accessed. */
  private static final int CODE_ATTR = Segments.USABLE | Segments.ATTR_P | Segments.ATTR_S
      | (3 << 5) | Segments.TYPE_CODE | Segments.TYPE_RW | Segments.TYPE_ACCESSED;
  private static final int DATA_ATTR = Segments.REAL_DATA_ATTR | (3 << 5);
  /** The segment registers in the order IRET pops them after SS: ES, DS, FS, GS. */
  private static final int[] DATA_SEGS = {ES, DS, FS, GS};

  private Vm86() {}

  /** The access rights of segment register {@code seg} in VM86 mode. */
  static int attributes(int seg) {
    return seg == CS ? CODE_ATTR : DATA_ATTR;
  }

  /** An 8086 segment load (the processor is already in VM86 mode, EFLAGS.VM set). */
  static void loadSegment(Cpu c, int seg, int sel) {
    sel &= 0xFFFF;
    c.segSel[seg] = sel;
    c.segBase[seg] = sel << 4;
    c.segLimit[seg] = 0xFFFF;
    c.segAttr[seg] = seg == CS ? CODE_ATTR : DATA_ATTR;
    c.segmentChanged(seg);
  }

  /**
   * IRET at CPL 0 whose EFLAGS image has VM set (32-bit operand size): the nine-dword frame
   * EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS is read whole before anything changes, so a fault
   * on the stack leaves the monitor's state as it was.
   */
  static void iretToVm86(Cpu c, int newEip, int newCs, int newFlags) {
    int esp = c.readStack(2, 12);
    int ss = c.readStack(2, 16);
    int[] segs = new int[4];
    for (int k = 0; k < 4; k++) {
      segs[k] = c.readStack(2, 20 + 4 * k);
    }
    if ((newEip & 0xFFFF_0000) != 0) {
      c.raise(Exceptions.GP, 0);
    }
    c.setEflags(newFlags);
    c.setCpl(3);
    loadSegment(c, CS, newCs);
    loadSegment(c, SS, ss);
    for (int k = 0; k < 4; k++) {
      loadSegment(c, DATA_SEGS[k], segs[k]);
    }
    c.r[Cpu.ESP] = esp;
    c.eip = newEip;
  }

  /**
   * The checks of an event taken in VM86 mode through an interrupt or trap gate to code
   * {@code hi}: the handler must be a non-conforming ring-0 segment, else #GP with the code
   * selector.
   */
  static void checkHandler(Cpu c, int sel, int hi, int ext) {
    boolean conforming = (Segments.type(hi) & Segments.TYPE_CE) != 0;
    if (conforming || Segments.dpl(hi) != 0) {
      c.raise(Exceptions.GP, Segments.err(sel) + ext);
    }
  }

  /**
   * Switches to the ring-0 stack of the TSS and pushes GS, FS, DS, ES, SS, ESP, EFLAGS, CS and
   * EIP (and the error code), as dwords through a 32-bit gate and as words through a 16-bit
   * one; DS, ES, FS and GS are then null and VM is clear. Returns with CPL 0; the caller loads
   * CS:EIP and the flags.
   */
  static void pushFrame(Cpu c, int oldFlags, boolean gate32, boolean hasErr, int err) {
    int size = gate32 ? 2 : 1;
    int step = gate32 ? 4 : 2;
    int[] old = {c.segSel[GS], c.segSel[FS], c.segSel[DS], c.segSel[ES], c.segSel[SS],
        c.r[Cpu.ESP], oldFlags, c.segSel[CS], c.eip};
    int oldSsBase = c.segBase[SS];
    int oldSsLimit = c.segLimit[SS];
    int oldSsAttr = c.segAttr[SS];
    // The ring-0 stack descriptor is checked as from CPL 0: leave VM86 addressing first.
    c.setEflags(oldFlags & ~Flags.VM);
    try {
      Tasks.loadInnerStack(c, 0);
      c.setCpl(0);
      int sp = c.r[Cpu.ESP];
      for (int v : old) {
        sp -= step;
        c.writeSized(size, c.stackAddr(sp, step, true), v);
      }
      if (hasErr) {
        sp -= step;
        c.writeSized(size, c.stackAddr(sp, step, true), err);
      }
      c.setStackPointer(sp);
    } catch (CpuFault f) {
      c.setEflags(oldFlags);
      c.setCpl(3);
      c.segSel[SS] = old[4];
      c.segBase[SS] = oldSsBase;
      c.segLimit[SS] = oldSsLimit;
      c.segAttr[SS] = oldSsAttr;
      c.segmentChanged(SS);
      c.r[Cpu.ESP] = old[5];
      throw f;
    }
    for (int seg : DATA_SEGS) {
      c.segSel[seg] = 0;
      c.segBase[seg] = 0;
      c.segAttr[seg] = 0;
      c.segmentChanged(seg);
    }
  }

  /** IOPL-sensitive instructions in VM86 mode (CLI, STI, PUSHF, POPF, INT n, IRET). */
  static void checkIopl(Cpu c) {
    if (((c.eflags() >>> 12) & 3) != 3) {
      c.raise(Exceptions.GP, 0);
    }
  }

  /**
   * IRET inside VM86 mode at IOPL 3: an 8086 return (16 or 32-bit pops) that cannot change
   * IOPL, VM, VIF or VIP; an EIP above 0xFFFF is #GP(0).
   */
  static void iretInVm86(Cpu c, int size) {
    checkIopl(c);
    int step = size == 2 ? 4 : 2;
    int newEip = c.readStack(size, 0);
    int sel = c.readStack(size, step) & 0xFFFF;
    int fl = c.readStack(size, 2 * step);
    if (size == 2 && (newEip & 0xFFFF_0000) != 0) {
      c.raise(Exceptions.GP, 0);
    }
    c.adjustEsp(3 * step);
    loadSegment(c, CS, sel);
    c.eip = newEip & 0xFFFF;
    int mask = (size == 2 ? 0x003F_7FD5 : 0x7FD5)
        & ~(Flags.IOPL | Flags.VM | Flags.VIP | Flags.VIF);
    c.setEflags((c.eflags() & ~mask) | (fl & mask));
  }
}
