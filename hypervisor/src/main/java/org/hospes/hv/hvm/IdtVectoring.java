package org.hospes.hv.hvm;

import org.hospes.x86.Cpu;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * An exit that cut an event's delivery (SDM 27.2.4: the IDT-vectoring information is valid):
 * Xen's vmx_idtv_reinject, which its vmx_vmexit_handler runs for every exit but a task switch
 * before it handles the exit itself. In Hospes the exits that can come during a delivery are
 * a #PF under shadow paging ({@link ShadowControl#pageFault}, which also applies the
 * double-fault rules when the guest is to see the fault), an EPT violation or misconfiguration
 * on an access of the delivery (the IDT, GDT, TSS or stack), and a task switch through a task
 * gate (which, as on Xen, is not re-queued: the hypervisor finishes the switch itself).
 */
final class IdtVectoring {
  private IdtVectoring() {}

  /** Queues the event the IDT-vectoring information names again, if it is valid. */
  static void reinjectIfValid(Vmcs vmcs) {
    int idt = vmcs.read32(VmcsField.IDT_VECTORING_INFO_FIELD);
    if ((idt & VmxControls.INTR_INFO_VALID) != 0) {
      reinject(vmcs, idt);
    }
  }

  /**
   * Xen's vmx_idtv_reinject, for an exit during the delivery of the event {@code idt} names
   * (IDT-vectoring information, valid): the event is queued for redelivery if
   * hvm_event_needs_reinjection says so (an external interrupt, an NMI, a hardware exception
   * other than vectors 3 and 4), with its error code and with the reserved bits 30:12 cleared
   * (SDM 27.2.3); a software interrupt, privileged software exception or software exception
   * (types 4, 5, 6: INT n, INT1, INT3, INTO) is not, because the guest's EIP still points at
   * the instruction, which runs again and raises it again. Whatever the type, an NMI whose
   * delivery was cut leaves no blocking by NMI (the redelivery sets it again).
   */
  static void reinject(Vmcs vmcs, int idt) {
    int type = (idt >>> 8) & 7;
    if (needsReinjection(type, idt & 0xFF)) {
      vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD,
          idt & ~VmxControls.INTR_INFO_RESERVED & 0xFFFF_FFFFL);
      if ((idt & VmxControls.INTR_INFO_ERROR_CODE_VALID) != 0) {
        vmcs.write(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE,
            vmcs.read(VmcsField.IDT_VECTORING_ERROR_CODE));
      }
    }
    if (type == VmxControls.INTR_TYPE_NMI) {
      vmcs.clearBits(VmcsField.GUEST_INTERRUPTIBILITY_INFO, Cpu.INTR_NMI);
    }
  }

  /** Xen's hvm_event_needs_reinjection, in its order of cases. */
  static boolean needsReinjection(int type, int vector) {
    switch (type) {
      case VmxControls.INTR_TYPE_EXTERNAL:
      case VmxControls.INTR_TYPE_NMI:
        return true;
      case VmxControls.INTR_TYPE_HARDWARE_EXCEPTION:
        // SVM reports INT3 and INTO as hardware exceptions with EIP not past them; Xen's
        // common check keeps them out whatever the vendor, and so does this one.
        return vector != 3 && vector != 4;
      default:
        return false;
    }
  }
}
