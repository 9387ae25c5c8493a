package org.hospes.x86;

import static org.hospes.x86.Cpu.CS;
import static org.hospes.x86.Cpu.SS;

import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * Event delivery: exceptions, external interrupts and INT n through the IDT (protected mode) or
 * the IVT (real mode), including privilege changes with stack switches, task gates, the double-
 * and triple-fault rules, and IRET (SDM vol. 3 ch. 6).
 */
final class Interrupts {
  /** Event kinds: they decide the EXT bit of error codes and the gate-DPL check. */
  static final int EXCEPTION = 0, EXTERNAL = 1, SOFTWARE = 2;

  private Interrupts() {}

  static boolean hasErrorCode(int vector) {
    return vector == Exceptions.DF || (vector >= Exceptions.TS && vector <= Exceptions.PF)
        || vector == Exceptions.AC;
  }

  private static boolean contributory(int v) {
    return v == Exceptions.DE || (v >= Exceptions.TS && v <= Exceptions.GP);
  }

  /**
   * Delivers an event, applying the double-fault rules when delivery itself faults. Returns
   * {@link CpuExit#TRIPLE_FAULT} if the machine shuts down (then {@code c.excVector} and
   * {@code c.excError} name the event that started the cascade), else -1.
   *
   * <p>{@code returnEip} is the EIP the handler returns to; {@code faultEip} is the EIP pushed for
   * an exception raised while delivering (the start of the instruction that caused the event).
   */
  static int deliver(Cpu c, int vector, int kind, boolean hasErr, int err, int returnEip,
      int faultEip) {
    int current = vector;
    int curKind = kind;
    boolean curHasErr = hasErr;
    int curErr = err;
    // Consumed here, so that no later delivery inherits it.
    int firstType = vmxType(c.deliveryType, kind);
    c.deliveryType = -1;
    c.eip = returnEip;
    // An event delivered in the guest: a fault of an IRET reaches the guest's handler with
    // NMIs unblocked (6.7.1), and no later exit reports that IRET.
    c.iretUnblockedNmi = false;
    c.chargeDelivery(kind);
    // A bounded number of attempts: each failed one turns into #DF, then a shutdown.
    for (int attempt = 0; attempt < 4; attempt++) {
      try {
        deliverOnce(c, current, curKind, curHasErr, curErr);
        return -1;
      } catch (CpuFault f) {
        if (c.nonRoot()) {
          int x = VmxNonRoot.exitDuringDelivery(c, current, curKind,
              attempt == 0 ? firstType : VmxControls.INTR_TYPE_HARDWARE_EXCEPTION,
              curHasErr, curErr, faultEip, attempt == 0 ? returnEip : faultEip);
          if (x >= 0) {
            return x;
          }
        }
        int second = c.excVector;
        if (current == Exceptions.DF) {
          break;
        }
        boolean firstIsFaultClass = contributory(current) || current == Exceptions.PF;
        boolean df = curKind != SOFTWARE && firstIsFaultClass
            && (contributory(second) || (current == Exceptions.PF && second == Exceptions.PF));
        if (df) {
          current = Exceptions.DF;
          curErr = 0;
          curHasErr = true;
        } else {
          current = second;
          curErr = c.excError;
          curHasErr = hasErrorCode(second);
        }
        curKind = EXCEPTION;
        c.eip = faultEip;
      }
    }
    c.excVector = vector;
    c.excError = err;
    return CpuExit.TRIPLE_FAULT;
  }

  /**
   * The VMX event type the IDT-vectoring information gives the event first delivered: the one
   * its source named ({@link Cpu#deliveryType}), else what its kind says (an NMI is delivered as
   * an external event is, so only VM entry can say it is one, and it must be injected again as
   * an NMI).
   */
  private static int vmxType(int named, int kind) {
    if (named >= 0) {
      return named;
    }
    return kind == EXTERNAL ? VmxControls.INTR_TYPE_EXTERNAL
        : kind == SOFTWARE ? VmxControls.INTR_TYPE_SOFTWARE_INTERRUPT
        : VmxControls.INTR_TYPE_HARDWARE_EXCEPTION;
  }

  private static void deliverOnce(Cpu c, int vector, int kind, boolean hasErr, int err) {
    if (vector == Exceptions.PF && kind == EXCEPTION && c.pfPending) {
      c.cr2 = c.pfAddr;
      c.pfPending = false;
    }
    if (!c.protectedMode()) {
      deliverReal(c, vector);
      return;
    }
    int ext = kind == SOFTWARE ? 0 : 1;
    int gateErr = vector * 8 + 2 + ext;
    if (vector * 8 + 7 > c.idtLimit) {
      c.raise(Exceptions.GP, gateErr);
    }
    int gLo = c.readSys32(c.idtBase + vector * 8);
    int gHi = c.readSys32(c.idtBase + vector * 8 + 4);
    int type = Segments.type(gHi);
    boolean system = !Segments.isCodeOrData(gHi);
    if (!system || (type != Segments.SYS_TASK_GATE && type != Segments.SYS_INT_GATE16
        && type != Segments.SYS_TRAP_GATE16 && type != Segments.SYS_INT_GATE32
        && type != Segments.SYS_TRAP_GATE32)) {
      c.raise(Exceptions.GP, gateErr);
    }
    if (kind == SOFTWARE && Segments.dpl(gHi) < c.cpl) {
      c.raise(Exceptions.GP, vector * 8 + 2);
    }
    if (!Segments.present(gHi)) {
      c.raise(Exceptions.NP, gateErr);
    }
    if (type == Segments.SYS_TASK_GATE) {
      if (c.nonRoot()) {
        c.vmExit(ExitReason.TASK_SWITCH, (gLo >>> 16) | (3L << 30));
      }
      Tasks.switchTo(c, vector * 8, gLo, gHi, Tasks.INT);
      if (hasErr) {
        int size = (c.trAttr & 0xF) == Segments.SYS_TSS32_BUSY ? 2 : 1;
        c.pushSized(size, err);
      }
      return;
    }
    boolean gate32 = type == Segments.SYS_INT_GATE32 || type == Segments.SYS_TRAP_GATE32;
    boolean intGate = type == Segments.SYS_INT_GATE16 || type == Segments.SYS_INT_GATE32;
    int sel = gLo >>> 16;
    int offset = gate32 ? (gHi & 0xFFFF_0000) | (gLo & 0xFFFF) : gLo & 0xFFFF;
    if ((sel & 0xFFFC) == 0) {
      c.raise(Exceptions.GP, ext);
    }
    if (!Segments.fetch(c, sel)) {
      c.raise(Exceptions.GP, Segments.err(sel) + ext);
    }
    int lo = c.dLo;
    int hi = c.dHi;
    if (!Segments.isCode(hi) || Segments.dpl(hi) > c.cpl) {
      c.raise(Exceptions.GP, Segments.err(sel) + ext);
    }
    if (!Segments.present(hi)) {
      c.raise(Exceptions.NP, Segments.err(sel) + ext);
    }
    if (Integer.compareUnsigned(offset, Segments.limit(lo, hi)) > 0) {
      c.raise(Exceptions.GP, ext);
    }
    int size = gate32 ? 2 : 1;
    int step = gate32 ? 4 : 2;
    int oldFlags = c.eflags();
    int oldCs = c.segSel[CS];
    int oldEip = c.eip;
    boolean conforming = (Segments.type(hi) & Segments.TYPE_CE) != 0;
    int newCpl = conforming ? c.cpl : Segments.dpl(hi);
    if (c.v86()) {
      Vm86.checkHandler(c, sel, hi, ext);
      Segments.markAccessed(c);
      Vm86.pushFrame(c, oldFlags, gate32, hasErr, err);
      Segments.loadCs(c, sel, lo, hi, 0);
      c.setEflags(oldFlags & ~(Flags.TF | Flags.NT | Flags.RF | Flags.VM
          | (intGate ? Flags.IF : 0)));
      c.eip = offset;
      return;
    }
    // Marked now, while the scratch descriptor is still the handler's code segment (loading the
    // inner stack fetches the stack segment's).
    Segments.markAccessed(c);
    int oldCpl = c.cpl;
    int oldSs = c.segSel[SS];
    int oldSsBase = c.segBase[SS];
    int oldSsLimit = c.segLimit[SS];
    int oldSsAttr = c.segAttr[SS];
    int oldEsp = c.r[Cpu.ESP];
    boolean inward = newCpl < oldCpl;
    try {
      if (inward) {
        Tasks.loadInnerStack(c, newCpl);
        // The pushes onto the inner stack are made at the new privilege level: supervisor
        // accesses when the handler runs in ring 0.
        c.setCpl(newCpl);
        int sp = c.r[Cpu.ESP];
        sp -= step;
        c.writeSized(size, c.stackAddr(sp, step, true), oldSs);
        sp -= step;
        c.writeSized(size, c.stackAddr(sp, step, true), oldEsp);
        c.setStackPointer(sp);
      }
      int sp = c.r[Cpu.ESP];
      sp -= step;
      c.writeSized(size, c.stackAddr(sp, step, true), oldFlags);
      sp -= step;
      c.writeSized(size, c.stackAddr(sp, step, true), oldCs);
      sp -= step;
      c.writeSized(size, c.stackAddr(sp, step, true), oldEip);
      if (hasErr) {
        sp -= step;
        c.writeSized(size, c.stackAddr(sp, step, true), err);
      }
      c.setStackPointer(sp);
    } catch (CpuFault f) {
      if (inward) {
        // A fault on the way leaves the interrupted context as it was (SDM vol. 3, 6.12.1: the
        // processor state is that of the instruction that caused the first event).
        c.segSel[SS] = oldSs;
        c.segBase[SS] = oldSsBase;
        c.segLimit[SS] = oldSsLimit;
        c.segAttr[SS] = oldSsAttr;
        c.segmentChanged(SS);
        c.r[Cpu.ESP] = oldEsp;
        c.setCpl(oldCpl);
      }
      throw f;
    }
    Segments.loadCs(c, sel, lo, hi, newCpl);
    int clear = Flags.TF | Flags.NT | Flags.RF | Flags.VM | (intGate ? Flags.IF : 0);
    c.setEflags(oldFlags & ~clear);
    c.eip = offset;
  }

  private static void deliverReal(Cpu c, int vector) {
    if (vector * 4 + 3 > c.idtLimit) {
      c.raise(Exceptions.GP, 0);
    }
    int entry = c.readSys32(c.idtBase + vector * 4);
    int flags = c.eflags();
    c.pushSized(1, flags);
    c.pushSized(1, c.segSel[CS]);
    c.pushSized(1, c.eip);
    c.setEflags(flags & ~(Flags.IF | Flags.TF | Flags.AC | Flags.RF));
    int sel = entry >>> 16;
    c.segSel[CS] = sel;
    c.segBase[CS] = sel << 4;
    c.segmentChanged(CS);
    c.eip = entry & 0xFFFF;
  }

  /**
   * IRET / IRETD. It ends blocking by NMI before anything else, so even an IRET that faults
   * leaves NMIs unblocked (SDM vol. 3, 6.7.1). In VMX non-root operation (25.3) it does so
   * unless "NMI exiting" is on without "virtual NMIs" (the host's NMIs then stay blocked until
   * the hypervisor's own IRET); with virtual NMIs it ends virtual-NMI blocking, which opens an
   * NMI window the hypervisor may be waiting for.
   */
  static void iret(Cpu c, int size) {
    if (c.nmiBlocked && iretUnblocksNmis(c)) {
      c.nmiBlocked = false;
      c.iretUnblockedNmi = true;
      if (c.vmcs != null
          && c.vmcs.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_NMI_WINDOW_EXITING)) {
        c.nmiWindow = true;
      }
    }
    iretBody(c, size);
    c.iretUnblockedNmi = false;
  }

  private static boolean iretUnblocksNmis(Cpu c) {
    if (c.vmcs == null) {
      return true;
    }
    int pin = c.vmcs.read32(VmcsField.PIN_BASED_VM_EXEC_CONTROL);
    return (pin & VmxControls.PIN_NMI_EXITING) == 0 || (pin & VmxControls.PIN_VIRTUAL_NMIS) != 0;
  }

  private static void iretBody(Cpu c, int size) {
    int step = size == 2 ? 4 : 2;
    if (!c.protectedMode()) {
      int newEip = c.readStack(size, 0);
      int sel = c.readStack(size, step) & 0xFFFF;
      int fl = c.readStack(size, 2 * step);
      c.adjustEsp(3 * step);
      c.segSel[CS] = sel;
      c.segBase[CS] = sel << 4;
      c.segmentChanged(CS);
      c.eip = size == 2 ? newEip : newEip & 0xFFFF;
      int mask = size == 2 ? 0x003F_7FD5 & ~(Flags.VM | Flags.VIP | Flags.VIF) : 0x7FD5;
      c.setEflags((c.eflags() & ~mask) | (fl & mask));
      return;
    }
    if (c.v86()) {
      Vm86.iretInVm86(c, size);
      return;
    }
    if ((c.eflags() & Flags.NT) != 0) {
      int link = c.readSys32(c.trBase + Tasks.LINK) & 0xFFFF;
      if (c.nonRoot()) {
        c.vmExit(ExitReason.TASK_SWITCH, link | (1L << 30));
      }
      if ((link & 4) != 0 || !Segments.fetch(c, link)) {
        c.raise(Exceptions.TS, Segments.err(link));
      }
      Tasks.switchTo(c, link, c.dLo, c.dHi, Tasks.IRET);
      return;
    }
    int newEip = c.readStack(size, 0);
    int sel = c.readStack(size, step) & 0xFFFF;
    int newFlags = c.readStack(size, 2 * step);
    if (size != 2) {
      newFlags = (c.eflags() & 0xFFFF_0000) | (newFlags & 0xFFFF);
      newEip &= 0xFFFF;
    }
    if ((newFlags & Flags.VM) != 0 && c.cpl == 0 && size == 2) {
      Vm86.iretToVm86(c, newEip, sel, newFlags);
      return;
    }
    int[] target = Segments.checkReturnCs(c, sel);
    int rpl = sel & 3;
    int oldCpl = c.cpl;
    int oldFlags = c.eflags();
    if (rpl == c.cpl) {
      if (Integer.compareUnsigned(newEip, Segments.limit(target[0], target[1])) > 0) {
        c.raise(Exceptions.GP, 0);
      }
      c.adjustEsp(3 * step);
      Segments.loadCs(c, sel, target[0], target[1], rpl);
      c.eip = newEip;
    } else {
      int newEsp = c.readStack(size, 3 * step);
      int newSs = c.readStack(size, 4 * step) & 0xFFFF;
      Segments.returnToOuter(c, sel, target[0], target[1], newEip, newSs, newEsp);
    }
    int mask = Flags.STATUS | Flags.TF | Flags.DF | Flags.NT | Flags.RF | Flags.AC | Flags.ID;
    if (oldCpl == 0) {
      mask |= Flags.IOPL | Flags.VIF | Flags.VIP;
    }
    if (oldCpl <= ((oldFlags >>> 12) & 3)) {
      mask |= Flags.IF;
    }
    c.setEflags((oldFlags & ~mask) | (newFlags & mask));
  }
}
