package org.hospes.x86;

import com.google.common.base.Preconditions;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A physical address space: RAM from address 0 plus MMIO windows. For a bare machine it is the
 * machine's memory; under the hypervisor it is machine memory shared by every vCPU.
 *
 * <p>RAM is backed on first touch, frame by frame: each 4 KiB frame is its own {@code byte[]},
 * null until something writes a non-zero byte to it, so a frame no one wrote costs one null
 * reference and RAM is bounded by the heap, not by an array's 2 GiB. Reads of an untouched
 * frame see {@link #ZERO}, a shared all-zero frame that is never written; the processor's read
 * TLB may point at it. When such a frame is backed, the processors that may hold a read TLB
 * entry for it are told ({@link CodeWriteListener#frameBacked}) so that they stop reading the
 * zero frame. The processor's TLB holds the frame arrays themselves, so a hit costs no more than
 * one array load; everything else in this class is the slow path used by loaders, devices and
 * page-crossing or MMIO accesses.
 *
 * <p>{@link #codeRefs} counts, per page, the processors holding decoded instructions from it; a
 * write to such a page through any path tells the processors caching it so that stale
 * translations are dropped (self-modifying code, cross-vCPU code writes, DMA, loaders).
 * Notifications go only to the processors that may have cached something about a frame (see
 * {@link #cachedBy}), so that a host of a thousand single-vCPU domains does not tell a thousand
 * processors about every frame one of them touches.
 */
public final class MemoryBus implements PhysicalMemory {

  /** A processor caching translations, decoded code or zero-frame mappings of this memory. */
  public interface CodeWriteListener {
    /** Bytes of a page that some processor decoded code from were written. */
    void codeWritten(long pa, int len);

    /** Some processor started caching code from {@code page}: stop writing it unchecked. */
    void codePageAdded(int page);

    /** Frame {@code frame}, read as zeros until now, got its own storage. */
    default void frameBacked(int frame) {}
  }

  static final VarHandle I16 =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  static final VarHandle I32 =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  static final VarHandle I64 =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /** Bytes in a frame, the unit of backing. */
  public static final int FRAME_SIZE = 4096;
  static final int FRAME_MASK = FRAME_SIZE - 1;

  /** What an untouched frame reads as. Shared by every bus; nothing may ever write it. */
  static final byte[] ZERO = new byte[FRAME_SIZE];

  /** {@link #hint} value: no processor cached anything about the frame. */
  private static final int NOBODY = 0;
  /** {@link #hint} value: several processors (or an unknown set) may have. */
  private static final int SEVERAL = -1;

  private record Window(long base, long size, MmioDevice device) {}

  /** Per frame: its storage, or null while it reads as zeros. */
  final byte[][] frames;
  final long ramSize;
  /** Per RAM page: how many processors hold decoded instructions from it. */
  final int[] codeRefs;
  /**
   * Per frame: the id of the one listener that may have cached a write or zero-frame TLB entry
   * or decoded code for it, {@link #NOBODY}, or {@link #SEVERAL}.
   */
  private final int[] hint;
  private long backedFrames;
  private final List<Window> windows = new ArrayList<>();
  /** Listeners by id (id 0 is unused, so that 0 can mean nobody); removed ones are null. */
  private CodeWriteListener[] listeners = new CodeWriteListener[1];
  private int listenerCount;

  public MemoryBus(int ramBytes) {
    this((long) ramBytes);
  }

  /**
   * RAM of {@code ramBytes} (a positive multiple of 4 KiB, at most 2^31 frames = 8 TiB), all of
   * it reading as zeros and none of it backed yet.
   */
  public MemoryBus(long ramBytes) {
    Preconditions.checkArgument(ramBytes > 0 && (ramBytes & FRAME_MASK) == 0
        && (ramBytes >>> 12) <= Integer.MAX_VALUE,
        "RAM size must be a positive multiple of 4 KiB below 8 TiB, got %s", ramBytes);
    this.ramSize = ramBytes;
    int n = (int) (ramBytes >>> 12);
    this.frames = new byte[n][];
    this.codeRefs = new int[n];
    this.hint = new int[n];
  }

  public long ramSize() {
    return ramSize;
  }

  /** Frames that have storage (were written with something other than zeros). */
  public long backedFrames() {
    return backedFrames;
  }

  /** Bytes of storage RAM holds now: {@link #backedFrames} times 4 KiB. */
  public long backedBytes() {
    return backedFrames * FRAME_SIZE;
  }

  /** True if frame {@code frame} has storage of its own. */
  public boolean isBacked(long frame) {
    return frame >= 0 && frame < frames.length && frames[(int) frame] != null;
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

  /** Adds a listener; returns its id (for {@link #cachedBy} and removal). */
  public int addCodeWriteListener(CodeWriteListener listener) {
    for (int id = 1; id < listeners.length; id++) {
      if (listeners[id] == null) {
        listeners[id] = listener;
        listenerCount++;
        return id;
      }
    }
    listeners = Arrays.copyOf(listeners, Math.max(4, listeners.length * 2));
    return addCodeWriteListener(listener);
  }

  /**
   * Removes listener {@code id} (a processor that will never run again). Its id may be given to
   * a later listener: frames hinted to it then point at that one, which only costs a
   * notification it ignores.
   */
  public void removeCodeWriteListener(int id) {
    if (id > 0 && id < listeners.length && listeners[id] != null) {
      listeners[id] = null;
      listenerCount--;
    }
  }

  /** Listeners registered now. */
  public int listenerCount() {
    return listenerCount;
  }

  /**
   * Listener {@code id} caches something about {@code frame} (a write TLB entry, a zero-frame
   * read TLB entry, decoded code): notifications about the frame must reach it.
   */
  void cachedBy(int frame, int id) {
    int h = hint[frame];
    if (h != id) {
      hint[frame] = h == NOBODY ? id : SEVERAL;
    }
  }

  /** Storage of {@code frame} for reading: its array, or {@link #ZERO} while untouched. */
  byte[] readFrame(int frame) {
    byte[] f = frames[frame];
    return f != null ? f : ZERO;
  }

  /** Storage of {@code frame} for writing: backed now if it was not. */
  byte[] writeFrame(int frame) {
    byte[] f = frames[frame];
    return f != null ? f : back(frame);
  }

  private byte[] back(int frame) {
    byte[] f = new byte[FRAME_SIZE];
    frames[frame] = f;
    backedFrames++;
    int h = hint[frame];
    if (h > NOBODY) {
      CodeWriteListener l = listeners.length > h ? listeners[h] : null;
      if (l != null) {
        l.frameBacked(frame);
      }
    } else if (h == SEVERAL) {
      for (CodeWriteListener l : listeners) {
        if (l != null) {
          l.frameBacked(frame);
        }
      }
    }
    return f;
  }

  /** A processor begins caching code from {@code page}. */
  void codePageAdded(int page, int by) {
    if (codeRefs[page]++ == 0) {
      // Whoever may hold a write TLB entry for the page must drop it.
      int h = hint[page];
      if (h > NOBODY && h != by) {
        CodeWriteListener l = listeners.length > h ? listeners[h] : null;
        if (l != null) {
          l.codePageAdded(page);
        }
      } else if (h == SEVERAL) {
        for (int id = 1; id < listeners.length; id++) {
          if (id != by && listeners[id] != null) {
            listeners[id].codePageAdded(page);
          }
        }
      }
    }
    cachedBy(page, by);
  }

  /** A processor dropped all its code from {@code page}. */
  void codePageDropped(int page) {
    if (codeRefs[page] > 0) {
      codeRefs[page]--;
    }
  }

  /** Tells every processor caching code from the pages at {@code pa} that they changed. */
  void codeWritten(long pa, int len) {
    long first = pa >>> 12;
    long last = Math.min((pa + len - 1) >>> 12, frames.length - 1);
    int one = NOBODY;
    for (long p = first; p <= last; p++) {
      int h = hint[(int) p];
      if (h == SEVERAL || (h != NOBODY && one != NOBODY && h != one)) {
        for (CodeWriteListener l : listeners) {
          if (l != null) {
            l.codeWritten(pa, len);
          }
        }
        return;
      }
      if (h != NOBODY) {
        one = h;
      }
    }
    CodeWriteListener l = one != NOBODY && one < listeners.length ? listeners[one] : null;
    if (l != null) {
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

  /** True if {@code bytes} bytes at {@code pa} are RAM within one frame. */
  private boolean inFrame(long pa, int bytes) {
    return pa >= 0 && pa + bytes <= ramSize && ((int) pa & FRAME_MASK) <= FRAME_SIZE - bytes;
  }

  @Override
  public int read8(long pa) {
    if (isRam(pa)) {
      byte[] f = frames[(int) (pa >>> 12)];
      return f == null ? 0 : f[(int) pa & FRAME_MASK] & 0xFF;
    }
    Window w = window(pa);
    return w == null ? 0xFF : w.device.read(pa - w.base, 1) & 0xFF;
  }

  @Override
  public int read16(long pa) {
    if (inFrame(pa, 2)) {
      byte[] f = frames[(int) (pa >>> 12)];
      return f == null ? 0 : (short) I16.get(f, (int) pa & FRAME_MASK) & 0xFFFF;
    }
    Window w = window(pa);
    if (w != null && pa + 1 - w.base < w.size) {
      return w.device.read(pa - w.base, 2) & 0xFFFF;
    }
    return read8(pa) | read8(pa + 1) << 8;
  }

  @Override
  public int read32(long pa) {
    if (inFrame(pa, 4)) {
      byte[] f = frames[(int) (pa >>> 12)];
      return f == null ? 0 : (int) I32.get(f, (int) pa & FRAME_MASK);
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
      int frame = (int) (pa >>> 12);
      if ((byte) value == 0 && frames[frame] == null) {
        return; // zeros over zeros: nothing changes, nothing to back
      }
      writeFrame(frame)[(int) pa & FRAME_MASK] = (byte) value;
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
    if (inFrame(pa, 2)) {
      int frame = (int) (pa >>> 12);
      if ((short) value == 0 && frames[frame] == null) {
        return;
      }
      I16.set(writeFrame(frame), (int) pa & FRAME_MASK, (short) value);
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
    if (inFrame(pa, 4)) {
      int frame = (int) (pa >>> 12);
      if (value == 0 && frames[frame] == null) {
        return;
      }
      I32.set(writeFrame(frame), (int) pa & FRAME_MASK, value);
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
      while (len > 0) {
        int in = (int) pa & FRAME_MASK;
        int n = Math.min(len, FRAME_SIZE - in);
        byte[] f = frames[(int) (pa >>> 12)];
        if (f == null) {
          Arrays.fill(dst, off, off + n, (byte) 0);
        } else {
          System.arraycopy(f, in, dst, off, n);
        }
        pa += n;
        off += n;
        len -= n;
      }
      return;
    }
    PhysicalMemory.super.read(pa, dst, off, len);
  }

  @Override
  public void write(long pa, byte[] src, int off, int len) {
    if (pa >= 0 && pa + len <= ramSize) {
      long start = pa;
      int total = len;
      while (len > 0) {
        int in = (int) pa & FRAME_MASK;
        int n = Math.min(len, FRAME_SIZE - in);
        int frame = (int) (pa >>> 12);
        // Zeros written to an untouched frame (scrubbing, a loader's bss) change nothing.
        if (frames[frame] != null || !allZero(src, off, n)) {
          System.arraycopy(src, off, writeFrame(frame), in, n);
        }
        pa += n;
        off += n;
        len -= n;
      }
      if (total > 0) {
        noteWrite(start, total);
      }
      return;
    }
    PhysicalMemory.super.write(pa, src, off, len);
  }

  /**
   * As {@link #write} of zeros, without looking at them: an untouched frame stays unbacked, a
   * backed one is cleared. A loader's bss is the case: comparing it with zeros first was most
   * of the empty kernel's load, interpreted in a short run.
   */
  @Override
  public void zero(long pa, long len) {
    if (pa < 0 || len < 0 || pa + len > ramSize) {
      PhysicalMemory.super.zero(pa, len);
      return;
    }
    long at = pa;
    long left = len;
    while (left > 0) {
      int in = (int) at & FRAME_MASK;
      int n = (int) Math.min(left, FRAME_SIZE - in);
      byte[] f = frames[(int) (at >>> 12)];
      if (f != null) {
        Arrays.fill(f, in, in + n, (byte) 0);
      }
      at += n;
      left -= n;
    }
    // As write() does for the whole range: decoded code on these pages is dropped.
    for (long done = 0; done < len; done += 1 << 30) {
      noteWrite(pa + done, (int) Math.min(1 << 30, len - done));
    }
  }

  private static boolean allZero(byte[] b, int off, int len) {
    // Arrays.mismatch is vectorised: scrubbing a 4 MiB domain compares 4 MiB at memory speed.
    return Arrays.mismatch(b, off, off + len, ZERO, 0, len) < 0;
  }

  /**
   * Gives frame {@code frame}'s storage back to the heap: it reads as zeros again and costs
   * nothing until written, as before its first write. For a frame its owner gave up (a
   * destroyed domain's, a balloon's decrease_reservation): the hypervisor has already taken it
   * out of every P2M and flushed the TLBs of the processors that could reach it, so none holds
   * the storage; decoded code from it is dropped as after a write.
   */
  public void release(long frame) {
    if (frame < 0 || frame >= frames.length || frames[(int) frame] == null) {
      return;
    }
    noteWrite(frame << 12, FRAME_SIZE);
    frames[(int) frame] = null;
    backedFrames--;
  }

  /**
   * Makes frame {@code frame} read as zeros (scrubbing a frame before it changes hands): an
   * untouched frame costs nothing; a backed one is cleared in place, so that TLB entries
   * pointing at its storage stay valid.
   */
  public void zeroFrame(long frame) {
    if (frame < 0 || frame >= frames.length) {
      return;
    }
    byte[] f = frames[(int) frame];
    if (f != null) {
      Arrays.fill(f, (byte) 0);
      noteWrite(frame << 12, FRAME_SIZE);
    }
  }
}
