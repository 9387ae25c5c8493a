package org.hospes.hv.hvm;

import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.memory.ShadowPager;
import org.hospes.x86.Cpu;
import org.hospes.x86.Exceptions;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * Real mode of one vCPU under shadow paging, as Xen ran it on VT-x before unrestricted guest
 * (its {@code vmx_realmode} with the VM86 TSS). VT-x without unrestricted guest cannot enter a
 * guest with CR0.PE or PG clear, so while the guest's CR0.PE is 0 the vCPU runs one of two
 * ways:
 *
 * <ul>
 *   <li><b>Virtual-8086 mode</b>, when every segment register is what an 8086 segment is
 *       (base = selector &lt;&lt; 4, limit 0xFFFF): real CR0.PE, PG and WP set, CR3 at the
 *       identity shadow of guest-physical memory (what Xen used for unpaged guests) with the
 *       hypervisor's TSS mapped above 1 MiB ({@link ShadowPager#setVm86}), EFLAGS.VM set and
 *       IOPL 0, so that CLI, STI, PUSHF, POPF, INT n and IRET raise #GP, as do LGDT, LIDT, MOV
 *       CRx, LMSW, HLT and the other privileged instructions at CPL 3. The exception bitmap
 *       is all ones: every exception exits. A #PF is the shadow pager's; any other exception
 *       makes the hypervisor run that instruction in its emulator. IN and OUT pass the TSS's I/O
 *       bitmap (all ports allowed) and exit as I/O instructions. The guest's IOPL, segment
 *       access rights and TR are kept here and put back when it leaves VM86 mode.</li>
 *   <li><b>Emulation</b>, instruction by instruction (Xen's emulation loop), when the segment
 *       state is not VM86's (the reset CS at 0xFFFF0000, segments left by protected mode,
 *       "big real" 4 GiB limits), for the instruction that faulted in VM86 mode, and to deliver
 *       an event (delivered by the emulator through the IVT, as Xen's
 *       realmode_deliver_exception, not injected by VM entry). The emulator is the processor's
 *       interpreter run by the hypervisor in root mode ({@link Cpu#emulateStep}, as a task
 *       switch is finished) on the guest's own real-mode state
 *       ({@link Cpu#loadEmulatorControlRegisters}); each step is one emulated instruction,
 *       counted and charged. What it hands back (I/O, CPUID, CR access, shadow faults) goes
 *       to the same handlers as the exits of a guest that runs.</li>
 * </ul>
 *
 * <p>When CR0.PE is set the vCPU is in protected mode with the segments real mode left. Xen's
 * loop goes on emulating while CS's or SS's selector has a nonzero RPL (vmx_realmode: VM entry
 * refuses such a CS or SS, whose DPL real mode left at 0), whether or not the guest has
 * reloaded them; once both RPLs are 0 it stops for good, gives DS, ES, FS and GS a DPL equal to
 * their RPL (what VM entry needs of them) and the vCPU enters normally, real mode's CS and SS
 * still in place if the guest has not reloaded them. Meanwhile the emulator delivers no event ({@link #holdEvent}): Xen emulates no protected-mode IDT
 * vectoring, so a queued event waits for that entry, and an exception crashes the domain
 * ({@link #protectedModeException}, {@link #releaseEvent}), as does a software interrupt (INT
 * n, INT3, INTO, INT1): Xen's emulator makes it an event for VM entry to inject, which in
 * protected mode is "exception in protected mode" too ({@link Cpu#setSoftwareInterruptExit}).
 */
public final class ShadowRealMode {
  /** What the processor holds for this vCPU. */
  enum State {
    /** The guest's own state: protected mode, or real mode under the emulator. */
    PLAIN,
    /** The guest's real mode transformed to virtual-8086 mode. */
    VM86
  }

  private static final boolean TRACE = Boolean.getBoolean("hospes.realModeTrace");
  private static final int IOPL = 3 << 12;
  private static final int VM = 1 << 17;
  /** The DPL in {@link Cpu#segmentAttributes}'s encoding (the descriptor's bits 45-46). */
  private static final int DPL_SHIFT = 5;
  private static final int DPL_MASK = 3 << DPL_SHIFT;
  private static final int[] DATA_SEGMENTS = {Cpu.DS, Cpu.ES, Cpu.FS, Cpu.GS};

  private State state = State.PLAIN;
  /** The guest's IOPL, access rights and TR while VM86 mode holds other values. */
  private int savedIopl;
  private final int[] savedAttr = new int[6];
  private int savedTrSel;
  private int savedTrBase;
  private int savedTrLimit;
  private int savedTrAttr;
  private int savedExceptionBitmap;
  /** The next entry emulates: the instruction that faulted in VM86 mode has not retired yet. */
  private boolean mustEmulate;
  private long mustEmulateAt;
  /** This step runs the emulator (one instruction, {@link Cpu#emulateStep}), not a VM entry. */
  private boolean emulating;
  /**
   * Xen's vmx_emulate in protected mode: set as the emulated instruction sets CR0.PE, cleared
   * for good once CS's and SS's selector RPLs are both 0 ({@link #protectedModeEmulation}).
   */
  private boolean emulateProtected;
  /** The processor's software interrupts leave the emulator's step (protected mode only). */
  private boolean softwareInterruptsExit;

  /**
   * Xen's emulation loop (vmx_realmode): the emulator runs instruction after instruction
   * without going back through the VM-entry path, so nothing is injected between them
   * (vmx_intr_assist runs only on the way in). It checks for events itself only before every
   * 16th instruction of a loop, and only in real mode ("hvm_local_events_need_delivery() is
   * moderately expensive"). A loop ends at a softirq (a timer that fired, the end of a time
   * slice, a kick), an I/O request for the device model, a blocked vCPU, or once the segments
   * no longer need the emulator; the next step then goes through vmx_intr_assist and starts
   * a new loop, counted from zero. So an interrupt the guest's own instruction makes
   * deliverable (STI, POPF, an unmasked line) waits up to 15 instructions, as under Xen.
   */
  private boolean inLoop;
  /** Xen's {@code emulations}: the number in its loop of the instruction this step runs. */
  private int emulations;
  /** The last step retired an instruction (a shadow fault's restart is the same one again). */
  private boolean retired;
  /** Timers the platform had fired when the last step began ({@code TimerQueue.fired}). */
  private long timersSeen;
  /** Loops ended at a 16th instruction with an event to deliver. */
  long loopEventChecks;

  /**
   * Before a step, ahead of vmx_intr_assist: true when this step goes on with the emulation
   * loop of the step before, so that nothing is injected now (the caller skips the assist).
   * False when a loop ended, or ends here: the assist runs, and if the step emulates it starts
   * a new loop ({@link #loopStarted}). Xen's check for events, {@code hvm_local_events_need_
   * delivery}, is the platform's {@link HvmPlatform#eventsNeedDelivery}.
   */
  public boolean continuesLoop(Cpu cpu, int guestCr0, HvmPlatform platform, Vcpu v) {
    if (!inLoop) {
      return false;
    }
    inLoop = false;
    if (platform.timers().fired() != timersSeen || !emulatesWithoutEvent(cpu, guestCr0)) {
      return false;
    }
    if (retired) {
      if (((emulations + 1) & 15) == 0 && (guestCr0 & Cpu.CR0_PE) == 0
          && platform.eventsNeedDelivery(v)) {
        loopEventChecks++;
        return false;
      }
      emulations++;
    }
    inLoop = true;
    return true;
  }

  /** A step that emulates and did not continue a loop begins one: its instruction is the 1st. */
  public void loopStarted(HvmPlatform platform) {
    inLoop = true;
    emulations = 1;
    retired = false;
    timersSeen = platform.timers().fired();
  }

  /**
   * After an emulated step: whether it retired an instruction, and whether what it handed back
   * ends the loop (an I/O request for the device model, a host interrupt, a blocked vCPU).
   */
  public void stepDone(boolean retiredOne, boolean ends) {
    retired = retiredOne;
    if (ends) {
      inLoop = false;
    }
  }

  /** A softirq, or a step that did not emulate: the next emulated step starts a new loop. */
  public void loopEnded() {
    inLoop = false;
  }

  /** True while steps go on with one emulation loop. */
  public boolean inLoop() {
    return inLoop;
  }

  /** Loops that ended before a 16th instruction because an event was there to deliver. */
  public long loopEventChecks() {
    return loopEventChecks;
  }

  /** The instruction number in the current loop (for tests), or 0 outside one. */
  int loopInstruction() {
    return inLoop ? emulations : 0;
  }

  /**
   * What {@link #beforeEntry} decides when no event is queued, without changing anything: Xen's
   * vmx_emulate after an instruction (real mode: segments VM86 mode cannot hold, or the
   * instruction VM86 mode faulted on not yet retired; protected mode: a CS or SS selector with
   * a nonzero RPL, since CR0.PE was set).
   */
  private boolean emulatesWithoutEvent(Cpu cpu, int guestCr0) {
    if (state != State.PLAIN) {
      return false;
    }
    if ((guestCr0 & Cpu.CR0_PE) == 0) {
      boolean must = mustEmulate && cpu.instructions() <= mustEmulateAt;
      return must || !vm86Segments(cpu);
    }
    return emulateProtected && unsafeSelectors(cpu);
  }

  /**
   * Xen's test after each instruction its loop emulates in protected mode: CS's or SS's
   * selector has a nonzero RPL, which VM entry would refuse with the DPL real mode left.
   */
  private static boolean unsafeSelectors(Cpu cpu) {
    return ((cpu.segmentSelector(Cpu.CS) | cpu.segmentSelector(Cpu.SS)) & 3) != 0;
  }

  /**
   * The event vmx_realmode took out of the VM-entry interruption-information field for a step
   * in protected mode (0: none). Xen's loop gets and clears that field as it starts and
   * delivers the event itself (realmode_deliver_exception, through the IVT) only when CR0.PE is
   * clear: "we don't emulate protected-mode IDT vectoring". With CR0.PE set it holds the event
   * while it emulates and writes it back as it leaves, so the VM entry that follows, once the
   * segments are fit for one, injects it through the IDT.
   */
  private int heldEvent;
  /**
   * While the emulator runs protected mode, every exception exits (the exception bitmap is all
   * ones, the domain's own kept here): Xen's emulator cannot deliver one there and crashes the
   * domain ({@link #protectedModeException}), where the processor would have gone through the
   * guest's IDT. A #PF still reaches the shadow pager first.
   */
  private boolean trapAll;
  private int trapAllSavedBitmap;

  /**
   * Before an emulated step (Xen's vmx_realmode, "get-and-clear VM_ENTRY_INTR_INFO"): with
   * {@code guestCr0}'s PE set, a queued event is taken out of the field, so that the emulator
   * does not deliver it; in real mode it stays there for the emulator to deliver through the
   * IVT ({@link Cpu#emulateStep}).
   */
  public void holdEvent(Vmcs vmcs, int guestCr0) {
    heldEvent = 0;
    if ((guestCr0 & Cpu.CR0_PE) == 0) {
      return;
    }
    int info = vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD);
    if ((info & VmxControls.INTR_INFO_VALID) != 0) {
      heldEvent = info;
      vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0);
    }
  }

  /**
   * After an emulated step and its hand-back's handling: Xen's "re-instate VM_ENTRY_INTR_INFO
   * if we did not discharge it". Returns the vector of an exception the step raised in
   * protected mode (one a handler queued: a #GP for a refused MSR or CR write, a guest's #PF),
   * or -1. Xen's emulator cannot deliver one there either, and crashes the domain ("exception
   * in protected mode", vmx_realmode_emulate_one); held, it would only fault again at every
   * step. The held event goes back over whatever the step queued, as Xen writes it back.
   */
  public int releaseEvent(Vmcs vmcs, int guestCr0) {
    int info = vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD);
    int raised = -1;
    if ((guestCr0 & Cpu.CR0_PE) != 0 && (info & VmxControls.INTR_INFO_VALID) != 0) {
      int type = (info >>> 8) & 7;
      if (type != VmxControls.INTR_TYPE_EXTERNAL && type != VmxControls.INTR_TYPE_NMI) {
        raised = info & 0xFF;
      }
    }
    if (heldEvent != 0) {
      vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, heldEvent & 0xFFFF_FFFFL);
      heldEvent = 0;
    }
    return raised;
  }

  /**
   * An exception exit that the emulator handed back: true when the guest is in protected mode
   * and it is not a #PF (which is the shadow pager's, and crashes the domain only if it is the
   * guest's own, {@link #releaseEvent}): Xen's vmx_realmode_emulate_one crashes the domain
   * ("exception in protected mode") instead of delivering it.
   */
  boolean protectedModeException(Vmcs vmcs, int guestCr0) {
    if (!emulating || (guestCr0 & Cpu.CR0_PE) == 0) {
      return false;
    }
    int info = vmcs.read32(VmcsField.VM_EXIT_INTR_INFO);
    int type = (info >>> 8) & 7;
    return type != VmxControls.INTR_TYPE_EXTERNAL && type != VmxControls.INTR_TYPE_NMI
        && (info & 0xFF) != Exceptions.PF;
  }

  /** Every exception exits while the emulator runs protected mode ({@link #trapAll}). */
  private void trapAllExceptions(Vmcs vmcs, boolean on) {
    if (on == trapAll) {
      return;
    }
    if (on) {
      trapAllSavedBitmap = vmcs.read32(VmcsField.EXCEPTION_BITMAP);
      vmcs.write(VmcsField.EXCEPTION_BITMAP, 0xFFFF_FFFFL);
    } else {
      vmcs.write(VmcsField.EXCEPTION_BITMAP, trapAllSavedBitmap & 0xFFFF_FFFFL);
    }
    trapAll = on;
  }

  /** Exits in VM86 mode that sent an instruction to the emulator. */
  long vm86Faults;
  /** VM entries into VM86 mode (from emulation or a fresh real-mode start). */
  long vm86Entries;

  /**
   * True while this step runs the emulator instead of entering the guest: the hypervisor calls
   * {@link Cpu#emulateStep}, and an exit handled meanwhile is one the emulator handed back.
   */
  public boolean emulating() {
    return emulating;
  }

  /** True while the processor holds the guest's real mode as virtual-8086 mode. */
  public boolean inVm86() {
    return state == State.VM86;
  }

  public long vm86Entries() {
    return vm86Entries;
  }

  public long vm86Faults() {
    return vm86Faults;
  }

  /**
   * The processor's registers were loaded directly (a builder, INIT, SIPI): they are the
   * guest's own, so nothing kept here applies any more.
   */
  void forget(Vmcs vmcs, ShadowPager shadow) {
    trapAllExceptions(vmcs, false);
    if (state == State.VM86) {
      vmcs.write(VmcsField.EXCEPTION_BITMAP, savedExceptionBitmap & 0xFFFF_FFFFL);
    }
    state = State.PLAIN;
    mustEmulate = false;
    emulating = false;
    emulateProtected = false;
    shadow.setVm86(false);
  }

  /**
   * An exception exit in VM86 mode other than the shadow pager's #PF: the instruction is one
   * VM86 mode cannot run (or it faulted in a way only real mode defines); the emulator runs it.
   * Returns false when the vCPU was not in VM86 mode.
   */
  boolean onVm86Exception(Cpu cpu) {
    if (state != State.VM86) {
      return false;
    }
    vm86Faults++;
    mustEmulate = true;
    mustEmulateAt = cpu.instructions();
    return true;
  }

  /**
   * The guest set CR0.PE. Real mode runs in VM86 mode or the emulator, and MOV CR0 and LMSW
   * fault in VM86 mode, so the emulator set it: Xen's loop is running (vmx_emulate), and
   * decides after this instruction whether to go on ({@link #protectedModeEmulation}).
   */
  void protectedModeEntered() {
    emulateProtected = true;
  }

  /** The guest cleared CR0.PE (back to real mode). */
  void realModeEntered() {
    emulateProtected = false;
  }

  /**
   * Whether the emulator goes on in protected mode: Xen's vmx_realmode after an emulated
   * instruction sets vmx_emulate to "CS.RPL or SS.RPL nonzero", and nothing sets it again
   * while CR0.PE stays set. As the loop ends without emulation it makes DS, ES, FS and GS's
   * DPL their selector's RPL: VM entry refuses a data segment whose DPL is below its RPL, and
   * real mode left DPL 0 with whatever RPL the selector's low bits give.
   */
  private boolean protectedModeEmulation(Cpu cpu) {
    if (emulateProtected && !unsafeSelectors(cpu)) {
      emulateProtected = false;
      for (int seg : DATA_SEGMENTS) {
        int dpl = (cpu.segmentSelector(seg) & 3) << DPL_SHIFT;
        int attr = cpu.segmentAttributes(seg);
        if ((attr & DPL_MASK) != dpl) {
          cpu.loadSegmentState(seg, cpu.segmentSelector(seg), cpu.segmentBase(seg),
              cpu.segmentLimit(seg), (attr & ~DPL_MASK) | dpl);
        }
      }
    }
    return emulateProtected;
  }

  /**
   * Before each VM entry of a vCPU whose guest is in real mode or just left it: VM86 mode,
   * emulation, or (protected mode with reloaded segments) a plain entry. {@code guestCr0} is
   * the guest's CR0 as the shadow pager holds it; {@code cr4} the real CR4 to keep.
   */
  void beforeEntry(Cpu cpu, Vmcs vmcs, ShadowPager shadow, int guestCr0, int cr4) {
    emulating = false;
    if (mustEmulate && cpu.instructions() > mustEmulateAt) {
      // The instruction sent to the emulator has retired (or an event came first; if so it
      // faults again when the guest returns to it).
      mustEmulate = false;
    }
    boolean event = (vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD)
        & VmxControls.INTR_INFO_VALID) != 0;
    if ((guestCr0 & Cpu.CR0_PE) == 0) {
      // Back to real mode: VM86 mode keeps the domain's own bitmap.
      trapAllExceptions(vmcs, false);
      boolean vm86Ok = !event && !mustEmulate && vm86Segments(cpu);
      if (state == State.VM86 && !vm86Ok) {
        leaveVm86(cpu, vmcs, shadow, guestCr0, cr4);
      } else if (state == State.PLAIN && vm86Ok) {
        enterVm86(cpu, vmcs, shadow, cr4);
      }
      emulating = state == State.PLAIN;
    } else {
      emulating = protectedModeEmulation(cpu);
      trapAllExceptions(vmcs, emulating);
    }
    // Xen's x86_emulate takes INT n (INT3, INTO, INT1 too) as a software event for VM entry to
    // inject (its "swint", not through the IDT: VT-x injects software interrupts), and its
    // vmx_realmode_emulate_one crashes the domain for any event with CR0.PE set; in real mode
    // realmode_deliver_exception takes it through the IVT, as the emulator does here.
    boolean protectedModeEmulator = emulating && (guestCr0 & Cpu.CR0_PE) != 0;
    if (protectedModeEmulator != softwareInterruptsExit) {
      softwareInterruptsExit = protectedModeEmulator;
      cpu.setSoftwareInterruptExit(protectedModeEmulator);
    }
    if (TRACE && (emulating || state == State.VM86 || (guestCr0 & Cpu.CR0_PE) == 0)) {
      System.err.printf("realmode: %s%s cs=%04x:%08x pe=%d eflags=%08x%n", state,
          emulating ? " emulating" : "", cpu.segmentSelector(Cpu.CS), cpu.eip(),
          guestCr0 & 1, cpu.eflags());
    }
  }

  /** Every segment register is an 8086 segment: VM86 mode gives the same addresses. */
  static boolean vm86Segments(Cpu cpu) {
    for (int s = 0; s < 6; s++) {
      if (cpu.segmentBase(s) != cpu.segmentSelector(s) << 4 || cpu.segmentLimit(s) != 0xFFFF) {
        return false;
      }
    }
    return true;
  }

  private void enterVm86(Cpu cpu, Vmcs vmcs, ShadowPager shadow, int cr4) {
    vm86Entries++;
    for (int s = 0; s < 6; s++) {
      savedAttr[s] = cpu.segmentAttributes(s);
    }
    savedTrSel = cpu.taskRegisterSelector();
    savedTrBase = cpu.taskRegisterBase();
    savedTrLimit = cpu.taskRegisterLimit();
    savedTrAttr = cpu.taskRegisterAttributes();
    int flags = cpu.eflags();
    savedIopl = flags & IOPL;
    shadow.setVm86(true);
    int realCr0 = (cpu.cr0() & ~ShadowControl.CR0_OWNED) | ShadowControl.CR0_OWNED;
    cpu.loadControlRegisters(realCr0, shadow.realCr3(), cr4 & ~ShadowControl.CR4_OWNED);
    cpu.setEflags((flags & ~IOPL) | VM);
    for (int s = 0; s < 6; s++) {
      cpu.loadSegmentState(s, cpu.segmentSelector(s), cpu.segmentBase(s), 0xFFFF,
          Cpu.vm86SegmentAttributes(s));
    }
    cpu.setTaskRegister(0, ShadowPager.VM86_TSS_LINEAR, ShadowPager.VM86_TSS_LIMIT);
    cpu.loadCpl(3);
    savedExceptionBitmap = vmcs.read32(VmcsField.EXCEPTION_BITMAP);
    vmcs.write(VmcsField.EXCEPTION_BITMAP, 0xFFFF_FFFFL);
    state = State.VM86;
  }

  private void leaveVm86(Cpu cpu, Vmcs vmcs, ShadowPager shadow, int guestCr0, int cr4) {
    int flags = cpu.eflags();
    cpu.setEflags((flags & ~(IOPL | VM)) | savedIopl);
    for (int s = 0; s < 6; s++) {
      // Real mode's segment loads keep the access rights; VM86 mode's limits are 0xFFFF as
      // real mode's were when it was entered.
      cpu.loadSegmentState(s, cpu.segmentSelector(s), cpu.segmentBase(s), 0xFFFF, savedAttr[s]);
    }
    cpu.loadTaskRegisterState(savedTrSel, savedTrBase, savedTrLimit, savedTrAttr);
    shadow.setVm86(false);
    int cr0 = (cpu.cr0() & ~ShadowControl.CR0_OWNED) | (guestCr0 & ShadowControl.CR0_OWNED);
    cpu.loadEmulatorControlRegisters(cr0, shadow.realCr3(), cr4 & ~ShadowControl.CR4_OWNED);
    cpu.loadCpl(0);
    vmcs.write(VmcsField.EXCEPTION_BITMAP, savedExceptionBitmap & 0xFFFF_FFFFL);
    state = State.PLAIN;
  }
}
