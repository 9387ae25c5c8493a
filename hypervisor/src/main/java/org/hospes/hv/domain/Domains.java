package org.hospes.hv.domain;

import org.hospes.abi.SharedInfo;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.event.EventChannels;
import org.hospes.hv.event.TwoLevelPorts;
import org.hospes.hv.hvm.ShadowControl;
import org.hospes.hv.memory.EptTables;
import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.memory.GuestMemory;
import org.hospes.hv.memory.P2m;
import org.hospes.hv.memory.ShadowPager;
import org.hospes.x86.Cpu;
import org.hospes.x86.IoBus;
import org.hospes.x86.vmx.Vmcs;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/** Builds domains: memory from the frame table, EPT or shadow paging, vCPUs and their VMCS. */
public final class Domains {
  /** Event channels of a service domain: EVTCHN_FIFO_NR_CHANNELS (xen/include/public/event_channel.h). */
  public static final int SERVICE_PORTS = 1 << 17;
  /** vCPUs per domain: xAPIC physical IDs are 8 bits and 0xFF is the broadcast. */
  public static final int MAX_VCPUS = 64;

  private Domains() {}

  /**
   * An HVM domain with {@code memoryMiB} at guest-physical 0 and one vCPU in flat 32-bit
   * protected mode (the multiboot entry state). Frames are zeroed: nothing of a previous owner
   * leaks.
   */
  public static Domain createHvm(Hypervisor hv, int domid, String name, DomainMode mode,
      int memoryMiB) {
    return createHvm(hv, domid, name, mode, memoryMiB, 1);
  }

  /**
   * As {@link #createHvm(Hypervisor, int, String, DomainMode, int)} with {@code vcpus} vCPUs,
   * each with its own processor, VMCS and TLB: vCPU 0 (the bootstrap processor) in the
   * multiboot entry state, the others (application processors) in real mode waiting for a
   * start-up IPI, offline.
   */
  public static Domain createHvm(Hypervisor hv, int domid, String name, DomainMode mode,
      int memoryMiB, int vcpus) {
    if (vcpus < 1 || vcpus > MAX_VCPUS) {
      throw new IllegalArgumentException("vCPUs must be 1.." + MAX_VCPUS + ", got " + vcpus);
    }
    FrameTable frames = hv.frames();
    long eptTables = mode.usesEpt() ? EptTables.tablesFor((long) memoryMiB << 8) : 0;
    P2m p2m = populate(hv, domid, name, memoryMiB, eptTables);
    // Everything below takes frames too (EPT tables, the shadow pager's, shared_info): if any
    // of it fails, every frame taken so far goes back before the error leaves, so that a build
    // the machine has no room for leaves the machine as it found it.
    EptTables ept = null;
    ShadowPager shadow = null;
    Domain d = null;
    try {
      GuestMemory memory = new GuestMemory(hv.machineMemory(), p2m);
      if (mode.usesEpt()) {
        ept = new EptTables(hv.machineMemory(), () -> frames.allocate(FrameTable.DOMID_XEN));
        ept.mapAll(p2m);
      }
      d = new Domain(domid, name, mode, p2m, memory, ept);
      // One shadow pager for the domain: shadows and tracking shared, paging state per vCPU.
      shadow = mode == DomainMode.HVM_SHADOW
          ? new ShadowPager(hv.machineMemory(), p2m, frames) : null;
      if (shadow != null) {
        d.setShadow(shadow);
      }
      long sharedInfo = allocateFrame(hv, domid, "shared_info");
      d.setSharedInfoMfn(sharedInfo);
      d.setEventChannels(new EventChannels(d, hv.eventDirectory(),
          new TwoLevelPorts(hv.machineMemory(), sharedInfo << 12), SharedInfo.NR_PORTS, vcpus));
      for (int id = 0; id < vcpus; id++) {
        Cpu cpu = new Cpu(hv.machineMemory(), new IoBus());
        cpu.resetFlat32();
        // The processor charges walks, event delivery and device accesses to the guest's clock.
        cpu.setCosts(hv.costModel().cpuCosts());
        Vmcs vmcs = new Vmcs();
        configure(vmcs, mode, ept);
        if (hv.forcedEmulation()) {
          org.hospes.hv.hvm.ForcedEmulation.intercept(vmcs);
        }
        if (vcpus > 1) {
          // A spinning vCPU gives way to its siblings: on one physical CPU the lock holder
          // cannot run while it spins (Xen uses PAUSE-loop exiting for the same reason).
          vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_PAUSE_EXITING);
        }
        cpu.setVmcs(vmcs);
        Vcpu v = d.addVcpu(cpu, vmcs);
        // vcpu_create: offline from now until the first unpause wakes it (vCPU 0) or its
        // start-up IPI or VCPUOP_up does (the others).
        v.runstate().start(org.hospes.hv.time.Runstate.OFFLINE, hv.now());
        if (shadow != null) {
          shadow.select(id);
          ShadowControl.start(cpu, vmcs, shadow);
        }
        if (id > 0) {
          cpu.startupIpi(0);
          v.setWaitingForSipi(true);
          v.setState(VcpuState.OFFLINE);
        }
      }
      return d;
    } catch (RuntimeException | Error e) {
      discard(hv, domid, d, ept, shadow, null);
      throw e;
    }
  }

  /**
   * A classic PV32 domain with {@code memoryMiB} of pseudo-physical memory: frames from the
   * frame table (zeroed), each entered in the machine-to-physical table as Xen's domain builder
   * does, the shared_info frame, event channels, and one vCPU that runs without VMX: its
   * processor works on machine addresses through page tables the PV MMU validates, and the
   * guest kernel runs in ring 1 once the builder {@link org.hospes.hv.pv.PvVcpu#boot boots} it.
   */
  public static Domain createPv(Hypervisor hv, int domid, String name, int memoryMiB,
      org.hospes.hv.pv.PageInfo pageInfo, org.hospes.hv.pv.MachToPhys m2p) {
    FrameTable frames = hv.frames();
    // The PV GDT's three frames of the hypervisor's.
    P2m p2m = populate(hv, domid, name, memoryMiB, org.hospes.hv.pv.PvGdt.HYPERVISOR_FRAMES);
    Domain d = null;
    org.hospes.hv.pv.PvGdt gdt = null;
    try {
      for (int pfn = 0; pfn < memoryMiB << 8; pfn++) {
        m2p.set(p2m.lookup(pfn), pfn);
      }
      d = new Domain(domid, name, DomainMode.PV, p2m,
          new GuestMemory(hv.machineMemory(), p2m), null);
      long sharedInfo = allocateFrame(hv, domid, "shared_info");
      d.setSharedInfoMfn(sharedInfo);
      d.setEventChannels(new EventChannels(d, hv.eventDirectory(),
          new TwoLevelPorts(hv.machineMemory(), sharedInfo << 12), SharedInfo.NR_PORTS, 1));
      Cpu cpu = new Cpu(hv.machineMemory(), new IoBus());
      cpu.resetFlat32();
      cpu.setCosts(hv.costModel().cpuCosts());
      // vcpu_create: offline from now until the first unpause wakes it.
      d.addVcpu(cpu, null).runstate().start(org.hospes.hv.time.Runstate.OFFLINE, hv.now());
      org.hospes.hv.pv.PvPageTables tables = new org.hospes.hv.pv.PvPageTables(domid, frames,
          pageInfo, hv.machineMemory());
      d.setPv(new org.hospes.hv.pv.PvVcpu(cpu, hv.machineMemory(), tables, m2p, frames,
          sharedInfo, id -> hv.domain(id) != null));
      return d;
    } catch (RuntimeException | Error e) {
      discard(hv, domid, d, null, null, m2p);
      throw e;
    }
  }

  /**
   * Gives back everything a domain build that failed had taken: its frames (RAM, shared_info,
   * grant table), the EPT tables and shadow frames kept for it, its processors' hold on machine
   * memory, and (for PV) the machine-to-physical entries of its frames. The domain was never
   * handed out, so nothing else refers to it.
   */
  public static void discard(Hypervisor hv, int domid, Domain d, EptTables ept,
      ShadowPager shadow, org.hospes.hv.pv.MachToPhys m2p) {
    FrameTable frames = hv.frames();
    if (d != null) {
      for (Vcpu v : d.vcpus()) {
        if (v.cpu() != null) {
          v.cpu().detach();
        }
      }
      if (d.pv() != null) {
        d.pv().relinquish(frames);
      }
    }
    frames.freeAll(domid, mfn -> {
      if (m2p != null) {
        m2p.set(mfn, org.hospes.hv.pv.MachToPhys.INVALID);
      }
      hv.machineMemory().release(mfn);
    });
    if (ept != null) {
      for (long mfn : ept.tableFrameNumbers()) {
        frames.free(mfn);
        hv.machineMemory().release(mfn);
      }
    }
    if (shadow != null) {
      shadow.destroy();
    }
  }

  /** One zeroed frame for {@code domid}; OutOfMachineMemory when there is none. */
  private static long allocateFrame(Hypervisor hv, int domid, String what) {
    long mfn = hv.frames().allocate(domid);
    if (mfn < 0) {
      throw new org.hospes.hv.memory.OutOfMachineMemory(
          "out of machine memory for domain " + domid + "'s " + what);
    }
    hv.machineMemory().zeroFrame(mfn);
    return mfn;
  }

  /**
   * A service domain (dom0, a driver domain) as the hypervisor sees it: its services are host
   * code, so it has no RAM and one vCPU without a processor whose body is {@code work}; event
   * channels like any domain, delivered to {@code ports}; a guest-physical window with nothing
   * in it where the grants it maps are placed. Running, its vCPU blocked until work arrives.
   */
  public static Domain createService(Hypervisor hv, int domid, String name,
      org.hospes.hv.event.PortOps ports, org.hospes.hv.control.ServiceWork work,
      int windowFrames) {
    P2m p2m = new P2m(windowFrames);
    Domain d = new Domain(domid, name, DomainMode.PVH, p2m,
        new GuestMemory(hv.machineMemory(), p2m), null);
    // Its ports are Java bit sets, not a guest's shared_info: the port space of Xen's FIFO
    // ABI, so that one dom0 can serve a thousand domains (two ports each) where the 2-level
    // ABI's 1024 ports ran out at 512.
    d.setEventChannels(new EventChannels(d, hv.eventDirectory(), ports, SERVICE_PORTS, 1));
    Vcpu v = d.addServiceVcpu(work);
    v.setState(VcpuState.BLOCKED);
    v.runstate().start(org.hospes.hv.time.Runstate.BLOCKED, hv.now());
    d.setState(DomainState.RUNNING);
    return d;
  }

  /** The VM-execution controls an HVM vCPU runs under. */
  static void configure(Vmcs vmcs, DomainMode mode, EptTables ept) {
    // Xen's pin-based controls: external-interrupt exiting, so that a kick (the event-check
    // IPI to the pCPU a vCPU runs on) makes the guest exit at once; NMI exiting with virtual
    // NMIs, so that an NMI injected into the guest blocks the next one until the guest's IRET,
    // and the NMI-window exit says when that IRET has come.
    vmcs.write(VmcsField.PIN_BASED_VM_EXEC_CONTROL, VmxControls.PIN_EXTERNAL_INTERRUPT_EXITING
        | VmxControls.PIN_NMI_EXITING | VmxControls.PIN_VIRTUAL_NMIS);
    long proc = VmxControls.PROC_HLT_EXITING | VmxControls.PROC_UNCONDITIONAL_IO_EXITING
        | VmxControls.PROC_USE_TSC_OFFSETTING | VmxControls.PROC_USE_MSR_BITMAPS
        | VmxControls.PROC_ACTIVATE_SECONDARY;
    long proc2 = VmxControls.PROC2_ENABLE_VPID;
    if (ept != null) {
      // Unrestricted guest needs EPT (SDM 26.2.1.1): without it (shadow paging) real mode runs
      // in VM86 mode or through the hypervisor's emulator (ShadowRealMode), as on Xen.
      proc2 |= VmxControls.PROC2_ENABLE_EPT | VmxControls.PROC2_UNRESTRICTED_GUEST;
      vmcs.write(VmcsField.EPT_POINTER, ept.eptPointer());
    }
    vmcs.write(VmcsField.CPU_BASED_VM_EXEC_CONTROL, proc);
    vmcs.write(VmcsField.SECONDARY_VM_EXEC_CONTROL, proc2);
    vmcs.write(VmcsField.EXCEPTION_BITMAP, 0);
    // IA32_APIC_BASE belongs to the local APIC the hypervisor emulates.
    vmcs.interceptMsr(0x1B, true, true);
    if (mode == DomainMode.HVM_SHADOW) {
      // EFER writes exit, as on Xen (hvm_set_efer), so that the shadow pager follows EFER.NXE
      // at once (HvmExitHandler.msr).
      vmcs.interceptMsr(org.hospes.x86.Cpu.MSR_EFER, false, true);
    }
  }

  /**
   * The domain's RAM: {@code memoryMiB} of zeroed machine frames owned by {@code domid}, frame
   * by frame in the P2M from 0. IllegalStateException when the machine has not that much free,
   * and {@code extra} frames more the build will take for the hypervisor's own (EPT tables),
   * and 64 more (shared_info, the grant table, shadows and the like).
   */
  private static P2m populate(Hypervisor hv, int domid, String name, int memoryMiB,
      long extra) {
    FrameTable frames = hv.frames();
    int pages = memoryMiB << 8;
    if (frames.freeFrames() < pages + extra + 64) {
      throw new IllegalStateException(String.format(
          "not enough machine memory for %s: %d MiB asked, %d MiB free", name, memoryMiB,
          frames.freeFrames() >> 8));
    }
    P2m p2m = new P2m(pages);
    long[] mfns = frames.allocate(domid, pages);
    for (int gfn = 0; gfn < pages; gfn++) {
      hv.machineMemory().zeroFrame(mfns[gfn]);
      p2m.set(gfn, mfns[gfn]);
    }
    return p2m;
  }
}
