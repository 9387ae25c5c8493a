package org.hospes.hv.pv;

import org.hospes.abi.XenCpuid;
import org.hospes.abi.XenVersion;
import org.hospes.hv.domain.Vcpu;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;

/**
 * What the hypervisor does when a classic PV32 vCPU leaves the processor: the counterpart of
 * Xen's traps.c, entry.S and emul-priv-op.c for a ring-1 kernel. Every exception and software
 * interrupt exits here (the guest has no IDT on the processor):
 *
 * <ul>
 *   <li>{@code int 0x82} from ring 1 is a hypercall (Xen's DPL-1 gate); from ring 3 it is a
 *       {@code #GP(0x412)} like any DPL-0 gate;
 *   <li>{@code int3} and {@code into} (DPL-3 gates in Xen) bounce to the guest's handlers; any
 *       other {@code int n} is Xen's soft-interrupt emulation in do_general_protection: it
 *       bounces to the virtual IDT entry if that entry's DPL admits the guest's ring, else the
 *       guest takes {@code #GP(n << 3 | 2)};
 *   <li>{@code #GP(0)} from ring 1 first tries the privileged instructions Xen emulates
 *       (IN/OUT, CLTS, WBINVD, MOV from CR0/2/3/4, MOV to CR0 (TS) and CR3, CLI/STI), then is
 *       bounced;
 *   <li>{@code #UD} first tries the forced-emulation prefix {@code ud2a; .ascii "xen"; cpuid},
 *       answered with Xen's CPUID view; {@code #PF} bounces with the address in
 *       vcpu_info.arch.cr2; {@code #NM} is the lazy FPU switch of a guest that set TS with
 *       fpu_taskswitch;
 *   <li>anything without a guest handler crashes the domain, as Xen's "unhandled trap" does;
 *   <li>a bounce frame (exception, NMI, event upcall, sysenter) that cannot be written on the
 *       guest's stack crashes the domain, saying where, as compat_create_bounce_frame's fault
 *       path (domain_crash_sync) does.
 * </ul>
 *
 * <p>Before each return to the guest, a pending event with the upcall unmasked enters the
 * event callback (Xen's test_all_events).
 */
public final class PvExits {
  /** The hypercall entry: runs the call in EAX for {@code v}; returns its modelled cycles. */
  public interface HypercallGate {
    long hypercall(Vcpu v);
  }

  /** What the domain must end with, or null while it runs. */
  public interface Crash {
    void crash(Vcpu v, String reason);
  }

  static final int HYPERCALL_VECTOR = 0x82;
  private static final int DE = 0, DB = 1, BP = 3, OF = 4, UD = 6, NM = 7, DF = 8, TS = 10;
  private static final int NP = 11, SS = 12, GP = 13, PF = 14, AC = 17;
  private static final byte[] FORCED_EMULATION = {0x0F, 0x0B, 'x', 'e', 'n', 0x0F, (byte) 0xA2};

  private final HypercallGate hypercalls;
  private final Crash crash;
  private final org.hospes.hv.cost.CostModel cost;

  /**
   * @param cost what a trap costs: an exit into the hypervisor and a bounce back into the guest
   *     are each one exception delivery; entering the event callback is an interrupt delivery
   */
  public PvExits(HypercallGate hypercalls, Crash crash, org.hospes.hv.cost.CostModel cost) {
    this.hypercalls = hypercalls;
    this.crash = crash;
    this.cost = cost;
  }

  /** Handles processor exit {@code exit} of PV vCPU {@code v}; returns the modelled cycles. */
  public long handle(Vcpu v, PvVcpu pv, int exit) {
    switch (exit) {
      case CpuExit.BUDGET:
        return 0;
      case CpuExit.EXCEPTION: {
        Cpu cpu = pv.cpu();
        boolean hypercall = cpu.exceptionIsSoftware() && cpu.cpl() == 1
            && cpu.exceptionVector() == HYPERCALL_VECTOR;
        long cycles = exception(v, pv);
        // A hypercall's cost (entry included) is the hypercall's; any other trap is a trip
        // into the hypervisor and back out to the guest's handler (or past the emulated
        // instruction).
        return hypercall ? cycles : cycles + 2 * cost.exceptionDelivery();
      }
      default:
        // HLT faults at CPL 1 and 3, and no event is ever delivered by the processor: a
        // triple fault or a stop here is a hypervisor bug, contained in the domain.
        crash.crash(v, "unexpected processor exit " + CpuExit.name(exit));
        return 0;
    }
  }

  private long exception(Vcpu v, PvVcpu pv) {
    Cpu cpu = pv.cpu();
    int vector = cpu.exceptionVector();
    if (cpu.exceptionIsSoftware()) {
      return softwareInterrupt(v, pv, vector, cpu.exceptionInstructionLength());
    }
    int error = cpu.exceptionErrorCode();
    switch (vector) {
      case GP:
        if (error == 0 && isSysenter(pv)) {
          // The processor's SYSENTER MSRs are the hypervisor's (CS 0 here, so it faults):
          // this is Xen's sysenter_entry.
          PvTraps.Regs r = pv.captureRegs();
          if (!pv.traps().bounceSysenter(r)) {
            // Only the frame can fail: a target of 0 is entered, as compat_sysenter does.
            frameFaulted(v, pv, "sysenter");
          } else {
            enter(v, pv, r, "sysenter");
          }
          return 0;
        }
        if (error == 0 && PvPrivilegedOps.emulate(pv)) {
          return 0;
        }
        bounce(v, pv, GP, error);
        return 0;
      case UD:
        if (!forcedCpuid(pv)) {
          bounce(v, pv, UD, -1);
        }
        return 0;
      case PF: {
        // Xen's one fixup here is the shadow LDT (writable page tables are not offered): a
        // fault there maps the guest's LDT page and retries, or becomes the guest's #PF at its
        // own LDT address. Every other #PF is the guest's.
        int address = cpu.faultAddress();
        // Only the processor's own descriptor reads (supervisor, no reserved bit) count; the
        // shadow is read-only and its descriptors are already accessed, so no write lands here.
        if (PvGdt.inLdtShadow(address) && (error & (2 | 4 | 8)) == 0) {
          if (pv.mapLdtShadowPage(address)) {
            return 0;
          }
          address = pv.mmu().ldtBase() + (address - PvGdt.LDT_VIRT_START);
        }
        PvTraps.Regs r = pv.captureRegs();
        if (!pv.traps().bouncePageFault(r, error, address)) {
          if (!frameFaulted(v, pv, "trap 14")) {
            unhandled(v, pv, PF, error);
          }
        } else {
          enter(v, pv, r, "trap 14");
        }
        return 0;
      }
      case NM:
        // Xen's lazy FPU: the processor's TS goes; the guest sees #NM only if it set TS.
        boolean guestTs = pv.guestTs();
        pv.fpuTaskswitch(false);
        if (guestTs) {
          bounce(v, pv, NM, -1);
        }
        return 0;
      case DF:
        crash.crash(v, "double fault in the PV guest");
        return 0;
      default:
        bounce(v, pv, vector, hasErrorCode(vector) ? error : -1);
        return 0;
    }
  }

  private static boolean hasErrorCode(int vector) {
    return vector == DF || (vector >= TS && vector <= PF) || vector == AC;
  }

  private long softwareInterrupt(Vcpu v, PvVcpu pv, int vector, int length) {
    Cpu cpu = pv.cpu();
    if (length == 1 && vector == DB) {
      // INT1 (ICEBP): a #DB trap.
      bounce(v, pv, DB, -1);
      return 0;
    }
    if (vector == HYPERCALL_VECTOR && cpu.cpl() == 1) {
      return hypercalls.hypercall(v);
    }
    if (vector == BP || vector == OF) {
      // Xen's gates for #BP and #OF have DPL 3: INT3 and INTO reach the guest from any ring.
      bounce(v, pv, vector, -1);
      return 0;
    }
    // Every other gate has DPL 0: #GP(vector << 3 | 2), which do_general_protection turns
    // back into the soft interrupt when the virtual IDT entry's DPL admits the guest's ring.
    PvTraps.TrapInfo t = pv.traps().trap(vector);
    int ring = cpu.cpl() == 1 ? 1 : 3;
    if (t != null && (t.flags() & 3) >= ring) {
      bounce(v, pv, vector, -1);
      return 0;
    }
    cpu.setEip(cpu.eip() - length);
    bounce(v, pv, GP, vector << 3 | 2);
    return 0;
  }

  /** Bounces {@code vector} to the guest's handler, or crashes the domain if it has none. */
  void bounce(Vcpu v, PvVcpu pv, int vector, int error) {
    PvTraps.Regs r = pv.captureRegs();
    if (!pv.traps().bounceException(r, vector, error)) {
      if (!frameFaulted(v, pv, "trap " + vector)) {
        unhandled(v, pv, vector, error);
      }
      return;
    }
    enter(v, pv, r, "trap " + vector);
  }

  /**
   * Returns to the guest at a bounce frame's target. When the target's selectors are unusable
   * (a virtual IDT entry with a bad CS), Xen's return faults and it bounces to the failsafe
   * callback instead; without one, or if that fails too, the domain is crashed.
   */
  private void enter(Vcpu v, PvVcpu pv, PvTraps.Regs r, String what) {
    if (!pv.restoreOrFailsafe(r)) {
      crash.crash(v, String.format("%s: cannot enter the guest at %04x:%08x (bad selector),"
          + " and no usable failsafe callback", what, r.cs & 0xFFFF, r.eip));
    }
  }

  /**
   * After a failed bounce: if it failed writing its frame, the domain is crashed as Xen's
   * compat_create_bounce_frame crashes it for a fault on the guest's stack (domain_crash_sync),
   * with the frame's address, and true is returned; false if it failed for another reason.
   */
  private boolean frameFaulted(Vcpu v, PvVcpu pv, String what) {
    long at = pv.traps().frameFault();
    if (at < 0) {
      return false;
    }
    crash.crash(v, String.format("%s: fault writing the bounce frame on the guest's stack at"
        + " %08x", what, at));
    return true;
  }

  private void unhandled(Vcpu v, PvVcpu pv, int vector, int error) {
    crash.crash(v, String.format("unhandled trap %d (error code %#x) at %04x:%08x", vector,
        error, pv.cpu().segmentSelector(Cpu.CS), pv.cpu().eip()));
  }

  /** True when the instruction at the guest's EIP is SYSENTER (0F 34). */
  private static boolean isSysenter(PvVcpu pv) {
    byte[] code = new byte[2];
    return pv.mmu().copyFromGuest(pv.cpu().eip(), code) && code[0] == 0x0F && code[1] == 0x34;
  }

  /**
   * emulate_forced_invalid_op: {@code ud2a; "xen"; cpuid} runs CPUID with Xen's view (the
   * hypervisor leaves at 0x40000000) and steps past all 7 bytes. Returns false for anything
   * else, which is a plain #UD.
   */
  private static boolean forcedCpuid(PvVcpu pv) {
    Cpu cpu = pv.cpu();
    byte[] code = new byte[FORCED_EMULATION.length];
    if (!pv.mmu().copyFromGuest(cpu.eip(), code)
        || !java.util.Arrays.equals(code, FORCED_EMULATION)) {
      return false;
    }
    xenCpuid(cpu);
    cpu.setEip(cpu.eip() + FORCED_EMULATION.length);
    return true;
  }

  /** guest_cpuid for a PV32 domain: the processor's leaves plus Xen's at 0x40000000. */
  static void xenCpuid(Cpu cpu) {
    int leaf = cpu.reg(Cpu.EAX);
    if ((leaf & 0xFFFF_FF00) != XenCpuid.BASE) {
      cpu.executeCpuid();
      if (leaf == 1) {
        cpu.setReg(Cpu.ECX, cpu.reg(Cpu.ECX) | 1 << 31); // the hypervisor bit
      }
      return;
    }
    int a = 0;
    int b = 0;
    int c = 0;
    int d = 0;
    switch (leaf - XenCpuid.BASE) {
      case 0 -> {
        a = XenCpuid.BASE + 5;
        b = XenCpuid.SIGNATURE_EBX;
        c = XenCpuid.SIGNATURE_ECX;
        d = XenCpuid.SIGNATURE_EDX;
      }
      case 1 -> a = XenVersion.MAJOR << 16 | XenVersion.MINOR;
      case 2 -> {
        a = 1;
        b = XenCpuid.HYPERCALL_MSR;
        c = 1; // XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD: a PV guest may use it
      }
      case 3 -> c = 1_000_000; // the guest TSC runs at the virtual clock's 1 GHz
      case 5 -> b = 36; // XEN_CPUID_MACHINE_ADDRESS_WIDTH: PAE's 36 bits
      default -> { }
    }
    cpu.setReg(Cpu.EAX, a);
    cpu.setReg(Cpu.EBX, b);
    cpu.setReg(Cpu.ECX, c);
    cpu.setReg(Cpu.EDX, d);
  }

  /**
   * Before returning to the guest: a pending upcall with events unmasked enters the event
   * callback with events masked (Xen's test_all_events / compat_process_softirqs path).
   * Returns true if it did.
   */
  public boolean deliverEvents(Vcpu v, PvVcpu pv) {
    // An NMI comes before events (compat_test_all_events: NMI, then the upcall). Without a
    // handler it is dropped (compat_process_nmi clears nmi_pending before it asks
    // set_guest_nmi_trapbounce); with one, a frame that cannot be written ends the domain.
    if (pv.takeNmi() && pv.traps().hasNmiHandler()) {
      pv.setNmiMasked(true);
      PvTraps.Regs n = pv.captureRegs();
      if (!pv.traps().bounceNmi(n)) {
        frameFaulted(v, pv, "NMI");
        return false;
      }
      enter(v, pv, n, "NMI");
      v.counters().injectedInterrupts++;
      return true;
    }
    if (!pv.upcallPending() || pv.upcallMask() != 0) {
      return false;
    }
    PvTraps.Regs r = pv.captureRegs();
    if (!pv.traps().bounceEvent(r)) {
      // Events unmasked and pending with no usable callback ends the domain in Xen, as a
      // callback whose frame cannot be written does.
      if (!frameFaulted(v, pv, "event callback")) {
        crash.crash(v, String.format("event upcall with a null callback selector %04x (no"
            + " event callback registered)", pv.traps().callbackCs(PvTraps.CALLBACKTYPE_EVENT)));
      }
      return false;
    }
    enter(v, pv, r, "event callback");
    v.counters().injectedInterrupts++;
    return true;
  }

  /** The modelled cycles of entering the event callback. */
  public long eventCost() {
    return cost.interruptDelivery();
  }
}
