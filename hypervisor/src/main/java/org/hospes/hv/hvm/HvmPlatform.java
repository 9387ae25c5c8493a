package org.hospes.hv.hvm;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.platform.AcpiPm;
import org.hospes.hv.platform.CmosRtc;
import org.hospes.hv.platform.CpuInterrupts;
import org.hospes.hv.platform.Hpet;
import org.hospes.hv.platform.IoApic;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.platform.MsiMessage;
import org.hospes.hv.platform.Pic8259Pair;
import org.hospes.hv.platform.Pit8254;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.hospes.x86.Cpu;
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
  /** One local APIC per vCPU, APIC ID = vCPU id. */
  private final LocalApic[] lapics;
  /** What reaches each vCPU's interrupt input: its APIC, and the PIC where it is wired. */
  private final CpuInterrupts[] interrupts;
  /**
   * Xen's i8259_target: the one vCPU the PIC's INTR may reach, chosen again whenever the guest
   * writes a LINT0 entry or the I/O APIC's pin 0 entry (vlapic_adjust_i8259_target); -1 until
   * the first such write, when none is (Xen's NULL).
   */
  private int picTarget = -1;
  /** Delivers the APICs' IPIs among the domain's vCPUs. */
  private final ApicBus apicBus;
  /** The CMOS RTC at 0x70/0x71 on IRQ 8 (HVM only). */
  private final CmosRtc rtc;
  /** The I/O APIC at 0xFEC00000 (HVM only: Xen gives PVH domains none). */
  private final IoApic ioapic;
  /** The ACPI PM1 blocks and PM timer at 0xB000 (HVM only). */
  private final AcpiPm acpiPm;
  /** ISA lines the device model holds high (bit per IRQ). */
  private int dmIsaLevels;
  /** PCI INTx pins held high, bit (device << 2 | intx). */
  private final long[] pciIntxLevels = new long[2];
  /** Per PCI interrupt link: how many pins assert it, and the ISA IRQ it is routed to (0: none). */
  private final int[] linkAsserts = new int[4];
  private final int[] linkRoutes = new int[4];
  /** ISA lines the platform devices in the hypervisor hold high (bit per IRQ). */
  private int platformIsaLevels;
  /** Per I/O APIC GSI 16-47: how many PCI INTx pins assert it. */
  private final int[] gsiAsserts = new int[32];
  /** Time as the devices see it: the hypervisor's clock plus the running vCPU's progress. */
  private long deviceNow;
  /** HVM_PARAM_CALLBACK_IRQ as last set, decoded. */
  private CallbackVia callbackVia = CallbackVia.NONE;
  /** The level the callback line is driven at (Xen's callback_via_asserted). */
  private boolean callbackAsserted;
  /** Times the callback line went high, and levels that had nowhere to go (counted, not lost silently). */
  private long callbackAssertions;
  private long callbackUnrouted;
  /** MSIs delivered to some local APIC, and MSIs that reached none or had no meaning here. */
  private long msiDelivered;
  private long msiDropped;

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
    int n = Math.max(1, domain.vcpus().size());
    this.lapics = new LocalApic[n];
    this.interrupts = new CpuInterrupts[n];
    for (int i = 0; i < n; i++) {
      lapics[i] = new LocalApic(i, clock, timers, i == 0);
      lapics[i].setAccessRules(LocalApic.AccessRules.XEN);
      int id = i;
      // The PIC's INTR reaches the vCPU Xen's vlapic_accept_pic_intr names, whichever it is.
      interrupts[i] = new CpuInterrupts(lapics[i], pic, CpuInterrupts.Order.PIC_FIRST,
          () -> acceptsPic(id));
      lapics[i].onLint0Written(this::adjustPicTarget);
    }
    this.apicBus = new ApicBus(lapics, new ApicBus.Processors() {
      @Override
      public void kick(int vcpu, int from) {
        Vcpu v = domain.vcpus().get(vcpu);
        if (v.state() == VcpuState.BLOCKED && (nmiDeliverable(v)
            || interrupts[vcpu].pending() && v.cpu().interruptible())) {
          hv.wake(v);
          yieldTo(from, vcpu);
        }
      }

      @Override
      public boolean init(int vcpu, int from) {
        return hv.initVcpu(domain.vcpus().get(vcpu));
      }

      @Override
      public void nmi(int vcpu, int from) {
        // vlapic_accept_irq: an NMI brings an initialised vCPU that was taken down (VCPUOP_down)
        // back up, from where it stopped; one waiting for SIPI stays down.
        Vcpu v = domain.vcpus().get(vcpu);
        if (v.state() == VcpuState.OFFLINE && !v.waitingForSipi()) {
          hv.upVcpu(v);
          yieldTo(from, vcpu);
        }
        kick(vcpu, from);
      }

      @Override
      public void unsupported(int from, int mode) {
        hv.crash(domain, "vCPU " + from + " sent an IPI in delivery mode " + mode
            + " (ExtINT), which the local APIC does not emulate");
      }

      @Override
      public void startup(int vcpu, int vector, int from) {
        if (hv.startupVcpu(domain.vcpus().get(vcpu), vector)) {
          yieldTo(from, vcpu);
        }
      }
    });
    if (!domain.mode().pvDevicesOnly()) {
      // Xen gives PVH domains the local APIC only (XEN_X86_EMU_LAPIC): their PIC and PIT ports
      // read as all ones and ignore writes.
      pic.register(domain.platformPorts());
      pit.register(domain.platformPorts());
      this.ioapic = new IoApic(this::deliverApicMessage);
      for (LocalApic a : lapics) {
        a.onLevelEoi(ioapic::eoi);
      }
      ioapic.onPin0Written(this::adjustPicTarget);
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

  /**
   * Xen's __vlapic_accept_pic_intr: the PIC's interrupts are for vCPU {@code vcpu}'s processor
   * when the I/O APIC's pin 0 is an unmasked ExtINT entry whose destination is this APIC's ID
   * (an APIC enabled both ways), or this APIC's LINT0 is an unmasked ExtINT entry, or this APIC
   * is globally disabled (its LINT0 then being the processor's INTR). Without an I/O APIC (a
   * PVH domain, which has no PIC either) never.
   */
  private boolean picWiredTo(int vcpu) {
    if (ioapic == null) {
      return false;
    }
    LocalApic a = lapics[vcpu];
    int redir0 = ioapic.redirectionLow(0);
    int extInt = org.hospes.hv.platform.ApicBus.DeliveryMode.EXTINT.code();
    int lint0Route = LocalApic.LVT_MASKED | 0x700;
    return ((redir0 >>> IoApic.DELIVERY_MODE_SHIFT & 7) == extInt
            && (redir0 & IoApic.MASKED) == 0
            && ioapic.redirectionHigh(0) >>> 24 == a.apicId() && a.enabled())
        || (a.lint0() & lint0Route) == extInt << 8
        || !a.globallyEnabled();
  }

  /**
   * Xen's vlapic_accept_pic_intr, in its order: never for a vCPU whose APIC is globally disabled
   * (even though {@link #picWiredTo} counts such an APIC when the target is chosen), nor in a
   * domain without a PIC; else only for the i8259 target, and only while its wiring holds.
   */
  boolean acceptsPic(int vcpu) {
    if (!lapics[vcpu].globallyEnabled() || domain.mode().pvDevicesOnly()) {
      return false;
    }
    return vcpu == picTarget && picWiredTo(vcpu);
  }

  /**
   * Xen's vlapic_adjust_i8259_target: the first vCPU (by id) the PIC is wired to, else vCPU 0.
   * Run when a LINT0 entry or the I/O APIC's pin 0 entry is written, and only then: other
   * changes to the wiring (software-disabling an APIC, which masks its LINT0; INIT; the global
   * enable) leave the target where it was until the next such write, as on Xen.
   */
  private void adjustPicTarget() {
    if (domain.mode().pvDevicesOnly()) {
      return;
    }
    int target = 0;
    for (int i = 0; i < lapics.length; i++) {
      if (picWiredTo(i)) {
        target = i;
        break;
      }
    }
    // A new target hears the PIC's INTR at its next entry; as on Xen, which kicks the target
    // only when the PIC's output changes (vpic_update_int_output), nothing wakes it now.
    picTarget = target;
  }

  /** The vCPU the PIC's INTR is wired to (Xen's i8259_target), or -1 before any was chosen. */
  public int picTarget() {
    return picTarget;
  }

  /** vCPU 0's local APIC. */
  public LocalApic lapic() {
    return lapics[0];
  }

  /** vCPU {@code vcpu}'s local APIC. */
  public LocalApic lapic(int vcpu) {
    return lapics[vcpu];
  }

  public ApicBus apicBus() {
    return apicBus;
  }

  /**
   * The sender of an IPI that made another vCPU runnable gives up the rest of its slice, so
   * that on one physical CPU the woken vCPU answers soon (a sender usually waits for it).
   */
  private void yieldTo(int from, int to) {
    if (from != to) {
      domain.vcpus().get(from).requestYield();
    }
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

  /**
   * A line of a platform device in the hypervisor (PIT or HPET on 0 and 8, RTC on 8, the SCI on
   * 9), wire-ORed with the device model's and the PCI links' on the same ISA IRQ.
   */
  private void setIsaLine(int irq, boolean high) {
    int bit = 1 << irq;
    if (((platformIsaLevels & bit) != 0) == high) {
      return;
    }
    platformIsaLevels = high ? platformIsaLevels | bit : platformIsaLevels & ~bit;
    driveIsaLine(irq);
  }

  /**
   * The APIC bus: an I/O APIC message goes to the local APICs its destination names. Fixed
   * delivery goes to each of them, lowest-priority to the one Xen's vlapic_lowest_prio picks
   * ({@link ApicBus#lowestPriority}, whose round-robin IPIs share). ExtINT means "take the
   * vector from the 8259A": the PIC already reaches the processor as in virtual-wire mode, so
   * it is accepted as is. NMI is Xen's vioapic_deliver dest_NMI: every vCPU the destination
   * names gets its NMI latched (v->arch.nmi_pending, which no APIC enable gates) and is kicked;
   * a vCPU that is down (VCPUOP_down, or never started) keeps the latched NMI and is not brought
   * up by it (vcpu_kick makes runnable only a vCPU that could run), so it takes the NMI when it
   * next runs.
   *
   * <p>A lowest-priority message from GSI 2, the PIT's input, goes to vCPU 0 while channel 0's
   * timer runs, if vCPU 0's APIC is named and enabled: Xen's IRQ0_SPECIAL_ROUTING in
   * vioapic_deliver ("route IRQ0 only to VCPU0 to prevent time jumps"), which leaves the
   * round-robin position alone. Fixed messages are not rerouted (Xen dropped that part in 4.14).
   *
   * @param gsi the I/O APIC input that sent the message, or -1 for an MSI
   */
  private boolean deliverApicMessage(int gsi, int destination, boolean logical,
      org.hospes.hv.platform.ApicBus.DeliveryMode mode,
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
        LocalApic lapic0 = apics.get(0);
        LocalApic best = gsi == IoApic.isaGsi(0) && pit.channel0TimerActive()
            && lapic0.matchesDestination(destination, logical) && lapic0.enabled()
            ? lapic0
            : apicBus.lowestPriority(null, ApicBus.SHORTHAND_NONE, destination, logical);
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
      case NMI: {
        boolean any = false;
        for (LocalApic a : apics) {
          if (a.matchesDestination(destination, logical)) {
            a.raiseNmi();
            any = true;
          }
        }
        if (any) {
          wakeIfPending();
        }
        return any;
      }
      default:
        return false;
    }
  }

  /**
   * A PCI function's message-signalled interrupt (dm_op inject_msi, which a device model sends
   * for a function's MSI or MSI-X write): a write to the local APICs' window goes to the APICs
   * its destination names, with its vector and delivery mode, as the I/O APIC's messages do.
   * Fixed and lowest-priority messages reach the IRR, as Xen's vmsi_deliver delivers them;
   * every other delivery mode is one vmsi_deliver does not support ("Unsupported MSI delivery
   * mode", -EINVAL), NMI included, whether the vCPU it names is up or down: those, an address
   * outside 0xFEExxxxx and a message no APIC accepts are dropped and counted
   * ({@link #msiDropped}): a guest can program any of them into a device. (An NMI reaches a
   * vCPU through an IPI, an I/O APIC pin or VCPUOP_send_nmi.)
   *
   * @return true if some local APIC accepted it
   */
  public boolean injectMsi(long address, int data) {
    MsiMessage m = new MsiMessage(address, data);
    boolean accepted = false;
    if (m.toLocalApics()) {
      switch (m.deliveryMode()) {
        case FIXED, LOWEST_PRIORITY -> accepted = deliverApicMessage(-1, m.destination(),
            m.logical(), m.deliveryMode(), m.vector(), m.levelTriggered());
        default -> accepted = false;
      }
    }
    if (accepted) {
      msiDelivered++;
      wakeIfPending();
    } else {
      msiDropped++;
    }
    return accepted;
  }

  /** MSIs some local APIC accepted. */
  public long msiDelivered() {
    return msiDelivered;
  }

  /** MSIs that reached no local APIC (bad address, unsupported mode, no destination). */
  public long msiDropped() {
    return msiDropped;
  }

  /** The domain's local APICs, one per vCPU. */
  java.util.List<LocalApic> localApics() {
    return java.util.List.of(lapics);
  }

  /**
   * Device-model interrupt lines (dm_op set_isa_irq_level). The line is wire-ORed with the PCI
   * interrupt links routed to the same IRQ, as Xen's hvm_irq counts assertions per line.
   */
  public void setIsaIrqLevel(int irq, boolean high) {
    checkIsaIrq(irq);
    int bit = 1 << irq;
    if (((dmIsaLevels & bit) != 0) == high) {
      return;
    }
    dmIsaLevels = high ? dmIsaLevels | bit : dmIsaLevels & ~bit;
    updateIsaLine(irq);
  }

  /**
   * A PCI function's INTx pin (dm_op set_pci_intx_level): {@code device} 0-31 on bus 0,
   * {@code intx} 0-3 for INTA#-INTD#. The pin drives interrupt link (device + intx) & 3, as
   * Xen's hvm_pci_intx_link swizzles them, and the link drives the ISA IRQ the PIIX3's PIRQ
   * route register gives it ({@link #setPciLinkRoute}). A link is asserted while any of its pins
   * is.
   */
  public void setPciIntxLevel(int device, int intx, boolean high) {
    if (device < 0 || device > 31 || intx < 0 || intx > 3) {
      throw new IllegalArgumentException("no PCI INTx " + device + "/" + intx);
    }
    int pin = device << 2 | intx;
    long bit = 1L << (pin & 63);
    int word = pin >>> 6;
    if (((pciIntxLevels[word] & bit) != 0) == high) {
      return;
    }
    pciIntxLevels[word] = high ? pciIntxLevels[word] | bit : pciIntxLevels[word] & ~bit;
    int link = (device + intx) & 3;
    linkAsserts[link] += high ? 1 : -1;
    if (linkAsserts[link] == (high ? 1 : 0) && linkRoutes[link] != 0) {
      updateIsaLine(linkRoutes[link]);
    }
    // The pin also reaches the I/O APIC at its GSI (Xen's hvm_pci_intx_gsi), shared by pins
    // whose formula meets: the GSI is asserted while any of them is.
    int gsi = pciIntxGsi(device, intx);
    gsiAsserts[gsi - 16] += high ? 1 : -1;
    if (ioapic != null && gsiAsserts[gsi - 16] == (high ? 1 : 0)) {
      ioapic.setLevel(gsi, high);
      wakeIfPending();
    }
  }

  /**
   * The I/O APIC input {@code device}'s INTx (0-3) is wired to: 16 + ((device * 4 + device / 8
   * + intx) mod 32), Xen's hvm_pci_intx_gsi (the DSDT's _PRT says the same).
   */
  public static int pciIntxGsi(int device, int intx) {
    return 16 + (((device << 2) + (device >> 3) + intx) & 31);
  }

  /**
   * Routes PCI interrupt link {@code link} (0-3, PIRQA#-PIRQD#) to ISA IRQ {@code isaIrq}, or
   * nowhere with 0 (dm_op set_pci_link_route, which the device model sends when the guest
   * writes the PIIX3's PIRQ route control registers). An asserted link moves its level with it.
   */
  public void setPciLinkRoute(int link, int isaIrq) {
    if (link < 0 || link > 3) {
      throw new IllegalArgumentException("no PCI interrupt link " + link);
    }
    checkIsaIrq(isaIrq);
    int old = linkRoutes[link];
    if (old == isaIrq) {
      return;
    }
    linkRoutes[link] = isaIrq;
    if (old != 0) {
      updateIsaLine(old);
    }
    if (isaIrq != 0) {
      updateIsaLine(isaIrq);
    }
  }

  /** The ISA IRQ link {@code link} is routed to, 0 for none. */
  public int pciLinkRoute(int link) {
    return linkRoutes[link];
  }

  /**
   * True if the ISA line is driven high by a platform device, the device model or an asserted
   * PCI link.
   */
  public boolean isaLineLevel(int irq) {
    if (((dmIsaLevels | platformIsaLevels) & 1 << irq) != 0) {
      return true;
    }
    if (callbackAsserted && callbackVia.type() == CallbackVia.Type.GSI
        && callbackVia.gsi() == irq) {
      // The event-channel callback's GSI is one more source on the line (Xen's hvm_irq
      // counts it with the others in gsi_assert_count).
      return true;
    }
    for (int link = 0; link < 4; link++) {
      if (linkRoutes[link] == irq && linkAsserts[link] > 0) {
        return true;
      }
    }
    return false;
  }

  private void updateIsaLine(int irq) {
    driveIsaLine(irq);
    wakeIfPending();
  }

  /** The line's level to the PIC pair and the I/O APIC (IRQ 0 at GSI 2: hvm_isa_irq_assert). */
  private void driveIsaLine(int irq) {
    boolean level = isaLineLevel(irq);
    pic.setLevel(irq, level);
    if (ioapic != null) {
      ioapic.setLevel(IoApic.isaGsi(irq), level);
    }
  }

  private static void checkIsaIrq(int irq) {
    if (irq < 0 || irq > 15) {
      throw new IllegalArgumentException("no ISA IRQ " + irq);
    }
  }

  /**
   * HVM_PARAM_CALLBACK_IRQ changed (Xen's hvm_set_callback_via): the old line is released, the
   * new one driven at vCPU 0's current upcall_pending.
   */
  public void callbackParamChanged(long value) {
    if (callbackAsserted) {
      callbackAsserted = false;
      driveCallbackLine(false);
    }
    callbackVia = CallbackVia.decode(value);
    syncCallbackLine();
  }

  /** The event-channel delivery method the guest chose. */
  public CallbackVia callbackVia() {
    return callbackVia;
  }

  /** Whether the callback line is high now. */
  public boolean callbackAsserted() {
    return callbackAsserted;
  }

  /** Times the GSI or PCI INTx callback line was raised. */
  public long callbackAssertions() {
    return callbackAssertions;
  }

  /** Raises of a callback GSI this platform cannot route (above 15, without an IOAPIC). */
  public long callbackUnrouted() {
    return callbackUnrouted;
  }

  /**
   * Makes the GSI or PCI INTx callback line follow vCPU 0's evtchn_upcall_pending (Xen's
   * hvm_set_callback_irq_level and hvm_maybe_deassert_evtchn_irq): raised when an event is
   * marked pending, lowered once the guest's handler has cleared the flag. Only vCPU 0's
   * events go this way, as on Xen; the other vCPUs need the vector method.
   */
  public void syncCallbackLine() {
    if (!callbackVia.isLine()) {
      return;
    }
    boolean high = domain.eventChannels() != null
        && domain.eventChannels().ops().upcallPending(0);
    if (high == callbackAsserted) {
      return;
    }
    callbackAsserted = high;
    if (high) {
      callbackAssertions++;
    }
    driveCallbackLine(high);
    wakeIfPending();
  }

  private void driveCallbackLine(boolean high) {
    switch (callbackVia.type()) {
      case GSI -> {
        if (callbackVia.gsi() < 16) {
          // GSIs 0-15 are the ISA lines, which reach the PIC; callbackAsserted is already
          // the new level, so the wire-OR sees it.
          updateIsaLine(callbackVia.gsi());
        } else if (high) {
          callbackUnrouted++;
        }
      }
      // Xen's __hvm_pci_intx_assert: the named pin, through its link and route, as if the
      // device had raised it.
      case PCI_INTX -> setPciIntxLevel(callbackVia.device(), callbackVia.intx(), high);
      default -> { }
    }
  }


  /**
   * True if something could still interrupt a blocked vCPU: an interrupt is pending, a timer
   * whose line is open is counting (the PIT or HPET on IRQ 0 or 8, the APIC timer), or the
   * domain takes event-channel upcalls (PV timers). A vCPU halted with all of that shut can
   * never wake, as on a bare machine.
   */
  public boolean canWake() {
    for (Vcpu v : domain.vcpus()) {
      if (v.state() == VcpuState.BLOCKED && canWake(v)) {
        return true;
      }
    }
    return false;
  }

  /**
   * True if something could still interrupt blocked vCPU {@code v}: as {@link #canWake()}, with
   * the PIC's timers counting only for the vCPU the PIC is wired to ({@link #acceptsPic}), and
   * the HPET's for vCPU 0. Another vCPU's IPI wakes it directly.
   */
  public boolean canWake(Vcpu v) {
    LocalApic lapic = lapics[v.id()];
    if (interrupts[v.id()].pending() || nmiDeliverable(v) || domain.mode().pvDevicesOnly()
        || domain.callbackVector() >= 0 || callbackVia.isLine()) {
      return true;
    }
    return timers.nextDeadline() != TimerQueue.NEVER
        && (acceptsPic(v.id()) && (!pic.isMasked(0) || !pic.isMasked(8))
            || v.id() == 0 && hpet != null && hpet.canInterrupt() || lapic.timerCanInterrupt()
            || ioapic != null && ioapic.anyUnmasked());
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

  /** VCPUOP_send_nmi: an NMI for vCPU {@code vcpu}, taken when it runs (a halted one wakes). */
  public void sendNmi(int vcpu) {
    lapics[vcpu].raiseNmi();
    wakeIfPending();
  }

  private void wakeIfPending() {
    // Indexed: this runs at every timer tick of every domain, and an iterator is garbage.
    java.util.List<Vcpu> vcpus = domain.vcpus();
    for (int i = 0, n = vcpus.size(); i < n; i++) {
      Vcpu v = vcpus.get(i);
      if (v.state() == VcpuState.BLOCKED && v.cpu() != null
          && (interrupts[v.id()].pending() && v.cpu().interruptible()
              || nmiDeliverable(v))) {
        hv.wake(v);
      }
    }
  }

  /** True if {@code v} has an interrupt (or NMI) it could take now: HLT must not block. */
  public boolean interruptPending(Vcpu v) {
    return interrupts[v.id()].pending() || nmiDeliverable(v);
  }

  /**
   * Xen's hvm_local_events_need_delivery: {@code v} has an NMI, the event callback or an
   * interrupt pending that it could take now (hvm_interrupt_blocked says no block: EFLAGS.IF
   * set and no STI or MOV SS shadow for a maskable one, no NMI being handled for an NMI). A
   * long hypercall's hypercall_preempt_check stops it then, so the event goes in.
   */
  public boolean eventsNeedDelivery(Vcpu v) {
    if (nmiDeliverable(v)) {
      return true;
    }
    int callback = domain.callbackVector();
    boolean upcall = callback >= 0 && domain.eventChannels() != null
        && domain.eventChannels().ops().upcallPending(v.id());
    return (upcall || interrupts[v.id()].pending()) && v.cpu() != null
        && v.cpu().interruptible();
  }

  /**
   * An NMI is pending and the vCPU's NMIs are not blocked: one held back until the guest's IRET
   * cannot wake a halted vCPU (Xen's hvm_interrupt_blocked says hvm_intblk_nmi_iret), since a
   * halted one executes no IRET.
   */
  public boolean nmiDeliverable(Vcpu v) {
    return lapics[v.id()].nmiPending() && (v.cpu() == null || !v.cpu().nmiBlocked());
  }

  /**
   * Before a VM entry: fire due timers, then inject a pending interrupt if the guest can take
   * it, or ask for an interrupt-window exit.
   */
  public void prepareEntry(Vcpu v, long now) {
    prepareClock(v, now);
    assist(v);
  }

  /**
   * The part of {@link #prepareEntry} before the injection: due timers fire (each one Xen's
   * timer softirq: {@link TimerQueue#fired} counts them), the guest's TSC offset and PV time
   * are brought to {@code now}.
   */
  public void prepareClock(Vcpu v, long now) {
    fireTimers(now);
    if (v.id() == 0) {
      syncCallbackLine();
    }
    var vmcs = v.vmcs();
    // The guest's TSC is the hypervisor's clock.
    vmcs.write(VmcsField.TSC_OFFSET, now - v.cpu().cycles());
    if (domain.pvTime() != null) {
      domain.pvTime().refresh(v.id(), now);
    }
  }

  /**
   * Xen's vmx_intr_assist, the injection part of {@link #prepareEntry}: a pending event goes
   * into the VM-entry interruption-information field if the guest can take it, else its window
   * is asked for.
   */
  public void assist(Vcpu v) {
    var vmcs = v.vmcs();
    // Xen's vmx_intr_assist. An event already in the VM-entry interruption-information field
    // (one whose delivery an exit cut, given again, or an exception an exit handler raised)
    // goes in first: nothing else can be injected with it, so whatever is pending asks for its
    // window (the NMI window for an NMI), to be taken right after it. Every source does, as
    // on a processor without virtual-interrupt delivery (APICv), which Hospes models: Xen's
    // "only the PIC, an NMI or an MCE asks" belongs to its APICv branch, where the local
    // APIC's interrupts go by the guest interrupt status (RVI) and need no window.
    boolean queued = (vmcs.read32(VmcsField.VM_ENTRY_INTR_INFO_FIELD)
        & VmxControls.INTR_INFO_VALID) != 0;
    // The instruction that exited on MMIO is completed by replay at this entry: an event
    // injected now would run before it and return to it, so it would write its MMIO again (a
    // self-IPI sent over and over). Xen completes the instruction first; so do we, by asking
    // for the window, which opens only after it.
    boolean replay = v.cpu().mmioReplayPending();
    LocalApic lapic = lapics[v.id()];
    CpuInterrupts interrupts = this.interrupts[v.id()];
    if (lapic.nmiPending()) {
      // hvm_vcpu_has_pending_irq's first source. NMIs are not held back by EFLAGS.IF, but by
      // the NMI being handled (blocking by NMI, until the guest's IRET) and, as Xen's
      // hvm_interrupt_blocked has it, by an STI or MOV SS shadow. Held, the NMI stays pending
      // and the NMI-window exit says when it can go. Meanwhile nothing else is injected: with
      // its source blocked vmx_intr_assist only asks for its window and leaves, so a maskable
      // interrupt waits behind a blocked NMI (a real processor would take it inside the NMI
      // handler once IF is set).
      int shadows = Cpu.INTR_STI | Cpu.INTR_MOV_SS | Cpu.INTR_NMI;
      if (queued || replay
          || (vmcs.read32(VmcsField.GUEST_INTERRUPTIBILITY_INFO) & shadows) != 0) {
        requestNmiWindow(vmcs);
        return;
      }
      // An NMI window asked for earlier stays asked for (vmx_inject_nmi leaves the control
      // alone; only the NMI_WINDOW exit handler clears it).
      lapic.clearNmi();
      vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD,
          VmxControls.intrInfo(2, VmxControls.INTR_TYPE_NMI, false));
      v.counters().injectedInterrupts++;
      queueBehind(v, vmcs, interrupts);
      return;
    }
    int callback = domain.callbackVector();
    boolean upcall = callback >= 0 && domain.eventChannels().ops().upcallPending(v.id());
    if (!upcall && !interrupts.requested()) {
      // vmx_intr_assist with hvm_intsrc_none goes straight to "out": an interrupt window asked
      // for earlier (for an interrupt that has since gone: a line lowered, a higher TPR,
      // upcall_pending cleared) stays asked for, and its exit comes with nothing to inject.
      // Only the INTERRUPT_WINDOW exit handler clears the control.
      return;
    }
    // hvm_interrupt_blocked's order: EFLAGS.IF, then the STI and MOV SS shadows (both ask for
    // the window), then the TPR, which asks for nothing (vmx_intr_assist sets only the TPR
    // threshold), and only then an event already queued.
    if (!v.cpu().interruptible()) {
      vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
          VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
      return;
    }
    if (!upcall && interrupts.tprBlocked()) {
      return;
    }
    if (queued || replay) {
      vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
          VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
      return;
    }
    // hvm_vcpu_has_pending_irq's order after the NMI: the callback vector (it bypasses the PIC
    // and is re-injected while upcall_pending is set), then the PIC's INTR, then the local APIC
    // (CpuInterrupts.Order.PIC_FIRST).
    int vector = upcall ? callback : interrupts.acknowledge();
    vmcs.write(VmcsField.VM_ENTRY_INTR_INFO_FIELD,
        VmxControls.intrInfo(vector, VmxControls.INTR_TYPE_EXTERNAL, false));
    v.counters().injectedInterrupts++;
    queueBehind(v, vmcs, interrupts);
  }

  /**
   * vmx_intr_assist's last step ("is there another IRQ to queue up behind this one?"): after an
   * injection, whatever is still pending gets its window now, so it is taken as soon as the
   * guest can take it (at the handler's IRET that sets IF again, say), not at whatever exit
   * comes next. The callback vector stays pending until the guest clears upcall_pending, so on
   * Xen every injection of it asks for the window; a lower-priority APIC interrupt held by the
   * one just accepted is not pending (vlapic_has_pending_irq) and asks for nothing, but one that
   * only the TPR masks does ask (Xen weighs the TPR in hvm_interrupt_blocked, not here). Nothing
   * pending: nothing is asked for, and an earlier request is left standing until its exit, as
   * Xen leaves it.
   */
  private void queueBehind(Vcpu v, org.hospes.x86.vmx.Vmcs vmcs, CpuInterrupts interrupts) {
    if (lapics[v.id()].nmiPending()) {
      requestNmiWindow(vmcs);
      return;
    }
    int callback = domain.callbackVector();
    if (interrupts.requested()
        || callback >= 0 && domain.eventChannels().ops().upcallPending(v.id())) {
      vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL,
          VmxControls.PROC_INTERRUPT_WINDOW_EXITING);
    }
  }

  /**
   * Xen's enable_intr_window for an NMI (with virtual NMIs, which Hospes always sets): the
   * NMI-window exit is asked for, and an STI shadow is turned into a MOV SS shadow first. The
   * SDM leaves it to the processor whether STI's shadow blocks NMIs, both at the entry that
   * injects one and for the NMI window, so Xen records the one shadow every processor honours:
   * the window cannot open inside it (no exit loop on a processor that ignores STI there), and
   * the entry that follows the window exit injects over no shadow at all.
   */
  private static void requestNmiWindow(org.hospes.x86.vmx.Vmcs vmcs) {
    int state = vmcs.read32(VmcsField.GUEST_INTERRUPTIBILITY_INFO);
    if ((state & Cpu.INTR_STI) != 0) {
      vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_INFO,
          (state & ~Cpu.INTR_STI) | Cpu.INTR_MOV_SS);
    }
    vmcs.setBits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_NMI_WINDOW_EXITING);
  }

  Domain domain() {
    return domain;
  }
}
