package org.hospes.hv.event;

import org.hospes.abi.SharedInfo;
import org.hospes.x86.PhysicalMemory;

/**
 * The 2-level event-channel ABI on a domain's shared_info page: pending and mask bitmaps of
 * 1024 ports, and per vCPU the upcall-pending byte and the pending-selector word in its
 * vcpu_info (Xen's event_2l.c semantics).
 */
public final class TwoLevelPorts implements PortOps {
  private final PhysicalMemory mem;
  private final long sharedInfo;

  /** {@code sharedInfo} is the machine address of the page in {@code mem}. */
  public TwoLevelPorts(PhysicalMemory mem, long sharedInfo) {
    this.mem = mem;
    this.sharedInfo = sharedInfo;
  }

  private long word(int base, int port) {
    return sharedInfo + base + 4L * (port >>> 5);
  }

  private boolean testAndSet(long addr, int bit) {
    int v = mem.read32(addr);
    mem.write32(addr, v | (1 << bit));
    return (v & (1 << bit)) != 0;
  }

  /** Registered vcpu_info locations by vCPU (0: the default slot in shared_info). */
  private long[] registered = new long[SharedInfo.MAX_LEGACY_VCPUS];

  @Override
  public long vcpuInfo(int vcpu) {
    long r = vcpu < registered.length ? registered[vcpu] : 0;
    return r != 0 ? r : sharedInfo + (long) vcpu * SharedInfo.VCPU_INFO_SIZE;
  }

  @Override
  public void setVcpuInfo(int vcpu, long machineAddress) {
    if (vcpu >= registered.length) {
      registered = java.util.Arrays.copyOf(registered, vcpu + 1);
    }
    registered[vcpu] = machineAddress;
  }

  @Override
  public boolean setPending(int vcpu, int port) {
    if (testAndSet(word(SharedInfo.EVTCHN_PENDING, port), port & 31)) {
      return false;
    }
    if (isMasked(port)) {
      return false;
    }
    return raiseSelector(vcpu, port);
  }

  private boolean raiseSelector(int vcpu, int port) {
    long vi = vcpuInfo(vcpu);
    if (testAndSet(vi + SharedInfo.VI_PENDING_SEL, port >>> 5)) {
      return false;
    }
    mem.write8(vi + SharedInfo.VI_UPCALL_PENDING, 1);
    return true;
  }

  @Override
  public void clearPending(int port) {
    long w = word(SharedInfo.EVTCHN_PENDING, port);
    mem.write32(w, mem.read32(w) & ~(1 << (port & 31)));
  }

  @Override
  public boolean isPending(int port) {
    return (mem.read32(word(SharedInfo.EVTCHN_PENDING, port)) & (1 << (port & 31))) != 0;
  }

  @Override
  public boolean isMasked(int port) {
    return (mem.read32(word(SharedInfo.EVTCHN_MASK, port)) & (1 << (port & 31))) != 0;
  }

  @Override
  public boolean unmask(int vcpu, int port) {
    long w = word(SharedInfo.EVTCHN_MASK, port);
    mem.write32(w, mem.read32(w) & ~(1 << (port & 31)));
    return isPending(port) && raiseSelector(vcpu, port);
  }

  @Override
  public boolean upcallPending(int vcpu) {
    return mem.read8(vcpuInfo(vcpu) + SharedInfo.VI_UPCALL_PENDING) != 0;
  }
}
