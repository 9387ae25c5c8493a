package org.hospes.hv.pv;

import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.memory.FrameTable;
import org.hospes.x86.MemoryBus;

/**
 * A machine with PV MMUs for the tests: 8 MiB of machine memory (the first MiB the
 * hypervisor's), frames handed to domains on request, and a TLB that records what it was told.
 * {@link #space} builds a minimal address space the way a domain builder does: an L3 whose slot 0
 * holds an L2 with one L1 (VA 0..2 MiB) and whose slot 3 holds the L2 with Xen's slots.
 */
final class PvFixture {
  static final long P = 1, RW = 2, US = 4, PCD = 16, A = 32, D = 64, PS = 128;
  static final int DOM = 1, OTHER = 2;

  final MemoryBus machine = new MemoryBus(8 << 20);
  final FrameTable frames = new FrameTable(8 << 20, 1 << 20);
  final PageInfo info = new PageInfo(frames.frames());
  final MachToPhys m2p = new MachToPhys(machine, frames);
  final List<String> tlbLog = new ArrayList<>();

  final PvMmu.Tlb recordingTlb = new PvMmu.Tlb() {
    @Override
    public void flushAll() {
      tlbLog.add("flush");
    }

    @Override
    public void invlpg(int va) {
      tlbLog.add("invlpg " + Integer.toHexString(va));
    }

    @Override
    public void loadBase(long ma) {
      tlbLog.add("base " + Long.toHexString(ma));
    }
  };

  /** A TLB that is the processor's: CR3 loads (with the PDPTEs) and flushes, CR0 with PG/WP/PE. */
  static PvMmu.Tlb cpuTlb(org.hospes.x86.Cpu cpu) {
    int cr0 = 0x8001_0001; // PG, WP, PE: ring-1 writes honour read-only entries
    return new PvMmu.Tlb() {
      @Override
      public void flushAll() {
        cpu.loadControlRegisters(cr0, cpu.cr3(), org.hospes.x86.Cpu.CR4_PAE);
      }

      @Override
      public void invlpg(int va) {
        flushAll();
      }

      @Override
      public void loadBase(long ma) {
        cpu.loadControlRegisters(cr0, (int) ma, org.hospes.x86.Cpu.CR4_PAE);
      }
    };
  }

  PvMmu mmu(int domid) {
    return mmu(domid, recordingTlb);
  }

  PvMmu mmu(int domid, PvMmu.Tlb tlb) {
    return new PvMmu(new PvPageTables(domid, frames, info, machine), m2p, machine, tlb,
        d -> d == DOM || d == OTHER);
  }

  long alloc(int domid) {
    long mfn = frames.allocate(domid);
    machine.write(mfn << 12, new byte[4096], 0, 4096);
    return mfn;
  }

  static long pte(long mfn, long flags) {
    return mfn << 12 | flags;
  }

  void set(long table, int slot, long entry) {
    machine.write64((table << 12) + 8L * slot, entry);
  }

  long get(long table, int slot) {
    return machine.read64((table << 12) + 8L * slot);
  }

  /** The frames of a minimal address space. */
  record Space(long l3, long l2, long xenL2, long l1, long[] pages) {}

  /**
   * Builds (unvalidated) tables for {@code domid}: VA 0x1000 * (i + 1) maps {@code pages[i]}
   * writable, and the L1 itself is mapped read-only at VA 0.
   */
  Space space(int domid, int nPages) {
    long l3 = alloc(domid);
    long l2 = alloc(domid);
    long xenL2 = alloc(domid);
    long l1 = alloc(domid);
    long[] pages = new long[nPages];
    set(l3, 0, pte(l2, P));
    set(l3, 3, pte(xenL2, P));
    set(l2, 0, pte(l1, P | RW | US));
    set(l1, 0, pte(l1, P | US));
    for (int i = 0; i < nPages; i++) {
      pages[i] = alloc(domid);
      set(l1, i + 1, pte(pages[i], P | RW | US));
    }
    return new Space(l3, l2, xenL2, l1, pages);
  }

  /** Writes an mmu_update request at machine address {@code ma}. */
  void request(long ma, long ptr, long val) {
    machine.write64(ma, ptr);
    machine.write64(ma + 8, val);
  }
}
