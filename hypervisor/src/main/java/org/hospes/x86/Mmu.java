package org.hospes.x86;

import static org.hospes.x86.Cpu.CR0_PG;
import static org.hospes.x86.Cpu.CR4_PAE;
import static org.hospes.x86.Cpu.CR4_PGE;
import static org.hospes.x86.Cpu.TLB_MASK;
import static org.hospes.x86.Cpu.TLB_SIZE;

import java.util.Arrays;
import org.hospes.x86.vmx.ExitReason;

/**
 * The processor's MMU behind the TLB fast path: linear to machine translation on a miss
 * (paging through {@link Paging}, then EPT through {@link EptWalk}), the slow paths of reads and
 * writes (page-crossing, MMIO, code pages, data breakpoints), and the TLB's upkeep (fills,
 * global entries, large pages, flushes, INVLPG). The TLB arrays are Cpu's fields, where the
 * hit paths ({@link Cpu#read32} and the others) and translated blocks read them.
 */
final class Mmu {
  private Mmu() {}

  /** Translates a linear address for an instruction fetch (code TLB, then a walk). */
  static long translateCode(Cpu c, int lin) {
    int page = lin >>> 12;
    int idx = (page & TLB_MASK) | c.tlbUser;
    if (c.cTag[idx] == page) {
      return (c.cFrame[idx] & 0xFFFF_FFFFL) << 12 | (lin & 0xFFF);
    }
    return fillCode(c, lin, page, idx);
  }

  /**
   * {@link #translateCode}'s miss: a walk and a fill. A method of its own, so that HotSpot keeps
   * it a call where the run loop inlines the hit path: its branches (the first large-page code
   * fill comes a second into a Linux boot) then never throw the compiled run loop away.
   */
  private static long fillCode(Cpu c, int lin, int page, int idx) {
    c.tlbMisses++;
    long pa = (c.cr0 & CR0_PG) == 0 ? lin & 0xFFFF_FFFFL
        : Paging.walk(c, lin, Paging.FETCH | c.userAccess());
    pa = finalEpt(c, pa, lin, EptWalk.X, false);
    c.cTag[idx] = page;
    noteFill(c, idx);
    // A physical address has at most 36 bits here (PAE), so its frame number fits an int.
    c.cFrame[idx] = (int) (pa >>> 12);
    boolean paging = (c.cr0 & CR0_PG) != 0;
    setBits(c, idx, Cpu.C_GLOBAL | Cpu.C_LARGE, (paging && c.walkGlobal ? Cpu.C_GLOBAL : 0)
        | (paging && c.walkLarge ? Cpu.C_LARGE : 0));
    c.largeCached |= paging && c.walkLarge;
    return pa;
  }

  /** Sets the {@code mask} bits of TLB index {@code idx}'s {@link Cpu#tlbBits} to {@code bits}. */
  private static void setBits(Cpu c, int idx, int mask, int bits) {
    c.tlbBits[idx] = (byte) (c.tlbBits[idx] & ~mask | bits);
  }

  /** A read entry's global and large-page bits from the walk that filled it. */
  private static void readFilled(Cpu c, int idx) {
    setBits(c, idx, Cpu.R_GLOBAL | Cpu.R_LARGE, (c.walkGlobal ? Cpu.R_GLOBAL : 0)
        | (c.walkLarge ? Cpu.R_LARGE : 0));
    c.largeCached |= c.walkLarge;
  }

  /**
   * Linear to machine-physical for a data access. In non-root operation with EPT, a denied final
   * translation comes back as {@link EptWalk#MMIO} | GPA for the caller to treat as MMIO.
   */
  static long translate(Cpu c, int lin, int access) {
    c.tlbMisses++;
    long gpa;
    if ((c.cr0 & CR0_PG) == 0) {
      c.walkWritable = true;
      c.walkGlobal = false;
      c.walkLarge = false;
      gpa = lin & 0xFFFF_FFFFL;
    } else {
      gpa = Paging.walk(c, lin, access);
    }
    if (!c.ept) {
      return gpa;
    }
    // Only write translations fill the write TLB, so a read needs no W check here.
    int rwx = (access & Paging.WRITE) != 0 ? EptWalk.W : EptWalk.R;
    return EptWalk.translate(c, gpa, rwx, lin, true, true, true);
  }

  /**
   * Implicit accesses cannot be MMIO: a denied translation is a real EPT violation. Reads go
   * through the supervisor half of the read TLB, as descriptor-table, IDT and TSS reads hit the
   * TLB on hardware: without it every event delivery walked the tables several times.
   */
  static long translateSys(Cpu c, int lin, int access) {
    int page = lin >>> 12;
    int idx = page & TLB_MASK;
    if (access == 0 && c.rTag[idx] == page) {
      return (c.rFrame[idx] & 0xFFFF_FFFFL) << 12 | (lin & 0xFFF);
    }
    long pa = translate(c, lin, access);
    if (pa < 0) {
      c.vmExit(ExitReason.EPT_VIOLATION, c.eptQualification);
    }
    if (access == 0 && (pa | 0xFFF) < c.ramSize) {
      fillRead(c, idx, page, pa);
      setBits(c, idx, Cpu.R_GLOBAL, c.walkGlobal ? Cpu.R_GLOBAL : 0);
    }
    return pa;
  }

  private static long translateForWrite(Cpu c, int lin) {
    if (c.mmioPageCount != 0) {
      long gpa = Mmio.pageOf(c, lin, true);
      if (gpa >= 0) {
        // A write probe of an MMIO page: nothing to walk, the write itself goes to the device.
        return gpa | EptWalk.MMIO;
      }
    }
    long pa = translate(c, lin, Paging.WRITE | c.userAccess());
    if (pa >= 0 && pa < c.ramSize && c.walkWritable
        && (c.bpEnabled == 0 || !Breakpoints.watchedPage(c.dr, lin))) {
      int page = (int) (pa >>> 12);
      if (c.mem.codeRefs[page] == 0) {
        int idx = ((lin >>> 12) & TLB_MASK) | c.tlbUser;
        // The write about to happen backs the frame (first touch); a later codePageAdded
        // for it must reach this processor.
        c.mem.cachedBy(page, c.busId);
        c.wTag[idx] = lin >>> 12;
        noteFill(c, idx);
        c.wPage[idx] = c.mem.writeFrame(page);
        c.wFrame[idx] = page;
        setBits(c, idx, Cpu.W_GLOBAL | Cpu.W_LARGE, (c.walkGlobal ? Cpu.W_GLOBAL : 0)
            | (c.walkLarge ? Cpu.W_LARGE : 0));
        c.largeCached |= c.walkLarge;
      }
    }
    return pa;
  }

  /** Guest-physical to machine-physical for an access of kind {@code rwx} (identity w/o EPT). */
  static long gpaToMachine(Cpu c, long gpa, int rwx, int lin, boolean linearValid) {
    if (!c.ept) {
      return gpa;
    }
    return EptWalk.translate(c, gpa, rwx, lin, linearValid, false, false);
  }

  /** Guest-physical address of {@code lin} for the final EPT step (identity with paging off). */
  private static long finalEpt(Cpu c, long gpa, int lin, int rwx, boolean data) {
    if (!c.ept) {
      return gpa;
    }
    return EptWalk.translate(c, gpa, rwx, lin, true, true, data);
  }

  static int readSlow(Cpu c, int lin, int size) {
    int bytes = 1 << size;
    if ((lin & 0xFFF) + bytes > 0x1000) {
      // Page-crossing: byte by byte, each through its own translation.
      int v = 0;
      for (int k = 0; k < bytes; k++) {
        v |= c.read8(lin + k) << (8 * k);
      }
      return v;
    }
    if (c.mmioPageCount != 0) {
      long gpa = Mmio.pageOf(c, lin, false);
      if (gpa >= 0) {
        return Mmio.pageRead(c, gpa, bytes, lin);
      }
    }
    long pa = translate(c, lin, c.userAccess());
    if (pa < 0) {
      return Mmio.read(c, pa & ~EptWalk.MMIO, bytes, lin);
    }
    if (c.bpEnabled != 0 && Breakpoints.watchedPage(c.dr, lin)) {
      c.dataHits |= Breakpoints.dataAccess(c.dr, lin, bytes, false);
      if (pa + bytes <= c.ramSize) {
        // Not entered in the TLB, so the next access comes here again.
        byte[] f = c.mem.readFrame((int) (pa >>> 12));
        int p = (int) pa & 0xFFF;
        return size == 2 ? (int) MemoryBus.I32.get(f, p)
            : size == 1 ? (short) MemoryBus.I16.get(f, p) & 0xFFFF : f[p] & 0xFF;
      }
    } else if (pa + bytes <= c.ramSize) {
      int idx = ((lin >>> 12) & TLB_MASK) | c.tlbUser;
      fillRead(c, idx, lin >>> 12, pa);
      readFilled(c, idx);
      return c.readSized(size, lin);
    }
    c.chargeMmio();
    switch (size) {
      case 2: return c.mem.read32(pa);
      case 1: return c.mem.read16(pa);
      default: return c.mem.read8(pa);
    }
  }

  static void writeSlow(Cpu c, int lin, int size, int v) {
    int bytes = 1 << size;
    if ((lin & 0xFFF) + bytes > 0x1000) {
      probeWrite(c, lin, bytes);
      if (c.journaling) {
        int low = 0x1000 - (lin & 0xFFF);
        journalHeld(c, lin, low);
        journalHeld(c, (lin | 0xFFF) + 1, bytes - low);
      }
      for (int k = 0; k < bytes; k++) {
        c.write8(lin + k, v >>> (8 * k));
      }
      return;
    }
    if (c.mmioPageCount != 0) {
      long gpa = Mmio.pageOf(c, lin, true);
      if (gpa >= 0) {
        unjournaled(c);
        Mmio.pageWrite(c, gpa, bytes, v, lin);
        return;
      }
    }
    long pa = translateForWrite(c, lin);
    if (c.bpEnabled != 0) {
      c.dataHits |= Breakpoints.dataAccess(c.dr, lin, bytes, true);
    }
    if (pa < 0) {
      unjournaled(c);
      Mmio.write(c, pa & ~EptWalk.MMIO, bytes, v);
      return;
    }
    if (pa + bytes <= c.ramSize) {
      int page = (int) (pa >>> 12);
      // The frame's own storage, backed now if it was not: never the shared zero frame.
      byte[] ram = c.mem.writeFrame(page);
      int p = (int) pa & 0xFFF;
      if (c.mem.codeRefs[page] == 0) {
        if (c.journaling) {
          c.jit().lockstep().journal(ram, p, bytes, pa);
        }
        switch (size) {
          case 2: MemoryBus.I32.set(ram, p, v); break;
          case 1: MemoryBus.I16.set(ram, p, (short) v); break;
          default: ram[p] = (byte) v; break;
        }
        return;
      }
      // A page holding decoded code: a write that changes bytes drops its blocks.
      unjournaled(c);
      boolean changed;
      switch (size) {
        case 2:
          changed = (int) MemoryBus.I32.get(ram, p) != v;
          MemoryBus.I32.set(ram, p, v);
          break;
        case 1:
          changed = (short) MemoryBus.I16.get(ram, p) != (short) v;
          MemoryBus.I16.set(ram, p, (short) v);
          break;
        default:
          changed = ram[p] != (byte) v;
          ram[p] = (byte) v;
          break;
      }
      if (changed) {
        // Every processor caching this page drops it, this one included.
        c.mem.codeWritten(pa, bytes);
      }
      return;
    }
    unjournaled(c);
    c.chargeMmio();
    switch (size) {
      case 2: c.mem.write32(pa, v); break;
      case 1: c.mem.write16(pa, v); break;
      default: c.mem.write8(pa, v); break;
    }
  }

  /**
   * Lockstep, a translated split store after its probe: journals the {@code bytes} bytes from
   * {@code lin} (all in one page) when the write TLB holds that page, as the byte writes that
   * follow will then hit it. A page it does not hold is left to those byte writes, each of
   * which comes back to {@link #writeSlow} and journals (or marks unjournaled) what it writes.
   * Only the TLB is looked at: no walk, no miss counted.
   */
  private static void journalHeld(Cpu c, int lin, int bytes) {
    int page = lin >>> 12;
    int idx = (page & TLB_MASK) | c.tlbUser;
    if (c.wTag[idx] == page) {
      c.jit().lockstep().journal(c.wPage[idx], lin & 0xFFF, bytes,
          (c.wFrame[idx] & 0xFFFF_FFFFL) << 12 | (lin & 0xFFF));
    }
  }

  /** Lockstep: a translated store is about to write what undo cannot put back. */
  private static void unjournaled(Cpu c) {
    if (c.journaling) {
      c.jit().lockstep().unjournaled();
    }
  }

  /**
   * Makes sure a write of {@code bytes} at {@code lin} will not fault: walks (setting dirty
   * bits) and fills the write TLB where it can. Page-crossing writes probe both pages, the low
   * one first (its fault is the one reported). A page the write TLB already holds is not walked:
   * its entry was filled by a write walk (present, writable, dirty), so a real TLB would use it
   * without a miss; walking it again counted a miss and a walk per page per probe (a split store
   * probes twice, from linW or stackAddr and from writeSlow: 4 misses where a TLB has none).
   */
  static void probeWrite(Cpu c, int lin, int bytes) {
    if ((lin & 0xFFF) + bytes > 0x1000) {
      probePage(c, lin);
      probePage(c, (lin | 0xFFF) + 1);
      return;
    }
    probePage(c, lin);
  }

  /** Walks the page of {@code lin} for a write unless the write TLB holds it. */
  private static void probePage(Cpu c, int lin) {
    int page = lin >>> 12;
    if (c.wTag[(page & TLB_MASK) | c.tlbUser] != page) {
      translateForWrite(c, lin);
    }
  }

  /** Fills read TLB entry {@code idx} for linear page {@code page} with the frame of {@code pa}. */
  private static void fillRead(Cpu c, int idx, int page, long pa) {
    int frame = (int) (pa >>> 12);
    byte[] f = c.mem.frames[frame];
    if (f == null) {
      f = MemoryBus.ZERO;
      if (c.rPage[idx] != MemoryBus.ZERO) {
        noteZeroEntry(c, idx);
      }
      c.mem.cachedBy(frame, c.busId);
    }
    c.rTag[idx] = page;
    noteFill(c, idx);
    c.rPage[idx] = f;
    c.rFrame[idx] = frame;
  }

  /** TLB index {@code idx} has just been given a translation. */
  private static void noteFill(Cpu c, int idx) {
    c.tlbClean = false;
    c.filled[idx >>> 6] |= 1L << idx;
    c.anyFilled = true;
  }

  private static void forgetFills(Cpu c) {
    if (c.anyFilled) {
      Arrays.fill(c.filled, 0);
      c.anyFilled = false;
    }
  }

  /** Frame {@code frame} got storage: read entries still pointing at the zero frame for it go. */
  static void dropZeroEntries(Cpu c, int frame) {
    if (c.zeroEntries == 0) {
      return;
    }
    if (c.zeroEntries > c.zeroIdx.length) {
      for (int k = 0; k < c.rTag.length; k++) {
        if (c.rPage[k] == MemoryBus.ZERO && c.rFrame[k] == frame) {
          c.rTag[k] = -1;
          c.rPage[k] = null;
        }
      }
      return;
    }
    for (int i = 0; i < c.zeroEntries; i++) {
      int k = c.zeroIdx[i];
      if (c.rPage[k] == MemoryBus.ZERO && c.rFrame[k] == frame) {
        c.rTag[k] = -1;
        c.rPage[k] = null;
      }
    }
  }

  /** Notes that read TLB entry {@code idx} points at the zero frame. */
  private static void noteZeroEntry(Cpu c, int idx) {
    if (c.zeroEntries == c.zeroIdx.length) {
      // Full: keep only the entries that still point at the zero frame.
      int n = 0;
      for (int i = 0; i < c.zeroEntries; i++) {
        int k = c.zeroIdx[i];
        if (c.rPage[k] == MemoryBus.ZERO) {
          c.zeroIdx[n++] = k;
        }
      }
      c.zeroEntries = n;
    }
    if (c.zeroEntries < c.zeroIdx.length) {
      c.zeroIdx[c.zeroEntries++] = idx;
    } else {
      c.zeroEntries = c.zeroIdx.length + 1; // overflowed: search the whole TLB from now on
    }
  }

  static void flushTlb(Cpu c) {
    Mmio.dropPages(c);
    if (!c.tlbClean) {
      Arrays.fill(c.rTag, -1);
      Arrays.fill(c.wTag, -1);
      Arrays.fill(c.cTag, -1);
      // Stale frame references would keep freed storage alive; the tags already miss.
      Arrays.fill(c.rPage, null);
      Arrays.fill(c.wPage, null);
      c.tlbClean = true;
    }
    c.zeroEntries = 0;
    c.largeCached = false;
    forgetFills(c);
    c.epoch++;
  }

  /** CR3 load: drops every translation except global ones (CR4.PGE). */
  static void flushNonGlobal(Cpu c) {
    Mmio.dropPages(c);
    if ((c.cr4 & CR4_PGE) == 0) {
      flushTlb(c);
      return;
    }
    // Only an index filled since the last flush can hold a non-global entry: the global ones
    // left in place by earlier CR3 loads are global still (the flags change only on a fill).
    if (c.anyFilled) {
      long[] filled = c.filled;
      for (int w = 0; w < filled.length; w++) {
        for (long bits = filled[w]; bits != 0; bits &= bits - 1) {
          int k = w << 6 | Long.numberOfTrailingZeros(bits);
          int g = c.tlbBits[k];
          if ((g & Cpu.R_GLOBAL) == 0) {
            c.rTag[k] = -1;
          }
          if ((g & Cpu.W_GLOBAL) == 0) {
            c.wTag[k] = -1;
          }
          if ((g & Cpu.C_GLOBAL) == 0) {
            c.cTag[k] = -1;
          }
        }
        filled[w] = 0;
      }
      c.anyFilled = false;
    }
    c.epoch++;
  }

  /**
   * Drops the translations of the page holding {@code lin}, in both halves (an INVLPG at CPL 0
   * also removes what CPL 3 cached). When that page is a 4 MiB or 2 MiB page, every 4 KiB piece
   * of it cached here goes too (SDM vol. 3, 4.10.4.1: INVLPG invalidates the whole large page).
   */
  static void invlpg(Cpu c, int lin) {
    Mmio.dropPage(c, lin);
    int page = lin >>> 12;
    for (int half = 0; half <= TLB_SIZE; half += TLB_SIZE) {
      int idx = (page & TLB_MASK) | half;
      if (c.rTag[idx] == page) {
        c.rTag[idx] = -1;
      }
      if (c.wTag[idx] == page) {
        c.wTag[idx] = -1;
      }
      if (c.cTag[idx] == page) {
        c.cTag[idx] = -1;
      }
    }
    if (c.largeCached) {
      // The large page's size follows the paging mode; a mode change flushes everything.
      int span = (c.cr4 & CR4_PAE) != 0 ? 512 : 1024;
      int first = page & -span;
      for (int half = 0; half <= TLB_SIZE; half += TLB_SIZE) {
        for (int p = first; p < first + span; p++) {
          int idx = (p & TLB_MASK) | half;
          int g = c.tlbBits[idx];
          if (c.rTag[idx] == p && (g & Cpu.R_LARGE) != 0) {
            c.rTag[idx] = -1;
          }
          if (c.wTag[idx] == p && (g & Cpu.W_LARGE) != 0) {
            c.wTag[idx] = -1;
          }
          if (c.cTag[idx] == p && (g & Cpu.C_LARGE) != 0) {
            c.cTag[idx] = -1;
          }
        }
      }
    }
    c.epoch++;
  }
}
