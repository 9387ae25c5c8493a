package org.hospes.hv.hvm;

import java.util.Arrays;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.hypercall.GuestAccess;
import org.hospes.x86.Cpu;
import org.hospes.x86.Exceptions;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * Xen's HVM forced-emulation prefix, {@code ud2; .ascii "xen"} before an instruction, offered
 * when the host enables it (Xen's {@code hvm_fep} boot option; {@code --hvm-fep} here). Every
 * HVM vCPU then intercepts #UD. A #UD exit whose bytes at CS:EIP are the prefix steps over it
 * and has the processor run the one instruction after it on the hypervisor's request, single-
 * stepped by the monitor trap flag: an exit before it, the interpreter for it (never translated
 * code; its own exits, such as CPUID, I/O or MMIO, are taken as usual), and an exit after it.
 * Hospes has no second instruction engine, so this is its emulation path. Any other #UD is given
 * back to the guest, as Xen's {@code hvm_ud_intercept} injects it when the prefix is absent.
 */
public final class ForcedEmulation {
  /** {@code ud2} (0F 0B) and the ASCII bytes "xen". */
  static final byte[] PREFIX = {0x0F, 0x0B, 'x', 'e', 'n'};

  private ForcedEmulation() {}

  /** The exception bitmap bit a vCPU needs when the host offers the prefix. */
  public static void intercept(Vmcs vmcs) {
    vmcs.setBits(VmcsField.EXCEPTION_BITMAP, 1L << Exceptions.UD);
  }

  /** True when the exit {@code v} just took is a #UD intercepted by the exception bitmap. */
  public static boolean isInvalidOpcodeExit(Vmcs vmcs) {
    return (vmcs.read32(VmcsField.VM_EXIT_INTR_INFO) & 0xFF) == Exceptions.UD;
  }

  /**
   * A #UD exit: the prefix starts a forced emulation and returns true; anything else (or a
   * prefix the guest cannot read, as when it spans into an unmapped page) is injected as #UD
   * and returns false.
   */
  public static boolean onInvalidOpcode(Vcpu v) {
    Cpu cpu = v.cpu();
    Vmcs vmcs = v.vmcs();
    byte[] code = new GuestAccess(v).read(cpu.segmentBase(Cpu.CS) + cpu.eip(), PREFIX.length);
    if (code == null || !Arrays.equals(code, PREFIX)) {
      vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD, VmxControls.intrInfo(Exceptions.UD,
          VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, false) & 0xFFFF_FFFFL);
      return false;
    }
    cpu.setEip(cpu.eip() + PREFIX.length);
    v.setForcedEmulation(true);
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_MONITOR_TRAP_FLAG);
    v.counters().forcedEmulations++;
    return true;
  }

  /**
   * A monitor-trap exit: true if it ends a forced emulation, whose flag it clears. The shadow
   * pager may have stepped the same instruction (a page-table write): the caller then lets it
   * finish its own step too.
   */
  public static boolean onMonitorTrap(Vcpu v) {
    if (!v.forcedEmulation()) {
      return false;
    }
    v.setForcedEmulation(false);
    v.vmcs().clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_MONITOR_TRAP_FLAG);
    return true;
  }
}
