package org.hospes.x86;

import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * The EPT walk: guest-physical to machine-physical through four levels of 64-bit entries with
 * read/write/execute bits, 1 GiB and 2 MiB leaves (SDM vol. 3, 29.3). A not-present or
 * insufficient entry is an EPT violation; a write-only entry, a reserved bit or a bad memory type
 * is an EPT misconfiguration. Machine addresses are 36 bits wide.
 */
final class EptWalk {
  static final int R = 1, W = 2, X = 4;
  /** Set in a translation result to say "violation on a data access: MMIO candidate". */
  static final long MMIO = Long.MIN_VALUE;

  private static final long ADDR = 0x0000_000F_FFFF_F000L;
  private static final long RESERVED_HIGH = 0x000F_FFF0_0000_0000L;

  private EptWalk() {}

  /**
   * Translates {@code gpa} for an access of kind {@code access} (R/W/X). When {@code data} is
   * true and the final translation is missing or denied, returns {@code MMIO | gpa} after
   * recording the exit information, so the caller can treat the access as MMIO; otherwise such
   * a failure throws the VM exit.
   */
  static long translate(Cpu c, long gpa, int access, int lin, boolean linearValid,
      boolean finalTranslation, boolean data) {
    MemoryBus mem = c.memory();
    long table = c.eptPointer() & ADDR;
    int perms = R | W | X;
    for (int level = 4; level >= 1; level--) {
      int shift = 12 + 9 * (level - 1);
      long entry = mem.read64(table + ((gpa >>> shift) & 0x1FF) * 8);
      c.walkReference();
      int rwx = (int) entry & 7;
      if (rwx == 0) {
        return fail(c, ExitReason.EPT_VIOLATION, gpa, access, 0, lin, linearValid,
            finalTranslation, data);
      }
      if ((rwx & (R | W)) == W || (entry & RESERVED_HIGH) != 0) {
        return fail(c, ExitReason.EPT_MISCONFIG, gpa, access, 0, lin, linearValid,
            finalTranslation, false);
      }
      perms &= rwx;
      boolean leaf = level == 1 || ((level == 2 || level == 3) && (entry & 0x80) != 0);
      if (leaf) {
        int memType = (int) (entry >>> 3) & 7;
        long pageMask = (1L << shift) - 1;
        if (memType == 2 || memType == 3 || memType == 7
            || (level > 1 && (entry & pageMask & ~0xFFFL) != 0)) {
          return fail(c, ExitReason.EPT_MISCONFIG, gpa, access, 0, lin, linearValid,
              finalTranslation, false);
        }
        if ((access & ~perms) != 0) {
          return fail(c, ExitReason.EPT_VIOLATION, gpa, access, perms, lin, linearValid,
              finalTranslation, data);
        }
        return (entry & ADDR & ~pageMask) | (gpa & pageMask);
      }
      table = entry & ADDR;
    }
    throw new AssertionError("unreachable");
  }

  private static long fail(Cpu c, ExitReason reason, long gpa, int access, int perms, int lin,
      boolean linearValid, boolean finalTranslation, boolean data) {
    long qual = 0;
    if (reason == ExitReason.EPT_VIOLATION) {
      qual = ((access & R) != 0 ? VmxControls.EPT_QUAL_READ : 0)
          | ((access & W) != 0 ? VmxControls.EPT_QUAL_WRITE : 0)
          | ((access & X) != 0 ? VmxControls.EPT_QUAL_FETCH : 0)
          | ((long) perms << 3)
          | (linearValid ? VmxControls.EPT_QUAL_LINEAR_VALID : 0)
          | (finalTranslation ? VmxControls.EPT_QUAL_FINAL_TRANSLATION : 0);
    }
    if (c.vmcs() == null) {
      // The processor is finishing a task switch for the hypervisor, its VMCS detached: there
      // is no exit to take, and the hypervisor decides (UnbackedAccessException).
      throw new UnbackedAccessException(gpa);
    }
    c.vmcs().write(VmcsField.GUEST_PHYSICAL_ADDRESS, gpa);
    c.vmcs().write(VmcsField.GUEST_LINEAR_ADDRESS, lin & 0xFFFF_FFFFL);
    if (data && finalTranslation) {
      c.eptQualification = qual;
      return MMIO | gpa;
    }
    c.vmExit(reason, qual);
    return 0;
  }
}
