package org.hospes.x86;

import java.util.Arrays;
import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * MMIO in non-root operation, as the processor sees it: a data access that reaches no RAM (an
 * EPT violation, or under shadow paging a page the hypervisor mapped with
 * {@link Cpu#mapMmioPage}) leaves the instruction with a VM exit that names the access; the
 * hypervisor completes it ({@link Cpu#completeMmio}) and the instruction is restarted, its
 * accesses replayed in order from the log. The log and the MMIO page cache are Cpu's fields.
 */
final class Mmio {
  private Mmio() {}

  /** An MMIO read in non-root operation: replayed from the log, or a VM exit. */
  static int read(Cpu c, long gpa, int bytes, int lin) {
    if (c.stringIoMemory != null) {
      // String I/O finished for the hypervisor: its handler answers the access at once.
      return c.stringIoMemory.read(gpa, bytes);
    }
    if (c.mmioPos < c.mmioLen) {
      int k = c.mmioPos;
      if (c.mmioGpa[k] == gpa && c.mmioSize[k] == bytes && !c.mmioWrite[k]) {
        c.mmioPos++;
        return c.mmioValue[k];
      }
      c.mmioLen = 0;
    }
    c.pendingMmioGpa = gpa;
    c.pendingMmioSize = bytes;
    c.pendingMmioWrite = false;
    c.pendingMmioData = 0;
    exit(c, false);
    return 0;
  }

  static void write(Cpu c, long gpa, int bytes, int value) {
    if (c.stringIoMemory != null) {
      c.stringIoMemory.write(gpa, bytes, bytes == 4 ? value : value & ((1 << (8 * bytes)) - 1));
      return;
    }
    if (c.mmioPos < c.mmioLen) {
      int k = c.mmioPos;
      if (c.mmioGpa[k] == gpa && c.mmioSize[k] == bytes && c.mmioWrite[k]) {
        c.mmioPos++;
        return;
      }
      c.mmioLen = 0;
    }
    c.pendingMmioGpa = gpa;
    c.pendingMmioSize = bytes;
    c.pendingMmioWrite = true;
    c.pendingMmioData = bytes == 4 ? value : value & ((1 << (8 * bytes)) - 1);
    exit(c, true);
  }

  /** The guest-physical address of {@code lin} through an MMIO translation, or -1. */
  static long pageOf(Cpu c, int lin, boolean write) {
    int k = c.mmioSlot(lin >>> 12);
    if (k < 0 || write && !c.mmioPageWritable[k]
        || c.userAccess() != 0 && !c.mmioPageUser[k]) {
      return -1;
    }
    return c.mmioPageGpa[k] | (lin & 0xFFF);
  }

  static void dropPages(Cpu c) {
    if (c.mmioPageCount != 0) {
      Arrays.fill(c.mmioPageTag, 0);
      c.mmioPageCount = 0;
    }
  }

  static void dropPage(Cpu c, int lin) {
    int k = c.mmioPageCount == 0 ? -1 : c.mmioSlot(lin >>> 12);
    if (k >= 0) {
      c.mmioPageTag[k] = 0;
      c.mmioPageCount--;
    }
  }

  /** A data read through an MMIO translation: replayed from the log, or a #PF exit. */
  static int pageRead(Cpu c, long gpa, int bytes, int lin) {
    c.mmioPageExit = true;
    c.mmioPageLin = lin;
    try {
      return read(c, gpa, bytes, lin);
    } finally {
      c.mmioPageExit = false;
    }
  }

  static void pageWrite(Cpu c, long gpa, int bytes, int value, int lin) {
    c.mmioPageExit = true;
    c.mmioPageLin = lin;
    try {
      write(c, gpa, bytes, value);
    } finally {
      c.mmioPageExit = false;
    }
  }

  /**
   * The exit of an MMIO access: an EPT violation, or under shadow paging the #PF a magic MMIO
   * shadow entry raises (reserved bit set, so the hypervisor knows it at once).
   */
  private static void exit(Cpu c, boolean write) {
    if (!c.mmioPageExit) {
      c.vmExit(ExitReason.EPT_VIOLATION, c.eptQualification);
      return;
    }
    // Error code: present, reserved bit, and the access's W and U/S (SDM vol. 3, 4.7).
    int err = Paging.PF_P | Paging.PF_RSVD | (write ? Paging.PF_W : 0)
        | (c.userAccess() != 0 ? Paging.PF_U : 0);
    c.vmcs.write(VmcsField.VM_EXIT_REASON, ExitReason.EXCEPTION_NMI.code());
    c.vmcs.write(VmcsField.EXIT_QUALIFICATION, c.mmioPageLin & 0xFFFF_FFFFL);
    c.vmcs.write(VmcsField.VM_EXIT_INTR_INFO, VmxControls.intrInfo(Exceptions.PF,
        VmxControls.INTR_TYPE_HARDWARE_EXCEPTION, true)
        | (c.iretUnblockedNmi ? VmxControls.NMI_UNBLOCKED_BY_IRET : 0));
    c.iretUnblockedNmi = false;
    c.vmcs.write(VmcsField.VM_EXIT_INTR_ERROR_CODE, err & 0xFFFF_FFFFL);
    c.vmcs.write(VmcsField.IDT_VECTORING_INFO_FIELD, 0);
    c.vmExitPending = true;
    throw CpuFault.INSTANCE;
  }
}
