package org.hospes.hv.memory;

import org.hospes.x86.MemoryBus;
import org.hospes.x86.PhysicalMemory;

/**
 * One domain's guest-physical address space seen from the hypervisor or a privileged builder:
 * every access goes through the domain's {@link P2m}, so it can reach only that domain's frames.
 * Unpopulated guest frames read as all ones and drop writes, like unbacked bus addresses.
 */
public final class GuestMemory implements PhysicalMemory {
  private final MemoryBus machine;
  private final P2m p2m;

  public GuestMemory(MemoryBus machine, P2m p2m) {
    this.machine = machine;
    this.p2m = p2m;
  }

  public P2m p2m() {
    return p2m;
  }

  /** True if {@code gpa} is populated and not mapped read-only (a read-only grant map). */
  public boolean writable(long gpa) {
    return p2m.machineAddress(gpa) >= 0 && p2m.isWritable(gpa >>> 12);
  }

  /** Machine address of {@code gpa}, or -1. */
  public long machineAddress(long gpa) {
    return p2m.machineAddress(gpa);
  }

  @Override
  public int read8(long pa) {
    long ma = p2m.machineAddress(pa);
    return ma < 0 ? 0xFF : machine.read8(ma);
  }

  @Override
  public int read16(long pa) {
    return read8(pa) | read8(pa + 1) << 8;
  }

  @Override
  public int read32(long pa) {
    if ((pa & 0xFFF) <= 0xFFC) {
      long ma = p2m.machineAddress(pa);
      return ma < 0 ? -1 : machine.read32(ma);
    }
    return read16(pa) | read16(pa + 2) << 16;
  }

  @Override
  public void write8(long pa, int value) {
    long ma = p2m.machineAddress(pa);
    if (ma >= 0 && p2m.isWritable(pa >>> 12)) {
      machine.write8(ma, value);
    }
  }

  @Override
  public void write16(long pa, int value) {
    write8(pa, value);
    write8(pa + 1, value >>> 8);
  }

  @Override
  public void write32(long pa, int value) {
    if ((pa & 0xFFF) <= 0xFFC) {
      long ma = p2m.machineAddress(pa);
      if (ma >= 0 && p2m.isWritable(pa >>> 12)) {
        machine.write32(ma, value);
      }
      return;
    }
    write16(pa, value);
    write16(pa + 2, value >>> 16);
  }

  @Override
  public void read(long pa, byte[] dst, int off, int len) {
    int done = 0;
    while (done < len) {
      long a = pa + done;
      int chunk = (int) Math.min(len - done, 0x1000 - (a & 0xFFF));
      long ma = p2m.machineAddress(a);
      if (ma < 0) {
        java.util.Arrays.fill(dst, off + done, off + done + chunk, (byte) 0xFF);
      } else {
        machine.read(ma, dst, off + done, chunk);
      }
      done += chunk;
    }
  }

  @Override
  public void write(long pa, byte[] src, int off, int len) {
    int done = 0;
    while (done < len) {
      long a = pa + done;
      int chunk = (int) Math.min(len - done, 0x1000 - (a & 0xFFF));
      long ma = p2m.machineAddress(a);
      if (ma >= 0 && p2m.isWritable(a >>> 12)) {
        machine.write(ma, src, off + done, chunk);
      }
      done += chunk;
    }
  }

  /** As {@link #write} of zeros, page by page, so the machine skips untouched frames. */
  @Override
  public void zero(long pa, long len) {
    long done = 0;
    while (done < len) {
      long a = pa + done;
      int chunk = (int) Math.min(len - done, 0x1000 - (a & 0xFFF));
      long ma = p2m.machineAddress(a);
      if (ma >= 0 && p2m.isWritable(a >>> 12)) {
        machine.zero(ma, chunk);
      }
      done += chunk;
    }
  }
}
