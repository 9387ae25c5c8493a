package org.hospes.hv.pv;

import org.hospes.abi.SharedInfo;
import org.hospes.hv.memory.FrameTable;
import org.hospes.x86.Cpu;
import org.hospes.x86.PhysicalMemory;

/**
 * What Xen keeps for a classic PV32 vCPU (struct pv_vcpu) and, with one vCPU per PV domain here,
 * its domain's PV MMU: the page-table machinery ({@link PvMmu}), the virtual IDT and callbacks
 * ({@link PvTraps}), the GDT ({@link PvGdt}), the virtual IOPL from {@code physdev_op
 * set_iopl}, the virtual CR0.TS from {@code fpu_taskswitch}, and the vm_assist bits.
 *
 * <p>The processor runs the guest kernel at CPL 1 with paging on (CR3 = the pinned L3's machine
 * address), CR0.WP set so that ring 1 honours read-only mappings, no IDT of the guest's (every
 * exception and software interrupt leaves the processor for the hypervisor, which bounces it).
 */
public final class PvVcpu {
  /** vm_assist types (public/xen.h) and the ones offered to a PV32 guest here. */
  public static final int VMASST_TYPE_4GB_SEGMENTS = 0;
  public static final int VMASST_TYPE_4GB_SEGMENTS_NOTIFY = 1;
  public static final int VMASST_TYPE_WRITABLE_PAGETABLES = 2;
  public static final int VMASST_TYPE_PAE_EXTENDED_CR3 = 3;
  public static final int VMASST_TYPE_RUNSTATE_UPDATE_FLAG = 5;
  /**
   * VM_ASSIST_VALID for a PV32 guest in Xen 4.17 is 4gb_segments(_notify), writable_pagetables,
   * pae_extended_cr3, architectural_iopl and runstate_update_flag. Hospes accepts
   * pae_extended_cr3 (its L3s may be anywhere below 4 GiB anyway), the segment pair (no-ops: it
   * has no segment-limit truncation to assist with) and runstate_update_flag; it refuses
   * writable_pagetables with -EINVAL (the guest must use mmu_update) and, like Xen, anything
   * unknown.
   */
  public static final int VM_ASSIST_OFFERED = 1 << VMASST_TYPE_4GB_SEGMENTS
      | 1 << VMASST_TYPE_4GB_SEGMENTS_NOTIFY | 1 << VMASST_TYPE_PAE_EXTENDED_CR3
      | 1 << VMASST_TYPE_RUNSTATE_UPDATE_FLAG;

  private final PvMmu mmu;
  private final PvTraps traps;
  private final PvGdt gdt;
  private final Cpu cpu;
  private final PhysicalMemory machine;
  /** Machine address of the vCPU's vcpu_info: its shared_info slot until the guest moves it. */
  private long vcpuInfo;
  /** The frame vcpu_info was moved to, holding a reference and the writable type; or -1. */
  private long vcpuInfoFrame = -1;
  private int iopl;
  private int ioBitmap;
  private int ioBitmapLimit;
  private boolean guestTs;
  private int vmAssist;
  /** VCPUOP_send_nmi's NMI waiting for delivery (v->arch.nmi_pending). */
  private boolean nmiPending;
  /** An NMI is being handled: no other until the guest's iret (async_exception_mask). */
  private boolean nmiMasked;
  private int cmosIndex;
  private int pciCf8;
  private final PvTraps.Regs regs = new PvTraps.Regs();

  public PvVcpu(Cpu cpu, PhysicalMemory machine, PvPageTables tables, MachToPhys m2p,
      FrameTable owners, long sharedInfoMfn, java.util.function.IntPredicate domainExists) {
    this.cpu = cpu;
    this.machine = machine;
    this.vcpuInfo = sharedInfoMfn << 12;
    this.mmu = new PvMmu(tables, m2p, machine, new ProcessorTlb(cpu), domainExists);
    this.gdt = new PvGdt(tables, machine, owners);
    mmu.setLdtShadow(new PvMmu.LdtShadow() {
      @Override
      public void loaded(int entries) {
        cpu.setLdtr(entries == 0 ? 0 : PvGdt.LDT_SELECTOR, PvGdt.LDT_VIRT_START,
            entries * 8 - 1, entries != 0);
      }

      @Override
      public void dropped() {
        gdt.clearLdt();
        cpu.invalidateTranslations();
      }
    });
    this.traps = new PvTraps(mmu, new PvTraps.UpcallMask() {
      @Override
      public int get() {
        return machine.read8(vcpuInfo + SharedInfo.VI_UPCALL_MASK);
      }

      @Override
      public void set(int mask) {
        machine.write8(vcpuInfo + SharedInfo.VI_UPCALL_MASK, mask);
      }

      @Override
      public void setCr2(int cr2) {
        machine.write32(vcpuInfo + SharedInfo.VI_ARCH, cr2);
      }
    });
  }

  /** The processor, driven as the hypervisor's TLB and CR3 (PvMmu's view of the hardware). */
  private static final class ProcessorTlb implements PvMmu.Tlb {
    private final Cpu cpu;

    ProcessorTlb(Cpu cpu) {
      this.cpu = cpu;
    }

    @Override
    public void flushAll() {
      cpu.invalidateTranslations();
    }

    @Override
    public void invlpg(int va) {
      cpu.invalidatePage(va);
    }

    @Override
    public void loadBase(long l3) {
      cpu.loadControlRegisters(cpu.cr0(), (int) l3, cpu.cr4());
    }
  }

  public PvMmu mmu() {
    return mmu;
  }

  /**
   * A #PF at {@code va} in the shadow LDT area (handle_ldt_mapping_fault): maps the guest's LDT
   * page there if it passes as a descriptor page and returns true (the instruction is retried);
   * false when it does not, and the guest takes the #PF at its own LDT address.
   */
  public boolean mapLdtShadowPage(int va) {
    int page = (va - PvGdt.LDT_VIRT_START) >>> 12;
    long mfn = mmu.ldtPage(page);
    if (mfn < 0) {
      return false;
    }
    gdt.mapLdtPage(page, mfn);
    cpu.invalidatePage(PvGdt.LDT_VIRT_START + page * 4096);
    return true;
  }

  public PvTraps traps() {
    return traps;
  }

  public PvGdt gdt() {
    return gdt;
  }

  public Cpu cpu() {
    return cpu;
  }

  /** The virtual IOPL (physdev_op set_iopl), 0..3. */
  public int iopl() {
    return iopl;
  }

  public void setIopl(int iopl) {
    this.iopl = iopl & 3;
  }

  /** IOBMP_BYTES: a full I/O bitmap, one bit per port. */
  public static final int IOBMP_BYTES = 8192;

  /**
   * physdev_op set_iobitmap: the guest's own I/O bitmap at linear {@code bitmap}, consulted for
   * the first {@code nrPorts} ports when the IOPL does not admit an IN/OUT (guest_io_okay).
   */
  public void setIoBitmap(int bitmap, int nrPorts) {
    this.ioBitmap = bitmap;
    this.ioBitmapLimit = nrPorts;
  }

  /**
   * guest_io_okay: an IN/OUT of {@code bytes} at {@code port} from the guest's current ring is
   * allowed by its IOPL (ring 1 needs IOPL >= 1, ring 3 IOPL 3: iopl_ok), or else by its I/O
   * bitmap when the ports lie below its limit and their bits are clear. Bitmap bytes that
   * cannot be read count as all ones (no access), as in Xen.
   */
  public boolean ioOkay(int port, int bytes) {
    if (iopl >= (cpu.cpl() == 1 ? 1 : 3)) {
      return true;
    }
    if (port + bytes > ioBitmapLimit) {
      return false;
    }
    // Two bytes cover any access (up to 4 ports from any bit); once a byte cannot be read,
    // it and the ones after it read as ~0, as Xen's short copy leaves them.
    byte[] one = new byte[1];
    int at = ioBitmap + (port >>> 3);
    int lo = mmu.copyFromGuest(at, one) ? one[0] & 0xFF : -1;
    int hi = lo >= 0 && mmu.copyFromGuest(at + 1, one) ? one[0] & 0xFF : 0xFF;
    int mask = (lo < 0 ? 0xFF : lo) | hi << 8;
    return (mask & (((1 << bytes) - 1) << (port & 7))) == 0;
  }

  /** The guest's view of CR0.TS (fpu_taskswitch). */
  public boolean guestTs() {
    return guestTs;
  }

  /**
   * do_fpu_taskswitch: the guest's CR0.TS becomes {@code set}, and so does the processor's, so
   * that the next FPU instruction raises #NM for the guest's lazy FPU switch.
   */
  public void fpuTaskswitch(boolean set) {
    guestTs = set;
    int cr0 = set ? cpu.cr0() | Cpu.CR0_TS : cpu.cr0() & ~Cpu.CR0_TS;
    cpu.loadControlRegisters(cr0, cpu.cr3(), cpu.cr4());
  }

  /** VCPUOP_send_nmi: an NMI for this vCPU, delivered before its next return to the guest. */
  public void raiseNmi() {
    nmiPending = true;
  }

  /**
   * At a return to the guest: the pending NMI if one may be delivered now (not while one is
   * being handled); it is no longer pending whether or not the guest has a handler for it.
   */
  public boolean takeNmi() {
    if (!nmiPending || nmiMasked) {
      return false;
    }
    nmiPending = false;
    return true;
  }

  public boolean nmiPending() {
    return nmiPending;
  }

  public void setNmiMasked(boolean masked) {
    nmiMasked = masked;
  }

  public int vmAssist() {
    return vmAssist;
  }

  /** do_vm_assist: cmd 0 enables, 1 disables; returns 0 or -EINVAL. */
  public int vmAssist(int cmd, int type) {
    if (type < 0 || type >= 32 || ((VM_ASSIST_OFFERED >>> type) & 1) == 0) {
      return org.hospes.abi.XenErrno.EINVAL.negated();
    }
    switch (cmd) {
      case 0 -> vmAssist |= 1 << type;
      case 1 -> vmAssist &= ~(1 << type);
      default -> {
        return org.hospes.abi.XenErrno.ENOSYS.negated();
      }
    }
    return 0;
  }

  /** vcpu_info.arch.cr2: where the guest reads (and, by MOV to CR2, writes) its fault address. */
  public int guestCr2() {
    return machine.read32(vcpuInfo + SharedInfo.VI_ARCH);
  }

  public void setGuestCr2(int cr2) {
    machine.write32(vcpuInfo + SharedInfo.VI_ARCH, cr2);
  }

  /**
   * guest_io_read for a domU (admin_io_okay fails for every port): all ones, except the CMOS
   * index and PCI CONFIG_ADDRESS latches Xen keeps per domain.
   */
  int ioRead(int port, int bytes) {
    if (port == 0xCF8 && bytes == 4) {
      return pciCf8;
    }
    int data = 0;
    for (int k = 0; k < bytes; k++) {
      int b = port + k == 0x70 ? cmosIndex & 0xFF : 0xFF;
      data |= b << (8 * k);
    }
    return data;
  }

  /** guest_io_write for a domU: the latches take their values, everything else is dropped. */
  void ioWrite(int port, int bytes, int value) {
    if (port == 0xCF8 && bytes == 4) {
      pciCf8 = value;
      return;
    }
    for (int k = 0; k < bytes; k++) {
      if (port + k == 0x70) {
        cmosIndex = (value >>> (8 * k)) & 0xFF;
      }
    }
  }

  /** evtchn_upcall_mask of this vCPU's vcpu_info. */
  public int upcallMask() {
    return machine.read8(vcpuInfo + SharedInfo.VI_UPCALL_MASK);
  }

  public void setUpcallMask(int mask) {
    machine.write8(vcpuInfo + SharedInfo.VI_UPCALL_MASK, mask);
  }

  public boolean upcallPending() {
    return machine.read8(vcpuInfo + SharedInfo.VI_UPCALL_PENDING) != 0;
  }

  /** The processor's CS/EIP/EFLAGS/SS/ESP/EAX copied out for a bounce or an iret. */
  public PvTraps.Regs captureRegs() {
    regs.eip = cpu.eip();
    regs.cs = cpu.segmentSelector(Cpu.CS);
    regs.eflags = cpu.eflags();
    regs.esp = cpu.reg(Cpu.ESP);
    regs.ss = cpu.segmentSelector(Cpu.SS);
    regs.eax = cpu.reg(Cpu.EAX);
    return regs;
  }

  /**
   * Loads {@link #captureRegs} back as Xen's return to guest does (a ring-0 IRET). Returns
   * false if the selectors are unusable: the domain cannot continue.
   */
  public boolean restoreRegs(PvTraps.Regs r) {
    cpu.setReg(Cpu.EAX, r.eax);
    return cpu.returnToRing(r.cs, r.eip, r.ss, r.esp, r.eflags) < 0;
  }

  /**
   * Xen's return to the guest with its fault fixup: when the IRET to {@code r} faults on a
   * selector (CS, SS), the failsafe callback is entered instead, with the data selectors on the
   * kernel stack (compat_failsafe_callback). Returns false when there is no usable failsafe
   * callback either: the domain cannot continue.
   */
  public boolean restoreOrFailsafe(PvTraps.Regs r) {
    if (restoreRegs(r)) {
      return true;
    }
    return traps.bounceFailsafe(r, cpu.segmentSelector(Cpu.DS), cpu.segmentSelector(Cpu.ES),
        cpu.segmentSelector(Cpu.FS), cpu.segmentSelector(Cpu.GS)) && restoreRegs(r);
  }

  /**
   * Puts the vCPU in Xen's start-of-day state for a PV32 kernel (libxenguest's vcpu_x86_32):
   * CS FLAT_KERNEL_CS, the data and stack segments FLAT_KERNEL_DS, EIP the entry, ESP the boot
   * stack, ESI start_info, EFLAGS IF; paging on over the pinned L3 {@code l3Mfn}, which becomes
   * the base pointer; events masked in vcpu_info until the guest opens them.
   */
  public int boot(long l3Mfn, int entry, int stackTop, int startInfo) {
    cpu.resetFlat32();
    cpu.setGdtr(PvGdt.VIRT_START, PvGdt.LIMIT);
    // The hypervisor's TSS: no I/O bitmap, so IN/OUT above the (real, 0) IOPL fault to us.
    cpu.setTaskRegister(0, PvGdt.VIRT_START + PvGdt.GUEST_PAGES * 4096, 0x66);
    // No LDT until MMUEXT_SET_LDT: a selector with TI=1 faults, as on Xen.
    cpu.setLdtr(0, 0, 0, false);
    int cr0 = Cpu.CR0_PE | Cpu.CR0_ET | Cpu.CR0_WP | Cpu.CR0_NE;
    // Xen runs PV guests with EFER.NXE (its own long mode has it), so the NX bit the guest may
    // put in its L1 and L2 entries, and Xen in grant mappings, is enforced.
    cpu.loadEfer(Cpu.EFER_NXE);
    cpu.loadControlRegisters(cr0, 0, Cpu.CR4_PAE);
    int rc = mmu.newBaseptr(l3Mfn);
    if (rc != 0) {
      return rc;
    }
    cpu.loadControlRegisters(cr0 | Cpu.CR0_PG, cpu.cr3(), Cpu.CR4_PAE);
    for (int seg : new int[] {Cpu.DS, Cpu.ES, Cpu.FS, Cpu.GS}) {
      if (cpu.loadSegmentAsRing0(seg, PvGdt.FLAT_RING1_DS) >= 0) {
        throw new IllegalStateException("Xen's FLAT_RING1_DS does not load");
      }
    }
    if (cpu.returnToRing(PvGdt.FLAT_RING1_CS, entry, PvGdt.FLAT_RING1_DS, stackTop,
        1 << 9 | 2) >= 0) {
      throw new IllegalStateException("Xen's FLAT_RING1_CS does not load");
    }
    cpu.setReg(Cpu.ESI, startInfo);
    cpu.setExceptionExitMask(-1);
    cpu.setSoftwareInterruptExit(true);
    setUpcallMask(1);
    return 0;
  }

  /**
   * VCPUOP_register_vcpu_info for this vCPU (map_vcpu_info): vcpu_info moves to offset
   * {@code offset} of machine frame {@code mfn}, which must be the domain's and take the
   * writable type, so that it is never a page table or descriptor page while the hypervisor
   * writes vcpu_info there. The type and a reference are held until the domain dies. Returns
   * false (nothing changed) when the frame cannot be taken.
   */
  public boolean moveVcpuInfo(long mfn, int offset) {
    if (vcpuInfoFrame >= 0
        || mmu.tables().getPageAndType(mfn, PageType.WRITABLE_PAGE, false) != 0) {
      return false;
    }
    vcpuInfoFrame = mfn;
    vcpuInfo = (mfn << 12) + offset;
    return true;
  }

  /** The domain is gone: every page type and reference is dropped, the GDT area freed. */
  public void relinquish(FrameTable owners) {
    if (vcpuInfoFrame >= 0) {
      mmu.tables().putPageAndType(vcpuInfoFrame);
      vcpuInfoFrame = -1;
    }
    gdt.destroy(owners);
    mmu.relinquish(owners);
  }
}
