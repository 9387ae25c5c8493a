package org.hospes.x86;

import com.google.common.base.Preconditions;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A physical address space: one RAM array from address 0 plus MMIO windows. For a bare machine it
 * is the machine's memory; under the hypervisor it is machine memory shared by every vCPU.
 *
 * <p>RAM is a single {@code byte[]} (so at most 2 GiB) that the processor's TLB indexes directly;
 * everything else in this class is the slow path used by loaders, devices and page-crossing or
 * MMIO accesses. {@link #codeRefs} counts, per page, the processors holding decoded instructions
 * from it; a write to such a page through any path tells every {@link CodeWriteListener} so that
 * stale translations are dropped (self-modifying code, cross-vCPU code writes, DMA, loaders).
 */
public final class MemoryBus implements PhysicalMemory {

  /** A processor caching decoded code from this memory. */
  public interface CodeWriteListener {
    /** Bytes of a page that some processor decoded code from were written. */
    void codeWritten(long pa, int len);

    /** Some processor started caching code from {@code page}: stop writing it unchecked. */
    void codePageAdded(int page);
  }

  static final VarHandle I16 =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  static final VarHandle I32 =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  static final VarHandle I64 =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private record Window(long base, long size, MmioDevice device) {}

  final byte[] ram;
  final long ramSize;
  /** Per RAM page: how many processors hold decoded instructions from it. */
  final int[] codeRefs;
  private final List<Window> windows = new ArrayList<>();
  private CodeWriteListener[] listeners = new CodeWriteListener[0];

  public MemoryBus(int ramBytes) {
    Preconditions.checkArgument(ramBytes > 0 && (ramBytes & 0xFFF) == 0,
        "RAM size must be a positive multiple of 4 KiB, got %s", ramBytes);
    this.ram = new byte[ramBytes];
    this.ramSize = ramBytes;
    this.codeRefs = new int[ramBytes >>> 12];
  }

  public long ramSize() {
    return ramSize;
  }

  /** Maps {@code device} at {@code [base, base + size)}; the range must not overlap RAM or others. */
  public void mapMmio(long base, long size, MmioDevice device) {
    Preconditions.checkArgument(size > 0 && base >= ramSize, "MMIO window must lie above RAM");
    for (Window w : windows) {
      Preconditions.checkArgument(base + size <= w.base || w.base + w.size <= base,
          "MMIO window at 0x%s overlaps one at 0x%s", Long.toHexString(base),
          Long.toHexString(w.base));
    }
    windows.add(new Window(base, size, device));
  }

  public void addCodeWriteListener(CodeWriteListener listener) {
    listeners = java.util.Arrays.copyOf(listeners, listeners.length + 1);
    listeners[listeners.length - 1] = listener;
  }

  /** A processor begins caching code from {@code page}. */
  void codePageAdded(int page, CodeWriteListener by) {
    if (codeRefs[page]++ == 0) {
      for (CodeWriteListener l : listeners) {
        if (l != by) {
          l.codePageAdded(page);
        }
      }
    }
  }

  /** A processor dropped all its code from {@code page}. */
  void codePageDropped(int page) {
    if (codeRefs[page] > 0) {
      codeRefs[page]--;
    }
  }

  /** Tells every processor that bytes at {@code pa} changed (they drop stale code). */
  void codeWritten(long pa, int len) {
    for (CodeWriteListener l : listeners) {
      l.codeWritten(pa, len);
    }
  }

  /** True if {@code pa} lies in RAM. */
  public boolean isRam(long pa) {
    return pa >= 0 && pa < ramSize;
  }

  private Window window(long pa) {
    for (int i = 0, n = windows.size(); i < n; i++) {
      Window w = windows.get(i);
      if (pa - w.base >= 0 && pa - w.base < w.size) {
        return w;
      }
    }
    return null;
  }

  void noteWrite(long pa, int len) {
    long first = pa >>> 12;
    long last = (pa + len - 1) >>> 12;
    for (long p = first; p <= last; p++) {
      if (p < codeRefs.length && codeRefs[(int) p] != 0) {
        codeWritten(pa, len);
        return;
      }
    }
  }

  @Override
  public int read8(long pa) {
    if (isRam(pa)) {
      return ram[(int) pa] & 0xFF;
    }
    Window w = window(pa);
    return w == null ? 0xFF : w.device.read(pa - w.base, 1) & 0xFF;
  }

  @Override
  public int read16(long pa) {
    if (pa >= 0 && pa + 1 < ramSize) {
      return (short) I16.get(ram, (int) pa) & 0xFFFF;
    }
    Window w = window(pa);
    if (w != null && pa + 1 - w.base < w.size) {
      return w.device.read(pa - w.base, 2) & 0xFFFF;
    }
    return read8(pa) | read8(pa + 1) << 8;
  }

  @Override
  public int read32(long pa) {
    if (pa >= 0 && pa + 3 < ramSize) {
      return (int) I32.get(ram, (int) pa);
    }
    Window w = window(pa);
    if (w != null && pa + 3 - w.base < w.size) {
      return w.device.read(pa - w.base, 4);
    }
    return read16(pa) | read16(pa + 2) << 16;
  }

  @Override
  public void write8(long pa, int value) {
    if (isRam(pa)) {
      ram[(int) pa] = (byte) value;
      noteWrite(pa, 1);
      return;
    }
    Window w = window(pa);
    if (w != null) {
      w.device.write(pa - w.base, 1, value & 0xFF);
    }
  }

  @Override
  public void write16(long pa, int value) {
    if (pa >= 0 && pa + 1 < ramSize) {
      I16.set(ram, (int) pa, (short) value);
      noteWrite(pa, 2);
      return;
    }
    Window w = window(pa);
    if (w != null && pa + 1 - w.base < w.size) {
      w.device.write(pa - w.base, 2, value & 0xFFFF);
      return;
    }
    write8(pa, value);
    write8(pa + 1, value >>> 8);
  }

  @Override
  public void write32(long pa, int value) {
    if (pa >= 0 && pa + 3 < ramSize) {
      I32.set(ram, (int) pa, value);
      noteWrite(pa, 4);
      return;
    }
    Window w = window(pa);
    if (w != null && pa + 3 - w.base < w.size) {
      w.device.write(pa - w.base, 4, value);
      return;
    }
    write16(pa, value);
    write16(pa + 2, value >>> 16);
  }

  @Override
  public void read(long pa, byte[] dst, int off, int len) {
    if (pa >= 0 && pa + len <= ramSize) {
      System.arraycopy(ram, (int) pa, dst, off, len);
      return;
    }
    PhysicalMemory.super.read(pa, dst, off, len);
  }

  @Override
  public void write(long pa, byte[] src, int off, int len) {
    if (pa >= 0 && pa + len <= ramSize) {
      System.arraycopy(src, off, ram, (int) pa, len);
      noteWrite(pa, len);
      return;
    }
    PhysicalMemory.super.write(pa, src, off, len);
  }
}
