package org.hospes.x86.vmx;

/**
 * Basic VM-exit reasons with Intel's numbering (SDM vol. 3, appendix C). Hospes's processor
 * produces a subset; the rest are listed so a hypervisor can name whatever it reads.
 */
public enum ExitReason {
  EXCEPTION_NMI(0),
  EXTERNAL_INTERRUPT(1),
  TRIPLE_FAULT(2),
  INIT_SIGNAL(3),
  SIPI(4),
  IO_SMI(5),
  OTHER_SMI(6),
  INTERRUPT_WINDOW(7),
  NMI_WINDOW(8),
  TASK_SWITCH(9),
  CPUID(10),
  GETSEC(11),
  HLT(12),
  INVD(13),
  INVLPG(14),
  RDPMC(15),
  RDTSC(16),
  RSM(17),
  VMCALL(18),
  VMCLEAR(19),
  VMLAUNCH(20),
  VMPTRLD(21),
  VMPTRST(22),
  VMREAD(23),
  VMRESUME(24),
  VMWRITE(25),
  VMXOFF(26),
  VMXON(27),
  CR_ACCESS(28),
  DR_ACCESS(29),
  IO_INSTRUCTION(30),
  RDMSR(31),
  WRMSR(32),
  ENTRY_FAIL_GUEST_STATE(33),
  ENTRY_FAIL_MSR_LOADING(34),
  MWAIT(36),
  MONITOR_TRAP_FLAG(37),
  MONITOR(39),
  PAUSE(40),
  ENTRY_FAIL_MACHINE_CHECK(41),
  TPR_BELOW_THRESHOLD(43),
  APIC_ACCESS(44),
  VIRTUALIZED_EOI(45),
  GDTR_IDTR_ACCESS(46),
  LDTR_TR_ACCESS(47),
  EPT_VIOLATION(48),
  EPT_MISCONFIG(49),
  INVEPT(50),
  RDTSCP(51),
  PREEMPTION_TIMER(52),
  INVVPID(53),
  WBINVD(54),
  XSETBV(55),
  APIC_WRITE(56);

  private static final ExitReason[] BY_CODE = new ExitReason[64];

  static {
    for (ExitReason r : values()) {
      BY_CODE[r.code] = r;
    }
  }

  private final int code;

  ExitReason(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The reason with basic exit reason {@code code}, or null if Intel defines none. */
  public static ExitReason of(int code) {
    return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
  }
}
