package org.hospes.hv.hvm;

import org.hospes.hv.platform.LocalApic;

/**
 * The APIC bus of one domain: delivers what a local APIC's ICR sends (SDM vol. 3, 10.6) to the
 * local APICs of the domain's vCPUs. APIC ID = vCPU id (QEMU's and the MP specification's
 * numbering; Xen numbers them 2 × vCPU id, but nothing in a guest may rely on either).
 *
 * <ul>
 *   <li>Destination shorthand (ICR bits 19:18): none (use the destination field), self, all
 *       including self, all excluding self. Every delivery mode may use any of them, as Xen's
 *       vlapic_ipi allows (the SDM's table 10-3 allows fewer: a vCPU can send itself an NMI or
 *       an INIT here).
 *   <li>Destination mode (bit 11): physical (the APIC ID, 0xFF for all) or logical, matched
 *       by each APIC against its LDR under its DFR model, flat or cluster
 *       ({@link LocalApic#matchesDestination}).
 *   <li>Delivery mode (bits 10:8): fixed (into the IRR), lowest priority (to one APIC, as Xen's
 *       vlapic_lowest_prio picks it: {@link #lowestPriority}), NMI, INIT (the processor and its
 *       APIC are reset and it waits for a start-up IPI, whatever brought it up; one already
 *       waiting is left alone; an INIT level de-assert, level 0 and trigger level, does
 *       nothing, as on Pentium 4 and later), start-up (a processor waiting for SIPI starts in
 *       real mode at vector × 4096; any other ignores it). SMI and remote-read messages are
 *       dropped and counted; ExtINT, which Xen does not emulate, crashes the domain as in Xen.
 *   <li>A fixed or lowest-priority message with a vector below 16 goes nowhere and sets the
 *       sender's send-illegal-vector error (Xen's APIC_ESR_SENDILL).
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

    /**
     * {@code fromVcpu} sent a message in a delivery mode Xen does not emulate (ExtINT): Xen
     * crashes the domain ("unsupported delivery mode in ICR").
     */
    void unsupported(int fromVcpu, int mode);
  }

  private final LocalApic[] apics;
  private final Processors processors;
  private long delivered;
  private long dropped;
  /** The vCPU the last lowest-priority message went to (Xen's round_robin_prev_vcpu). */
  private int roundRobinPrev;

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

  /** Messages a destination ignored (SMI, remote read, ExtINT). */
  public long dropped() {
    return dropped;
  }

  @Override
  public void send(LocalApic from, int icrLow, int icrHigh) {
    int self = from.apicId();
    int mode = (icrLow >>> 8) & 7;
    int shorthand = (icrLow >>> 18) & 3;
    int dest = icrHigh >>> 24;
    boolean logical = (icrLow & ICR_LOGICAL) != 0;
    int vector = icrLow & 0xFF;
    // Xen's vlapic_ipi, in its order: INIT and start-up go to every vCPU the destination names
    // (the sender too, by a shorthand); lowest priority picks its target before it looks at
    // the vector; fixed refuses an illegal vector; the rest go to every match.
    switch (mode) {
      case MODE_INIT, MODE_STARTUP -> {
        if (mode == MODE_INIT && (icrLow & (ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL))
            == ICR_TRIGGER_LEVEL) {
          // INIT level de-assert: only arbitration IDs change, which nothing here models.
          return;
        }
        for (LocalApic a : apics) {
          if (matches(a, from, shorthand, dest, logical)) {
            deliver(a, mode, vector, self);
          }
        }
      }
      case MODE_LOWEST_PRIORITY -> {
        LocalApic target = lowestPriority(from, shorthand, dest, logical);
        if (vector < 16) {
          from.error(LocalApic.ESR_SEND_ILLEGAL_VECTOR);
        } else if (target != null) {
          deliver(target, MODE_FIXED, vector, self);
        }
      }
      default -> {
        if (mode == MODE_FIXED && vector < 16) {
          from.error(LocalApic.ESR_SEND_ILLEGAL_VECTOR);
          return;
        }
        for (LocalApic a : apics) {
          if (matches(a, from, shorthand, dest, logical)) {
            deliver(a, mode, vector, self);
          }
        }
      }
    }
  }

  /** Xen's vlapic_match_dest: is {@code a} named by a message {@code from} sent? */
  private static boolean matches(LocalApic a, LocalApic from, int shorthand, int dest,
      boolean logical) {
    return switch (shorthand) {
      case SHORTHAND_SELF -> a == from;
      case SHORTHAND_ALL -> true;
      case SHORTHAND_ALL_BUT_SELF -> a != from;
      default -> a.matchesDestination(dest, logical);
    };
  }

  /**
   * The target of a lowest-priority message, as Xen's vlapic_lowest_prio picks it: among the
   * software-enabled APICs the message names, the one with the lowest processor priority,
   * searched round-robin from the vCPU after the last one chosen (the domain's
   * round_robin_prev_vcpu, which every lowest-priority message moves, whether it came from an
   * APIC, the I/O APIC or an MSI), the first found winning a tie. Null if none qualifies.
   *
   * @param from the sending APIC, or null for a message from the I/O APIC or an MSI (which
   *     have no shorthand)
   */
  public LocalApic lowestPriority(LocalApic from, int shorthand, int dest, boolean logical) {
    LocalApic target = null;
    int targetPpr = Integer.MAX_VALUE;
    int i = roundRobinPrev;
    do {
      i = (i + 1) % apics.length;
      LocalApic a = apics[i];
      if (matches(a, from, shorthand, dest, logical) && a.enabled()
          && a.processorPriority() < targetPpr) {
        target = a;
        targetPpr = a.processorPriority();
      }
    } while (i != roundRobinPrev);
    if (target != null) {
      roundRobinPrev = target.apicId();
    }
    return target;
  }

  private void deliver(LocalApic a, int mode, int vector, int from) {
    int id = a.apicId();
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
      case MODE_SMI, 3 -> {
        // vlapic_accept_irq: "Ignoring guest SMI", "Ignoring delivery mode 3".
        dropped++;
        return;
      }
      default -> {
        // ExtINT: vlapic_accept_irq's "unsupported delivery mode in ICR", a domain crash.
        dropped++;
        processors.unsupported(from, mode);
        return;
      }
    }
    delivered++;
  }
}
