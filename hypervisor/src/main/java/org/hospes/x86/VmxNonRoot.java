package org.hospes.x86;

import static org.hospes.x86.Cpu.CS;

import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * VMX non-root operation as the processor does it (SDM vol. 3, ch. 25-27): VM entry with event
 * injection, the exits checked at instruction boundaries (host interrupt, interrupt window,
 * preemption timer), exits caused by exceptions (the exception bitmap, #PF error-code mask and
 * match) and by events whose delivery faulted (IDT-vectoring information), I/O exits, and the
 * pieces of work the hypervisor asks the processor to finish (a task switch, the instruction of
 * a string I/O exit). The VMCS is {@link Cpu#vmcs}; the guest state it names is the Cpu's.
 */
final class VmxNonRoot {
  private VmxNonRoot() {}

  /**
   * VM entry: the checks on the controls and on the guest state the event depends on, then
   * injects the event in the VM-entry interruption-information field.
   */
  static int vmEntry(Cpu c) {
    int info = c.vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD);
    // The checks on the controls (26.2) come before those on the guest state (26.3), and fail
    // the VMLAUNCH or VMRESUME itself rather than exit; those on the VM-execution control
    // fields (26.2.1.1) before those on the VM-entry control fields (26.2.1.3).
    if (!executionControlsValid(c) || !injectionControlsValid(c, info)) {
      c.vmcs.write(VmcsField.VM_INSTRUCTION_ERROR, VmxControls.VM_ERROR_ENTRY_INVALID_CONTROL);
      return CpuExit.VM_ENTRY_FAILED;
    }
    int failure = injectionCheck(c, info);
    if (failure >= 0) {
      return entryFailure(c, failure);
    }
    return deliverQueuedEvent(c, info);
  }

  /**
   * The start of a step of the hypervisor's emulator ({@link Cpu#emulateStep}), in root
   * operation: no VM entry, so none of its checks. The event the hypervisor queued in the
   * VM-entry interruption-information field is delivered by the emulator, as Xen's vmx_realmode
   * hands it to realmode_deliver_exception and clears the field: in real mode through the IVT,
   * which pushes no error code whatever bit 11 says. Its effects on the guest (no interrupt
   * shadow after it, NMI blocking after an NMI, a halted vCPU woken) are the same as an
   * injection's, and an exception exit while it is delivered names it in the IDT-vectoring
   * information so that the hypervisor queues it again, as for an injected event.
   */
  static int emulatorEvent(Cpu c) {
    return deliverQueuedEvent(c, c.vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD));
  }

  /**
   * Delivers the event in the VM-entry interruption-information field {@code info} (if its
   * valid bit is set) and clears that bit; resets the exit information the run may write.
   */
  private static int deliverQueuedEvent(Cpu c, int info) {
    c.vmcs.write(VmcsField.VM_EXIT_REASON, 0);
    // The IDT-vectoring information is valid only for an exit during event delivery: every
    // other exit (exceptions, MTF, windows) must not show the previous one's.
    c.vmcs.write(VmcsField.IDT_VECTORING_INFO_FIELD, 0);
    c.iretUnblockedNmi = false;
    if ((info & VmxControls.INTR_INFO_VALID) == 0) {
      openNmiWindow(c);
      return -1;
    }
    c.vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, info & ~VmxControls.INTR_INFO_VALID);
    int vector = info & 0xFF;
    int type = (info >>> 8) & 7;
    if (type == VmxControls.INTR_TYPE_OTHER_EVENT) {
      // 26.5.2: a pending MTF VM exit (vector 0, the only one the checks let through), due at
      // the boundary before the first instruction even with the "monitor trap flag" control
      // 0. Nothing is delivered and the entry is not vectoring: the interruptibility state
      // stays as it was. Of the events at that boundary only SMI and INIT, which this
      // processor does not have, come before an MTF VM exit (25.5.2): it is taken at once.
      c.vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.MONITOR_TRAP_FLAG.code());
      c.vmcs.write(VmcsField.EXIT_QUALIFICATION, 0);
      return CpuExit.VM_EXIT;
    }
    boolean hasErr = (info & VmxControls.INTR_INFO_ERROR_CODE_VALID) != 0;
    int err = c.vmcs.read32(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE);
    int len = c.vmcs.read32(VmcsField.VM_ENTRY_INSTRUCTION_LEN);
    c.halted = false;
    // SDM 26.6.1: after a vectoring entry there is no blocking by STI or by MOV SS, whatever
    // the interruptibility field said (only an exception may be injected over one).
    c.setInterruptibility(c.interruptibility() & Cpu.INTR_NMI);
    int kind;
    int ret = c.eip;
    switch (type) {
      case VmxControls.INTR_TYPE_EXTERNAL:
      case VmxControls.INTR_TYPE_NMI:
        kind = Interrupts.EXTERNAL;
        break;
      case VmxControls.INTR_TYPE_SOFTWARE_INTERRUPT:
      case VmxControls.INTR_TYPE_SOFTWARE_EXCEPTION:
        kind = Interrupts.SOFTWARE;
        ret = c.eip + len;
        break;
      case VmxControls.INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION:
        kind = Interrupts.EXCEPTION;
        ret = c.eip + len;
        break;
      default:
        kind = Interrupts.EXCEPTION;
        break;
    }
    c.deliveryType = type;
    // An event injected again after an exit cut its delivery on MMIO (a push onto a device's
    // page, or onto a frame with nothing behind it): the accesses the hypervisor completed are
    // replayed from the log's start, as for a restarted instruction, and are spent once the
    // delivery is done (the handler's first instruction must not find them).
    c.mmioPos = 0;
    int x = Interrupts.deliver(c, vector, kind, hasErr, err, ret, c.eip);
    if (x < 0) {
      c.mmioLen = 0;
    }
    if (x < 0 && type == VmxControls.INTR_TYPE_NMI) {
      // SDM 26.6.1.2: an injected NMI leaves blocking by NMI (virtual-NMI blocking with
      // "virtual NMIs") in effect after the entry, until the guest's IRET. One whose delivery
      // exited was not delivered: nothing is blocked, and the hypervisor injects it again.
      c.nmiBlocked = true;
    }
    if (x < 0) {
      openNmiWindow(c);
    }
    return x == CpuExit.TRIPLE_FAULT ? tripleFaultExit(c) : x;
  }

  /**
   * The check of SDM vol. 3, 26.2.1.1 on the VM-execution control fields that this processor
   * makes: if "unrestricted guest" is 1, "enable EPT" must be 1 (a guest whose
   * paging is off runs on guest-physical addresses, which only EPT translates). The secondary
   * controls count only with "activate secondary controls" set: with it clear the processor
   * acts as if they were all 0. Returns true when the entry may go on.
   */
  private static boolean executionControlsValid(Cpu c) {
    if (!c.vmcs.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_ACTIVATE_SECONDARY)) {
      return true;
    }
    int proc2 = c.vmcs.read32(VmcsField.SECONDARY_VM_EXEC_CONTROL);
    return (proc2 & VmxControls.PROC2_UNRESTRICTED_GUEST) == 0
        || (proc2 & VmxControls.PROC2_ENABLE_EPT) != 0;
  }

  /**
   * The checks of SDM vol. 3, 26.2.1.3 on the VM-entry fields for event injection (the
   * interruption-information field, the exception error code, the instruction length), in the
   * order the SDM lists them; any that fails is VM-instruction error 7. With the valid bit set:
   * the interruption type is not reserved (1 never is; 7, other event, is not on a processor
   * with the "monitor trap flag" control, as this one); the vector fits the type (2 for an NMI,
   * at most 31 for a hardware exception, 0 for other event); the deliver-error-code bit is set
   * exactly when the type is hardware exception, the vector one that pushes an error code
   * (#DF, #TS, #NP, #SS, #GP, #PF, #AC) and either "unrestricted guest" is 0 or the guest's
   * CR0.PE is 1 (a real-mode exception pushes none); bits 30:12 are 0; with an error code, bits
   * 31:15 of the error code are 0 (the edition this follows; later ones, for SGX's bit 15 of
   * the #PF error code, say 31:16, and this processor has no SGX); and a software interrupt,
   * privileged software exception or software exception has an instruction length of 1 to 15
   * (IA32_VMX_MISC[30], which would allow 0, is 0 here). Returns true when the entry may go on.
   */
  private static boolean injectionControlsValid(Cpu c, int info) {
    if ((info & VmxControls.INTR_INFO_VALID) == 0) {
      return true;
    }
    int type = (info >>> 8) & 7;
    int vector = info & 0xFF;
    if (type == 1) {
      return false;
    }
    if (type == VmxControls.INTR_TYPE_NMI && vector != 2
        || type == VmxControls.INTR_TYPE_HARDWARE_EXCEPTION && vector > 31
        || type == VmxControls.INTR_TYPE_OTHER_EVENT && vector != 0) {
      return false;
    }
    boolean errorCode = (info & VmxControls.INTR_INFO_ERROR_CODE_VALID) != 0;
    boolean wantsErrorCode = VmxControls.injectsErrorCode(c.vmcs, c.cr0())
        && type == VmxControls.INTR_TYPE_HARDWARE_EXCEPTION && Interrupts.hasErrorCode(vector);
    if (errorCode != wantsErrorCode) {
      return false;
    }
    if ((info & VmxControls.INTR_INFO_RESERVED) != 0) {
      return false;
    }
    if (errorCode
        && (c.vmcs.read32(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE) & 0xFFFF_8000) != 0) {
      return false;
    }
    if (type >= VmxControls.INTR_TYPE_SOFTWARE_INTERRUPT
        && type <= VmxControls.INTR_TYPE_SOFTWARE_EXCEPTION) {
      int length = c.vmcs.read32(VmcsField.VM_ENTRY_INSTRUCTION_LEN);
      return length >= 1 && length <= 15;
    }
    return true;
  }

  /**
   * The checks on the guest state that the event to inject depends on (SDM vol. 3, 26.3.1.4 and
   * 26.3.1.5), in the order the SDM lists them: an external interrupt needs RFLAGS.IF set and
   * neither blocking by STI nor by MOV SS; an NMI needs no blocking by MOV SS, no blocking by
   * STI (the SDM leaves that one to the implementation: this processor makes it, so that its
   * NMI window, which STI's shadow also holds shut, and its entry agree), and, under "virtual
   * NMIs", no virtual-NMI blocking (without that control, injecting over blocking by NMI is
   * allowed). Returns the exit qualification of the failure (26.7: 3 for an NMI over blocking by
   * STI, else 0), or -1 when the entry may go on. Hospes's interruptibility state cannot hold
   * STI and MOV SS blocking at once, so that check has nothing to find.
   */
  private static int injectionCheck(Cpu c, int info) {
    if ((info & VmxControls.INTR_INFO_VALID) == 0) {
      return -1;
    }
    int type = (info >>> 8) & 7;
    int state = c.interruptibility();
    if (type == VmxControls.INTR_TYPE_EXTERNAL) {
      if ((c.flags & Flags.IF) == 0 || (state & (Cpu.INTR_STI | Cpu.INTR_MOV_SS)) != 0) {
        return VmxControls.ENTRY_FAIL_QUAL_DEFAULT;
      }
    } else if (type == VmxControls.INTR_TYPE_NMI) {
      if ((state & Cpu.INTR_MOV_SS) != 0) {
        return VmxControls.ENTRY_FAIL_QUAL_DEFAULT;
      }
      if ((state & Cpu.INTR_STI) != 0) {
        return VmxControls.ENTRY_FAIL_QUAL_NMI_STI;
      }
      if ((state & Cpu.INTR_NMI) != 0 && c.vmcs.has(VmcsField.PIN_BASED_VM_EXEC_CONTROL,
          VmxControls.PIN_VIRTUAL_NMIS)) {
        return VmxControls.ENTRY_FAIL_QUAL_DEFAULT;
      }
    }
    return -1;
  }

  /**
   * A VM entry that failed its guest-state checks (SDM 26.7): the exit reason is 33 with bit 31
   * set, the qualification says why; every other exit-information field, the guest state (its
   * interruptibility and NMI blocking too) and the valid bit of the VM-entry
   * interruption-information field are left as they were. Nothing of the guest runs.
   */
  private static int entryFailure(Cpu c, int qualification) {
    c.vmcs.write(VmcsField.VM_EXIT_REASON, (ExitReason.ENTRY_FAIL_GUEST_STATE.code()
        | VmxControls.EXIT_REASON_ENTRY_FAILURE) & 0xFFFF_FFFFL);
    c.vmcs.write(VmcsField.EXIT_QUALIFICATION, qualification);
    return CpuExit.VM_EXIT;
  }

  /**
   * NMI-window exiting (SDM 25.2, 26.7.6): with the control on, a VM exit comes at the first
   * boundary without virtual-NMI blocking (an interrupt shadow holds it one instruction more);
   * if there is none at entry, right after it.
   */
  private static void openNmiWindow(Cpu c) {
    c.nmiWindow = !c.nmiBlocked
        && c.vmcs.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_NMI_WINDOW_EXITING);
  }

  /** Host interrupts and the interrupt window, checked at instruction boundaries. */
  static int nonRootEventCheck(Cpu c) {
    // The hypervisor's emulator (Xen's vmx_realmode) has no window exits: the windows the
    // controls ask for are VM entry's. It looks for events itself, every 16th instruction.
    boolean windows = !c.emulatorStep;
    if (c.nmiWindow && windows) {
      // At NMI priority: above external interrupts and the interrupt window.
      c.nmiWindow = false;
      if (!c.nmiBlocked && c.vmcs.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
          VmxControls.PROC_NMI_WINDOW_EXITING)) {
        c.halted = false;
        c.vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.NMI_WINDOW.code());
        c.vmcs.write(VmcsField.EXIT_QUALIFICATION, 0);
        return CpuExit.VM_EXIT;
      }
    }
    if (c.hostInterrupt && c.vmcs.has(VmcsField.PIN_BASED_VM_EXEC_CONTROL,
        VmxControls.PIN_EXTERNAL_INTERRUPT_EXITING)) {
      c.hostInterrupt = false;
      c.vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.EXTERNAL_INTERRUPT.code());
      c.vmcs.write(VmcsField.EXIT_QUALIFICATION, 0);
      return CpuExit.VM_EXIT;
    }
    if (windows && (c.flags & Flags.IF) != 0 && c.vmcs.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
        VmxControls.PROC_INTERRUPT_WINDOW_EXITING)) {
      c.halted = false;
      c.vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.INTERRUPT_WINDOW.code());
      c.vmcs.write(VmcsField.EXIT_QUALIFICATION, 0);
      return CpuExit.VM_EXIT;
    }
    return -1;
  }

  static int preemptionTimerExit(Cpu c, long used) {
    long timer = c.vmcs.read(VmcsField.VMX_PREEMPTION_TIMER_VALUE);
    c.vmcs.write(VmcsField.VMX_PREEMPTION_TIMER_VALUE, Math.max(0, timer - used));
    if (timer - used > 0) {
      return CpuExit.BUDGET;
    }
    c.vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.PREEMPTION_TIMER.code());
    c.vmcs.write(VmcsField.EXIT_QUALIFICATION, 0);
    return CpuExit.VM_EXIT;
  }

  static int tripleFaultExit(Cpu c) {
    c.vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.TRIPLE_FAULT.code());
    c.vmcs.write(VmcsField.EXIT_QUALIFICATION, 0);
    return CpuExit.VM_EXIT;
  }

  /** The exception bitmap (with #PF's error-code mask and match) decides whether to exit. */
  static int exceptionExit(Cpu c, int vector, int kind, boolean trap, boolean hasErr, int start,
      int next, int len) {
    boolean exit = (c.vmcs.read32(VmcsField.EXCEPTION_BITMAP) >>> vector & 1) != 0;
    if (vector == Exceptions.PF) {
      int mask = c.vmcs.read32(VmcsField.PAGE_FAULT_ERROR_CODE_MASK);
      int match = c.vmcs.read32(VmcsField.PAGE_FAULT_ERROR_CODE_MATCH);
      boolean matches = (c.excError & mask) == match;
      exit = exit == matches;
    }
    if (!exit) {
      return -1;
    }
    int type = trap && c.softException ? VmxControls.INTR_TYPE_SOFTWARE_EXCEPTION
        : trap ? VmxControls.INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION
        : VmxControls.INTR_TYPE_HARDWARE_EXCEPTION;
    c.vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.EXCEPTION_NMI.code());
    c.vmcs.write(VmcsField.EXIT_QUALIFICATION, vector == Exceptions.PF ? c.pfAddr & 0xFFFF_FFFFL
        : 0);
    // SDM 27.2.2: a fault of an IRET that removed NMI blocking says so in bit 12.
    c.vmcs.write(VmcsField.VM_EXIT_INTR_INFO, VmxControls.intrInfo(vector, type, hasErr)
        | (c.iretUnblockedNmi ? VmxControls.NMI_UNBLOCKED_BY_IRET : 0));
    c.iretUnblockedNmi = false;
    c.vmcs.write(VmcsField.VM_EXIT_INTR_ERROR_CODE, hasErr ? c.excError & 0xFFFF_FFFFL : 0);
    c.vmcs.write(VmcsField.VM_EXIT_INSTRUCTION_LEN, len);
    c.pfPending = false;
    c.eip = start;
    return CpuExit.VM_EXIT;
  }

  /**
   * Called when delivering an event faulted or exited in non-root operation. A VM exit thrown by
   * the delivery (task switch), or an exception the exception bitmap intercepts, becomes a VM
   * exit whose IDT-vectoring information names the event that was being delivered. Returns -1
   * when the ordinary double-fault rules apply.
   */
  static int exitDuringDelivery(Cpu c, int vector, int kind, int type, boolean hasErr, int err,
      int faultEip, int returnEip) {
    c.taskReturnEip = returnEip;
    if (!c.vmExitPending) {
      int second = c.excVector;
      boolean intercepted = (c.vmcs.read32(VmcsField.EXCEPTION_BITMAP) >>> second & 1) != 0;
      if (second == Exceptions.PF) {
        int mask = c.vmcs.read32(VmcsField.PAGE_FAULT_ERROR_CODE_MASK);
        int match = c.vmcs.read32(VmcsField.PAGE_FAULT_ERROR_CODE_MATCH);
        intercepted = intercepted == ((c.excError & mask) == match);
      }
      if (!intercepted) {
        return -1;
      }
      boolean secondErr = Interrupts.hasErrorCode(second);
      c.vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.EXCEPTION_NMI.code());
      c.vmcs.write(VmcsField.EXIT_QUALIFICATION, second == Exceptions.PF ? c.pfAddr & 0xFFFF_FFFFL
          : 0);
      c.vmcs.write(VmcsField.VM_EXIT_INTR_INFO, VmxControls.intrInfo(second,
          VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, secondErr));
      c.vmcs.write(VmcsField.VM_EXIT_INTR_ERROR_CODE, secondErr ? c.excError & 0xFFFF_FFFFL : 0);
      c.pfPending = false;
    }
    c.vmExitPending = false;
    // SDM 27.2.3: bit 11 says whether the delivery would push an error code, which a real-mode
    // delivery never does (a hypervisor injecting it again with bit 11 set would fail the VM
    // entry checks on an unrestricted guest).
    boolean pushesErr = hasErr && c.protectedMode();
    c.vmcs.write(VmcsField.IDT_VECTORING_INFO_FIELD,
        VmxControls.intrInfo(vector, type, pushesErr));
    c.vmcs.write(VmcsField.IDT_VECTORING_ERROR_CODE, pushesErr ? err & 0xFFFF_FFFFL : 0);
    if (type >= VmxControls.INTR_TYPE_SOFTWARE_INTERRUPT) {
      // SDM 27.2.4: the instruction length is saved for exits during delivery of a software
      // interrupt, a privileged software exception or a software exception.
      c.vmcs.write(VmcsField.VM_EXIT_INSTRUCTION_LEN, returnEip - faultEip);
    }
    c.eip = faultEip;
    return CpuExit.VM_EXIT;
  }

  /** I/O instruction exit check (unconditional I/O exiting or the I/O bitmaps). */
  static void ioExit(Cpu c, int port, int bytes, boolean in, boolean string, boolean rep,
      boolean imm) {
    if (c.vmcs == null) {
      return;
    }
    int proc = c.vmcs.read32(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
    boolean exit = (proc & VmxControls.PROC_USE_IO_BITMAPS) != 0 ? c.vmcs.portExits(port, bytes)
        : (proc & VmxControls.PROC_UNCONDITIONAL_IO_EXITING) != 0;
    if (exit) {
      long qual = (bytes - 1) | (in ? VmxControls.IO_QUAL_IN : 0)
          | (string ? VmxControls.IO_QUAL_STRING : 0) | (rep ? VmxControls.IO_QUAL_REP : 0)
          | (imm ? VmxControls.IO_QUAL_IMMEDIATE : 0) | ((long) (port & 0xFFFF) << 16);
      c.vmExit(ExitReason.IO_INSTRUCTION, qual);
    }
  }

  static int emulateTaskSwitchOnce(Cpu c) {
    long qual = c.vmcs.exitQualification();
    int sel = (int) qual & 0xFFFF;
    int source = (int) (qual >>> 30) & 3;
    int start = c.eip;
    int next = source == 3 ? c.taskReturnEip : c.eip + c.vmcs.exitInstructionLength();
    int reason = source == 0 ? Tasks.CALL : source == 1 ? Tasks.IRET
        : source == 2 ? Tasks.JMP : Tasks.INT;
    Vmcs saved = c.vmcs;
    c.taskCommitted = false;
    try {
      if ((sel & 4) != 0 || !Segments.fetch(c, sel)) {
        c.raise(Exceptions.TS, sel & 0xFFFC);
      }
      c.eip = next;
      // Nested exits are meaningless here: the hypervisor asked for this switch.
      c.vmcs = null;
      Tasks.switchTo(c, sel, c.dLo, c.dHi, reason);
      c.vmcs = saved;
      int info = c.vmcs.read32(VmcsField.IDT_VECTORING_INFO_FIELD);
      if (source == 3 && (info & VmxControls.INTR_INFO_ERROR_CODE_VALID) != 0) {
        c.taskPushSize = (c.trAttr & 0xF) == Segments.SYS_TSS32_BUSY ? 2 : 1;
        c.taskPushValue = c.vmcs.read32(VmcsField.IDT_VECTORING_ERROR_CODE);
        c.taskPushPending = true;
        c.pushSized(c.taskPushSize, c.taskPushValue);
        c.taskPushPending = false;
      }
      if (source != 3) {
        c.icount++;
      }
      return -1;
    } catch (CpuFault f) {
      c.vmcs = saved;
      // A fault pushing the error code comes after the switch committed: it is the new task's.
      int at = c.taskPushPending ? c.eip : start;
      return c.handleFault(at, at, false, 0);
    } catch (UnbackedAccessException e) {
      c.vmcs = saved;
      throw e;
    }
  }

  /** The decoded form of the string I/O instruction at {@code e} (its prefixes matter). */
  static int decodedStringIo(Cpu c, int e) {
    Block b = c.decoder.decode(c.segBase[CS] + e, -1, c.mode, CodeCache.codeBytesLeft(c, e));
    return b.code[0];
  }
}
