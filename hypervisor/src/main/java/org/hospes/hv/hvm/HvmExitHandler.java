package org.hospes.hv.hvm;

import org.hospes.abi.XenCpuid;
import org.hospes.abi.XenVersion;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.hypercall.HypercallPage;
import org.hospes.hv.hypercall.Hypercalls;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.ioreq.Ioreq;
import org.hospes.hv.ioreq.IoreqServer;
import org.hospes.hv.platform.Hpet;
import org.hospes.hv.platform.IoApic;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.memory.OutOfMachineMemory;
import org.hospes.hv.memory.ShadowPager;
import org.hospes.hv.stats.Counters;
import org.hospes.x86.ApicBaseMsr;
import org.hospes.x86.Cpu;
import org.hospes.x86.Exceptions;
import org.hospes.x86.CpuExit;
import org.hospes.x86.IoBus;
import org.hospes.x86.MmioDevice;
import org.hospes.x86.PortDevice;
import org.hospes.x86.UnbackedAccessException;
import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * Handles the VM exits of HVM vCPUs: one switch on the exit reason, a few lines per case. Port
 * I/O goes to the in-hypervisor platform devices when they claim the port, else to the domain's
 * device model as an ioreq; MMIO the same way. Anything a domain does that cannot be handled
 * crashes that domain only.
 *
 * <p>An ioreq is not answered on the spot: the vCPU blocks, the request joins the serving
 * service domain's work, and when the scheduler runs that domain the access is completed (the
 * device model answers, an IN's register or a string's memory is written, the instruction
 * retires) and the vCPU is woken. The device model's cycles are the service domain's run time.
 */
public final class HvmExitHandler {
  private final Hypervisor hv;
  private final CostModel cost;
  private final Hypercalls hypercalls;

  public HvmExitHandler(Hypervisor hv, CostModel cost) {
    this.hv = hv;
    this.cost = cost;
    this.hypercalls = new Hypercalls(hv, cost);
  }

  /** Handles the exit {@code v} just took; returns the modelled cycles it cost. */
  public long handle(Vcpu v, HvmPlatform platform, long now) {
    Cpu cpu = v.cpu();
    Vmcs vmcs = v.vmcs();
    Domain d = v.domain();
    Counters c = v.counters();
    ExitReason reason = vmcs.exitReason();
    if (reason == null) {
      hv.crash(d, "unknown exit reason " + vmcs.read(VmcsField.VM_EXIT_REASON));
      return 0;
    }
    // What the real-mode emulator handed back (I/O, CPUID, a CR access, a shadow fault) is not a
    // VM exit: Xen's vmx_realmode emulates inside the hypervisor, so there is no world switch to
    // charge, and the exit counts (xentrace's, a study's) do not see it. Its handling is the
    // emulation's cost.
    boolean handedBack = d.shadow() != null && v.shadowRealMode().emulating();
    long cycles = (handedBack ? 0 : cost.vmExit(reason)) + cost.exitHandling(reason);
    platform.setDeviceTime(now);
    if (d.shadow() != null) {
      // The shadow pager serves this vCPU's paging state.
      d.shadow().select(v.id());
    }
    long insns = cpu.instructions();
    undoNmiUnblockedByIret(vmcs, reason);
    switch (reason) {
      case CPUID:
        // Safe: CPUID has no side effects.
        cpuid(v);
        cpu.skipInstruction();
        break;
      case HLT:
        cpu.skipInstruction();
        if (!cpu.interruptible() && (cpu.eflags() & 0x200) == 0 && d.vcpus().size() == 1) {
          // Interrupts off: nothing can ever wake it, as on a bare machine.
          hv.shutdown(d, "halted", 0);
        } else if ((cpu.eflags() & 0x200) == 0) {
          // One of several processors halted with interrupts off: only an NMI or INIT from
          // another one wakes it (an application processor parked by the guest).
          if (!platform.nmiDeliverable(v)) {
            hv.block(v);
          }
        } else if (!platform.interruptPending(v)
            && !(d.callbackVector() >= 0
            && d.eventChannels().ops().upcallPending(v.id()))) {
          // An upcall already pending (e.g. a timer that fired during "sti; hlt") must not
          // be slept through: it is injected at the next entry instead.
          hv.block(v);
        }
        break;
      case IO_INSTRUCTION:
        cycles += portIo(v, platform);
        break;
      case EPT_VIOLATION:
      case EPT_MISCONFIG:
        c.eptViolations++;
        // An access of an event's delivery (the stack's pushes, the IDT, GDT or TSS) reached
        // no RAM: the event goes in again at the next entry, as Xen's vmx_idtv_reinject queues
        // it before ept_handle_violation. A push the device took (or dropped) is found done
        // by the processor's replay when the delivery gets that far again.
        IdtVectoring.reinjectIfValid(vmcs);
        cycles += mmio(v);
        break;
      case TRIPLE_FAULT:
        // The processor keeps the event that started the cascade: name it, as a crash before
        // the guest's console is up leaves the user nothing else to go on.
        hv.crash(d, String.format("triple fault at eip=0x%08x (delivering %s)", cpu.eip(),
            Exceptions.describe(cpu.exceptionVector(), cpu.exceptionErrorCode(), cpu.cr2())));
        break;
      case TASK_SWITCH: {
        if (d.shadow() != null) {
          cycles += shadowTaskSwitch(v);
          break;
        }
        int x;
        try {
          x = cpu.emulateTaskSwitch();
        } catch (UnbackedAccessException e) {
          crashUnbackedTaskSwitch(v, e);
          break;
        }
        if (x == CpuExit.TRIPLE_FAULT || x == CpuExit.VM_EXIT
            && v.vmcs().exitReason() == ExitReason.TRIPLE_FAULT) {
          hv.crash(d, String.format("triple fault in a task switch at eip=0x%08x", cpu.eip()));
        }
        break;
      }
      case PAUSE:
        // Safe: PAUSE has no effect of its own. The spinning vCPU yields to its siblings,
        // one of which may hold the lock it waits for.
        cpu.skipInstruction();
        v.requestYield();
        break;
      case INTERRUPT_WINDOW:
        vmcs.clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
            VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
        break;
      case NMI_WINDOW:
        // The guest's IRET ended the NMI's blocking: the pending NMI is injected at the entry.
        vmcs.clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
            VmxControls.PROC_NMI_WINDOW_EXITING);
        break;
      case EXTERNAL_INTERRUPT:
      case PREEMPTION_TIMER:
        break;
      case VMCALL:
        cycles += hypercalls.handle(v);
        break;
      case EXCEPTION_NMI:
        if (hv.forcedEmulation() && ForcedEmulation.isInvalidOpcodeExit(vmcs)) {
          ForcedEmulation.onInvalidOpcode(v);
          break;
        }
        if (d.shadow() == null) {
          hv.crash(d, String.format("unhandled VM exit %s at eip=0x%08x", reason, cpu.eip()));
          break;
        }
        if (v.shadowRealMode().protectedModeException(vmcs, d.shadow().guestCr0())) {
          // Xen's vmx_realmode_emulate_one: the emulator delivers no exception in protected
          // mode; the domain is crashed.
          hv.crash(d, String.format("exception %02x in protected mode (real-mode emulation)"
              + " at eip=0x%08x", vmcs.read32(VmcsField.VM_EXIT_INTR_INFO) & 0xFF, cpu.eip()));
          break;
        }
        if (!ShadowControl.isPageFaultExit(vmcs, CpuExit.VM_EXIT)
            && v.shadowRealMode().onVm86Exception(cpu)) {
          // Real mode in VM86 mode: an instruction VM86 mode cannot run (CLI, STI, PUSHF,
          // POPF, INT n, IRET at IOPL 0, privileged instructions at CPL 3) or an exception
          // only real mode defines. The emulator runs it from the next entry.
          break;
        }
        cycles += shadowPageFault(v);
        break;
      case CR_ACCESS:
        if (d.shadow() == null || ShadowControl.crAccess(cpu, vmcs, d.shadow(),
            v.shadowRealMode()) != ShadowControl.Outcome.RESUME) {
          hv.crash(d, String.format("unhandled control-register access (qualification 0x%x)"
              + " at eip=0x%08x", vmcs.exitQualification(), cpu.eip()));
        }
        break;
      case INVLPG:
        if (d.shadow() == null) {
          hv.crash(d, String.format("unhandled VM exit %s at eip=0x%08x", reason, cpu.eip()));
          break;
        }
        ShadowControl.invlpg(cpu, vmcs, d.shadow());
        break;
      case MONITOR_TRAP_FLAG:
        // A forced emulation's step may also be the shadow pager's (a page-table write).
        if (ForcedEmulation.onMonitorTrap(v)
            && (d.shadow() == null || !d.shadow().stepping())) {
          break;
        }
        if (d.shadow() == null) {
          hv.crash(d, String.format("unhandled VM exit %s at eip=0x%08x", reason, cpu.eip()));
          break;
        }
        ShadowControl.monitorTrap(vmcs, d.shadow());
        break;
      case RDMSR:
      case WRMSR:
        msr(v, reason == ExitReason.WRMSR);
        break;
      case ENTRY_FAIL_GUEST_STATE:
        // Xen's vmx_failed_vmentry: the VMCS it built cannot be entered, which is its own
        // bug, contained in the domain it was running (domain_crash).
        hv.crash(d, String.format("VM entry failed: invalid guest state (qualification %d,"
            + " injecting 0x%08x, interruptibility 0x%x) at eip=0x%08x",
            vmcs.exitQualification(), vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD),
            vmcs.read32(VmcsField.GUEST_INTERRUPTIBILITY_INFO), cpu.eip()));
        break;
      case INVD:
      case WBINVD:
      case RDPMC:
      case RDTSC:
      case DR_ACCESS:
      default:
        // Not enabled by this VMCS: seeing one is a hypervisor bug, contained in the domain.
        hv.crash(d, String.format("unhandled VM exit %s at eip=0x%08x", reason, cpu.eip()));
        break;
    }
    if (handedBack) {
      if (cpu.instructions() > insns) {
        // The emulator's instruction retired here: one emulated instruction.
        cycles += cost.realModeEmulation();
        c.realModeEmulations++;
      }
      c.realModeHandBacks++;
      c.realModeEmulationCycles += cycles;
      c.cycles += cycles;
    } else {
      // The exit's cycles include what handling it cost (device-model round trips).
      c.addExit(reason, cycles);
    }
    // The instructions the hypervisor completed for the guest count as guest instructions.
    long emulated = cpu.instructions() - insns;
    c.instructions += emulated;
    return cycles;
  }

  /**
   * A step of the real-mode emulator ({@link Cpu#emulateStep}) retired its instruction: not an
   * exit but the hypervisor's own loop (Xen's vmx_realmode), charged as emulation. A page-table
   * write or a forced emulation single-stepped (the monitor trap flag) ends with it.
   */
  public long emulated(Vcpu v, HvmPlatform platform, long now) {
    Counters c = v.counters();
    platform.setDeviceTime(now);
    ShadowPager shadow = v.domain().shadow();
    shadow.select(v.id());
    ForcedEmulation.onMonitorTrap(v);
    ShadowControl.monitorTrap(v.vmcs(), shadow);
    long cycles = cost.realModeEmulation();
    c.realModeEmulations++;
    c.realModeEmulationCycles += cycles;
    c.cycles += cycles;
    return cycles;
  }

  /** A #PF under shadow paging: fixed here, single-stepped, or given to the guest. */
  private long shadowPageFault(Vcpu v) {
    Domain d = v.domain();
    // Also reached from string I/O completed in the device model's time.
    d.shadow().select(v.id());
    boolean[] injected = new boolean[1];
    ShadowControl.Outcome o;
    try {
      o = ShadowControl.pageFault(v.cpu(), v.vmcs(), d.shadow(), injected);
    } catch (ShadowPager.GuestError | OutOfMachineMemory e) {
      // The guest's tables are beyond its memory, or the machine has no frame for a shadow:
      // that domain cannot go on (Xen's domain_crash). Anything else is the hypervisor's bug
      // and is not passed off as the guest's.
      hv.crash(d, e.getMessage());
      return 0;
    }
    if (o == ShadowControl.Outcome.MMIO) {
      // A device's registers through the shadow: the same emulation EPT violations reach.
      v.counters().shadowFaults++;
      v.counters().shadowMmio++;
      return mmio(v);
    }
    if (o == ShadowControl.Outcome.MMIO_NOT_DATA) {
      hv.crash(d, String.format("page fault at 0x%08x on gpa=0x%x with no RAM (not a data"
          + " access) at eip=0x%08x", (int) v.vmcs().exitQualification(),
          d.shadow().mmioAddress(), v.cpu().eip()));
      return 0;
    }
    if (o == ShadowControl.Outcome.TRIPLE_FAULT) {
      hv.crash(d, String.format("triple fault at eip=0x%08x", v.cpu().eip()));
    } else if (o != ShadowControl.Outcome.RESUME) {
      hv.crash(d, String.format("unexpected exception exit at eip=0x%08x", v.cpu().eip()));
    }
    v.counters().shadowFaults++;
    if (injected[0]) {
      v.counters().shadowFaultsInjected++;
    }
    return cost.shadowFault();
  }

  /**
   * Xen's undo_nmis_unblocked_by_iret: an exception exit or EPT violation of an IRET that had
   * ended NMI blocking (bit 12 of the exit information, with no event being delivered and not a
   * #DF) is handled and the IRET executed again, so NMIs are blocked again meanwhile: an NMI
   * injected before it would nest inside the handler the IRET is leaving.
   */
  static void undoNmiUnblockedByIret(Vmcs vmcs, ExitReason reason) {
    long bit12;
    if (reason == ExitReason.EXCEPTION_NMI) {
      int info = vmcs.read32(VmcsField.VM_EXIT_INTR_INFO);
      bit12 = (info & 0xFF) == Exceptions.DF ? 0 : info & VmxControls.NMI_UNBLOCKED_BY_IRET;
    } else if (reason == ExitReason.EPT_VIOLATION) {
      bit12 = vmcs.exitQualification() & VmxControls.NMI_UNBLOCKED_BY_IRET;
    } else {
      return;
    }
    if (bit12 != 0
        && (vmcs.read32(VmcsField.IDT_VECTORING_INFO_FIELD) & VmxControls.INTR_INFO_VALID) == 0) {
      vmcs.setBits(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_NMI);
    }
  }

  /**
   * A task switch under shadow paging: the new CR3 goes through the shadow pager, and a #PF the
   * switch takes on a missing shadow entry is fixed and the switch retried from the start (its
   * reads come before its writes, and the writes are idempotent).
   */
  private long shadowTaskSwitch(Vcpu v) {
    Cpu cpu = v.cpu();
    Vmcs vmcs = v.vmcs();
    Domain d = v.domain();
    ShadowPager shadow = d.shadow();
    long qual = vmcs.exitQualification();
    long len = vmcs.exitInstructionLength();
    long idt = vmcs.read(VmcsField.IDT_VECTORING_INFO_FIELD);
    long idtErr = vmcs.read(VmcsField.IDT_VECTORING_ERROR_CODE);
    long cycles = 0;
    boolean committed = false;
    for (int attempt = 0; attempt < 16; attempt++) {
      int x;
      try {
        x = committed ? cpu.finishTaskSwitch()
            : cpu.emulateTaskSwitch(cr3 -> ShadowControl.taskSwitchCr3(vmcs, shadow, cr3));
      } catch (UnbackedAccessException e) {
        crashUnbackedTaskSwitch(v, e);
        return cycles;
      }
      if (!ShadowControl.isPageFaultExit(vmcs, x)) {
        if (x == CpuExit.TRIPLE_FAULT || x == CpuExit.VM_EXIT
            && vmcs.exitReason() == ExitReason.TRIPLE_FAULT) {
          hv.crash(d, String.format("triple fault in a task switch at eip=0x%08x", cpu.eip()));
        } else if (x == CpuExit.VM_EXIT) {
          hv.crash(d, "unexpected exit " + vmcs.exitReason() + " in a task switch");
        }
        return cycles;
      }
      committed = cpu.taskSwitchPushPending();
      if (!committed && cpu.taskSwitchCommitted()) {
        // The switch is done and raised an exception in the new task (a #GP loading its CR3,
        // a #TS for a segment) whose delivery faulted: a #PF in an event's delivery like any
        // other (the event is delivered again once the page is there, or the double-fault
        // rules apply). Starting the switch again would find the new TSS busy.
        return cycles + shadowPageFault(v);
      }
      long before = v.counters().shadowFaultsInjected;
      vmcs.write(VmcsField.IDT_VECTORING_INFO_FIELD, 0);
      cycles += shadowPageFault(v);
      if (v.counters().shadowFaultsInjected != before || shadow.stepping()) {
        // The guest takes the fault (or a page-table write is being stepped): the switch is
        // abandoned, as a fault in it would on hardware.
        cpu.abandonTaskSwitchPush();
        return cycles;
      }
      // A hidden fault: before the commit point the switch restarts (its reads come before
      // its writes, which are idempotent); after it, only the error-code push is redone.
      vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.TASK_SWITCH.code());
      vmcs.write(VmcsField.EXIT_QUALIFICATION, qual);
      vmcs.write(VmcsField.VM_EXIT_INSTRUCTION_LEN, len);
      vmcs.write(VmcsField.IDT_VECTORING_INFO_FIELD, idt);
      vmcs.write(VmcsField.IDT_VECTORING_ERROR_CODE, idtErr);
    }
    hv.crash(d, "task switch keeps faulting");
    return cycles;
  }

  /**
   * A task switch that reads or writes a guest-physical address with no RAM (its TSS, or a
   * descriptor, in a device's page or nowhere): the hypervisor cannot finish it, and the domain
   * is crashed, as Xen's hvm_task_switch crashes it when it cannot map a descriptor.
   */
  private void crashUnbackedTaskSwitch(Vcpu v, UnbackedAccessException e) {
    hv.crash(v.domain(), String.format("task switch at eip=0x%08x reaches gpa 0x%x, which has"
        + " no RAM", v.cpu().eip(), e.gpa()));
  }

  /**
   * The processor's own CPUID, plus the hypervisor bit and Xen's leaves at 0x40000000 so that
   * Xen-aware guests find the hypercall interface.
   */
  private void cpuid(Vcpu v) {
    Cpu cpu = v.cpu();
    int leaf = cpu.reg(Cpu.EAX);
    if ((leaf & 0xFFFF_FF00) != XenCpuid.BASE) {
      cpu.executeCpuid();
      if (leaf == 1) {
        // The hypervisor bit, and the local APIC of this vCPU: EBX[31:24] is its initial
        // APIC ID, which is the vCPU id.
        cpu.setReg(Cpu.ECX, cpu.reg(Cpu.ECX) | 1 << 31);
        LocalApic lapic = hv.platform(v.domain()).lapic(v.id());
        if (lapic.globallyEnabled()) {
          // APIC follows IA32_APIC_BASE's global enable, as in Xen's guest_cpuid.
          cpu.setReg(Cpu.EDX, cpu.reg(Cpu.EDX) | 1 << 9);
          cpu.setReg(Cpu.EBX, (cpu.reg(Cpu.EBX) & 0x00FF_FFFF) | lapic.apicId() << 24);
        }
      }
      return;
    }
    int a = 0;
    int b = 0;
    int c = 0;
    int d = 0;
    switch (leaf - XenCpuid.BASE) {
      case 0:
        a = XenCpuid.BASE + 5;
        b = XenCpuid.SIGNATURE_EBX;
        c = XenCpuid.SIGNATURE_ECX;
        d = XenCpuid.SIGNATURE_EDX;
        break;
      case 1:
        a = XenVersion.MAJOR << 16 | XenVersion.MINOR;
        break;
      case 2:
        a = 1;
        b = XenCpuid.HYPERCALL_MSR;
        break;
      case 3:
        // TSC leaf: the guest TSC runs at the virtual clock's 1 GHz (1,000,000 kHz).
        c = (int) (Hypervisor.HZ / 1000);
        break;
      case 4:
        a = XenCpuid.HVM_VCPU_ID_PRESENT | XenCpuid.HVM_DOMID_PRESENT;
        b = v.id();
        c = v.domain().domid();
        break;
      default:
        break;
    }
    cpu.setReg(Cpu.EAX, a);
    cpu.setReg(Cpu.EBX, b);
    cpu.setReg(Cpu.ECX, c);
    cpu.setReg(Cpu.EDX, d);
  }

  /**
   * MSRs outside the MSR bitmap's ranges exit: the hypercall-page MSR is handled here, the rest
   * raise #GP in the guest, as on Xen.
   */
  private void msr(Vcpu v, boolean write) {
    Cpu cpu = v.cpu();
    int msr = cpu.reg(Cpu.ECX);
    if (msr == ApicBaseMsr.MSR) {
      LocalApic lapic = hv.platform(v.domain()).lapic(v.id());
      if (!write) {
        long value = lapic.readApicBase();
        cpu.setReg(Cpu.EAX, (int) value);
        cpu.setReg(Cpu.EDX, (int) (value >>> 32));
        cpu.skipInstruction();
        return;
      }
      long value = (cpu.reg(Cpu.EAX) & 0xFFFF_FFFFL) | ((long) cpu.reg(Cpu.EDX) << 32);
      if (lapic.writeApicBase(value)) {
        cpu.skipInstruction();
        return;
      }
    }
    if (msr == Cpu.MSR_EFER && write && v.domain().shadow() != null) {
      // As Xen's hvm_set_efer: the bits this processor has (NXE alone; the rest #GP), and the
      // shadow pager follows NXE at once, so that its own walks (the hypervisor's copies to and
      // from guest memory) take bit 63 as XD, or as reserved, as the guest now does.
      if (cpu.reg(Cpu.EDX) == 0 && (cpu.reg(Cpu.EAX) & ~Cpu.EFER_NXE) == 0) {
        cpu.loadEfer(cpu.reg(Cpu.EAX));
        ShadowPager shadow = v.domain().shadow();
        if (shadow.setNxe((cpu.reg(Cpu.EAX) & Cpu.EFER_NXE) != 0)) {
          ShadowControl.reload(cpu, v.vmcs(), shadow);
        }
        cpu.skipInstruction();
        return;
      }
    }
    if (msr == XenCpuid.HYPERCALL_MSR) {
      if (!write) {
        cpu.setReg(Cpu.EAX, 0);
        cpu.setReg(Cpu.EDX, 0);
        cpu.skipInstruction();
        return;
      }
      long gpa = (cpu.reg(Cpu.EAX) & 0xFFFF_FFFFL) | ((long) cpu.reg(Cpu.EDX) << 32);
      if ((gpa & 0xFFF) == 0 && v.domain().memory().machineAddress(gpa) >= 0) {
        HypercallPage.install(v.domain(), gpa);
        cpu.skipInstruction();
        return;
      }
    }
    injectGp(v);
  }

  /**
   * #GP(0) for the guest at the next entry, at the instruction that exited. A real-mode guest
   * run as an unrestricted guest (CR0.PE clear, with EPT) gets it without an error code: real
   * mode pushes none, and the VM entry checks (SDM 26.2.1.3) refuse the deliver-error-code bit
   * there. Under shadow paging (no unrestricted guest) the bit is set as for protected mode,
   * and the real-mode emulator, which delivers the event, pushes no error code through the IVT.
   */
  static void injectGp(Vcpu v) {
    Vmcs vmcs = v.vmcs();
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, VmxControls.intrInfo(13,
        VmxControls.INTR_TYPE_HARDWARE_EXCEPTION,
        VmxControls.injectsErrorCode(vmcs, v.cpu().cr0())));
    vmcs.write(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
  }

  private long portIo(Vcpu v, HvmPlatform platform) {
    long qual = v.vmcs().exitQualification();
    int port = (int) (qual >>> 16) & 0xFFFF;
    Domain d = v.domain();
    IoreqServer server = d.ioreqServer();
    if (!d.platformPorts().claims(port) && server != null && server.claimsPort(port)) {
      DomainControl service = ioreqService(d);
      hv.waitForIo(v);
      service.submitIoreq(now -> completeIoreq(v, platform, now, () -> finishPortIo(v,
          platform, qual)));
      return 0;
    }
    return finishPortIo(v, platform, qual);
  }

  private DomainControl ioreqService(Domain d) {
    return d.ioreqService() != null ? d.ioreqService() : hv.control();
  }

  /**
   * Completes a vCPU's deferred access in the serving domain's time; the vCPU resumes, or its
   * domain is crashed if the device model failed. Nothing is done for a domain that ended
   * meanwhile.
   */
  private long completeIoreq(Vcpu v, HvmPlatform platform, long now,
      java.util.function.LongSupplier access) {
    if (!v.awaitingIo() || v.domain().state().isFinal()) {
      return 0;
    }
    Cpu cpu = v.cpu();
    long insns = cpu.instructions();
    long cycles = 0;
    try {
      platform.setDeviceTime(now);
      cycles = access.getAsLong();
      return cycles;
    } catch (OutOfMachineMemory e) {
      // Completing the access needed a shadow frame the machine does not have (the memory
      // side of string I/O faulting on a shadow): the guest's domain is crashed, as at an exit.
      hv.crash(v.domain(), e.getMessage());
      return 0;
    } catch (RuntimeException e) {
      // The device model failed on this request (QEMU dying, on Xen): the domain it served
      // cannot go on, the service domain and the host do.
      hv.crash(v.domain(), "device model failed: " + e);
      return 0;
    } finally {
      // Instructions the hypervisor completed for the guest count as the guest's.
      v.counters().instructions += cpu.instructions() - insns;
      hv.ioreqDone(v, now + cycles);
    }
  }

  private long finishPortIo(Vcpu v, HvmPlatform platform, long qual) {
    Cpu cpu = v.cpu();
    int port = (int) (qual >>> 16) & 0xFFFF;
    int size = (int) (qual & 7) + 1;
    boolean in = (qual & VmxControls.IO_QUAL_IN) != 0;
    PortAccess access = new PortAccess(v, platform);
    if ((qual & VmxControls.IO_QUAL_STRING) != 0) {
      // A string instruction moves every element through the one port in DX, so the bus
      // needs that port alone (a table of the whole port space per exit cost more host time
      // than the transfer).
      IoBus bus = new IoBus();
      bus.register(port, 1, access);
      int pointer = in ? Cpu.EDI : Cpu.ESI;
      int first = cpu.reg(pointer);
      access.batched = true;
      // The memory side, where it is not RAM, is answered by the same devices as an MMIO
      // exit's access, at once (PortAccess's MmioDevice half).
      int x = cpu.emulateStringIo(bus, access);
      access.chargeBatch(first, cpu.reg(pointer));
      if (v.domain().shadow() != null && ShadowControl.isPageFaultExit(v.vmcs(), x)) {
        // The memory side needs a shadow entry (or faults in the guest): the instruction
        // restarts from its current state.
        return access.extraCycles + shadowPageFault(v);
      }
      if (x == CpuExit.TRIPLE_FAULT || x == CpuExit.VM_EXIT) {
        hv.crash(v.domain(), "fault during string I/O emulation");
      }
      return access.extraCycles;
    }
    if (in) {
      int value = access.in(port, size);
      int mask = size == 4 ? -1 : (1 << (8 * size)) - 1;
      cpu.setReg(Cpu.EAX, (cpu.reg(Cpu.EAX) & ~mask) | (value & mask));
    } else {
      int mask = size == 4 ? -1 : (1 << (8 * size)) - 1;
      access.out(port, size, cpu.reg(Cpu.EAX) & mask);
    }
    cpu.skipInstruction();
    return access.extraCycles;
  }

  private long mmio(Vcpu v) {
    Cpu cpu = v.cpu();
    Domain d = v.domain();
    long gpa = cpu.mmioAddress();
    if (gpa < 0) {
      hv.crash(d, String.format("EPT violation at gpa=0x%x (not a data access)",
          v.vmcs().read(VmcsField.GUEST_PHYSICAL_ADDRESS)));
      return 0;
    }
    if (!cpu.mmioCompletable()) {
      // More device accesses in one instruction than are replayed (FXSAVE or FNSAVE to a
      // device page). Xen's emulator gives up on such an instruction (its MMIO cache is full:
      // X86EMUL_UNHANDLEABLE) and hvm_hap_nested_page_fault injects #GP(0); so do we.
      cpu.abandonMmio();
      injectGp(v);
      return 0;
    }
    long base = platformMmioBase(v, gpa);
    if (base >= 0) {
      // The local APIC, HPET and I/O APIC are emulated here, where Xen keeps them; no trip to
      // the device model.
      MmioDevice device = platformMmio(v, base);
      if (cpu.mmioIsWrite()) {
        device.write(gpa - base, cpu.mmioSize(), cpu.mmioWriteData());
        cpu.completeMmio(0);
      } else {
        cpu.completeMmio(device.read(gpa - base, cpu.mmioSize()));
      }
      return 0;
    }
    IoreqServer server = d.ioreqServer();
    if (server != null && server.claimsMmio(gpa)) {
      v.counters().ioreqs++;
      Ioreq req = new Ioreq(Ioreq.Type.MMIO, gpa, cpu.mmioSize(), cpu.mmioIsWrite(),
          cpu.mmioWriteData() & 0xFFFF_FFFFL);
      hv.waitForIo(v);
      ioreqService(d).submitIoreq(now -> completeIoreq(v, hv.platform(d), now, () -> {
        cpu.completeMmio((int) server.handle(d.domid(), req));
        return cost.ioreq();
      }));
      return 0;
    }
    // Unbacked guest-physical addresses read as all ones and drop writes, as on Xen.
    cpu.completeMmio(-1);
    return 0;
  }

  /**
   * The base of the in-hypervisor device whose registers hold {@code gpa}, or -1: the vCPU's
   * own local APIC (each vCPU reaches its own at the same address), the HPET (Xen's
   * hvm/hpet.c), the I/O APIC (hvm/vioapic.c).
   */
  private long platformMmioBase(Vcpu v, long gpa) {
    HvmPlatform p = hv.platform(v.domain());
    if (gpa - LocalApic.BASE >= 0 && gpa - LocalApic.BASE < LocalApic.SIZE) {
      return LocalApic.BASE;
    }
    if (p.hpet() != null && gpa - Hpet.BASE >= 0 && gpa - Hpet.BASE < Hpet.SIZE) {
      return Hpet.BASE;
    }
    if (p.ioapic() != null && gpa - IoApic.BASE >= 0 && gpa - IoApic.BASE < IoApic.SIZE) {
      return IoApic.BASE;
    }
    return -1;
  }

  /** The device {@link #platformMmioBase} found at {@code base}. */
  private MmioDevice platformMmio(Vcpu v, long base) {
    HvmPlatform p = hv.platform(v.domain());
    return base == LocalApic.BASE ? p.lapic(v.id()) : base == Hpet.BASE ? p.hpet() : p.ioapic();
  }

  /**
   * One vCPU's view of ports: platform devices first, then the device model. For a string
   * instruction it is also the memory side where that is not RAM ({@link MmioDevice}, at
   * guest-physical addresses): Xen's emulator completes INS and OUTS whose buffer is MMIO
   * element by element through the same handlers as any MMIO access (the internal devices, else
   * the ioreq server), and one whose buffer has nothing behind it reads all ones and drops the
   * writes (its null handler, hvm_process_io_intercept's "drop the write as real hardware
   * would"); so does a write to a frame the guest holds read-only.
   */
  private final class PortAccess implements PortDevice, MmioDevice {
    private final Vcpu v;
    private final HvmPlatform platform;
    long extraCycles;
    /**
     * A string instruction's elements: Xen's emulator hands them to the device model as one
     * ioreq per page of the guest's buffer (hvmemul_rep_ins/outs: an ioreq with {@code count}
     * elements and {@code data_is_ptr}, the reps clamped to the page), and the device model
     * loops over them. So they are counted here and charged by {@link #chargeBatch}.
     */
    boolean batched;
    private long elements;

    PortAccess(Vcpu v, HvmPlatform platform) {
      this.v = v;
      this.platform = platform;
    }

    @Override
    public int in(int port, int size) {
      Domain d = v.domain();
      if (d.platformPorts().claims(port)) {
        return d.platformPorts().in(port, size);
      }
      IoreqServer server = d.ioreqServer();
      if (server == null || !server.claimsPort(port)) {
        return size == 4 ? -1 : (1 << (8 * size)) - 1;
      }
      if (batched) {
        elements++;
      } else {
        v.counters().ioreqs++;
        extraCycles += cost.ioreq();
      }
      return (int) server.handle(d.domid(), new Ioreq(Ioreq.Type.PIO, port, size, false, 0));
    }

    @Override
    public void out(int port, int size, int value) {
      Domain d = v.domain();
      if (d.platformPorts().claims(port)) {
        d.platformPorts().out(port, size, value);
        return;
      }
      IoreqServer server = d.ioreqServer();
      if (server == null || !server.claimsPort(port)) {
        return;
      }
      if (batched) {
        elements++;
      } else {
        v.counters().ioreqs++;
        extraCycles += cost.ioreq();
      }
      server.handle(d.domid(), new Ioreq(Ioreq.Type.PIO, port, size, true,
          value & 0xFFFF_FFFFL));
    }

    @Override
    public int read(long gpa, int size) {
      long base = platformMmioBase(v, gpa);
      if (base >= 0) {
        return platformMmio(v, base).read(gpa - base, size);
      }
      Domain d = v.domain();
      IoreqServer server = d.ioreqServer();
      if (server != null && server.claimsMmio(gpa)) {
        // One MMIO ioreq per element, as Xen's emulator makes when the buffer is not RAM.
        v.counters().ioreqs++;
        extraCycles += cost.ioreq();
        return (int) server.handle(d.domid(), new Ioreq(Ioreq.Type.MMIO, gpa, size, false, 0));
      }
      return size == 4 ? -1 : (1 << (8 * size)) - 1;
    }

    @Override
    public void write(long gpa, int size, int value) {
      long base = platformMmioBase(v, gpa);
      if (base >= 0) {
        platformMmio(v, base).write(gpa - base, size, value);
        return;
      }
      Domain d = v.domain();
      IoreqServer server = d.ioreqServer();
      if (server != null && server.claimsMmio(gpa)) {
        v.counters().ioreqs++;
        extraCycles += cost.ioreq();
        server.handle(d.domid(), new Ioreq(Ioreq.Type.MMIO, gpa, size, true,
            value & 0xFFFF_FFFFL));
      }
      // Otherwise nothing is there (or the frame is read-only to the guest): dropped.
    }

    /**
     * Charges the string instruction's device-model elements as ioreqs: one per page its
     * buffer pointer crossed from {@code first} to {@code last} (exclusive; either direction).
     */
    void chargeBatch(int first, int last) {
      if (elements == 0) {
        return;
      }
      long lo = Math.min(first & 0xFFFF_FFFFL, last & 0xFFFF_FFFFL);
      long hi = Math.max(first & 0xFFFF_FFFFL, last & 0xFFFF_FFFFL);
      long pages = hi == lo ? 1 : ((hi - 1) >>> 12) - (lo >>> 12) + 1;
      v.counters().ioreqs += pages;
      extraCycles += pages * cost.ioreq();
      elements = 0;
    }
  }
}
