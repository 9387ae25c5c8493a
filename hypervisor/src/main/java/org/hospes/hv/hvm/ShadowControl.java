package org.hospes.hv.hvm;

import org.hospes.hv.memory.ShadowPager;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * The VMX side of shadow paging (HVM_SHADOW): the controls, and the exits they cause.
 *
 * <p>The host owns CR0.PG/WP/PE and CR4.PAE/PSE/PGE (guest/host masks; the guest reads its own
 * values from the read shadows), and intercepts MOV to/from CR3, INVLPG and every #PF (exception
 * bitmap bit 14 with error-code mask and match 0). The processor really runs with paging and
 * CR0.WP on, CR4.PSE/PGE off, CR4.PAE as the shadow's format (the guest's: set for a PAE guest),
 * and CR3 at the shadow root of {@link ShadowPager}. A #PF the
 * guest must see is injected through the VM-entry interruption-information field with its error
 * code, CR2 written by the hypervisor; a permitted write to a guest page table is single-stepped
 * with the monitor trap flag. While the guest's CR0.PE is clear the vCPU runs in VM86 mode or
 * through the emulator, on the identity shadow ({@link ShadowRealMode}); there is no EPT.
 */
public final class ShadowControl {
  static final int CR0_OWNED = Cpu.CR0_PG | Cpu.CR0_WP | Cpu.CR0_PE;
  static final int CR4_OWNED = Cpu.CR4_PAE | Cpu.CR4_PSE | Cpu.CR4_PGE;
  /**
   * The CR4 bits the guest may set: those of the CPUID.1:EDX it sees (Xen's
   * hvm_cr4_guest_valid_bits). That is the processor's leaf (HvmExitHandler adds the APIC bit,
   * which has no CR4 bit), so DE and MCE are #GP(0).
   */
  private static final int CR4_ALLOWED = Cpu.CR4_VALID;
  private static final int PF = 14, DF = 8, GP = 13;
  private static final int PFEC_W = 2, PFEC_U = 4, PFEC_RSVD = 8;
  private static final boolean TRACE = Boolean.getBoolean("hospes.shadowTrace");
  private static final int EFLAGS_VM = 1 << 17;

  /** What an exit handler must do after a shadow exit. */
  public enum Outcome {
    RESUME,
    CRASH_UNSUPPORTED,
    TRIPLE_FAULT,
    /** An access through an MMIO translation: complete it as an EPT violation's access. */
    MMIO,
    /** A page with no RAM reached by an instruction fetch or an implicit access. */
    MMIO_NOT_DATA
  }

  private ShadowControl() {}

  /** Sets the controls of a fresh vCPU and moves it onto its first (identity) shadow. */
  public static void start(Cpu cpu, Vmcs vmcs, ShadowPager shadow) {
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_CR3_LOAD_EXITING
        | VmxControls.PROC_CR3_STORE_EXITING | VmxControls.PROC_INVLPG_EXITING);
    vmcs.write(VmcsField.CR3_TARGET_COUNT, 0);
    vmcs.setBits(VmcsField.EXCEPTION_BITMAP, 1L << PF);
    vmcs.write(VmcsField.PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmcs.write(VmcsField.PAGE_FAULT_ERROR_CODE_MATCH, 0);
    vmcs.write(VmcsField.CR0_GUEST_HOST_MASK, CR0_OWNED & 0xFFFF_FFFFL);
    vmcs.write(VmcsField.CR4_GUEST_HOST_MASK, CR4_OWNED);
    int cr0 = cpu.cr0();
    int cr3 = cpu.cr3();
    int cr4 = cpu.cr4();
    if (!shadow.setControl(cr0, cr3, cr4)) {
      throw new IllegalStateException("initial PAE state with bad PDPTEs");
    }
    shadow.setTlb(new ShadowPager.Tlb() {
      @Override
      public void invalidatePage(int lin) {
        cpu.invalidatePage(lin);
      }

      @Override
      public void invalidateAll() {
        cpu.invalidateTranslations();
      }
    });
    load(cpu, vmcs, shadow, cr0, cr4);
  }

  /**
   * VCPUOP_initialise gave vCPU {@code id} (not running) new control registers: they become the
   * guest's in the pager, and the real ones point at its shadow. Returns false, changing
   * nothing in the pager, when PAE paging names PDPTEs with reserved bits (the state cannot
   * run). The vCPU's registers otherwise were loaded directly, so its real-mode bookkeeping is
   * dropped as after INIT or SIPI. The caller re-selects its own vCPU afterwards.
   */
  public static boolean adopt(Cpu cpu, Vmcs vmcs, ShadowPager shadow, ShadowRealMode rm, int id,
      int cr0, int cr3, int cr4) {
    rm.forget(vmcs, shadow);
    if ((cr0 & Cpu.CR0_PG) == 0) {
      // Not paging: the next entry adopts them itself (beforeEntry).
      cpu.loadControlRegisters(cr0, cr3, cr4);
      return true;
    }
    shadow.select(id);
    if (!shadow.setControl(cr0, cr3, cr4)) {
      return false;
    }
    // The guest's non-owned bits live in the real registers; the owned ones come from the pager.
    cpu.loadControlRegisters(cr0 & ~CR0_OWNED, 0, cr4 & ~CR4_OWNED);
    load(cpu, vmcs, shadow, cr0, cr4);
    return true;
  }

  /**
   * At VM entry: when a builder, INIT or SIPI loaded the vCPU's control registers directly
   * (they are then the guest's own: real paging off, or CR3 not a shadow root), adopts them as
   * the guest's and moves the vCPU back onto a shadow; then a guest in real mode (or just out
   * of it) runs in VM86 mode or through the emulator ({@link ShadowRealMode}).
   */
  public static void beforeEntry(Cpu cpu, Vmcs vmcs, ShadowPager shadow, ShadowRealMode rm) {
    if ((cpu.cr0() & Cpu.CR0_PG) == 0 || cpu.cr3() != shadow.realCr3()) {
      rm.forget(vmcs, shadow);
      start(cpu, vmcs, shadow);
    }
    rm.beforeEntry(cpu, vmcs, shadow, shadow.guestCr0(), cpu.cr4());
  }

  /**
   * The shadow pager moved to a fresh root (a P2M change drops every shadow): points the real
   * CR3 at it. Without this, the next entry would see a CR3 that is not the shadow's and take
   * the real control registers for the guest's own ({@link #beforeEntry}).
   */
  public static void reload(Cpu cpu, Vmcs vmcs, ShadowPager shadow) {
    load(cpu, vmcs, shadow, cpu.cr0(), cpu.cr4());
  }

  /**
   * Loads the real control registers from the guest's (non-owned CR0 bits from {@code cr0},
   * non-owned CR4 bits from {@code cr4}). The guest's non-owned CR4 bits (OSFXSR, OSXMMEXCPT,
   * TSD...) are live in the real CR4: a MOV to CR4 that changes only them does not exit, so the
   * pager's copy may be behind; callers pass the real CR4 (or the value being written), so that
   * no exit loses them.
   */
  private static void load(Cpu cpu, Vmcs vmcs, ShadowPager shadow, int cr0, int cr4) {
    int realCr4 = cr4 & ~CR4_OWNED;
    vmcs.write(VmcsField.CR0_READ_SHADOW, shadow.guestCr0() & 0xFFFF_FFFFL);
    vmcs.write(VmcsField.CR4_READ_SHADOW, shadow.guestCr4() & 0xFFFF_FFFFL);
    if ((shadow.guestCr0() & Cpu.CR0_PE) == 0 && (cpu.eflags() & EFLAGS_VM) == 0) {
      // Real mode, not run in VM86 mode: the emulator, on the identity shadow.
      int guestCr0 = (cr0 & ~CR0_OWNED) | (shadow.guestCr0() & CR0_OWNED);
      cpu.loadEmulatorControlRegisters(guestCr0, shadow.realCr3(), realCr4);
      return;
    }
    int realCr0 = (cr0 & ~CR0_OWNED) | CR0_OWNED;
    // A PAE guest runs on PAE shadows (their XD bits enforce its execute-disable).
    cpu.loadControlRegisters(realCr0, shadow.realCr3(),
        realCr4 | (shadow.realPae() ? Cpu.CR4_PAE : 0));
  }

  /** The guest's CR4: the owned bits as the pager holds them, the rest live in the real CR4. */
  static int guestCr4(Cpu cpu, ShadowPager shadow) {
    return (shadow.guestCr4() & CR4_OWNED) | (cpu.cr4() & ~CR4_OWNED);
  }

  /** A control-register access exit. */
  public static Outcome crAccess(Cpu cpu, Vmcs vmcs, ShadowPager shadow,
      ShadowRealMode rm) {
    long qual = vmcs.exitQualification();
    if (TRACE) {
      System.err.printf("CR qual=%x eip=%08x%n", qual, cpu.eip());
    }
    int cr = (int) qual & 15;
    int type = (int) (qual >>> 4) & 3;
    int gpr = (int) (qual >>> 8) & 15;
    if (type == VmxControls.CR_QUAL_MOV_FROM_CR && cr == 3) {
      cpu.setReg(gpr, shadow.guestCr3());
      cpu.skipInstruction();
      return Outcome.RESUME;
    }
    int value;
    if (type == VmxControls.CR_QUAL_LMSW) {
      // LMSW loads PE, MP, EM and TS from its source (bits 31:16 of the qualification) and
      // never clears PE.
      int src = (int) (qual >>> 16) & 0xF;
      int old = (shadow.guestCr0() & CR0_OWNED) | (cpu.cr0() & ~CR0_OWNED);
      value = (old & ~0xE) | src | (old & Cpu.CR0_PE);
      cr = 0;
    } else if (type != VmxControls.CR_QUAL_MOV_TO_CR) {
      return Outcome.CRASH_UNSUPPORTED;
    } else {
      value = cpu.reg(gpr);
    }
    int cr0 = shadow.guestCr0();
    int cr3 = shadow.guestCr3();
    // Not the pager's copy alone: non-owned bits the guest set without an exit count too.
    int cr4 = guestCr4(cpu, shadow);
    switch (cr) {
      case 0:
        // ET reads 1; the reserved bits are ignored, as the processor ignores them.
        value = (value | Cpu.CR0_ET) & Cpu.CR0_DEFINED;
        if ((value & Cpu.CR0_PG) != 0 && (value & Cpu.CR0_PE) == 0
            || (value & Cpu.CR0_NW) != 0 && (value & Cpu.CR0_CD) == 0) {
          injectGp(cpu, vmcs);
          return Outcome.RESUME;
        }
        if ((value & Cpu.CR0_PE) == 0 && (cr0 & Cpu.CR0_PE) != 0) {
          // Back to real mode: the emulator runs it until its segments are 8086 segments.
          rm.realModeEntered();
        } else if ((value & Cpu.CR0_PE) != 0 && (cr0 & Cpu.CR0_PE) == 0) {
          // Protected mode, with the segments real mode left until the guest reloads them.
          rm.protectedModeEntered();
        }
        cr0 = value;
        break;
      case 3:
        cr3 = value;
        break;
      case 4:
        if ((value & ~CR4_ALLOWED) != 0) {
          injectGp(cpu, vmcs);
          return Outcome.RESUME;
        }
        cr4 = value;
        break;
      default:
        return Outcome.CRASH_UNSUPPORTED;
    }
    if (!shadow.setControl(cr0, cr3, cr4)) {
      injectGp(cpu, vmcs);
      return Outcome.RESUME;
    }
    load(cpu, vmcs, shadow, cr == 0 ? value : cpu.cr0(), cr4);
    cpu.skipInstruction();
    return Outcome.RESUME;
  }

  /** INVLPG exit: drop the shadow entry, flush the processor's. */
  public static void invlpg(Cpu cpu, Vmcs vmcs, ShadowPager shadow) {
    shadow.invlpg((int) vmcs.exitQualification());
    cpu.skipInstruction();
  }

  /** The instruction single-stepped over a page-table write is done. */
  public static void monitorTrap(Vmcs vmcs, ShadowPager shadow) {
    vmcs.clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_MONITOR_TRAP_FLAG);
    if (shadow.stepping()) {
      shadow.stepDone();
    }
  }

  /**
   * A #PF exit: fill the shadow (hidden fault), single-step a page-table write, or give the
   * fault to the guest with its error code and CR2 (applying the double-fault rules when it
   * happened while delivering another event). {@code injected[0]} tells whether the guest sees
   * the fault.
   */
  public static Outcome pageFault(Cpu cpu, Vmcs vmcs, ShadowPager shadow, boolean[] injected) {
    int info = vmcs.read32(VmcsField.VM_EXIT_INTR_INFO);
    if ((info & 0xFF) != PF) {
      return Outcome.CRASH_UNSUPPORTED;
    }
    int lin = (int) vmcs.exitQualification();
    int err = vmcs.read32(VmcsField.VM_EXIT_INTR_ERROR_CODE);
    int idt = vmcs.read32(VmcsField.IDT_VECTORING_INFO_FIELD);
    // The guest's EFER goes to the processor directly (no MSR exit); its NXE decides which
    // bits of the guest's PAE entries are reserved.
    if (shadow.setNxe((cpu.efer() & Cpu.EFER_NXE) != 0)) {
      // Every shadow was rebuilt: the processor must walk the new root.
      reload(cpu, vmcs, shadow);
    }
    if ((err & PFEC_RSVD) != 0 && cpu.mmioAddress() >= 0) {
      // The fault of an MMIO translation (Xen's magic MMIO entry): the access is the device's.
      // One an event's delivery made (a push onto a device's page) has that event go in again
      // once it is completed, as Xen's vmx_idtv_reinject queues it before sh_page_fault.
      if ((idt & VmxControls.INTR_INFO_VALID) != 0) {
        IdtVectoring.reinject(vmcs, idt);
      }
      return Outcome.MMIO;
    }
    int r = shadow.pageFault(lin, err);
    if (r == ShadowPager.MMIO) {
      if (cpu.mmioPageCovers(lin, (err & PFEC_W) != 0, (err & PFEC_U) != 0)) {
        // The processor already held a translation that serves data accesses of this kind
        // here, and still faulted: an instruction fetch or a descriptor-table access, which
        // no device answers (as an EPT violation that is not a data access).
        return Outcome.MMIO_NOT_DATA;
      }
      cpu.mapMmioPage(lin, shadow.mmioAddress(), shadow.mmioWritable(), shadow.mmioUser());
      r = ShadowPager.FIXED;
    }
    if (TRACE) {
      System.err.printf("#PF lin=%08x err=%x eip=%08x esp=%08x idt=%08x -> %d pte=%08x%n", lin,
          err, cpu.eip(), cpu.reg(Cpu.ESP), idt, r, shadow.shadowPte(lin));
    }
    injected[0] = r >= 0;
    if (r == ShadowPager.STEP) {
      vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_MONITOR_TRAP_FLAG);
    }
    if (r < 0) {
      if ((idt & VmxControls.INTR_INFO_VALID) != 0) {
        // The fault interrupted the delivery of an event.
        IdtVectoring.reinject(vmcs, idt);
      }
      return Outcome.RESUME;
    }
    if ((idt & VmxControls.INTR_INFO_VALID) != 0
        && ((idt >>> 8) & 7) == VmxControls.INTR_TYPE_HARDWARE_EXCEPTION) {
      int first = idt & 0xFF;
      if (first == DF) {
        return Outcome.TRIPLE_FAULT;
      }
      // SDM table 6-5: a #PF while delivering a #PF is a #DF; after a contributory
      // exception the #PF is handled serially.
      if (first == PF) {
        inject(cpu, vmcs, DF, 0);
        return Outcome.RESUME;
      }
    }
    // An external interrupt or NMI whose delivery took this fault is not given again: the #PF
    // takes its place. So does Xen: vmx_idtv_reinject queues the event, then the #PF
    // intercept's hvm_inject_page_fault reaches vmx_inject_event, which combines the new event
    // with a pending hardware exception only (hvm_combine_hw_exceptions) and otherwise writes
    // it over whatever is pending. The interrupt was acknowledged when it was injected (its
    // vector moved from IRR to ISR, or the PIC's to its ISR), so it stays in service until the
    // guest's next EOI; an NMI's pending latch was cleared then too, and the NMI is gone
    // unblocked (vmx_idtv_reinject clears blocking by NMI; this processor never set it for a
    // delivery that exited). A processor does the same: a fault in an interrupt's delivery is
    // delivered in its place and the interrupt, acknowledged by its INTA cycle, is not
    // delivered again, which is why a kernel keeps its IDT and interrupt stacks present. (KVM
    // keeps the interrupt and injects it after the exception; Hospes answers as Xen.)
    cpu.setCr2(lin);
    inject(cpu, vmcs, PF, r);
    return Outcome.RESUME;
  }

  /**
   * The CR3 a task switch loads: the guest's goes to the shadow pager, the shadow's to CR3
   * (zero-extended); -1 if the guest's PAE roots have reserved bits, which the processor turns
   * into #GP(0) in the new task, as for MOV to CR3 ({@link #crAccess}).
   */
  public static long taskSwitchCr3(Vmcs vmcs, ShadowPager shadow, int guestCr3) {
    if (!shadow.setControl(shadow.guestCr0(), guestCr3, shadow.guestCr4())) {
      return -1;
    }
    return shadow.realCr3() & 0xFFFF_FFFFL;
  }

  /** True when the exit the processor just took is a #PF intercepted by the exception bitmap. */
  public static boolean isPageFaultExit(Vmcs vmcs, int x) {
    return x == CpuExit.VM_EXIT && vmcs.exitReason() == ExitReason.EXCEPTION_NMI
        && (vmcs.read32(VmcsField.VM_EXIT_INTR_INFO) & 0xFF) == PF;
  }

  private static void injectGp(Cpu cpu, Vmcs vmcs) {
    inject(cpu, vmcs, GP, 0);
  }

  /**
   * A hardware exception whose vector pushes an error code, with {@code err}, as the VM entry
   * checks want it ({@link VmxControls#injectsErrorCode}); a guest in real mode gets it from the
   * real-mode emulator ({@link ShadowRealMode}), through the IVT, which pushes no error code.
   */
  private static void inject(Cpu cpu, Vmcs vmcs, int vector, int err) {
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, VmxControls.intrInfo(vector,
        VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, VmxControls.injectsErrorCode(vmcs, cpu.cr0()))
        & 0xFFFF_FFFFL);
    vmcs.write(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE, err & 0xFFFF_FFFFL);
  }
}
