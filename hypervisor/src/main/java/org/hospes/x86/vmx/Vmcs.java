package org.hospes.x86.vmx;

import java.util.Arrays;

/**
 * A virtual-machine control structure: the controls a hypervisor sets before running a vCPU in
 * VMX non-root operation, and the information the processor leaves on a VM exit. One per vCPU.
 *
 * <p>Fields are read and written by {@link VmcsField}, as with VMREAD/VMWRITE. Two departures
 * from the hardware layout, both for a Java hypervisor's convenience: the I/O and MSR bitmaps are
 * byte arrays rather than physical addresses, and the guest-state area is the processor's live
 * state rather than a copy.
 */
public final class Vmcs {
  private final long[] values = new long[VmcsField.values().length];
  /** I/O bitmap A and B back to back: one bit per port, 1 = exit (used with USE_IO_BITMAPS). */
  private final byte[] ioBitmap = new byte[8192];
  /** MSR bitmap as on hardware: read low, read high, write low, write high (1 KiB each). */
  private final byte[] msrBitmap = new byte[4096];

  /**
   * The guest-state fields that are the processor's live state rather than a stored value: the
   * processor keeps them as it runs, so a VM exit leaves them here and what the hypervisor
   * writes is what the next VM entry runs with.
   */
  public interface LiveGuestState {
    /** GUEST_INTERRUPTIBILITY_INFO (SDM vol. 3, table 24-3). */
    int interruptibility();

    void setInterruptibility(int state);
  }

  private LiveGuestState live;

  /** Binds the guest-state area to the processor that runs this VMCS. */
  public void attach(LiveGuestState processor) {
    live = processor;
  }

  public long read(VmcsField f) {
    if (f == VmcsField.GUEST_INTERRUPTIBILITY_INFO && live != null) {
      return live.interruptibility() & 0xFFFF_FFFFL;
    }
    return values[f.ordinal()];
  }

  public void write(VmcsField f, long value) {
    if (f == VmcsField.GUEST_INTERRUPTIBILITY_INFO && live != null) {
      live.setInterruptibility((int) value);
      return;
    }
    values[f.ordinal()] = value;
  }

  /** A 32-bit field, for the processor's own checks. */
  public int read32(VmcsField f) {
    return (int) read(f);
  }

  public void setBits(VmcsField f, long bits) {
    if (f == VmcsField.GUEST_INTERRUPTIBILITY_INFO) {
      write(f, read(f) | bits);
      return;
    }
    values[f.ordinal()] |= bits;
  }

  public void clearBits(VmcsField f, long bits) {
    if (f == VmcsField.GUEST_INTERRUPTIBILITY_INFO) {
      write(f, read(f) & ~bits);
      return;
    }
    values[f.ordinal()] &= ~bits;
  }

  public boolean has(VmcsField f, long bits) {
    return (read(f) & bits) == bits;
  }

  public ExitReason exitReason() {
    return ExitReason.of((int) values[VmcsField.VM_EXIT_REASON.ordinal()] & 0xFFFF);
  }

  /** True if the last "exit" was a VM entry that failed (bit 31 of the exit reason). */
  public boolean entryFailed() {
    return (values[VmcsField.VM_EXIT_REASON.ordinal()] & VmxControls.EXIT_REASON_ENTRY_FAILURE)
        != 0;
  }

  public long exitQualification() {
    return values[VmcsField.EXIT_QUALIFICATION.ordinal()];
  }

  public int exitInstructionLength() {
    return (int) values[VmcsField.VM_EXIT_INSTRUCTION_LEN.ordinal()];
  }

  /** Makes ports {@code [first, first + count)} exit (true) or pass through (false). */
  public void interceptPorts(int first, int count, boolean exit) {
    for (int p = first; p < first + count; p++) {
      int bit = 1 << (p & 7);
      ioBitmap[(p >>> 3) & 0x1FFF] = (byte) (exit ? ioBitmap[p >>> 3] | bit
          : ioBitmap[p >>> 3] & ~bit);
    }
  }

  public void interceptAllPorts(boolean exit) {
    Arrays.fill(ioBitmap, exit ? (byte) -1 : 0);
  }

  /** True if an access to {@code size} ports from {@code port} exits under the I/O bitmaps. */
  public boolean portExits(int port, int size) {
    for (int p = port; p < port + size; p++) {
      if (p > 0xFFFF || (ioBitmap[p >>> 3] & (1 << (p & 7))) != 0) {
        return true;
      }
    }
    return false;
  }

  /** Makes reads and/or writes of {@code msr} exit under the MSR bitmap. */
  public void interceptMsr(int msr, boolean read, boolean write) {
    int base = msrBitmapBase(msr);
    if (base < 0) {
      return;
    }
    int index = msr & 0x1FFF;
    setBit(msrBitmap, base + index, read);
    setBit(msrBitmap, 2048 * 8 + base + index, write);
  }

  /** True if the access exits under the MSR bitmap (MSRs outside both ranges always exit). */
  public boolean msrExits(int msr, boolean write) {
    int base = msrBitmapBase(msr);
    if (base < 0) {
      return true;
    }
    int bit = (write ? 2048 * 8 : 0) + base + (msr & 0x1FFF);
    return (msrBitmap[bit >>> 3] & (1 << (bit & 7))) != 0;
  }

  private static int msrBitmapBase(int msr) {
    if (msr >= 0 && msr <= 0x1FFF) {
      return 0;
    }
    if (msr >= 0xC000_0000 && msr <= 0xC000_1FFF) {
      return 1024 * 8;
    }
    return -1;
  }

  private static void setBit(byte[] map, int bit, boolean on) {
    int b = map[bit >>> 3];
    map[bit >>> 3] = (byte) (on ? b | (1 << (bit & 7)) : b & ~(1 << (bit & 7)));
  }
}
