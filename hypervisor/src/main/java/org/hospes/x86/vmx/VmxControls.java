package org.hospes.x86.vmx;

/** Bits of the VM-execution, VM-exit and VM-entry control fields (SDM vol. 3, ch. 25). */
public final class VmxControls {
  // Pin-based VM-execution controls.
  public static final int PIN_EXTERNAL_INTERRUPT_EXITING = 1 << 0;
  public static final int PIN_NMI_EXITING = 1 << 3;
  /** Virtual NMIs: injected NMIs set virtual-NMI blocking, which IRET removes. */
  public static final int PIN_VIRTUAL_NMIS = 1 << 5;
  public static final int PIN_PREEMPTION_TIMER = 1 << 6;

  // Primary processor-based VM-execution controls.
  public static final int PROC_INTERRUPT_WINDOW_EXITING = 1 << 2;
  public static final int PROC_USE_TSC_OFFSETTING = 1 << 3;
  public static final int PROC_HLT_EXITING = 1 << 7;
  public static final int PROC_INVLPG_EXITING = 1 << 9;
  public static final int PROC_MWAIT_EXITING = 1 << 10;
  public static final int PROC_RDPMC_EXITING = 1 << 11;
  public static final int PROC_RDTSC_EXITING = 1 << 12;
  public static final int PROC_CR3_LOAD_EXITING = 1 << 15;
  public static final int PROC_CR3_STORE_EXITING = 1 << 16;
  /** NMI-window exiting: exit at the first boundary without virtual-NMI blocking. */
  public static final int PROC_NMI_WINDOW_EXITING = 1 << 22;
  public static final int PROC_MOV_DR_EXITING = 1 << 23;
  public static final int PROC_UNCONDITIONAL_IO_EXITING = 1 << 24;
  public static final int PROC_USE_IO_BITMAPS = 1 << 25;
  public static final int PROC_MONITOR_TRAP_FLAG = 1 << 27;
  public static final int PROC_USE_MSR_BITMAPS = 1 << 28;
  public static final int PROC_PAUSE_EXITING = 1 << 30;
  public static final int PROC_ACTIVATE_SECONDARY = 1 << 31;

  // Secondary processor-based VM-execution controls.
  public static final int PROC2_ENABLE_EPT = 1 << 1;
  public static final int PROC2_DESCRIPTOR_TABLE_EXITING = 1 << 2;
  public static final int PROC2_ENABLE_VPID = 1 << 5;
  public static final int PROC2_WBINVD_EXITING = 1 << 6;
  public static final int PROC2_UNRESTRICTED_GUEST = 1 << 7;

  // VM-entry / VM-exit interruption-information fields.
  public static final int INTR_INFO_VALID = 1 << 31;
  public static final int INTR_INFO_ERROR_CODE_VALID = 1 << 11;
  public static final int INTR_TYPE_EXTERNAL = 0;
  public static final int INTR_TYPE_NMI = 2;
  public static final int INTR_TYPE_HARDWARE_EXCEPTION = 3;
  public static final int INTR_TYPE_SOFTWARE_INTERRUPT = 4;
  public static final int INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION = 5;
  public static final int INTR_TYPE_SOFTWARE_EXCEPTION = 6;
  /** Other event: with vector 0, a pending MTF VM exit (SDM 26.5.2). */
  public static final int INTR_TYPE_OTHER_EVENT = 7;
  /** Bits 30:12 of an interruption-information field: reserved in the VM-entry field. */
  public static final int INTR_INFO_RESERVED = 0x7FFF_F000;
  /**
   * Bit 12 of the VM-exit interruption information (an exception exit) and of an EPT
   * violation's qualification: the IRET that caused the exit had removed NMI blocking.
   */
  public static final int NMI_UNBLOCKED_BY_IRET = 1 << 12;

  /**
   * VM-instruction error 7 (SDM vol. 3, 30.4): "VM entry with invalid control field(s)", the
   * VMfailValid of a VM entry that failed a check of SDM 26.2.
   */
  public static final int VM_ERROR_ENTRY_INVALID_CONTROL = 7;

  /** Bit 31 of the exit reason: the VM entry failed (SDM 26.7). */
  public static final int EXIT_REASON_ENTRY_FAILURE = 1 << 31;
  /** Qualification of a VM-entry failure for invalid guest state: most checks (SDM 26.7). */
  public static final int ENTRY_FAIL_QUAL_DEFAULT = 0;
  /** Qualification of a VM-entry failure: an NMI injected over blocking by STI. */
  public static final int ENTRY_FAIL_QUAL_NMI_STI = 3;

  // Exit qualification of I/O instructions (table 28-5).
  public static final int IO_QUAL_IN = 1 << 3;
  public static final int IO_QUAL_STRING = 1 << 4;
  public static final int IO_QUAL_REP = 1 << 5;
  public static final int IO_QUAL_IMMEDIATE = 1 << 6;

  // Exit qualification of control-register accesses (table 28-3): access type in bits 5:4.
  public static final int CR_QUAL_MOV_TO_CR = 0;
  public static final int CR_QUAL_MOV_FROM_CR = 1;
  public static final int CR_QUAL_CLTS = 2;
  public static final int CR_QUAL_LMSW = 3;

  // Exit qualification of EPT violations (table 28-7).
  public static final int EPT_QUAL_READ = 1 << 0;
  public static final int EPT_QUAL_WRITE = 1 << 1;
  public static final int EPT_QUAL_FETCH = 1 << 2;
  public static final int EPT_QUAL_READABLE = 1 << 3;
  public static final int EPT_QUAL_WRITABLE = 1 << 4;
  public static final int EPT_QUAL_EXECUTABLE = 1 << 5;
  public static final int EPT_QUAL_LINEAR_VALID = 1 << 7;
  public static final int EPT_QUAL_FINAL_TRANSLATION = 1 << 8;

  private VmxControls() {}

  /**
   * Whether a hardware exception whose vector pushes an error code is injected with one (SDM
   * vol. 3, 26.2.1.3): unless "unrestricted guest" is in effect and the guest's CR0.PE is
   * clear, since a real-mode exception pushes no error code. VM entry refuses the
   * deliver-error-code bit set otherwise, and refuses it clear here.
   */
  public static boolean injectsErrorCode(Vmcs vmcs, int guestCr0) {
    boolean unrestricted = vmcs.has(VmcsField.CPU_BASED_VM_EXEC_CONTROL, PROC_ACTIVATE_SECONDARY)
        && vmcs.has(VmcsField.SECONDARY_VM_EXEC_CONTROL, PROC2_UNRESTRICTED_GUEST);
    return !unrestricted || (guestCr0 & 1) != 0;
  }

  /** Packs an interruption-information field. */
  public static int intrInfo(int vector, int type, boolean errorCode) {
    return INTR_INFO_VALID | (type << 8) | (vector & 0xFF)
        | (errorCode ? INTR_INFO_ERROR_CODE_VALID : 0);
  }
}
