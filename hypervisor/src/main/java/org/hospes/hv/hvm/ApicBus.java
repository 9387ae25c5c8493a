package org.hospes.hv.hvm;

import org.hospes.hv.platform.LocalApic;

/**
 * The APIC bus of one domain: delivers what a local APIC's ICR sends (SDM vol. 3, 10.6) to the
 * local APICs of the domain's vCPUs. APIC ID = vCPU id (QEMU's and the MP specification's
 * numbering; Xen numbers them 2 × vCPU id, but nothing in a guest may rely on either).
 *
 * <ul>
 *   <li>Destination shorthand (ICR bits 19:18): none (use the destination field), self, all
 *       including self, all excluding self.
 *   <li>Destination mode (bit 11): physical (the APIC ID, 0xFF for all) or logical, matched
 *       by each APIC against its LDR under its DFR model, flat or cluster
 *       ({@link LocalApic#matchesDestination}).
 *   <li>Delivery mode (bits 10:8): fixed (into the IRR), lowest priority (to the enabled
 *       matching APIC of the lowest processor-priority class, the lowest APIC ID on a tie:
 *       deterministic, as Xen's vlapic_lowest_prio is), NMI, INIT (the processor and its APIC
 *       are reset and it waits for a start-up IPI, whatever brought it up; one already waiting
 *       is left alone; an INIT level de-assert, level 0 and trigger level, does nothing, as on
 *       Pentium 4 and later), start-up (a processor waiting for SIPI starts in real mode at
 *       vector × 4096; any other ignores it).
 *       SMI and ExtINT messages are dropped and counted.
 *   <li>The self shorthand carries fixed messages only (SDM table 10-3); others are dropped
 *       and counted.
 * </ul>
 *
 * Delivery is immediate: the sending vCPU's write completes after every destination accepted
 * the message, so the delivery-status bit is never seen busy.
 */
public final class ApicBus implements LocalApic.IpiSink {
  public static final int MODE_FIXED = 0;
  public static final int MODE_LOWEST_PRIORITY = 1;
  public static final int MODE_SMI = 2;
  public static final int MODE_NMI = 4;
  public static final int MODE_INIT = 5;
  public static final int MODE_STARTUP = 6;
  public static final int MODE_EXTINT = 7;

  public static final int SHORTHAND_NONE = 0;
  public static final int SHORTHAND_SELF = 1;
  public static final int SHORTHAND_ALL = 2;
  public static final int SHORTHAND_ALL_BUT_SELF = 3;

  public static final int ICR_LOGICAL = 1 << 11;
  public static final int ICR_LEVEL_ASSERT = 1 << 14;
  public static final int ICR_TRIGGER_LEVEL = 1 << 15;

  /** What the bus does to vCPUs: the hypervisor's side of INIT, SIPI and wake-ups. */
  public interface Processors {
    /** {@code vcpu}'s APIC accepted something the processor may act on: wake it if halted. */
    void kick(int vcpu, int fromVcpu);

    /**
     * INIT: the processor is reset and waits for a start-up IPI, unless it already does.
     * Returns true if it was reset: its local APIC is then reset too.
     */
    boolean init(int vcpu, int fromVcpu);

    /**
     * {@code vcpu}'s APIC took an NMI it did not already hold: wake the processor if halted
     * (and, in Xen, bring it back up if it was initialised and taken down).
     */
    default void nmi(int vcpu, int fromVcpu) {
      kick(vcpu, fromVcpu);
    }

    /** A start-up IPI with {@code vector}: starts a processor waiting for one. */
    void startup(int vcpu, int vector, int fromVcpu);
  }

  private final LocalApic[] apics;
  private final Processors processors;
  private long delivered;
  private long dropped;

  /** {@code apics[i]} is vCPU i's local APIC, whose APIC ID must be i. */
  public ApicBus(LocalApic[] apics, Processors processors) {
    for (int i = 0; i < apics.length; i++) {
      if (apics[i].apicId() != i) {
        throw new IllegalArgumentException("vCPU " + i + " has APIC ID " + apics[i].apicId());
      }
    }
    this.apics = apics.clone();
    this.processors = processors;
    for (LocalApic a : this.apics) {
      a.setIpiSink(this);
    }
  }

  /** Messages accepted by some destination APIC (one per destination). */
  public long delivered() {
    return delivered;
  }

  /** Messages no destination could take (SMI, ExtINT, non-fixed to self). */
  public long dropped() {
    return dropped;
  }

  @Override
  public void send(LocalApic from, int icrLow, int icrHigh) {
    int self = from.apicId();
    int mode = (icrLow >>> 8) & 7;
    int shorthand = (icrLow >>> 18) & 3;
    if (mode == MODE_INIT && (icrLow & ICR_LEVEL_ASSERT) == 0
        && (icrLow & ICR_TRIGGER_LEVEL) != 0) {
      // INIT level de-assert: only arbitration IDs change, which nothing here models.
      return;
    }
    if (mode == MODE_SMI || mode == MODE_EXTINT || mode == 3
        || shorthand == SHORTHAND_SELF && mode != MODE_FIXED) {
      dropped++;
      return;
    }
    int dest = icrHigh >>> 24;
    boolean logical = (icrLow & ICR_LOGICAL) != 0;
    if (mode == MODE_LOWEST_PRIORITY && shorthand == SHORTHAND_NONE) {
      LocalApic best = null;
      for (LocalApic a : apics) {
        if (a.matchesDestination(dest, logical) && a.enabled()
            && (best == null
                || (a.processorPriority() & 0xF0) < (best.processorPriority() & 0xF0))) {
          best = a;
        }
      }
      if (best != null) {
        deliver(best, MODE_FIXED, icrLow & 0xFF, self);
      }
      return;
    }
    for (LocalApic a : apics) {
      boolean to = switch (shorthand) {
        case SHORTHAND_SELF -> a == from;
        case SHORTHAND_ALL -> true;
        case SHORTHAND_ALL_BUT_SELF -> a != from;
        default -> a.matchesDestination(dest, logical);
      };
      if (to) {
        deliver(a, mode == MODE_LOWEST_PRIORITY ? MODE_FIXED : mode, icrLow & 0xFF, self);
      }
    }
  }


  private void deliver(LocalApic a, int mode, int vector, int from) {
    int id = a.apicId();
    delivered++;
    switch (mode) {
      case MODE_FIXED -> {
        a.acceptFixed(vector);
        processors.kick(id, from);
      }
      case MODE_NMI -> {
        // vlapic_accept_irq: only an NMI not already pending wakes anything.
        boolean fresh = !a.nmiPending();
        a.acceptNmi();
        if (fresh && a.nmiPending()) {
          processors.nmi(id, from);
        }
      }
      case MODE_INIT -> {
        // vlapic_init_sipi_one: an APIC is reset with its processor, and a processor that
        // already waits for a start-up IPI is not reset again.
        if (processors.init(id, from)) {
          a.init();
        }
      }
      case MODE_STARTUP -> processors.startup(id, vector, from);
      default -> throw new IllegalStateException("delivery mode " + mode);
    }
  }
}
