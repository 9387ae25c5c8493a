package org.hospes.hv.platform;

import org.hospes.hv.time.Timer;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.hospes.x86.ApicBaseMsr;
import org.hospes.x86.MmioDevice;

/**
 * A local APIC in xAPIC mode at 0xFEE00000 (SDM vol. 3, ch. 11), one per vCPU, as Xen emulates
 * it for HVM guests: ID, version, TPR/PPR, EOI, SVR, the IRR/ISR/TMR bitmaps, ESR, the LVT
 * entries, the ICR, and the timer in one-shot and periodic modes on the virtual clock.
 * Interrupts it accepts are offered to the processor by priority class against the TPR and the
 * highest in-service vector. Interrupts from an I/O APIC arrive by {@link #accept(int,
 * boolean)}; a level-triggered one sets its TMR bit, and its EOI is broadcast back
 * ({@link #onLevelEoi}). LINT0 and LINT1 are kept as written; nothing drives LINT1, and the
 * PIC's INTR is wired to a processor by the platform (on HVM, by LINT0's and the I/O APIC pin
 * 0's ExtINT routing, as Xen's vlapic_accept_pic_intr decides).
 *
 * <p>An ICR write is handed to the domain's {@link IpiSink} (its APIC bus), which finds the
 * destinations and delivers fixed, lowest-priority, NMI, INIT and start-up messages to the other
 * vCPUs' APICs. Without a sink (the native machine, one processor) only fixed IPIs to self are
 * delivered. Delivery is immediate, so the ICR's delivery-status bit always reads 0 (idle).
 *
 * <p>IA32_APIC_BASE ({@link ApicBaseMsr}) is checked as Xen 4.17's {@code guest_wrmsr_apic_base}
 * does, in its order: reserved bits (0-7, 9, the x2APIC bit 10 since x2APIC is not offered, and
 * bits at or above MAXPHYADDR) raise #GP; so does moving the window while the APIC is enabled
 * (the SDM allows relocation; Xen refuses it, and so do we: a #GP is easier to debug than a
 * window that silently stays put). Clearing the global enable bit disables the APIC: its window
 * reads as all ones and drops writes, it accepts and delivers nothing, its timer stops, and
 * CPUID.1:EDX.APIC reads 0. Setting it again brings the APIC back in its power-up state (SDM
 * 11.4.7.1: software-disabled, LVT masked, IRR/ISR/TPR clear), as Xen's vlapic_reset does. The
 * BSP bit is stored as written and reads back.
 *
 * <p>Errors (SDM 11.5.3) collect in pending bits; a write of the ESR latches them into it and
 * clears them, so software that writes the ESR before reading it, as the SDM asks, reads what
 * happened since its last write. A newly pending bit raises the LVT error interrupt, as Xen's
 * vlapic_error has it.
 */
public final class LocalApic implements MmioDevice, ApicBaseMsr {
  public static final long BASE = 0xFEE0_0000L;
  public static final long SIZE = 0x1000;
  /** IA32_APIC_BASE value: base, BSP (bit 8), global enable (bit 11). */
  public static final long MSR_VALUE = BASE | BSP | ENABLE;
  /** MAXPHYADDR of the processor (36: PAE, no CPUID leaf 0x80000008). */
  public static final int MAX_PHYS_BITS = 36;
  private static final long ADDRESS_MASK = ((1L << MAX_PHYS_BITS) - 1) & ~0xFFFL;
  /** Version 0x14 (an integrated APIC), 6 LVT entries (max LVT index 5). */
  public static final int VERSION = 0x0005_0014;

  // Register offsets.
  public static final int ID = 0x20;
  public static final int VER = 0x30;
  public static final int TPR = 0x80;
  public static final int APR = 0x90;
  public static final int PPR = 0xA0;
  public static final int EOI = 0xB0;
  public static final int LDR = 0xD0;
  public static final int DFR = 0xE0;
  public static final int SVR = 0xF0;
  public static final int ISR = 0x100;
  public static final int TMR = 0x180;
  public static final int IRR = 0x200;
  public static final int ESR = 0x280;
  public static final int ICR_LOW = 0x300;
  public static final int ICR_HIGH = 0x310;
  public static final int LVT_TIMER = 0x320;
  public static final int LVT_THERMAL = 0x330;
  public static final int LVT_PERF = 0x340;
  public static final int LVT_LINT0 = 0x350;
  public static final int LVT_LINT1 = 0x360;
  public static final int LVT_ERROR = 0x370;
  public static final int TIMER_INITIAL = 0x380;
  public static final int TIMER_CURRENT = 0x390;
  public static final int TIMER_DIVIDE = 0x3E0;

  public static final int SVR_ENABLE = 1 << 8;
  public static final int LVT_MASKED = 1 << 16;
  public static final int LVT_TIMER_PERIODIC = 1 << 17;
  public static final int ICR_DELIVERY_STATUS = 1 << 12;
  /** ESR bits (SDM 11.5.3): an illegal vector in a message this APIC sent, or one it received. */
  public static final int ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
  public static final int ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;

  /**
   * How accesses narrower than 32 bits or off a register's start are taken: the SDM leaves
   * them model-specific. The native machine answers as QEMU's APIC does, its yardstick; an HVM
   * domain's APIC as Xen's vlapic_mmio_read and vlapic_mmio_write do.
   */
  public enum AccessRules {
    /**
     * A read narrower than 32 bits gives 0 and such a write is dropped; a 32-bit access goes
     * to the register its address falls in, wherever in its 16 bytes it starts.
     */
    QEMU,
    /**
     * An access that fits in the register's first 4 bytes reads its bytes or merges into them;
     * any other access reads 0 and writes nothing.
     */
    XEN
  }

  /** The APIC timer counts at this rate before the divider (a 1 GHz bus, like the core). */
  private final long busHz;
  private final VirtualClock clock;
  private final Timer timer;
  private final int apicId;
  private final int[] irr = new int[8];
  private final int[] isr = new int[8];
  private final int[] tmr = new int[8];
  private int tpr;
  private int svr = 0xFF;
  private int ldr;
  private int dfr = -1;
  /** The ESR as software reads it: the errors latched by its last write. */
  private int esr;
  /** Errors detected since the last ESR write (SDM 11.5.3), latched into the ESR by the next. */
  private int pendingEsr;
  private int icrLow;
  private int icrHigh;
  private final int[] lvt = new int[6];
  private int initialCount;
  private int divideConfig;
  private long timerStart;
  private long interrupts;
  private long apicBase = MSR_VALUE;
  private java.util.function.IntConsumer levelEoi = vector -> { };
  /** Told after every write of the LINT0 entry (Xen adjusts the i8259 target there). */
  private Runnable lint0Written = () -> { };
  /** An NMI accepted and not yet delivered to the processor. */
  private boolean nmiPending;
  private IpiSink ipiSink;
  private AccessRules accessRules = AccessRules.QEMU;

  /** Where ICR writes go: the domain's APIC bus. */
  public interface IpiSink {
    /** {@code from} wrote {@code icrLow} (with {@code icrHigh} already in place). */
    void send(LocalApic from, int icrLow, int icrHigh);
  }

  public LocalApic(int apicId, VirtualClock clock, TimerQueue timers) {
    this(apicId, clock, timers, true);
  }

  /**
   * @param bsp whether IA32_APIC_BASE's BSP flag (bit 8) is set: on the bootstrap processor
   *     only, as the firmware's MP initialization leaves it
   */
  public LocalApic(int apicId, VirtualClock clock, TimerQueue timers, boolean bsp) {
    this.apicId = apicId;
    this.apicBase = bsp ? MSR_VALUE : MSR_VALUE & ~BSP;
    this.clock = clock;
    this.busHz = clock.hz();
    this.timer = timers.newTimer("lapic" + apicId + ".timer", this::timerExpired);
    java.util.Arrays.fill(lvt, LVT_MASKED);
  }

  /** Software-enabled (SVR bit 8) and globally enabled (IA32_APIC_BASE bit 11). */
  public boolean enabled() {
    return (svr & SVR_ENABLE) != 0 && globallyEnabled();
  }

  /** IA32_APIC_BASE's global enable bit: the APIC exists for the processor. */
  public boolean globallyEnabled() {
    return (apicBase & ENABLE) != 0;
  }

  @Override
  public long readApicBase() {
    return apicBase;
  }

  @Override
  public boolean writeApicBase(long value) {
    if ((value & ~(ADDRESS_MASK | ENABLE | BSP)) != 0) {
      return false;
    }
    if ((value & ENABLE) != 0 && (value & ADDRESS_MASK) != BASE) {
      return false;
    }
    if (((apicBase ^ value) & ENABLE) != 0) {
      // Enabled again, it starts afresh (SDM 11.4.7.1). Xen's guest_wrmsr_apic_base resets it
      // on that transition only and leaves a disabled APIC's registers alone; resetting on the
      // way down as well cannot be seen (nothing reads a disabled APIC, and enabling resets
      // it), and it stops the timer rather than leave it firing into an APIC that drops it.
      reset();
    }
    apicBase = value;
    return true;
  }

  /** Sets how narrow and unaligned accesses are taken ({@link AccessRules#QEMU} at first). */
  public void setAccessRules(AccessRules rules) {
    this.accessRules = java.util.Objects.requireNonNull(rules);
  }

  /** Sends ICR writes to {@code sink} (the domain's APIC bus) instead of to self only. */
  public void setIpiSink(IpiSink sink) {
    this.ipiSink = sink;
  }

  /** The APIC ID (bits 31:24 of the ID register). */
  public int apicId() {
    return apicId;
  }

  /**
   * An INIT message (SDM vol. 3, 10.4.7.3): the APIC returns to its power-up state except for
   * its ID; IA32_APIC_BASE is unchanged. The processor itself waits for a start-up IPI.
   */
  public void init() {
    reset();
    // The vCPU's latched NMI (kept here) goes with it: Xen's vcpu_reset clears
    // async_exception_state, of which x86's nmi_pending is a part. Only called for a vCPU the
    // INIT reset; one already waiting for SIPI keeps its NMI (vlapic_init_sipi_one).
    nmiPending = false;
  }

  /**
   * True if a message to {@code destination} in this destination mode is for this APIC (SDM
   * vol. 3, 10.6.2): physical mode matches the APIC ID or the broadcast 0xFF; logical mode ANDs
   * the destination with LDR[31:24] in the flat model (DFR model 1111b), or matches the cluster
   * (high nibble) and ANDs the low nibbles in the cluster model (0000b), as Xen's
   * vlapic_match_logical_addr does. Xen has no broadcast in the cluster model: 0xFF reaches
   * the APICs of cluster 15 only, where the SDM (10.6.2.2) and QEMU reach every APIC.
   */
  public boolean matchesDestination(int destination, boolean logical) {
    destination &= 0xFF;
    if (!logical) {
      return destination == 0xFF || destination == apicId;
    }
    int logicalId = ldr >>> 24;
    if ((dfr >>> 28) == 0xF) {
      return (logicalId & destination) != 0;
    }
    if ((dfr >>> 28) != 0) {
      // A model the SDM does not define: Xen's "bad LAPIC DFR value" matches nothing.
      return false;
    }
    return (destination >>> 4) == (logicalId >>> 4) && (destination & logicalId & 0xF) != 0;
  }

  /** Processor priority (PPR), used to pick the target of a lowest-priority message. */
  public int processorPriority() {
    return ppr();
  }

  /**
   * Takes an NMI message (delivery mode 100b): held until the processor can be given it. As
   * Xen's vlapic_accept_irq takes it (v->nmi_pending, set whatever the APIC's state): with the
   * APIC software-disabled, as the SDM has it (10.4.7.2: such an APIC still responds to NMI,
   * INIT, SMI and SIPI messages), and also with the APIC globally disabled in IA32_APIC_BASE,
   * where a processor would have no APIC to take it (10.4.3).
   */
  public void acceptNmi() {
    nmiPending = true;
  }

  /**
   * VCPUOP_send_nmi: the vCPU's own NMI line (Xen's v->arch.nmi_pending), which does not pass
   * through the APIC's enable as a delivered message does.
   */
  public void raiseNmi() {
    nmiPending = true;
  }

  public boolean nmiPending() {
    return nmiPending;
  }

  /** The processor took the pending NMI. */
  public void clearNmi() {
    nmiPending = false;
  }

  /**
   * A fixed or lowest-priority message from another APIC: accepted into the IRR only when
   * software-enabled, as Xen's vlapic_accept_irq does (a disabled APIC drops it).
   */
  public void acceptFixed(int vector) {
    if (enabled()) {
      accept(vector);
    }
  }

  /**
   * Records an error in the ESR's pending bits (SDM 11.5.3), as Xen's vlapic_error does: a bit
   * that was not already pending raises the LVT error interrupt if that entry is unmasked. An
   * error entry whose own vector is illegal would only report another error, so that is folded
   * in as a receive-illegal-vector error instead of delivered.
   */
  public void error(int bit) {
    if ((pendingEsr & bit) == bit) {
      return;
    }
    pendingEsr |= bit;
    int entry = lvt[(LVT_ERROR - LVT_TIMER) >>> 4];
    if ((entry & LVT_MASKED) == 0) {
      if ((entry & 0xFF) >= 16) {
        accept(entry & 0xFF);
      } else {
        pendingEsr |= ESR_RECEIVE_ILLEGAL_VECTOR;
      }
    }
  }

  /** Power-up state of the registers (SDM vol. 3, 11.4.7.1); the APIC ID is kept. */
  private void reset() {
    java.util.Arrays.fill(irr, 0);
    java.util.Arrays.fill(isr, 0);
    java.util.Arrays.fill(tmr, 0);
    java.util.Arrays.fill(lvt, LVT_MASKED);
    tpr = 0;
    svr = 0xFF;
    ldr = 0;
    dfr = -1;
    esr = 0;
    pendingEsr = 0;
    icrLow = 0;
    icrHigh = 0;
    initialCount = 0;
    divideConfig = 0;
    timer.cancel();
  }

  /** True if the timer is counting toward an interrupt the processor could take. */
  public boolean timerCanInterrupt() {
    return enabled() && timer.isArmed() && (lvt[0] & LVT_MASKED) == 0;
  }

  /** Interrupts the APIC delivered to the processor so far. */
  public long interruptsDelivered() {
    return interrupts;
  }

  // ---------------------------------------------------------------- interrupt acceptance

  /** Accepts {@code vector} into the IRR (a fixed interrupt from the timer or a self-IPI). */
  public void accept(int vector) {
    accept(vector, false);
  }

  /**
   * Accepts a fixed or lowest-priority {@code vector} into the IRR; {@code level} records in the
   * TMR that it was level-triggered (an I/O APIC's level entry), so that its EOI is broadcast.
   * False if the APIC is globally disabled or the vector is illegal (0-15).
   */
  public boolean accept(int vector, boolean level) {
    if (!globallyEnabled()) {
      return false;
    }
    if (vector < 16) {
      error(ESR_RECEIVE_ILLEGAL_VECTOR);
      return false;
    }
    irr[vector >>> 5] |= 1 << (vector & 31);
    if (level) {
      tmr[vector >>> 5] |= 1 << (vector & 31);
    } else {
      tmr[vector >>> 5] &= ~(1 << (vector & 31));
    }
    return true;
  }

  /** Runs {@code listener} after each guest write of the LINT0 entry. */
  public void onLint0Written(Runnable listener) {
    this.lint0Written = java.util.Objects.requireNonNull(listener);
  }

  /** The LINT0 entry of the local vector table. */
  public int lint0() {
    return lvt[(LVT_LINT0 - LVT_TIMER) >>> 4];
  }

  /**
   * Sets who hears this APIC's EOIs of level-triggered vectors (TMR bit set): the I/O APIC, as
   * the EOI message goes to every I/O APIC on the bus (SDM vol. 3, 11.8.5).
   */
  public void onLevelEoi(java.util.function.IntConsumer listener) {
    this.levelEoi = java.util.Objects.requireNonNull(listener);
  }

  private static int highest(int[] bits) {
    for (int w = 7; w >= 0; w--) {
      if (bits[w] != 0) {
        return w * 32 + 31 - Integer.numberOfLeadingZeros(bits[w]);
      }
    }
    return -1;
  }

  private int ppr() {
    int isrv = highest(isr);
    int isrClass = isrv < 0 ? 0 : isrv & 0xF0;
    return (tpr & 0xF0) >= isrClass ? tpr & 0xFF : isrClass;
  }

  /**
   * Xen's vlapic_has_pending_irq: the highest vector in the IRR unless an in-service vector of
   * its priority class or higher holds it back; -1 if none (or the APIC is disabled). The TPR is
   * not looked at here: Xen weighs it later, in hvm_interrupt_blocked, after EFLAGS.IF and the
   * interrupt shadows ({@link #tprMasks}). Where both let it through this is
   * {@link #pendingVector}.
   */
  public int requestedVector() {
    if (!enabled()) {
      return -1;
    }
    int v = highest(irr);
    int isrv = highest(isr);
    if (v < 0 || isrv >= 0 && (v & 0xF0) <= (isrv & 0xF0)) {
      return -1;
    }
    return v;
  }

  /** hvm_intblk_tpr: the TPR's priority class is at or above {@code vector}'s. */
  public boolean tprMasks(int vector) {
    return (tpr >>> 4 & 0xF) >= vector >>> 4;
  }

  /** The vector the APIC would deliver now, or -1. */
  public int pendingVector() {
    if (!enabled()) {
      return -1;
    }
    int v = highest(irr);
    if (v < 0 || (v & 0xF0) <= (ppr() & 0xF0)) {
      return -1;
    }
    return v;
  }

  /** INTA: moves the pending vector from IRR to ISR and returns it. */
  public int acknowledge() {
    int v = pendingVector();
    if (v >= 0) {
      irr[v >>> 5] &= ~(1 << (v & 31));
      isr[v >>> 5] |= 1 << (v & 31);
      interrupts++;
    }
    return v;
  }

  // ---------------------------------------------------------------- timer

  private int divisor() {
    int bits = (divideConfig & 3) | ((divideConfig >>> 1) & 4);
    return bits == 7 ? 1 : 2 << bits;
  }

  private long periodCycles() {
    long ticks = (initialCount & 0xFFFF_FFFFL) * divisor();
    return Math.max(1, ticks * (clock.hz() / busHz));
  }

  private void startTimer() {
    timer.cancel();
    timerStart = clock.now();
    if (initialCount != 0) {
      timer.arm(timerStart + periodCycles());
    }
  }

  private void timerExpired(long now) {
    int entry = lvt[0];
    if ((entry & LVT_MASKED) == 0) {
      accept(entry & 0xFF);
    }
    if ((entry & LVT_TIMER_PERIODIC) != 0 && initialCount != 0) {
      long period = periodCycles();
      long start = timer.deadline();
      if (now - start >= period) {
        // Whole periods went by before the queue ran (the domain did not run meanwhile): they
        // are skipped in one step, as Xen's pt_process_missed_ticks does, keeping the phase.
        // The IRR bit holds one interrupt for all of them, as it would have on hardware.
        start += (now - start) / period * period;
      }
      timerStart = start;
      timer.arm(start + period);
    }
  }

  private int currentCount() {
    if (initialCount == 0) {
      return 0;
    }
    long elapsed = (clock.now() - timerStart) / divisor();
    long init = initialCount & 0xFFFF_FFFFL;
    if ((lvt[0] & LVT_TIMER_PERIODIC) != 0) {
      return (int) (init - elapsed % init);
    }
    return elapsed >= init ? 0 : (int) (init - elapsed);
  }

  // ---------------------------------------------------------------- registers

  @Override
  public int read(long offset, int size) {
    if (!globallyEnabled()) {
      // Globally disabled: nothing answers at the window.
      return size == 4 ? -1 : (1 << (8 * size)) - 1;
    }
    int reg = (int) offset & 0xFF0;
    if (accessRules == AccessRules.QEMU) {
      return size < 4 ? 0 : readRegister(reg);
    }
    int within = (int) offset & 0xF;
    if (within + size > 4) {
      return 0;
    }
    int value = readRegister(reg);
    return size == 4 ? value : (value >>> (8 * within)) & (size == 2 ? 0xFFFF : 0xFF);
  }

  private int readRegister(int reg) {
    if (reg >= ISR && reg < ISR + 0x80) {
      return isr[(reg - ISR) >>> 4];
    }
    if (reg >= TMR && reg < TMR + 0x80) {
      return tmr[(reg - TMR) >>> 4];
    }
    if (reg >= IRR && reg < IRR + 0x80) {
      return irr[(reg - IRR) >>> 4];
    }
    if (reg >= LVT_TIMER && reg <= LVT_ERROR) {
      return lvt[(reg - LVT_TIMER) >>> 4];
    }
    switch (reg) {
      case ID: return apicId << 24;
      case VER: return VERSION;
      case TPR: return tpr;
      case APR: return 0;
      case PPR: return ppr();
      case LDR: return ldr;
      case DFR: return dfr;
      case SVR: return svr;
      case ESR: return esr;
      case ICR_LOW: return icrLow & ~ICR_DELIVERY_STATUS;
      case ICR_HIGH: return icrHigh;
      case TIMER_INITIAL: return initialCount;
      case TIMER_CURRENT: return currentCount();
      case TIMER_DIVIDE: return divideConfig;
      default: return 0;
    }
  }

  @Override
  public void write(long offset, int size, int value) {
    if (!globallyEnabled()) {
      return;
    }
    int reg = (int) offset & 0xFF0;
    if (size < 4) {
      int within = (int) offset & 0xF;
      if (accessRules == AccessRules.QEMU || within + size > 4) {
        return;
      }
      // Xen's vlapic_mmio_write: a narrow write inside the register merges into its value.
      int shift = 8 * within;
      int mask = (size == 2 ? 0xFFFF : 0xFF) << shift;
      value = (readRegister(reg) & ~mask) | ((value << shift) & mask);
    } else if (accessRules == AccessRules.XEN && (offset & 0xF) != 0) {
      return;
    }
    if (reg >= LVT_TIMER && reg <= LVT_ERROR) {
      int i = (reg - LVT_TIMER) >>> 4;
      // LINT0 and LINT1 also keep their input polarity (bit 13) and trigger mode (bit 15),
      // as SDM 10.5.1 has them and Xen's LINT_MASK keeps them: SeaBIOS's 0x8700 reads back.
      // Delivery status (bit 12) and remote IRR (14) are the APIC's in every entry; the timer
      // has a mode (bit 17) instead of a delivery mode, the error entry neither (SDM 11.5.1).
      int mask = i == 0 ? 0x3_00FF : reg == LVT_LINT0 || reg == LVT_LINT1 ? 0x1_A7FF
          : reg == LVT_ERROR ? 0x1_00FF : 0x1_07FF;
      lvt[i] = enabled() ? value & mask : (value & mask) | LVT_MASKED;
      if (reg == LVT_LINT0) {
        lint0Written.run();
      }
      return;
    }
    switch (reg) {
      case TPR: tpr = value & 0xFF; break;
      case EOI: {
        int v = highest(isr);
        if (v >= 0) {
          isr[v >>> 5] &= ~(1 << (v & 31));
          if ((tmr[v >>> 5] & 1 << (v & 31)) != 0) {
            // A level-triggered vector: the EOI goes to the I/O APIC too (Xen's
            // vlapic_handle_EOI), which re-delivers if the line is still asserted.
            levelEoi.accept(v);
          }
        }
        break;
      }
      case LDR: ldr = value & 0xFF00_0000; break;
      case DFR: dfr = value | 0x0FFF_FFFF; break;
      case SVR:
        svr = value & 0x3FF;
        if (!enabled()) {
          for (int i = 0; i < lvt.length; i++) {
            lvt[i] |= LVT_MASKED;
          }
        }
        break;
      case ESR:
        // Whatever is written, the write latches the errors detected since the last one and
        // clears them (SDM 11.5.3; Xen's vlapic_reg_write since 4.20).
        esr = pendingEsr;
        pendingEsr = 0;
        break;
      case ICR_HIGH: icrHigh = value & 0xFF00_0000; break;
      case ICR_LOW:
        icrLow = value & 0x000C_CFFF;
        if (ipiSink != null) {
          ipiSink.send(this, icrLow, icrHigh);
        } else {
          sendIpi();
        }
        break;
      case TIMER_INITIAL:
        initialCount = value;
        startTimer();
        break;
      case TIMER_DIVIDE: divideConfig = value & 0xB; break;
      default: break;
    }
  }

  /** Without an APIC bus: only fixed interrupts to self (shorthand self, or our own ID). */
  private void sendIpi() {
    int shorthand = (icrLow >>> 18) & 3;
    int mode = (icrLow >>> 8) & 7;
    boolean toSelf = shorthand == 1 || shorthand == 2
        || (shorthand == 0 && (icrHigh >>> 24) == apicId);
    if (mode == 0 && (icrLow & 0xFF) < 16) {
      // The sender sees the illegal vector, as on the APIC bus (SDM 11.5.3).
      error(ESR_SEND_ILLEGAL_VECTOR);
    } else if (mode == 0 && toSelf) {
      accept(icrLow & 0xFF);
    }
  }
}
