package org.hospes.hv.pv;

import org.hospes.abi.XenErrno;

/**
 * Ring compression's trap side for one PV32 vCPU, as Xen 4.17 does it for compat guests: the
 * virtual IDT from {@code set_trap_table}, the ring-1 kernel stack from {@code stack_switch}, the
 * event and failsafe callbacks from {@code callback_op}; bouncing an exception to the guest's
 * handler with Xen's frame (compat_create_bounce_frame) and the {@code iret} hypercall that
 * undoes it (compat_iret). Guest memory is written through the domain's own current tables, as
 * ring 0 would; the guest's stack segments are flat (base 0), as Xen's FLAT_RING1/3 selectors are.
 */
public final class PvTraps {
  /** The guest-visible registers a bounce and an iret change. */
  public static final class Regs {
    public int eip;
    public int cs;
    public int eflags;
    public int esp;
    public int ss;
    public int eax;
  }

  /** trap_info (x86_32, 8 bytes): vector u8 @0, flags u8 @1 (DPL 1:0, bit 2 masks events), cs u16 @2, address @4. */
  public record TrapInfo(int vector, int flags, int cs, int address) {}

  public static final int TRAP_INFO_SIZE = 8;
  /** callback_register (x86_32, 12 bytes): type u16 @0, flags u16 @2, cs @4, eip @8. */
  public static final int CALLBACK_REGISTER_SIZE = 12;
  public static final int CALLBACKOP_REGISTER = 0;
  public static final int CALLBACKOP_UNREGISTER = 1;
  public static final int CALLBACKTYPE_EVENT = 0;
  public static final int CALLBACKTYPE_FAILSAFE = 1;
  public static final int CALLBACKTYPE_NMI = 4;
  public static final int CALLBACKTYPE_SYSENTER = 5;
  public static final int CALLBACKTYPE_SYSCALL32 = 7;
  public static final int CALLBACKF_MASK_EVENTS = 1;
  /** nmi_op's commands (public/nmi.h). */
  public static final int XENNMI_REGISTER_CALLBACK = 0;
  public static final int XENNMI_UNREGISTER_CALLBACK = 1;
  /** TI_SET_IF: a trap_info flag bit saying the handler is entered with events masked. */
  public static final int TI_EVENTS_MASKED = 4;
  /** TRAP_nmi: the virtual IDT vector an NMI is delivered through. */
  public static final int NMI = 2;

  private static final int IF = 1 << 9, IOPL = 3 << 12, TF = 1 << 8, NT = 1 << 14, RF = 1 << 16;
  private static final int VM = 1 << 17;
  /** FLAT_COMPAT_KERNEL_CS: what a callback with a null code selector is entered with. */
  static final int FLAT_KERNEL_CS = 0xE019;
  /** FLAT_COMPAT_USER_SS: the stack selector sysenter_entry saves for the guest. */
  static final int FLAT_USER_SS = 0xE02B;
  private static final int GP = 13;

  /** The vCPU's evtchn_upcall_mask in its vcpu_info. */
  public interface UpcallMask {
    int get();

    void set(int mask);

    /** vcpu_info.arch.cr2, where a PV guest reads the faulting address of a bounced #PF. */
    default void setCr2(int cr2) {}
  }

  private final PvMmu memory;
  private final UpcallMask upcallMask;
  private final TrapInfo[] traps = new TrapInfo[256];
  private int kernelSs;
  private int kernelSp;
  private final int[] callbackCs = new int[8];
  private final int[] callbackEip = new int[8];
  private boolean failsafeMasksEvents;
  private boolean sysenterMasksEvents;
  /** Where the last bounce's frame could not be written (unsigned), or -1 if it was. */
  private long frameFault = -1;

  public PvTraps(PvMmu memory, UpcallMask upcallMask) {
    this.memory = memory;
    this.upcallMask = upcallMask;
  }

  /** fixup_guest_{code,stack}_selector: RPL 0 becomes the guest kernel's 1. */
  static int fixupSelector(int sel) {
    return (sel & 3) == 0 ? sel | 1 : sel;
  }

  public TrapInfo trap(int vector) {
    return traps[vector];
  }

  public int kernelSs() {
    return kernelSs;
  }

  public int kernelSp() {
    return kernelSp;
  }

  public int callbackEip(int type) {
    return callbackEip[type];
  }

  public int callbackCs(int type) {
    return callbackCs[type];
  }

  /** do_set_trap_table, never preempted: entries until one with address 0. */
  public int setTrapTable(int va) {
    return setTrapTable(va, 0, i -> false);
  }

  /**
   * compat_set_trap_table: a null list clears the table; else entries are taken in order until
   * one with address 0 (-EFAULT for one that cannot be read, the earlier ones staying set).
   * After each entry taken, {@code preempt} (given the entries taken in this leg) is asked, as
   * Xen asks hypercall_preempt_check: when it says stop, the call leaves a continuation through
   * the vCPU's one slot ({@link PvMmu#takeContinuation}) with the list advanced past the entries
   * taken, and {@code ecx} (the guest's ECX, which Xen's "h" continuation leaves alone) as it
   * was, and returns the hypercall's number as hypercall_create_continuation does. The next leg
   * may thus read only the terminator. A table with no terminator ends in -EFAULT in legs, never
   * in one long call.
   */
  public int setTrapTable(int va, int ecx, java.util.function.IntPredicate preempt) {
    if (va == 0) {
      java.util.Arrays.fill(traps, null);
      return 0;
    }
    byte[] b = new byte[TRAP_INFO_SIZE];
    for (int i = 0; ; ) {
      if (!memory.copyFromGuest(va + i * TRAP_INFO_SIZE, b)) {
        return XenErrno.EFAULT.negated();
      }
      int address = PvMmu.le32(b, 4);
      if (address == 0) {
        return 0;
      }
      int vector = b[0] & 0xFF;
      int cs = fixupSelector((b[2] & 0xFF) | (b[3] & 0xFF) << 8);
      traps[vector] = new TrapInfo(vector, b[1] & 0xFF, cs, address);
      i++;
      if (preempt.test(i)) {
        memory.continueWith(new PvMmu.Continuation(va + i * TRAP_INFO_SIZE, ecx));
        return org.hospes.abi.Hypercall.SET_TRAP_TABLE.number();
      }
    }
  }

  /** do_stack_switch: the ring-1 stack an exception from ring 3 lands on. */
  public int stackSwitch(int ss, int esp) {
    kernelSs = fixupSelector(ss & 0xFFFF);
    kernelSp = esp;
    return 0;
  }

  /**
   * compat_callback_op for a PV32 guest, in its order of checks: an unknown command is -EINVAL
   * (the compat handler's answer, where the native one says -ENOSYS) before the argument is
   * read; then the argument is copied in (-EFAULT); then the type decides. Unregistering is
   * allowed only for the NMI callback: the other types Xen knows for a 32-bit guest are -EINVAL,
   * any other type (syscall, which only 64-bit guests have, included) -ENOSYS.
   */
  public int callbackOp(int cmd, int va) {
    if (cmd != CALLBACKOP_REGISTER && cmd != CALLBACKOP_UNREGISTER) {
      return XenErrno.EINVAL.negated();
    }
    byte[] b = new byte[cmd == CALLBACKOP_REGISTER ? CALLBACK_REGISTER_SIZE : 4];
    if (!memory.copyFromGuest(va, b)) {
      return XenErrno.EFAULT.negated();
    }
    int type = (b[0] & 0xFF) | (b[1] & 0xFF) << 8;
    if (cmd == CALLBACKOP_UNREGISTER) {
      return switch (type) {
        case CALLBACKTYPE_NMI -> unregisterNmiCallback();
        case CALLBACKTYPE_EVENT, CALLBACKTYPE_FAILSAFE, CALLBACKTYPE_SYSENTER,
            CALLBACKTYPE_SYSCALL32 -> XenErrno.EINVAL.negated();
        default -> XenErrno.ENOSYS.negated();
      };
    }
    int flags = (b[2] & 0xFF) | (b[3] & 0xFF) << 8;
    switch (type) {
      case CALLBACKTYPE_NMI -> {
        return registerNmiCallback(PvMmu.le32(b, 8));
      }
      case CALLBACKTYPE_EVENT, CALLBACKTYPE_FAILSAFE, CALLBACKTYPE_SYSENTER,
          CALLBACKTYPE_SYSCALL32 -> {
        callbackCs[type] = fixupSelector(PvMmu.le32(b, 4) & 0xFFFF);
        callbackEip[type] = PvMmu.le32(b, 8);
        if (type == CALLBACKTYPE_FAILSAFE) {
          failsafeMasksEvents = (flags & CALLBACKF_MASK_EVENTS) != 0;
        } else if (type == CALLBACKTYPE_SYSENTER) {
          sysenterMasksEvents = (flags & CALLBACKF_MASK_EVENTS) != 0;
        }
        return 0;
      }
      default -> {
        return XenErrno.ENOSYS.negated();
      }
    }
  }

  /**
   * register_guest_nmi_callback: Xen keeps no NMI callback of its own, it writes the vCPU's
   * virtual IDT entry for vector 2. The entry gets FLAT_COMPAT_KERNEL_CS whatever selector the
   * guest passed (only the address is taken), DPL 0 and the events-masked flag, so an NMI enters
   * with events masked. It replaces a vector-2 entry from set_trap_table, and a later
   * set_trap_table entry for vector 2 replaces it: whichever came last is where an NMI goes.
   * A 32-bit address is always canonical, so this cannot fail. (Xen also re-raises an NMI here
   * for vCPU 0 when the domain's shared nmi_reason is non-zero; only the hardware domain is ever
   * given a reason, and this hypervisor gives none.)
   */
  public int registerNmiCallback(int address) {
    traps[NMI] = new TrapInfo(NMI, TI_EVENTS_MASKED, FLAT_KERNEL_CS, address);
    return 0;
  }

  /** unregister_guest_nmi_callback: vector 2's entry is zeroed, whoever set it. */
  public int unregisterNmiCallback() {
    traps[NMI] = null;
    return 0;
  }

  /**
   * compat_nmi_op (hypercall 28, PV guests only): XENNMI_register_callback copies its 8-byte
   * compat_nmi_callback {handler_address, pad} (-EFAULT; the pad is not looked at) and
   * registers the address as callback_op does; XENNMI_unregister_callback reads no argument;
   * any other command is -ENOSYS.
   */
  public int nmiOp(int cmd, int va) {
    switch (cmd) {
      case XENNMI_REGISTER_CALLBACK -> {
        byte[] b = new byte[8];
        if (!memory.copyFromGuest(va, b)) {
          return XenErrno.EFAULT.negated();
        }
        return registerNmiCallback(PvMmu.le32(b, 0));
      }
      case XENNMI_UNREGISTER_CALLBACK -> {
        return unregisterNmiCallback();
      }
      default -> {
        return XenErrno.ENOSYS.negated();
      }
    }
  }

  /**
   * compat_set_callbacks (hypercall 4): the event and failsafe callbacks at once, each as a
   * CALLBACKOP_register without flags.
   */
  public int setCallbacks(int eventCs, int eventEip, int failsafeCs, int failsafeEip) {
    callbackCs[CALLBACKTYPE_EVENT] = fixupSelector(eventCs & 0xFFFF);
    callbackEip[CALLBACKTYPE_EVENT] = eventEip;
    callbackCs[CALLBACKTYPE_FAILSAFE] = fixupSelector(failsafeCs & 0xFFFF);
    callbackEip[CALLBACKTYPE_FAILSAFE] = failsafeEip;
    failsafeMasksEvents = false;
    return 0;
  }

  public boolean failsafeMasksEvents() {
    return failsafeMasksEvents;
  }

  /**
   * Bounces exception {@code vector} (with {@code errorCode}, or -1 for none) to the guest's
   * handler: builds {[error code,] EIP, CS | saved upcall mask << 16, EFLAGS, [ESP, SS]} on the
   * guest kernel's stack (its own if already in ring 1, the stack_switch one from ring 3) and
   * enters the handler. Returns false when the frame cannot be written ({@link #frameFault})
   * or the handler is null: Xen then crashes the domain.
   *
   * <p>"No handler" is Xen's null_trap_bounce for a 32-bit guest: the entry's code selector is
   * 0 to 3, whatever its address (an entry never set is all zeroes; set_trap_table turns a
   * selector of 0 into 1, still null). pv_inject_event only logs it; compat_create_bounce_frame
   * writes the frame first and then refuses the null selector (compat_bounce_null_selector), so
   * an unwritable stack is what a null entry's crash reports, and a null selector never reaches
   * the return to the guest (whose fault would have entered the failsafe callback).
   */
  public boolean bounceException(Regs r, int vector, int errorCode) {
    TrapInfo t = traps[vector];
    int cs = t == null ? 0 : t.cs();
    if (!bounce(r, cs, t == null ? 0 : t.address(), t != null && (t.flags() & 4) != 0,
        errorCode)) {
      return false;
    }
    return (cs & ~3) != 0 || noHandler();
  }

  /**
   * set_guest_nmi_trapbounce's answer: vector 2's entry is not null as null_trap_bounce judges
   * a 32-bit guest's (a code selector of 0 to 3; an entry never set is all zeroes). Without a
   * handler the NMI is dropped; with one, only a fault writing its frame can stop it.
   */
  public boolean hasNmiHandler() {
    TrapInfo t = traps[NMI];
    return t != null && (t.cs() & ~3) != 0;
  }

  /**
   * An NMI for the guest (set_guest_nmi_trapbounce): to vector 2 of the virtual IDT, which the
   * NMI callback is, with no error code, events masked if the entry's flags say so (a registered
   * callback always does). False if the entry is null, as Xen's null_trap_bounce judges it for a
   * 32-bit guest (a code selector of 0 to 3, so also an entry never set): the NMI is lost.
   */
  public boolean bounceNmi(Regs r) {
    if (!hasNmiHandler()) {
      return noHandler();
    }
    TrapInfo t = traps[NMI];
    return bounce(r, t.cs(), t.address(), (t.flags() & TI_EVENTS_MASKED) != 0, -1);
  }

  /**
   * pv_inject_page_fault: the faulting address goes to vcpu_info.arch.cr2 (a PV guest cannot
   * read the real CR2), the error code's U bit says whether the guest kernel was running, then
   * the fault is bounced as any exception.
   */
  public boolean bouncePageFault(Regs r, int errorCode, int cr2) {
    upcallMask.setCr2(cr2);
    int user = 4;
    int code = (r.cs & 3) == 1 ? errorCode & ~user : errorCode | user;
    return bounceException(r, 14, code);
  }

  /**
   * SYSENTER from the guest (sysenter_entry and compat_sysenter): the processor has cleared
   * VM, IF and RF; Xen saves no return address, only {EIP 0, CS 3, EFLAGS, ESP 0,
   * FLAT_USER_SS}, so the guest's entry code must find the caller's EIP and ESP in registers by
   * its own convention. The frame goes on the kernel stack (CS 3 reads as ring 3) and the sysenter
   * callback is entered, events masked if it was registered with CALLBACKF_mask_events. With no
   * sysenter callback (an address of 0), or with EFLAGS.NT set (sysenter_entry's
   * sysenter_nt_set, since its own return could not cope with NT), Xen bounces #GP(0) instead,
   * to the guest's #GP handler (its trap flag deciding the event mask). compat_sysenter turns a
   * null selector (0-3) into FLAT_COMPAT_KERNEL_CS and checks nothing else, so a #GP handler
   * never set is entered too, at FLAT_COMPAT_KERNEL_CS:0: the guest takes whatever fault that
   * address gives it, as it would on Xen, rather than the domain being crashed here. Returns
   * false only when the frame cannot be written ({@link #frameFault}).
   */
  public boolean bounceSysenter(Regs r) {
    boolean nt = (r.eflags & NT) != 0;
    r.eflags &= ~(VM | IF | RF);
    r.eip = 0;
    r.cs = 3;
    r.esp = 0;
    r.ss = FLAT_USER_SS;
    int cs;
    int eip;
    boolean mask;
    int error;
    if (callbackEip[CALLBACKTYPE_SYSENTER] != 0 && !nt) {
      cs = callbackCs[CALLBACKTYPE_SYSENTER];
      eip = callbackEip[CALLBACKTYPE_SYSENTER];
      mask = sysenterMasksEvents;
      error = -1;
    } else {
      TrapInfo gp = traps[GP];
      cs = gp == null ? 0 : gp.cs();
      eip = gp == null ? 0 : gp.address();
      mask = gp != null && (gp.flags() & 4) != 0;
      error = 0;
    }
    return bounce(r, (cs & ~3) == 0 ? FLAT_KERNEL_CS : cs, eip, mask, error);
  }

  /**
   * Enters the event callback as Xen's compat_test_guest_events does for a pending upcall
   * (events masked on entry). Xen asks nothing first: it bounces to the callback's selector and
   * address as they are, so a callback never registered (selector 0) or registered with a null
   * selector is refused by compat_create_bounce_frame after the frame is written, and the
   * domain is crashed; an address of 0 with a good selector is entered. Returns false for that
   * null selector or a frame that cannot be written ({@link #frameFault}).
   */
  public boolean bounceEvent(Regs r) {
    int cs = callbackCs[CALLBACKTYPE_EVENT];
    if (!bounce(r, cs, callbackEip[CALLBACKTYPE_EVENT], true, -1)) {
      return false;
    }
    return (cs & ~3) != 0 || noHandler();
  }

  /**
   * The failsafe callback (compat_create_bounce_frame with TBF_FAILSAFE): Xen enters it when
   * its return to the guest faults on a selector, with {DS, ES, FS, GS, EIP, CS | mask << 16,
   * EFLAGS} (plus ESP, SS from ring 3) on the guest kernel's stack, so that the kernel can
   * repair its frame. Returns false when none is registered or the frame cannot be written.
   */
  public boolean bounceFailsafe(Regs r, int ds, int es, int fs, int gs) {
    if (callbackEip[CALLBACKTYPE_FAILSAFE] == 0) {
      return noHandler();
    }
    byte[] seg = new byte[16];
    int[] sels = {ds, es, fs, gs};
    for (int i = 0; i < 4; i++) {
      for (int k = 0; k < 4; k++) {
        seg[4 * i + k] = (byte) ((sels[i] & 0xFFFF) >>> (8 * k));
      }
    }
    Regs below = new Regs();
    below.eip = r.eip;
    below.cs = r.cs;
    below.eflags = r.eflags;
    below.esp = r.esp;
    below.ss = r.ss;
    if (!bounce(below, callbackCs[CALLBACKTYPE_FAILSAFE], callbackEip[CALLBACKTYPE_FAILSAFE],
        failsafeMasksEvents, -1)) {
      return false;
    }
    // The segment words sit below the frame bounce() wrote.
    if (!memory.copyToGuest(below.esp - 16, seg)) {
      frameFault = (below.esp - 16) & 0xFFFF_FFFFL;
      return false;
    }
    r.eip = below.eip;
    r.cs = below.cs;
    r.eflags = below.eflags;
    r.esp = below.esp - 16;
    r.ss = below.ss;
    return true;
  }

  /**
   * Where the last bounce failed to write its frame on the guest's stack (the frame's lowest
   * address, unsigned), or -1 if it wrote it or failed for another reason (no handler). Xen's
   * compat_create_bounce_frame takes a fault on any word of the frame as the end of the domain
   * (compat_crash_page_fault, then domain_crash_sync): the caller crashes it with this address,
   * whatever was being delivered (exception, NMI, event, sysenter, failsafe).
   */
  public long frameFault() {
    return frameFault;
  }

  /** A bounce that found nothing to enter: false, and no frame fault to report. */
  private boolean noHandler() {
    frameFault = -1;
    return false;
  }

  private boolean bounce(Regs r, int cs, int eip, boolean maskEvents, int errorCode) {
    frameFault = -1;
    boolean fromUser = (r.cs & 2) != 0; // ring 2 or 3
    int sp = fromUser ? kernelSp : r.esp;
    int ss = fromUser ? kernelSs : r.ss;
    int mask = upcallMask.get() & 0xFF;
    int eflags = (r.eflags & ~(IF | IOPL)) | (mask == 0 ? IF : 0);
    int[] words = errorCode != -1
        ? new int[] {errorCode, r.eip, (r.cs & 0xFFFF) | mask << 16, eflags}
        : new int[] {r.eip, (r.cs & 0xFFFF) | mask << 16, eflags};
    if (fromUser) {
      words = java.util.Arrays.copyOf(words, words.length + 2);
      words[words.length - 2] = r.esp;
      words[words.length - 1] = r.ss;
    }
    sp -= 4 * words.length;
    byte[] frame = new byte[4 * words.length];
    for (int i = 0; i < words.length; i++) {
      for (int k = 0; k < 4; k++) {
        frame[4 * i + k] = (byte) (words[i] >>> (8 * k));
      }
    }
    if (!memory.copyToGuest(sp, frame)) {
      frameFault = sp & 0xFFFF_FFFFL;
      return false;
    }
    if (maskEvents) {
      upcallMask.set(1);
    }
    r.eflags = (r.eflags & ~(VM | RF | NT | TF)) | IF;
    r.ss = ss;
    r.esp = sp;
    r.cs = cs;
    r.eip = eip;
    return true;
  }

  /**
   * compat_iret's answer to a frame with EFLAGS.VM: a 32-bit PV guest has no VM86 mode, so Xen
   * reports #GP as if on the first VM86 instruction. The frame's nine words after EAX (EIP, CS,
   * EFLAGS, ESP, SS, ES, DS, FS, GS) are moved to 40 bytes below the stack_switch stack, with an
   * error code 0 under them, and the guest's #GP handler is entered on that stack; events are
   * masked if the frame's IF was clear or the handler's trap flag asks for it. Returns false
   * (Xen crashes the domain) when the words cannot be moved.
   */
  private boolean iretToVm86(Regs r, int eax, int eflags) {
    int ksp = kernelSp - 40;
    byte[] words = new byte[36];
    if (!memory.copyFromGuest(r.esp + 4, words) || !memory.copyToGuest(ksp + 4, words)
        || !memory.copyToGuest(ksp, new byte[4])) {
      return false;
    }
    TrapInfo gp = traps[GP];
    int maskFrom = gp != null && (gp.flags() & 4) != 0 ? eflags & ~IF : eflags;
    r.eax = eax;
    r.esp = ksp;
    r.ss = kernelSs;
    r.eflags = ((eflags & ~IOPL) | IF) & ~(VM | RF | NT | TF);
    r.eip = gp == null ? 0 : gp.address();
    r.cs = gp == null ? 0 : gp.cs();
    upcallMask.set((maskFrom & IF) == 0 ? 1 : 0);
    return true;
  }

  /**
   * compat_iret (hypercall 23): the guest's stack holds {EAX, EIP, CS, EFLAGS, [ESP, SS]} (its
   * stub pushed EAX); restores them, EFLAGS.IF becoming the upcall mask. Returns false when the
   * frame cannot be read or names ring 0: Xen crashes the domain.
   */
  public boolean iret(Regs r) {
    byte[] b = new byte[16];
    if (!memory.copyFromGuest(r.esp, b)) {
      return false;
    }
    int eax = PvMmu.le32(b, 0);
    int eip = PvMmu.le32(b, 4);
    int cs = PvMmu.le32(b, 8) & 0xFFFF;
    int eflags = PvMmu.le32(b, 12);
    if ((eflags & VM) != 0) {
      return iretToVm86(r, eax, eflags);
    }
    if ((cs & 3) == 0) {
      return false;
    }
    int esp = r.esp + 16;
    int ss = r.ss;
    if ((cs & 3) != 1) {
      byte[] outer = new byte[8];
      if (!memory.copyFromGuest(r.esp + 16, outer)) {
        return false;
      }
      esp = PvMmu.le32(outer, 0);
      ss = PvMmu.le32(outer, 4) & 0xFFFF;
    }
    r.eax = eax;
    r.eip = eip;
    r.cs = cs;
    r.eflags = (eflags & ~IOPL) | IF;
    r.esp = esp;
    r.ss = ss;
    upcallMask.set((eflags & IF) == 0 ? 1 : 0);
    return true;
  }
}
