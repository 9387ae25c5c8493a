package org.hospes.x86;

import static org.hospes.x86.Cpu.CS;

import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * What happens when an instruction faults or traps: the exception that {@link Cpu#raise} or a
 * trap recorded in {@link Cpu#excVector} is taken as a VM exit, handed to the caller of
 * {@link Cpu#run} (the exception exit mask), or delivered through the IDT ({@link Interrupts});
 * the instructions of a block before the faulting one retire. Also the debug features' step
 * (SDM vol. 3, 18.3): breakpoints and single-step reported as #DB. Interpreter and translated
 * blocks share this path (translations call {@link Cpu#faultInBlock}).
 */
final class Faults {
  private Faults() {}

  /**
   * Delivers the exception in {@link Cpu#excVector} (or leaves {@link Cpu#run} when its exit bit is
   * set). Returns a {@link CpuExit} code, or -1 to continue.
   */
  static int handleFault(Cpu c, int start, int next, boolean trap, int len) {
    c.faultSeq++;
    if (c.vmExitPending) {
      c.vmExitPending = false;
      c.eip = start;
      c.vmcs.write(VmcsField.VM_EXIT_INSTRUCTION_LEN, len);
      return CpuExit.VM_EXIT;
    }
    int vector = c.excVector;
    c.excSoftware = trap;
    c.excLength = next - start;
    if (!trap && vector < 32 && ((c.exceptionExitMask >>> vector) & 1) != 0) {
      c.eip = start;
      return CpuExit.EXCEPTION;
    }
    if (trap && c.softwareInterruptExit) {
      c.eip = next;
      return CpuExit.EXCEPTION;
    }
    int kind = trap ? c.trapKind : Interrupts.EXCEPTION;
    boolean hasErr = !trap && Interrupts.hasErrorCode(vector);
    // INT n never consults the exception bitmap; INT3, INTO and INT1 do.
    if (c.vmcs != null && (!trap || c.softException || kind == Interrupts.EXCEPTION)) {
      int x = VmxNonRoot.exceptionExit(c, vector, kind, trap, hasErr, start, next, len);
      if (x >= 0) {
        return x;
      }
    }
    c.eip = trap ? next : start;
    // The IDT-vectoring information of an exit during its delivery names its type: INT n is a
    // software interrupt, INT3 and INTO software exceptions, INT1 a privileged one.
    c.deliveryType = !trap ? VmxControls.INTR_TYPE_HARDWARE_EXCEPTION
        : kind == Interrupts.SOFTWARE ? (c.softException
            ? VmxControls.INTR_TYPE_SOFTWARE_EXCEPTION : VmxControls.INTR_TYPE_SOFTWARE_INTERRUPT)
        : VmxControls.INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION;
    int x = Interrupts.deliver(c, vector, kind, hasErr, c.excError, c.eip, start);
    if (x == CpuExit.TRIPLE_FAULT) {
      c.eip = start;
      if (c.vmcs != null) {
        return VmxNonRoot.tripleFaultExit(c);
      }
    }
    return x;
  }

  /**
   * The instruction {@code i} (1-based) of the block at {@code base} raised the exception in
   * {@link Cpu#excVector}: the instructions before it retire and the event is delivered. Shared
   * with translated blocks (org.hospes.x86.jit), which call it with their registers written back.
   */
  static int faultInBlock(Cpu c, int[] code, int base, int i) {
    int f3 = code[((i - 1) << 2) + 3];
    int next = base + (f3 & 0xFFFF);
    int start = next - ((f3 >>> 16) & 15);
    boolean trap = c.trapping && !c.vmExitPending;
    c.trapping = false;
    c.icount += trap ? i : i - 1;
    return handleFault(c, start, next, trap, (f3 >>> 16) & 15);
  }

  /**
   * One instruction, interpreted, under the debug features (SDM vol. 3, 18.3): an instruction
   * breakpoint faults before it unless EFLAGS.RF; after it completes, data-breakpoint hits and
   * a single-step (TF as the instruction began) are reported as one #DB trap, unless the
   * instruction loaded SS, which holds them until after the next one. RF is cleared by every
   * instruction that completes, except one (IRET) that has just loaded it. Returns a CpuExit
   * code, -1 to continue, or MIN_VALUE when nothing is armed (only with {@code checkBp} false).
   */
  static int debugStepIfArmed(Cpu c, long limit, Block prev, boolean checkBp) {
    int startFlags = c.flags;
    int startEip = c.eip;
    if (!checkBp && ((startFlags & (Flags.TF | Flags.RF)) | c.bpEnabled) == 0 && !c.stepPending) {
      return Integer.MIN_VALUE;
    }
    if (c.busyCycles() >= limit) {
      return -1;
    }
    Block b;
    try {
      if (checkBp && (startFlags & Flags.RF) == 0 && c.bpEnabled != 0) {
        int hits = Breakpoints.instructionHits(c.dr, c.segBase[CS] + c.eip);
        if (hits != 0) {
          c.dr[6] = (c.dr[6] & ~0xF) | hits;
          c.raise(Exceptions.DB, 0);
        }
      }
      b = CodeCache.nextBlock(c, prev);
    } catch (CpuFault f) {
      return handleFault(c, c.eip, c.eip, false, 0);
    }
    long seq = c.faultSeq;
    c.dataHits = 0;
    // One instruction (execBlock runs at least one), never translated: the JIT has no debug
    // features.
    int exit = c.execBlock(b, c.busyCycles() + 1);
    if (exit >= 0 || c.faultSeq != seq) {
      c.dataHits = 0;
      return exit;
    }
    if ((startFlags & Flags.RF) != 0) {
      c.flags &= ~Flags.RF;
    }
    if ((startFlags & Flags.TF) != 0) {
      // DEBUGCTL.BTF: only an instruction that went elsewhere than its successor steps.
      int fallThrough = b.code[3] & 0xFFFF; // offset of the next instruction from the start
      c.stepPending |= (c.debugCtl & SystemOps.DEBUGCTL_BTF) == 0
          || c.eip != startEip + fallThrough;
    }
    int hits = c.dataHits;
    c.dataHits = 0;
    if (c.shadow && c.ssShadow) {
      // MOV SS / POP SS: the #DB comes after the next instruction.
      c.pendingDataHits |= hits;
      return -1;
    }
    hits |= c.pendingDataHits;
    c.pendingDataHits = 0;
    if (!c.stepPending && hits == 0) {
      return -1;
    }
    c.dr[6] = (hits != 0 ? (c.dr[6] & ~0xF) | hits : c.dr[6])
        | (c.stepPending ? Breakpoints.DR6_BS : 0);
    c.stepPending = false;
    c.excVector = Exceptions.DB;
    c.excError = 0;
    return handleFault(c, c.eip, c.eip, false, 0);
  }
}
