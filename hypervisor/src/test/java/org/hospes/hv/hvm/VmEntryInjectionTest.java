package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the hypervisor puts in the VMCS before an entry, against Xen's vmx_intr_assist and
 * enable_intr_window, and what it does with an entry the processor refuses.
 */
class VmEntryInjectionTest {
  private Hypervisor hv;
  private Domain d;
  private HvmPlatform p;
  private Vcpu v;
  private Vmcs vmcs;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    d = hv.createHvmDomain("guest", DomainMode.HVM_EPT, 4, 1);
    p = hv.platform(d);
    v = d.vcpus().get(0);
    vmcs = v.vmcs();
  }

  private int entryInfo() {
    return vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD);
  }

  private boolean asks(int control) {
    return vmcs.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL, control);
  }

  /**
   * enable_intr_window for an NMI: an STI shadow becomes a MOV SS shadow before the NMI window
   * is asked for, so the window opens (and the NMI goes in) only where no processor could
   * refuse it; a MOV SS shadow or blocking by NMI is left as it is.
   */
  @Test
  void anNmiHeldByAnStiShadowAsksForTheWindowOverAMovSsShadow() {
    v.cpu().setEflags(v.cpu().eflags() | 0x200);
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_STI);
    p.sendNmi(0);
    p.prepareEntry(v, 0);
    assertThat(entryInfo() & VmxControls.INTR_INFO_VALID).isZero();
    assertThat(asks(VmxControls.PROC_NMI_WINDOW_EXITING)).isTrue();
    assertThat(vmcs.read32(VmcsField.GUEST_INTERRUPTIBILITY_INFO)).isEqualTo(Cpu.INTR_MOV_SS);
    assertThat(p.lapic(0).nmiPending()).isTrue();

    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_NMI);
    p.prepareEntry(v, 0);
    assertThat(vmcs.read32(VmcsField.GUEST_INTERRUPTIBILITY_INFO)).isEqualTo(Cpu.INTR_NMI);

    // The window exit came (its handler withdraws the request): no shadow, no blocking, the
    // NMI goes in.
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
    vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.NMI_WINDOW.code());
    new HvmExitHandler(hv, new DefaultCostModel()).handle(v, p, 0);
    p.prepareEntry(v, 0);
    assertThat(entryInfo()).isEqualTo(VmxControls.intrInfo(2, VmxControls.INTR_TYPE_NMI, false));
    assertThat(asks(VmxControls.PROC_NMI_WINDOW_EXITING)).isFalse();
  }

  /** vmx_failed_vmentry: a refused entry crashes the domain, saying why. */
  @Test
  void aFailedEntryCrashesTheDomainSayingWhy() {
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD,
        VmxControls.intrInfo(0x30, VmxControls.INTR_TYPE_EXTERNAL, false));
    // IF is clear: the processor refuses the external interrupt.
    assertThat(v.cpu().run(100)).isEqualTo(org.hospes.x86.CpuExit.VM_EXIT);
    assertThat(vmcs.entryFailed()).isTrue();
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.ENTRY_FAIL_GUEST_STATE);
    new HvmExitHandler(hv, new DefaultCostModel()).handle(v, p, 0);
    assertThat(d.state()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).contains("VM entry failed: invalid guest state (qualification 0,"
        + " injecting 0x80000030");
  }

  private void interruptible() {
    v.cpu().setEflags(v.cpu().eflags() | 0x200);
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
  }

  private void enableApic() {
    p.lapic(0).write(org.hospes.hv.platform.LocalApic.SVR, 4,
        org.hospes.hv.platform.LocalApic.SVR_ENABLE | 0xFF);
  }

  /**
   * vmx_intr_assist with the VM-entry field already holding an event (one an exit cut, given
   * again, or an exception an exit handler raised): nothing is injected over it, and the
   * pending source asks for its window, to be taken right after it.
   */
  @Test
  void behindAnEventAlreadyQueuedThePendingSourceAsksForItsWindow() {
    interruptible();
    enableApic();
    int gp = VmxControls.intrInfo(13, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true);
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, gp);
    p.lapic(0).accept(0x51, false);
    p.prepareEntry(v, 0);
    assertThat(entryInfo()).isEqualTo(gp);
    assertThat(asks(VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isTrue();
    assertThat(p.lapic(0).pendingVector()).isEqualTo(0x51);

    // An NMI waits behind it the same way, through the NMI window.
    p.sendNmi(0);
    p.prepareEntry(v, 0);
    assertThat(entryInfo()).isEqualTo(gp);
    assertThat(asks(VmxControls.PROC_NMI_WINDOW_EXITING)).isTrue();
    assertThat(p.lapic(0).nmiPending()).isTrue();
  }

  /**
   * "Is there another IRQ to queue up behind this one?": after injecting the callback vector,
   * upcall_pending is still set (the guest clears it), so Xen asks for the interrupt window;
   * after an APIC interrupt whose ISR bit holds back the lower one still in the IRR, nothing is
   * pending and nothing is asked for, and a window asked for earlier is left standing: only its
   * exit clears it.
   */
  @Test
  void afterAMaskableInjectionWhatIsStillPendingGetsItsWindow() {
    Domain pvhvm = hv.createHvmDomain("pvhvm", DomainMode.PVHVM, 4, 1);
    HvmPlatform pp = hv.platform(pvhvm);
    Vcpu w = pvhvm.vcpus().get(0);
    Vmcs wv = w.vmcs();
    w.cpu().setEflags(w.cpu().eflags() | 0x200);
    pvhvm.setHvmParam(org.hospes.abi.HvmOp.PARAM_CALLBACK_IRQ, 2L << 56 | 0xF3);
    hv.machineMemory().write8(pvhvm.eventChannels().ops().vcpuInfo(0)
        + org.hospes.abi.SharedInfo.VI_UPCALL_PENDING, 1);
    pp.prepareEntry(w, 0);
    assertThat(wv.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD))
        .isEqualTo(VmxControls.intrInfo(0xF3, VmxControls.INTR_TYPE_EXTERNAL, false));
    assertThat(wv.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
        VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isTrue();

    interruptible();
    enableApic();
    p.lapic(0).accept(0x51, false);
    p.lapic(0).accept(0x61, false);
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
    p.prepareEntry(v, 0);
    assertThat(entryInfo())
        .isEqualTo(VmxControls.intrInfo(0x61, VmxControls.INTR_TYPE_EXTERNAL, false));
    assertThat(asks(VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isTrue();
  }

  /**
   * vmx_intr_assist finds nothing pending and goes to "out" without touching the controls: an
   * interrupt window asked for while IF was clear stays asked for after the interrupt went
   * away (here the guest raised its TPR above it), its exit comes as soon as IF is set, and the
   * INTERRUPT_WINDOW exit handler is what clears it.
   */
  @Test
  void anEntryWithNothingPendingLeavesTheInterruptWindowAskedFor() {
    enableApic();
    p.lapic(0).accept(0x51, false);
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
    p.prepareEntry(v, 0);
    // IF is clear: the window is asked for.
    assertThat(asks(VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isTrue();

    p.lapic(0).write(org.hospes.hv.platform.LocalApic.TPR, 4, 0xF0);
    assertThat(p.lapic(0).pendingVector()).isEqualTo(-1);
    interruptible();
    p.prepareEntry(v, 0);
    assertThat(entryInfo() & VmxControls.INTR_INFO_VALID).isZero();
    assertThat(asks(VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isTrue();

    // The processor takes the window exit at once; the handler withdraws the request.
    assertThat(v.cpu().run(100)).isEqualTo(org.hospes.x86.CpuExit.VM_EXIT);
    assertThat(vmcs.exitReason()).isEqualTo(ExitReason.INTERRUPT_WINDOW);
    new HvmExitHandler(hv, new DefaultCostModel()).handle(v, p, 0);
    assertThat(asks(VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isFalse();
  }

  /**
   * vmx_inject_nmi writes the VM-entry field and nothing else: an NMI window asked for earlier
   * (the NMI was held by a MOV SS shadow) stays asked for when the NMI goes in at a later
   * entry, until its NMI_WINDOW exit.
   */
  @Test
  void injectingAnNmiLeavesItsWindowAskedFor() {
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_MOV_SS);
    p.sendNmi(0);
    p.prepareEntry(v, 0);
    assertThat(asks(VmxControls.PROC_NMI_WINDOW_EXITING)).isTrue();

    // Some other exit came first, after the shadow had ended.
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
    p.prepareEntry(v, 0);
    assertThat(entryInfo()).isEqualTo(VmxControls.intrInfo(2, VmxControls.INTR_TYPE_NMI, false));
    assertThat(asks(VmxControls.PROC_NMI_WINDOW_EXITING)).isTrue();
  }

  /** The 8259A pair as Linux programs it: vectors 0x30-0x3F, IRQ 1 unmasked (and the cascade). */
  private void picAt0x30WithIrq1Open() {
    int[][] writes = {{0x20, 0x11}, {0x21, 0x30}, {0x21, 0x04}, {0x21, 0x01},
        {0xA0, 0x11}, {0xA1, 0x38}, {0xA1, 0x02}, {0xA1, 0x01}, {0x21, 0xF9}, {0xA1, 0xFF}};
    for (int[] w : writes) {
      d.platformPorts().out(w[0], 1, w[1]);
    }
  }

  /**
   * hvm_vcpu_has_pending_irq asks the virtual PIC (int_output, ExtINT on vCPU 0) before the
   * local APIC: with both pending at once the PIC's vector goes in first, and the APIC's, still
   * in the IRR, asks for the window and goes in at the next entry.
   */
  @Test
  void withThePicAndTheApicBothPendingThePicGoesFirst() {
    interruptible();
    enableApic();
    // LINT0 as ExtINT, as firmware leaves it: the PIC's INTR reaches vCPU 0.
    p.lapic(0).write(org.hospes.hv.platform.LocalApic.LVT_LINT0, 4, 0x700);
    picAt0x30WithIrq1Open();
    p.lapic(0).accept(0x51, false);
    p.setIsaIrqLevel(1, true);
    p.prepareEntry(v, 0);
    assertThat(entryInfo())
        .isEqualTo(VmxControls.intrInfo(0x31, VmxControls.INTR_TYPE_EXTERNAL, false));
    assertThat(p.lapic(0).pendingVector()).isEqualTo(0x51);
    assertThat(asks(VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isTrue();

    // The PIC's interrupt was delivered (its IRQ is in service now); the window exit came.
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0);
    p.prepareEntry(v, 0);
    assertThat(entryInfo())
        .isEqualTo(VmxControls.intrInfo(0x51, VmxControls.INTR_TYPE_EXTERNAL, false));
  }

  /**
   * hvm_intblk_tpr comes after EFLAGS.IF and the shadows in hvm_interrupt_blocked, and
   * vlapic_has_pending_irq does not weigh the TPR. So an APIC interrupt that only the TPR masks,
   * with IF clear, asks for the interrupt window (hvm_intblk_rflags_ie); with IF set it asks for
   * nothing and is not injected; once the guest lowers its TPR it goes in.
   */
  @Test
  void anInterruptTheTprMasksAsksForTheWindowOnlyWhileIfIsClear() {
    enableApic();
    p.lapic(0).write(org.hospes.hv.platform.LocalApic.TPR, 4, 0x50);
    p.lapic(0).accept(0x51, false);
    assertThat(p.lapic(0).pendingVector()).isEqualTo(-1);
    vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
    p.prepareEntry(v, 0);
    assertThat(entryInfo() & VmxControls.INTR_INFO_VALID).isZero();
    assertThat(asks(VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isTrue();

    // The window exit came with IF set: the TPR still masks it, so nothing is asked for.
    interruptible();
    vmcs.clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
        VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
    p.prepareEntry(v, 0);
    assertThat(entryInfo() & VmxControls.INTR_INFO_VALID).isZero();
    assertThat(asks(VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isFalse();

    // An event already queued does not make it ask either: the TPR is weighed first.
    int gp = VmxControls.intrInfo(13, VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true);
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, gp);
    p.prepareEntry(v, 0);
    assertThat(entryInfo()).isEqualTo(gp);
    assertThat(asks(VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isFalse();

    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0);
    p.lapic(0).write(org.hospes.hv.platform.LocalApic.TPR, 4, 0x40);
    p.prepareEntry(v, 0);
    assertThat(entryInfo())
        .isEqualTo(VmxControls.intrInfo(0x51, VmxControls.INTR_TYPE_EXTERNAL, false));
  }

  /**
   * "Is there another IRQ to queue up behind this one?" asks hvm_vcpu_has_pending_irq, which
   * leaves the TPR to hvm_interrupt_blocked: after the PIC's vector goes in, an APIC interrupt
   * that only the TPR masks asks for the window (its exit will find it masked and ask for
   * nothing more); one that an in-service vector holds back does not.
   */
  @Test
  void behindAPicInjectionAnInterruptTheTprMasksAsksForTheWindow() {
    interruptible();
    enableApic();
    p.lapic(0).write(org.hospes.hv.platform.LocalApic.LVT_LINT0, 4, 0x700);
    picAt0x30WithIrq1Open();
    p.lapic(0).write(org.hospes.hv.platform.LocalApic.TPR, 4, 0xF0);
    p.lapic(0).accept(0x51, false);
    p.setIsaIrqLevel(1, true);
    p.prepareEntry(v, 0);
    assertThat(entryInfo())
        .isEqualTo(VmxControls.intrInfo(0x31, VmxControls.INTR_TYPE_EXTERNAL, false));
    assertThat(asks(VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isTrue();

    // The window exit: IF set, the TPR masks 0x51, nothing else is pending (the PIC's IRQ 1
    // is in service): no injection, no window.
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0);
    vmcs.clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
        VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
    p.prepareEntry(v, 0);
    assertThat(entryInfo() & VmxControls.INTR_INFO_VALID).isZero();
    assertThat(asks(VmxControls.PROC_INTERRUPT_WINDOW_EXITING)).isFalse();
  }
}
