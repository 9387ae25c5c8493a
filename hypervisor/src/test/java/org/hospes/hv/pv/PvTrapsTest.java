package org.hospes.hv.pv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.abi.PvMmuAbi.*;
import static org.hospes.hv.pv.PvFixture.*;

import org.hospes.abi.XenErrno;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * set_trap_table, stack_switch, callback_op, the bounce of an exception to the guest's handler
 * with Xen's compat frame, and the iret hypercall, on a guest address space of {@link PvFixture}
 * (VA 0x1000 * (i + 1) is page i).
 */
class PvTrapsTest {
  private final PvFixture m = new PvFixture();
  private final PvMmu mmu = m.mmu(DOM);
  private final int[] mask = {0};
  private final int[] cr2 = {0};
  private final PvTraps traps = new PvTraps(mmu, new PvTraps.UpcallMask() {
    @Override
    public int get() {
      return mask[0];
    }

    @Override
    public void set(int v) {
      mask[0] = v;
    }

    @Override
    public void setCr2(int v) {
      cr2[0] = v;
    }
  });
  private PvFixture.Space s;

  @BeforeEach
  void setUp() {
    s = m.space(DOM, 4);
    assertThat(mmu.extOp(MMUEXT_NEW_BASEPTR, (int) s.l3(), 0)).isZero();
    // Trap table at VA 0x1000: #PF (14) to 0xE019:0xC0001000 masking events, #GP (13) with CS 0xE018.
    long t = s.pages()[0] << 12;
    m.machine.write32(t, 14 | 4 << 8 | 0xE019 << 16);
    m.machine.write32(t + 4, 0xC000_1000);
    m.machine.write32(t + 8, 13 | 0xE018 << 16);
    m.machine.write32(t + 12, 0xC000_2000);
    m.machine.write32(t + 16, 3 | 0xE019 << 16);
    m.machine.write32(t + 20, 0); // terminator: address 0
    assertThat(traps.setTrapTable(0x1000)).isZero();
    assertThat(traps.stackSwitch(0xE021, 0x4000)).isZero();
  }

  private int word(int va) {
    return m.machine.read32(mmu.translate(va, false));
  }

  @Test
  void theTrapTableEndsAtAZeroAddressAndRing0SelectorsBecomeRing1() {
    assertThat(traps.trap(14)).isEqualTo(new PvTraps.TrapInfo(14, 4, 0xE019, 0xC000_1000));
    assertThat(traps.trap(13).cs()).isEqualTo(0xE019);
    assertThat(traps.trap(3)).isNull();
    assertThat(traps.setTrapTable(0x40_0000)).isEqualTo(XenErrno.EFAULT.negated());
    assertThat(traps.setTrapTable(0)).isZero();
    assertThat(traps.trap(14)).isNull();
  }

  @Test
  void anExceptionInRing1IsBouncedOnTheSameStackWithXensFrame() {
    PvTraps.Regs r = new PvTraps.Regs();
    r.cs = 0xE019;
    r.ss = 0xE021;
    r.esp = 0x3800;
    r.eip = 0xC000_5555;
    r.eflags = 0x246 | 1 << 8; // IF, ZF, PF and TF
    assertThat(traps.bounceException(r, 14, 0x2)).isTrue();
    assertThat(r.esp).isEqualTo(0x3800 - 16);
    assertThat(word(r.esp)).isEqualTo(2); // error code
    assertThat(word(r.esp + 4)).isEqualTo(0xC000_5555);
    assertThat(word(r.esp + 8)).isEqualTo(0xE019); // saved upcall mask 0 in bits 16-23
    assertThat(word(r.esp + 12)).isEqualTo(0x246 | 1 << 8); // IF = !mask
    assertThat(r.cs).isEqualTo(0xE019);
    assertThat(r.eip).isEqualTo(0xC000_1000);
    assertThat(r.eflags & (1 << 8)).isZero(); // TF cleared in the handler
    assertThat(mask[0]).isEqualTo(1); // the trap asked for events masked
  }

  /**
   * null_trap_bounce for a 32-bit guest is a code selector of 0 to 3 whatever the address:
   * such an entry is no handler (Xen crashes the domain), but only after the frame is written,
   * as compat_create_bounce_frame checks the selector last; a selector of 4 is not null.
   */
  @Test
  void aNullSelectorIsNoHandlerWhateverTheAddressAndTheFrameIsWrittenFirst() {
    long t = (s.pages()[1] << 12) + 0x800;
    m.machine.write32(t, 6 | 0x0000 << 16); // cs 0 becomes 1 (RPL 1): still null
    m.machine.write32(t + 4, 0xC000_6000);
    m.machine.write32(t + 8, 7 | 0x0003 << 16);
    m.machine.write32(t + 12, 0xC000_7000);
    m.machine.write32(t + 16, 5 | 0x0004 << 16); // 4 (LDT index 0) is not null to null_trap_bounce
    m.machine.write32(t + 20, 0xC000_8000);
    m.machine.write32(t + 24, 0);
    assertThat(traps.setTrapTable(0x2800)).isZero();
    for (int vector : new int[] {6, 7}) {
      PvTraps.Regs r = new PvTraps.Regs();
      r.cs = 0xE019;
      r.esp = 0x3800;
      r.eip = 0xC000_5555;
      assertThat(traps.bounceException(r, vector, -1)).as("vector %d", vector).isFalse();
      assertThat(traps.frameFault()).isEqualTo(-1);
      assertThat(word(0x3800 - 12)).isEqualTo(0xC000_5555); // the frame is there
      m.machine.write32(mmu.translate(0x3800 - 12, true), 0);
    }
    PvTraps.Regs r = new PvTraps.Regs();
    r.cs = 0xE019;
    r.esp = 0x3800;
    assertThat(traps.bounceException(r, 5, -1)).isTrue();
    assertThat(r.cs).isEqualTo(5); // RPL 0 became 1
  }

  @Test
  void aPageFaultPutsItsAddressInVcpuInfoAndTheUserBitFollowsTheGuestsRing() {
    PvTraps.Regs r = new PvTraps.Regs();
    r.cs = 0xE02B;
    r.ss = 0xE033;
    r.esp = 0x2F00;
    assertThat(traps.bouncePageFault(r, 0x3, 0xDEAD_B000)).isTrue();
    assertThat(cr2[0]).isEqualTo(0xDEAD_B000);
    assertThat(word(r.esp)).isEqualTo(0x7); // from ring 3: U set
    mask[0] = 0;
    assertThat(traps.bouncePageFault(r, 0x7, 0x1000)).isTrue(); // now in ring 1
    assertThat(word(r.esp)).isEqualTo(0x3);
  }

  @Test
  void anExceptionFromRing3LandsOnTheStackSwitchStackAndIretReturnsToRing3() {
    PvTraps.Regs r = new PvTraps.Regs();
    r.cs = 0xE02B;
    r.ss = 0xE033;
    r.esp = 0x2F00;
    r.eip = 0x0800_0000;
    r.eflags = 0x202;
    assertThat(traps.bounceException(r, 13, 0)).isTrue();
    assertThat(r.ss).isEqualTo(0xE021);
    assertThat(r.esp).isEqualTo(0x4000 - 24);
    assertThat(word(r.esp + 16)).isEqualTo(0x2F00);
    assertThat(word(r.esp + 20)).isEqualTo(0xE033);
    assertThat(mask[0]).isZero(); // #GP's entry does not mask events
    // The handler drops the error code (ESP + 4) and returns the way Linux's stub does: push
    // EAX (ESP - 4, over where the error code was), then the iret hypercall.
    m.machine.write32(mmu.translate(r.esp, true), 0x1234);
    assertThat(traps.iret(r)).isTrue();
    assertThat(r.eax).isEqualTo(0x1234);
    assertThat(r.cs).isEqualTo(0xE02B);
    assertThat(r.eip).isEqualTo(0x0800_0000);
    assertThat(r.esp).isEqualTo(0x2F00);
    assertThat(r.ss).isEqualTo(0xE033);
    assertThat(mask[0]).isZero();
  }

  @Test
  void noHandlerOrAnUnwritableStackIsACrashAndIretToRing0IsRefused() {
    PvTraps.Regs r = new PvTraps.Regs();
    r.cs = 0xE019;
    r.esp = 0x3800;
    assertThat(traps.bounceException(r, 6, -1)).isFalse();
    assertThat(traps.frameFault()).isEqualTo(-1);
    r.esp = 0x40_0000; // unmapped
    assertThat(traps.bounceException(r, 14, 0)).isFalse();
    // The frame {error code, EIP, CS, EFLAGS} would have started 16 bytes below.
    assertThat(traps.frameFault()).isEqualTo(0x3F_FFF0L);
    r.esp = 0x3800;
    long ma = mmu.translate(0x3800, true);
    m.machine.write32(ma + 8, 0xE018); // CS with RPL 0
    assertThat(traps.iret(r)).isFalse();
  }

  @Test
  void callbacksAreRegisteredByTypeAndOnlyNmiUnregisters() {
    long p = s.pages()[1] << 12;
    m.machine.write32(p, PvTraps.CALLBACKTYPE_EVENT);
    m.machine.write32(p + 4, 0xE019);
    m.machine.write32(p + 8, 0xC000_3000);
    assertThat(traps.callbackOp(PvTraps.CALLBACKOP_REGISTER, 0x2000)).isZero();
    assertThat(traps.callbackEip(PvTraps.CALLBACKTYPE_EVENT)).isEqualTo(0xC000_3000);
    m.machine.write32(p, PvTraps.CALLBACKTYPE_FAILSAFE | PvTraps.CALLBACKF_MASK_EVENTS << 16);
    assertThat(traps.callbackOp(PvTraps.CALLBACKOP_REGISTER, 0x2000)).isZero();
    assertThat(traps.failsafeMasksEvents()).isTrue();
    m.machine.write32(p, 2); // syscall: x86-64 only
    assertThat(traps.callbackOp(PvTraps.CALLBACKOP_REGISTER, 0x2000))
        .isEqualTo(XenErrno.ENOSYS.negated());
    m.machine.write32(p, PvTraps.CALLBACKTYPE_EVENT);
    assertThat(traps.callbackOp(PvTraps.CALLBACKOP_UNREGISTER, 0x2000))
        .isEqualTo(XenErrno.EINVAL.negated());
    // compat_callback_op's answer to an unknown command (the native one's is -ENOSYS).
    assertThat(traps.callbackOp(9, 0x2000)).isEqualTo(XenErrno.EINVAL.negated());
    // An event upcall enters the callback with events masked.
    PvTraps.Regs r = new PvTraps.Regs();
    r.cs = 0xE019;
    r.esp = 0x3800;
    assertThat(traps.bounceEvent(r)).isTrue();
    assertThat(r.eip).isEqualTo(0xC000_3000);
    assertThat(r.esp).isEqualTo(0x3800 - 12);
    assertThat(mask[0]).isEqualTo(1);
  }

  /** CALLBACKOP_register or _unregister of the NMI callback, from the struct at VA 0x2000. */
  private int nmiCallback(int cmd, int cs, int flags, int eip) {
    long p = s.pages()[1] << 12;
    m.machine.write32(p, PvTraps.CALLBACKTYPE_NMI | flags << 16);
    m.machine.write32(p + 4, cs);
    m.machine.write32(p + 8, eip);
    return traps.callbackOp(cmd, 0x2000);
  }

  /** set_trap_table with one entry, for vector 2, at VA 0x1100. */
  private int nmiTrap(int flags, int cs, int address) {
    long t = (s.pages()[0] << 12) + 0x100;
    m.machine.write32(t, PvTraps.NMI | flags << 8 | cs << 16);
    m.machine.write32(t + 4, address);
    m.machine.write32(t + 8, 0);
    m.machine.write32(t + 12, 0);
    return traps.setTrapTable(0x1100);
  }

  private PvTraps.Regs nmiIn(int esp) {
    PvTraps.Regs r = new PvTraps.Regs();
    r.cs = 0xE019;
    r.ss = 0xE021;
    r.esp = esp;
    r.eip = 0xC000_7777;
    r.eflags = 0x202;
    return r;
  }

  /**
   * register_guest_nmi_callback writes vector 2 of the virtual IDT: FLAT_COMPAT_KERNEL_CS
   * whatever selector and flags the guest passed, and the events-masked flag. set_trap_table's
   * vector-2 entry and the callback overwrite each other, so an NMI goes to whichever came last,
   * and unregistering zeroes the entry whichever set it.
   */
  @Test
  void theNmiCallbackIsTrapTableEntryTwoAndTheLastOneSetWins() {
    assertThat(nmiCallback(PvTraps.CALLBACKOP_REGISTER, 0x1234, 0, 0xC000_8000)).isZero();
    assertThat(traps.trap(PvTraps.NMI))
        .isEqualTo(new PvTraps.TrapInfo(2, PvTraps.TI_EVENTS_MASKED, 0xE019, 0xC000_8000));
    PvTraps.Regs r = nmiIn(0x3800);
    assertThat(traps.bounceNmi(r)).isTrue();
    assertThat(r.eip).isEqualTo(0xC000_8000);
    assertThat(r.cs).isEqualTo(0xE019);
    assertThat(r.esp).isEqualTo(0x3800 - 12); // no error code
    assertThat(word(r.esp)).isEqualTo(0xC000_7777);
    assertThat(mask[0]).isEqualTo(1); // entered with events masked

    // A trap table entry for vector 2 now replaces it, with its own selector and flags.
    mask[0] = 0;
    assertThat(nmiTrap(1, 0xE018, 0xC000_9000)).isZero();
    assertThat(traps.trap(PvTraps.NMI))
        .isEqualTo(new PvTraps.TrapInfo(2, 1, 0xE019, 0xC000_9000));
    assertThat(traps.trap(14)).isNotNull(); // the other entries stay
    r = nmiIn(0x3800);
    assertThat(traps.bounceNmi(r)).isTrue();
    assertThat(r.eip).isEqualTo(0xC000_9000);
    assertThat(mask[0]).isZero(); // this entry does not mask events

    // The callback again, then unregistering it: vector 2 is empty and an NMI is lost.
    assertThat(nmiCallback(PvTraps.CALLBACKOP_REGISTER, 0, 0, 0xC000_8000)).isZero();
    assertThat(traps.bounceNmi(nmiIn(0x3800))).isTrue();
    assertThat(nmiCallback(PvTraps.CALLBACKOP_UNREGISTER, 0, 0, 0)).isZero();
    assertThat(traps.trap(PvTraps.NMI)).isNull();
    r = nmiIn(0x3800);
    assertThat(traps.bounceNmi(r)).isFalse();
    assertThat(r.eip).isEqualTo(0xC000_7777);

    // Unregistering also clears an entry set_trap_table made.
    assertThat(nmiTrap(0, 0xE019, 0xC000_9000)).isZero();
    assertThat(nmiCallback(PvTraps.CALLBACKOP_UNREGISTER, 0, 0, 0)).isZero();
    assertThat(traps.trap(PvTraps.NMI)).isNull();
    assertThat(traps.trap(14)).isNotNull();
  }

  /**
   * null_trap_bounce for a 32-bit guest looks at the selector, not the address: a vector-2
   * entry whose code selector is 0 to 3 (0 becomes 1 when stored) is no handler, and the NMI
   * is lost.
   */
  @Test
  void aVectorTwoEntryWithANullSelectorLosesTheNmi() {
    assertThat(nmiTrap(0, 0, 0xC000_9000)).isZero();
    assertThat(traps.trap(PvTraps.NMI).cs()).isEqualTo(1);
    PvTraps.Regs r = nmiIn(0x3800);
    assertThat(traps.bounceNmi(r)).isFalse();
    assertThat(r.eip).isEqualTo(0xC000_7777);
    assertThat(nmiTrap(0, 0xE019, 0xC000_9000)).isZero();
    assertThat(traps.bounceNmi(nmiIn(0x3800))).isTrue();
  }

  /**
   * compat_callback_op's order: the command (-EINVAL) before the argument is read (-EFAULT),
   * then the type: only the NMI callback unregisters, the other 32-bit types are -EINVAL and
   * the rest (syscall, the deprecated sysenter, unknown numbers) -ENOSYS. compat_nmi_op: the
   * command (-ENOSYS), then register's argument (-EFAULT); unregister reads none.
   */
  @Test
  void callbackOpAndNmiOpRefuseBadArgumentsInXensOrder() {
    int einval = XenErrno.EINVAL.negated();
    int efault = XenErrno.EFAULT.negated();
    int enosys = XenErrno.ENOSYS.negated();
    assertThat(traps.callbackOp(2, 0x40_0000)).isEqualTo(einval);
    assertThat(traps.callbackOp(-1, 0x2000)).isEqualTo(einval);
    assertThat(traps.callbackOp(PvTraps.CALLBACKOP_REGISTER, 0x40_0000)).isEqualTo(efault);
    assertThat(traps.callbackOp(PvTraps.CALLBACKOP_UNREGISTER, 0x40_0000)).isEqualTo(efault);
    // The register struct is 12 bytes: one that runs off the mapped space cannot be read.
    assertThat(traps.callbackOp(PvTraps.CALLBACKOP_REGISTER, 0x4FF8)).isEqualTo(efault);
    long p = s.pages()[1] << 12;
    int[][] unregister = {{PvTraps.CALLBACKTYPE_EVENT, einval},
        {PvTraps.CALLBACKTYPE_FAILSAFE, einval}, {2, enosys}, {3, enosys},
        {PvTraps.CALLBACKTYPE_SYSENTER, einval}, {6, enosys},
        {PvTraps.CALLBACKTYPE_SYSCALL32, einval}, {8, enosys}, {0xFFFF, enosys}};
    for (int[] u : unregister) {
      m.machine.write32(p, u[0]);
      assertThat(traps.callbackOp(PvTraps.CALLBACKOP_UNREGISTER, 0x2000)).as("type %d", u[0])
          .isEqualTo(u[1]);
    }
    for (int type : new int[] {2, 3, 6, 8}) {
      m.machine.write32(p, type);
      m.machine.write32(p + 8, 0xC000_1234);
      assertThat(traps.callbackOp(PvTraps.CALLBACKOP_REGISTER, 0x2000)).as("type %d", type)
          .isEqualTo(enosys);
    }
    assertThat(traps.trap(PvTraps.NMI)).isNull(); // nothing above touched vector 2

    assertThat(traps.nmiOp(2, 0x40_0000)).isEqualTo(enosys);
    assertThat(traps.nmiOp(PvTraps.XENNMI_REGISTER_CALLBACK, 0x40_0000)).isEqualTo(efault);
    assertThat(traps.nmiOp(PvTraps.XENNMI_REGISTER_CALLBACK, 0x4FFC)).isEqualTo(efault);
    m.machine.write32(p, 0xC000_4444);
    m.machine.write32(p + 4, 0xFFFF_FFFF); // the pad is not checked
    assertThat(traps.nmiOp(PvTraps.XENNMI_REGISTER_CALLBACK, 0x2000)).isZero();
    assertThat(traps.trap(PvTraps.NMI))
        .isEqualTo(new PvTraps.TrapInfo(2, PvTraps.TI_EVENTS_MASKED, 0xE019, 0xC000_4444));
    assertThat(traps.nmiOp(PvTraps.XENNMI_UNREGISTER_CALLBACK, 0x40_0000)).isZero();
    assertThat(traps.trap(PvTraps.NMI)).isNull();
  }

  private void registerSysenter(int cs, int flags) {
    long p = s.pages()[1] << 12;
    m.machine.write32(p, PvTraps.CALLBACKTYPE_SYSENTER | flags << 16);
    m.machine.write32(p + 4, cs);
    m.machine.write32(p + 8, 0xC000_6000);
    assertThat(traps.callbackOp(PvTraps.CALLBACKOP_REGISTER, 0x2000)).isZero();
  }

  private static PvTraps.Regs user() {
    PvTraps.Regs r = new PvTraps.Regs();
    r.cs = 0xE02B;
    r.ss = 0xE033;
    r.esp = 0x2F00;
    r.eip = 0x0804_8000;
    r.eflags = 0x202 | 1 << 16 | 1 << 11; // IF, RF, OF
    return r;
  }

  @Test
  void sysenterEntersItsCallbackOnTheKernelStackWithANullReturnAddress() {
    registerSysenter(0xE019, PvTraps.CALLBACKF_MASK_EVENTS);
    PvTraps.Regs r = user();
    assertThat(traps.bounceSysenter(r)).isTrue();
    assertThat(r.cs).isEqualTo(0xE019);
    assertThat(r.eip).isEqualTo(0xC000_6000);
    assertThat(r.ss).isEqualTo(0xE021);
    assertThat(r.esp).isEqualTo(0x4000 - 20);
    // {EIP 0, CS 3 | saved mask << 16, EFLAGS (RF gone; IF = !saved mask), ESP 0, SS}
    assertThat(word(r.esp)).isZero();
    assertThat(word(r.esp + 4)).isEqualTo(3);
    assertThat(word(r.esp + 8)).isEqualTo(0x202 | 1 << 11);
    assertThat(word(r.esp + 12)).isZero();
    assertThat(word(r.esp + 16)).isEqualTo(0xE02B);
    assertThat(mask[0]).isEqualTo(1); // CALLBACKF_mask_events

    // Without the flag events stay as they were, and a null selector means the kernel's CS.
    mask[0] = 0;
    registerSysenter(0, 0);
    PvTraps.Regs again = user();
    assertThat(traps.bounceSysenter(again)).isTrue();
    assertThat(again.cs).isEqualTo(0xE019);
    assertThat(mask[0]).isZero();
  }

  @Test
  void sysenterWithoutACallbackIsAGeneralProtectionFaultWithErrorCodeZero() {
    PvTraps.Regs r = user();
    assertThat(traps.bounceSysenter(r)).isTrue();
    assertThat(r.eip).isEqualTo(0xC000_2000); // the #GP handler
    assertThat(r.cs).isEqualTo(0xE019);
    assertThat(r.esp).isEqualTo(0x4000 - 24);
    assertThat(word(r.esp)).isZero(); // error code
    assertThat(word(r.esp + 4)).isZero(); // the null EIP sysenter_entry saved
    assertThat(word(r.esp + 8)).isEqualTo(3);
    assertThat(mask[0]).isZero(); // #GP's trap entry does not mask events
  }

  /**
   * compat_sysenter checks only the selector (a null one becomes FLAT_COMPAT_KERNEL_CS): with
   * no sysenter callback and no #GP handler either, the #GP frame is written and address 0 is
   * entered, as on Xen; the domain is not crashed for it.
   */
  @Test
  void sysenterWithNoCallbackAndNoGpHandlerEntersTheKernelCodeSegmentAtZero() {
    assertThat(traps.setTrapTable(0)).isZero();
    PvTraps.Regs r = user();
    assertThat(traps.bounceSysenter(r)).isTrue();
    assertThat(r.cs).isEqualTo(0xE019);
    assertThat(r.eip).isZero();
    assertThat(r.esp).isEqualTo(0x4000 - 24);
    assertThat(word(r.esp)).isZero(); // error code
    assertThat(word(r.esp + 4)).isZero();
    assertThat(word(r.esp + 8)).isEqualTo(3);
    assertThat(traps.frameFault()).isEqualTo(-1);
  }

  /**
   * sysenter_entry's sysenter_nt_set: SYSENTER with EFLAGS.NT set is a #GP(0) even with a
   * sysenter callback registered; the frame keeps the guest's NT.
   */
  @Test
  void sysenterWithNestedTaskSetIsAGeneralProtectionFault() {
    registerSysenter(0xE019, PvTraps.CALLBACKF_MASK_EVENTS);
    PvTraps.Regs r = user();
    r.eflags |= 1 << 14;
    assertThat(traps.bounceSysenter(r)).isTrue();
    assertThat(r.eip).isEqualTo(0xC000_2000); // the #GP handler, not the callback
    assertThat(word(r.esp)).isZero(); // error code
    assertThat(word(r.esp + 12) & 1 << 14).isNotZero();
    assertThat(mask[0]).isZero(); // #GP's flags decide the mask, not the callback's
  }

  @Test
  void iretToVm86GivesTheGuestAGeneralProtectionFaultOnItsKernelStack() {
    // The iret frame at 0x3000: EAX, then EIP, CS, EFLAGS (VM, IF), ESP, SS, ES, DS, FS, GS.
    int[] frame = {0x55, 0x1234, 0x0070, 1 << 17 | 0x202, 0x0100, 0x0020, 1, 2, 3, 4};
    for (int i = 0; i < frame.length; i++) {
      m.machine.write32(mmu.translate(0x3000 + 4 * i, true), frame[i]);
    }
    PvTraps.Regs r = new PvTraps.Regs();
    r.cs = 0xE019;
    r.ss = 0xE021;
    r.esp = 0x3000;
    mask[0] = 1;
    assertThat(traps.iret(r)).isTrue();
    assertThat(r.eax).isEqualTo(0x55);
    assertThat(r.cs).isEqualTo(0xE019);
    assertThat(r.eip).isEqualTo(0xC000_2000);
    assertThat(r.ss).isEqualTo(0xE021);
    assertThat(r.esp).isEqualTo(0x4000 - 40);
    assertThat(word(r.esp)).isZero(); // error code
    for (int i = 1; i < frame.length; i++) {
      assertThat(word(r.esp + 4 * i)).as("word %d", i).isEqualTo(frame[i]);
    }
    assertThat(r.eflags & (1 << 17)).isZero();
    assertThat(mask[0]).isZero(); // the frame's IF, and #GP's entry does not mask

    // A #GP trap entry that masks events (flag 4) does so here too.
    long t = s.pages()[0] << 12;
    m.machine.write32(t, 13 | 4 << 8 | 0xE019 << 16);
    m.machine.write32(t + 4, 0xC000_2000);
    m.machine.write32(t + 8, 0);
    m.machine.write32(t + 12, 0);
    assertThat(traps.setTrapTable(0x1000)).isZero();
    r.esp = 0x3000;
    assertThat(traps.iret(r)).isTrue();
    assertThat(mask[0]).isEqualTo(1);
  }
}
