package org.hospes.hv.hvm;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.platform.AcpiPm;
import org.hospes.hv.platform.ApicBus;
import org.hospes.hv.platform.CmosRtc;
import org.hospes.hv.platform.CpuInterrupts;
import org.hospes.hv.platform.Hpet;
import org.hospes.hv.platform.IoApic;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.platform.Pic8259Pair;
import org.hospes.hv.platform.Pit8254;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * The platform devices an HVM domain gets inside the hypervisor, where Xen keeps them: the PIC
 * pair, the PIT, the HPET, the CMOS RTC, the I/O APIC and the ACPI PM timer with the PM1
 * blocks (PVH domains get none of them, as on Xen) and the local APIC, on the hypervisor's
 * virtual clock. An ISA interrupt line reaches both the PIC and the I/O APIC (IRQ 0 at GSI 2,
 * the MADT's interrupt source override), as on Xen's hvm_isa_irq_assert.
 * Their ports are claimed on the domain's platform bus, so their accesses are handled without a
 * trip to the device model. Interrupts they raise are injected at VM entry when the guest can
 * take them, else an interrupt-window exit is requested.
 */
public final class HvmPlatform {
  public static final int TIMER_IRQ = 0;
  /** The end reason of a domain that wrote SLP_TYP=S5 with SLP_EN (exit status 0). */
  public static final String ACPI_SOFT_OFF = "ACPI S5 (soft off)";

  private final Hypervisor hv;
  private final Domain domain;
  private final Pic8259Pair pic = new Pic8259Pair();
  private final TimerQueue timers = new TimerQueue();
  private final VirtualClock clock;
  private final Pit8254 pit;
  /** The HPET at 0xFED00000 (HVM only: PVH domains have none, as on Xen). */
  private final Hpet hpet;
  /** vCPU 0's local APIC (one vCPU per domain today). */
  private final LocalApic lapic;
  private final CpuInterrupts interrupts;
  /** The CMOS RTC at 0x70/0x71 on IRQ 8 (HVM only). */
  private final CmosRtc rtc;
  /** The I/O APIC at 0xFEC00000 (HVM only: Xen gives PVH domains none). */
  private final IoApic ioapic;
  /** The ACPI PM1 blocks and PM timer at 0xB000 (HVM only). */
  private final AcpiPm acpiPm;
  /** Time as the devices see it: the hypervisor's clock plus the running vCPU's progress. */
  private long deviceNow;

  public HvmPlatform(Hypervisor hv, Domain domain) {
    this.hv = hv;
    this.domain = domain;
    this.clock = new VirtualClock(() -> deviceNow);
    this.hpet = domain.mode().pvDevicesOnly() ? null
        : new Hpet(clock, timers, this::setIsaLine);
    this.pit = new Pit8254(clock, timers, high -> {
      if (hpet != null) {
        hpet.pitOutput(high);
      }
    });
    this.lapic = new LocalApic(0, clock, timers);
    this.interrupts = new CpuInterrupts(lapic, pic);
    if (!domain.mode().pvDevicesOnly()) {
      // Xen gives PVH domains the local APIC only (XEN_X86_EMU_LAPIC): their PIC and PIT ports
      // read as all ones and ignore writes.
      pic.register(domain.platformPorts());
      pit.register(domain.platformPorts());
      this.ioapic = new IoApic(this::deliverApicMessage);
      lapic.onLevelEoi(ioapic::eoi);
      this.acpiPm = new AcpiPm(clock, timers, high -> setIsaLine(AcpiPm.SCI_IRQ, high),
          () -> hv.shutdown(domain, ACPI_SOFT_OFF, 0));
      acpiPm.register(domain.platformPorts());
    } else {
      this.ioapic = null;
      this.acpiPm = null;
    }
    // Xen keeps the RTC in the hypervisor too (hvm/rtc.c); PVH domains have none.
    this.rtc = domain.mode() == DomainMode.PVH ? null
        : new CmosRtc(clock, timers, high -> setIsaLine(CmosRtc.IRQ, high),
            CmosRtc.DEFAULT_START);
    if (rtc != null) {
      rtc.register(domain.platformPorts());
    }
  }

  public Pic8259Pair pic() {
    return pic;
  }

  public LocalApic lapic() {
    return lapic;
  }

  /** The CMOS RTC, or null in a PVH domain. */
  public CmosRtc rtc() {
    return rtc;
  }

  /** The HPET, or null in a PVH domain. */
  public Hpet hpet() {
    return hpet;
  }

  public Pit8254 pit() {
    return pit;
  }

  /** The domain's deadlines (platform devices, PV vCPU timers). */
  public TimerQueue timers() {
    return timers;
  }

  /** The I/O APIC, or null in a PVH domain. */
  public IoApic ioapic() {
    return ioapic;
  }

  /** The ACPI PM timer and PM1 blocks, or null in a PVH domain. */
  public AcpiPm acpiPm() {
    return acpiPm;
  }

  /** Device-model interrupt lines (dm_op set_isa_irq_level). */
  public void setIsaIrqLevel(int irq, boolean high) {
    setIsaLine(irq, high);
    wakeIfPending();
  }

  /** An ISA line as the PIC pair and the I/O APIC both see it (Xen's hvm_isa_irq_assert). */
  private void setIsaLine(int irq, boolean high) {
    pic.setLevel(irq, high);
    if (ioapic != null) {
      ioapic.setLevel(IoApic.isaGsi(irq), high);
    }
  }

  /**
   * The APIC bus: an I/O APIC message goes to the local APICs its destination names. Fixed
   * delivery goes to each of them, lowest-priority to the one with the lowest processor priority
   * (ties to the lowest APIC ID), as Xen's vlapic_lowest_prio picks. ExtINT means "take the
   * vector from the 8259A": the PIC already reaches the processor as in virtual-wire mode, so
   * it is accepted as is. NMI is not injected yet and is refused (counted by the I/O APIC).
   */
  private boolean deliverApicMessage(int destination, boolean logical, ApicBus.DeliveryMode mode,
      int vector, boolean level) {
    java.util.List<LocalApic> apics = localApics();
    switch (mode) {
      case FIXED: {
        boolean any = false;
        for (LocalApic a : apics) {
          if (a.matchesDestination(destination, logical)) {
            any |= a.accept(vector, level);
          }
        }
        return any;
      }
      case LOWEST_PRIORITY: {
        LocalApic best = null;
        for (LocalApic a : apics) {
          if (a.matchesDestination(destination, logical) && a.globallyEnabled()
              && (best == null || (a.processorPriority() & 0xF0)
                  < (best.processorPriority() & 0xF0))) {
            best = a;
          }
        }
        return best != null && best.accept(vector, level);
      }
      case EXTINT: {
        for (LocalApic a : apics) {
          if (a.matchesDestination(destination, logical)) {
            return true;
          }
        }
        return false;
      }
      default:
        return false;
    }
  }

  /** The domain's local APICs, one per vCPU. */
  java.util.List<LocalApic> localApics() {
    return java.util.List.of(lapic);
  }

  /**
   * True if something could still interrupt a blocked vCPU: an interrupt is pending, a timer
   * whose line is open is counting (the PIT or HPET on IRQ 0 or 8, the APIC timer), or the
   * domain takes event-channel upcalls (PV timers). A vCPU halted with all of that shut can
   * never wake, as on a bare machine.
   */
  public boolean canWake() {
    if (interrupts.pending() || domain.mode().pvDevicesOnly() || domain.callbackVector() >= 0) {
      return true;
    }
    return timers.nextDeadline() != TimerQueue.NEVER
        && (!pic.isMasked(0) || !pic.isMasked(8) || lapic.timerCanInterrupt()
            || ioapic != null && ioapic.anyUnmasked()
            || hpet != null && hpet.canInterrupt());
  }

  public long nextDeadline() {
    long d = timers.nextDeadline();
    return d == TimerQueue.NEVER ? Long.MAX_VALUE : d;
  }

  /** Fires the timers due by {@code now} and wakes a halted vCPU an interrupt is waiting for. */
  public void fireTimers(long now) {
    deviceNow = now;
    timers.runExpired(now);
    wakeIfPending();
  }

  /** Advances device time while a vCPU runs (port accesses see the current instant). */
  public void setDeviceTime(long now) {
    deviceNow = now;
  }

  private void wakeIfPending() {
    if (interrupts.pending()) {
      for (Vcpu v : domain.vcpus()) {
        if (v.state() == VcpuState.BLOCKED && v.cpu().interruptible()) {
          hv.wake(v);
        }
      }
    }
  }

  /**
   * Before a VM entry: fire due timers, then inject a pending interrupt if the guest can take
   * it, or ask for an interrupt-window exit.
   */
  public void prepareEntry(Vcpu v, long now) {
    fireTimers(now);
    var vmcs = v.vmcs();
    // The guest's TSC is the hypervisor's clock.
    vmcs.write(VmcsField.TSC_OFFSET, now - v.cpu().cycles());
    if (domain.pvTime() != null) {
      domain.pvTime().refresh(v.id(), now);
    }
    if ((vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD) & VmxControls.INTR_INFO_VALID) != 0) {
      return;
    }
    int callback = domain.callbackVector();
    boolean upcall = callback >= 0 && domain.eventChannels().ops().upcallPending(v.id());
    if (!upcall && !interrupts.pending()) {
      vmcs.clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
          VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
      return;
    }
    if (v.cpu().mmioReplayPending()) {
      // The instruction that exited on MMIO is completed by replay at this entry: an event
      // injected now would run before it and return to it, so it would write its MMIO again
      // (a self-IPI sent over and over). Xen completes the instruction first; so do we, by
      // asking for the window after it.
      vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
          VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
      return;
    }
    if (upcall && v.cpu().interruptible()) {
      // The callback vector bypasses the PIC and is re-injected while upcall_pending is set.
      vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD,
          VmxControls.intrInfo(callback, VmxControls.INTR_TYPE_EXTERNAL, false));
      vmcs.clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
          VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
      v.counters().injectedInterrupts++;
      return;
    }
    if (!upcall && v.cpu().interruptible()) {
      // The local APIC's own interrupts (timer, self-IPIs) outrank the PIC's virtual wire.
      int vector = interrupts.acknowledge();
      vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD,
          VmxControls.intrInfo(vector, VmxControls.INTR_TYPE_EXTERNAL, false));
      vmcs.clearBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
          VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
      v.counters().injectedInterrupts++;
    } else {
      vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
          VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
    }
  }

  Domain domain() {
    return domain;
  }
}
