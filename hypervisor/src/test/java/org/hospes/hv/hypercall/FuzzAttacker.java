package org.hospes.hv.hypercall;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.x86.Cpu;

/**
 * The domain a hypercall fuzz campaign attacks from, and the layout of its address space as
 * the fuzzer uses it: a few buffer pages it fills before each call, an area left zero (a list
 * of zeros is the cheapest long list a guest can name), a page the harness keeps for its own
 * health checks, and the end of what is mapped, so that a struct can straddle it.
 *
 * <p>A classic PV attacker is {@link PvTestDomains}' small domain (VA 0x4000..0x1ffff writable,
 * its tables read-only at VA 0..0x3fff, the hypervisor hole above 0xf5800000). An HVM-family
 * attacker (PVH, HVM with EPT, HVM with shadow paging) has 16 MiB of RAM and nothing above,
 * and a second vCPU, offline;
 * all but the first 2 MiB is the zero area. PVH and shadow-paged ones run with paging off, so
 * their pointers are guest-physical; the EPT one runs with its own 2-level page tables: RAM
 * mapped 1:1 (supervisor, CR0.WP set) but for a read-only page at 0x1000 and a hole at
 * 0x3000, and its first 4 MiB again at 0xc0000000, as a kernel's direct map.
 */
final class FuzzAttacker {
  /** The kinds of domain the campaign attacks from. */
  enum Kind {
    PV(null),
    PVH(DomainMode.PVH),
    HVM_EPT(DomainMode.HVM_EPT),
    HVM_SHADOW(DomainMode.HVM_SHADOW);

    final DomainMode mode;

    Kind(DomainMode mode) {
      this.mode = mode;
    }

    boolean pv() {
      return this == PV;
    }
  }

  static final int BUFFERS = 4;
  /** Enough that a list of zeros the size of its zero area is long (14 MiB of it). */
  static final int HVM_MIB = 16;

  final Kind kind;
  final Domain d;
  final Vcpu v;
  /** Virtual addresses of the buffer pages. */
  final int[] buffers = new int[BUFFERS];
  /** First and last (exclusive) VA of the area the harness never writes. */
  final int zeroStart;
  final int zeroEnd;
  /** The page the harness's own checks put their structs in. */
  final int harness;
  /** The first VA past the mapped RAM. */
  final int top;
  /** A page mapped read-only, or -1. */
  final int readOnly;
  /** Where the harness page is in machine memory now: moving it means the guest broke itself. */
  private final long harnessMa;
  /** The PV attacker's base pointer at creation. */
  private final long baseMfn;
  private final org.hospes.x86.MemoryBus machine;

  private FuzzAttacker(Kind kind, Domain d, org.hospes.x86.MemoryBus machine) {
    this.machine = machine;
    this.kind = kind;
    this.d = d;
    this.v = d.vcpus().get(0);
    if (kind.pv()) {
      for (int i = 0; i < BUFFERS; i++) {
        buffers[i] = 0x9000 + 0x1000 * i;
      }
      zeroStart = 0x10000;
      zeroEnd = 0x1E000;
      harness = 0x1E000;
      top = 0x20000;
      readOnly = 0x1000;
      baseMfn = d.pv().mmu().baseMfn();
    } else {
      for (int i = 0; i < BUFFERS; i++) {
        buffers[i] = 0x10000 + 0x1000 * i;
      }
      zeroStart = 0x200000;
      zeroEnd = TABLES;
      harness = 0x1FE000;
      top = HVM_MIB << 20;
      readOnly = kind == Kind.HVM_EPT ? 0x1000 : -1;
      baseMfn = -1;
    }
    if (kind == Kind.HVM_EPT) {
      page(d);
    }
    harnessMa = machineAddress(harness);
  }

  /** Where the EPT attacker's page directory and tables are (the harness leaves them alone). */
  static final int TABLES = 0xFF0000;
  static final int TABLES_END = TABLES + 5 * 4096;

  /** Builds the EPT attacker's page tables and turns paging on (see the class comment). */
  private void page(Domain d) {
    var mem = d.memory();
    int p = 1;
    int rw = 2;
    for (int t = 0; t < 4; t++) {
      long pt = TABLES + 4096L * (t + 1);
      mem.write32(TABLES + 4L * t, (int) pt | p | rw);
      for (int i = 0; i < 1024; i++) {
        long page = ((long) t << 22) + ((long) i << 12);
        int flags = page == 0x3000 ? 0 : page == 0x1000 ? p : p | rw;
        mem.write32(pt + 4L * i, (int) page | flags);
      }
    }
    mem.write32(TABLES + 4L * 0x300, (TABLES + 4096) | p | rw);
    Cpu cpu = v.cpu();
    cpu.loadControlRegisters(cpu.cr0() | Cpu.CR0_PG | Cpu.CR0_WP, TABLES, cpu.cr4());
  }

  static FuzzAttacker create(Hypervisor hv, Kind kind, String name) {
    // A second vCPU (offline, waiting for its start-up IPI) for the calls that name one.
    Domain d = kind.pv() ? PvTestDomains.create(hv, name)
        : hv.createHvmDomain(name, kind.mode, HVM_MIB, 2);
    hv.unpause(d);
    return new FuzzAttacker(kind, d, hv.machineMemory());
  }

  int domid() {
    return d.domid();
  }

  /** The machine address the guest's own view maps {@code va} to for writing, or -1. */
  long machineAddress(int va) {
    if (kind.pv()) {
      return d.pv().mmu().translate(va, true);
    }
    long gpa;
    if (d.shadow() != null) {
      // The processor walks the shadow tables (to machine addresses): the guest's are walked.
      d.shadow().select(v.id());
      gpa = d.shadow().guestPhysical(va, true, false);
    } else {
      gpa = v.cpu().linearToPhysical(va, true);
    }
    return gpa >= 0 && d.memory().writable(gpa) ? d.memory().machineAddress(gpa) : -1;
  }

  /**
   * True while the guest's address space still has the harness page where it was and (PV) the
   * base pointer it was built with: a hostile guest may unmap or balloon out its own memory,
   * which is its right, but then the harness cannot talk to it any more.
   */
  boolean intact() {
    if (d.state().isFinal() || machineAddress(harness) != harnessMa) {
      return false;
    }
    if (kind.pv()) {
      Cpu cpu = v.cpu();
      // An iret may have left ring 1; a new base pointer may name other tables.
      return d.pv().mmu().baseMfn() == baseMfn && (cpu.segmentSelector(Cpu.CS) & 3) == 1;
    }
    return true;
  }

  /**
   * Writes {@code data} at {@code va} as the guest itself could (through its own mappings,
   * page by page: a page it cannot write is skipped); false if any was.
   */
  boolean write(int va, byte[] data) {
    if (kind.pv()) {
      boolean all = true;
      for (int done = 0; done < data.length; ) {
        int at = va + done;
        int chunk = Math.min(data.length - done, 4096 - (at & 0xFFF));
        long ma = d.pv().mmu().translate(at, true);
        if (ma >= 0) {
          machine.write(ma, data, done, chunk);
        } else {
          all = false;
        }
        done += chunk;
      }
      return all;
    }
    return new GuestAccess(v).write(va, data);
  }

  byte[] read(int va, int len) {
    if (kind.pv()) {
      byte[] b = new byte[len];
      return d.pv().mmu().copyFromGuest(va, b) ? b : null;
    }
    return new GuestAccess(v).read(va, len);
  }

  @Override
  public String toString() {
    return kind + " d" + d.domid();
  }
}
