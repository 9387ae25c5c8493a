package org.hospes.hv.cost;

import org.hospes.x86.vmx.ExitReason;

/**
 * The default cost model, from published measurements (see shared/reference/published-figures.md):
 * <ul>
 *   <li>1 cycle per guest instruction (CPU-bound work runs at native speed in every mode, Barham
 *       et al. SOSP'03 fig. 3: SPEC INT within 0-3% of native).
 *   <li>VM exit + entry round trip: 500 cycles, the Sandy Bridge to Broadwell range of 466-531
 *       cycles (Bugnion/Nieh/Tsafrir 2017, table 4.3, after Agesen et al. ATC'12).
 *   <li>Exit handling: about 10 VMCS reads at 52 cycles (Adams and Agesen ASPLOS'06 table 1,
 *       Core 2) plus dispatch: 600 cycles for simple exits (CPUID, HLT, CR access); an emulated
 *       I/O or MMIO access costs more because it is forwarded to the device model.
 *   <li>Device-model round trip (ioreq to dom0 and back): 4,835 cycles, beyond the guest's own
 *       exit and its handling. The request leaves the hypervisor for dom0, where the device
 *       model runs, and the answer comes back: two world switches at the 2,000-cycle direct
 *       cost SplitX measured on Nehalem (Landau et al. WIOV'11), plus the hypercall with which
 *       dom0 signals the completion (EVTCHNOP_send, 835 cycles: Amit et al. HotOS'17 after
 *       Dune). Charging one world switch for the whole trip (2,000, as this model once did)
 *       left out the way back, which is why an emulated {@code in} cost only 1.09x the native
 *       one against Adams and Agesen's 4.9x. The device model's own work is dom0's time.
 *   <li>Hypercall: 835 cycles (Amit et al. HotOS'17, citing Dune OSDI'12).
 *   <li>Page walk: 30 cycles per memory reference of the walk (a 2D walk of 24 references is then
 *       about 4x a native 4-reference walk plus data, as Bhargava et al. ASPLOS'08 report).
 *   <li>Shadow page fault handled in the hypervisor: 11,242 - 1,093 cycles, the VT-x page-fault
 *       cost above native in Adams and Agesen's figure 4 (about 10,000).
 *   <li>Grant copy: 400 cycles per op plus 1 cycle per 8 bytes copied. Derived from the netback
 *       figures in published-figures.md section 4 (64-byte packets: 3.6 Mpps with persistently
 *       mapped grants vs 1.24 Mpps with grant copy on a 2.3 GHz Xeon E5-2699 v3, i.e. about
 *       1,200 extra cycles per packet, of which 835 are the hypercall): an estimate, not a
 *       measurement of the op alone.
 *   <li>Native costs, charged the same in every mode when the processor does the work itself
 *       (Adams and Agesen ASPLOS'06, figure 4, native column, Pentium 4): exception delivery
 *       and IRET 840 cycles (their native divzero, 889 cycles, less a handler of about 50
 *       instructions; their native page fault is 1,093 cycles with the handler's work); an
 *       external interrupt the same; INT n round trip 240 cycles (their native syscall, 242,
 *       less the INT and IRET instructions); a port access 3,200 cycles (their native IN from
 *       port 0x80, 3,209, less the instruction); an MMIO access 150 cycles (their native
 *       cr8write, 150: CR8 is the local APIC's TPR, an on-chip device register).
 *   <li>A port access to a device that says how long its accesses take on its bus: that time at
 *       the 3.8 GHz of the Pentium 4 672 those native figures were measured on (3.8 cycles per
 *       nanosecond). Port 0x80's 3,209 cycles are then 845 ns, an ISA-class bus cycle, which is
 *       why the flat port access above stays the default for ports whose device does not say:
 *       an ATA data port in PIO mode 4 is not that slow (120 ns per 16-bit cycle, so 912 cycles
 *       per 32-bit access, not 3,200).
 *   <li>RDTSC: 80 cycles in all (79 beyond the instruction's own cycle), Agner Fog's instruction
 *       tables for the Pentium 4 (RDTSC is microcoded there, its reciprocal throughput about 80
 *       clocks). PAUSE: 10 cycles in all (9 beyond), the latency Intel's optimization reference
 *       manual gives for the generations before Skylake (whose PAUSE it lengthened to as many
 *       as 140 cycles). These set how long a delay loop spins: Linux's {@code delay_tsc} reads
 *       the TSC, pauses and compares until the cycles it was asked for have passed, and at one
 *       cycle each it took about seven times as many instructions as on a real processor.
 *   <li>Grant map or unmap: 2,000 cycles (validate, pin, P2M and EPT update, flush). No
 *       published per-op figure was found; this is an assumption of the same order as a
 *       world switch (SplitX), to be replaced when one is.
 * </ul>
 */
public final class DefaultCostModel implements CostModel {
  public static final String NAME = "default";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public long instructions(long n) {
    return n;
  }

  @Override
  public long pageWalk(int references) {
    return 30L * references;
  }

  @Override
  public long vmExit(ExitReason reason) {
    return 500;
  }

  @Override
  public long exitHandling(ExitReason reason) {
    switch (reason) {
      case IO_INSTRUCTION:
      case EPT_VIOLATION:
      case EPT_MISCONFIG:
        return 1_000;
      case EXCEPTION_NMI:
        return 1_500;
      case TRIPLE_FAULT:
        return 0;
      default:
        return 600;
    }
  }

  /** A world switch's direct cost (SplitX, Nehalem). */
  static final long WORLD_SWITCH = 2_000;
  /** A hypercall's cost (Dune, via Amit et al.). */
  static final long HYPERCALL = 835;

  @Override
  public long ioreq() {
    // Into dom0, back out, and dom0's notification of the completion.
    return 2 * WORLD_SWITCH + HYPERCALL;
  }

  @Override
  public long shadowFault() {
    return 10_000;
  }

  @Override
  public long hypercall() {
    return HYPERCALL;
  }

  @Override
  public long exceptionDelivery() {
    return 840;
  }

  @Override
  public long interruptDelivery() {
    return 840;
  }

  @Override
  public long softwareInterrupt() {
    return 240;
  }

  @Override
  public long portAccess() {
    return 3_200;
  }

  /** Cycles per 10 ns: the 3.8 GHz clock of Adams and Agesen's native figures. */
  static final long CYCLES_PER_10_NS = 38;

  @Override
  public long devicePortAccess(long nanos) {
    return nanos * CYCLES_PER_10_NS / 10;
  }

  @Override
  public long mmioAccess() {
    return 150;
  }

  /** RDTSC's cycles beyond the one charged per instruction (80 in all, Pentium 4). */
  static final long RDTSC = 79;
  /** PAUSE's cycles beyond the one charged per instruction (10 in all, before Skylake). */
  static final long PAUSE = 9;

  @Override
  public long rdtsc() {
    return RDTSC;
  }

  @Override
  public long pause() {
    return PAUSE;
  }

  @Override
  public long grantMap() {
    return 2_000;
  }

  @Override
  public long grantCopy(int bytes) {
    return 400 + bytes / 8;
  }
}
