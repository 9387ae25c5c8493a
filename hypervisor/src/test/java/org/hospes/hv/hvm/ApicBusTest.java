package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.hospes.hv.platform.LocalApic;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.junit.jupiter.api.Test;

/**
 * The APIC bus: destinations (physical, logical flat and cluster, shorthands), delivery modes
 * (fixed, lowest priority, NMI, INIT, SIPI) and what it drops, against Xen's vlapic rules (the
 * SDM's, but for the cluster model's broadcast) written out as a second, plain model here.
 */
class ApicBusTest {
  private static final int N = 8;
  private final TimerQueue timers = new TimerQueue();
  private final VirtualClock clock = new VirtualClock(() -> 0L);
  private final LocalApic[] apics = new LocalApic[N];
  private final List<String> events = new ArrayList<>();
  private final ApicBus bus;

  ApicBusTest() {
    for (int i = 0; i < N; i++) {
      apics[i] = new LocalApic(i, clock, timers, i == 0);
      apics[i].write(LocalApic.SVR, 4, 0x1FF);
    }
    bus = new ApicBus(apics, new ApicBus.Processors() {
      @Override
      public void kick(int vcpu, int from) {
        events.add("kick " + vcpu);
      }

      @Override
      public boolean init(int vcpu, int from) {
        events.add("init " + vcpu);
        return true;
      }

      @Override
      public void startup(int vcpu, int vector, int from) {
        events.add("sipi " + vcpu + " " + Integer.toHexString(vector));
      }

      @Override
      public void unsupported(int from, int mode) {
        events.add("unsupported from " + from + " mode " + mode);
      }
    });
  }

  private void icr(int from, int high, int low) {
    apics[from].write(LocalApic.ICR_HIGH, 4, high);
    apics[from].write(LocalApic.ICR_LOW, 4, low);
  }

  private boolean irr(int apic, int vector) {
    int word = apics[apic].read(LocalApic.IRR + (vector / 32) * 0x10, 4);
    return (word >>> (vector & 31) & 1) != 0;
  }

  @Test
  void aPhysicalFixedIpiReachesItsDestinationOnlyAndWakesIt() {
    icr(0, 3 << 24, 0x40);
    for (int i = 0; i < N; i++) {
      assertThat(irr(i, 0x40)).as("APIC %d", i).isEqualTo(i == 3);
    }
    assertThat(events).containsExactly("kick 3");
    assertThat(apics[0].read(LocalApic.ICR_LOW, 4) & LocalApic.ICR_DELIVERY_STATUS)
        .as("delivery status idle").isZero();
    assertThat(apics[0].read(LocalApic.ICR_HIGH, 4)).isEqualTo(3 << 24);
  }

  @Test
  void shorthandsSelfAllAndAllButSelf() {
    icr(2, 0, 1 << 18 | 0x41);
    assertThat(events).containsExactly("kick 2");
    events.clear();
    icr(2, 0, 2 << 18 | 0x42);
    assertThat(events).hasSize(N);
    events.clear();
    icr(2, 0, 3 << 18 | 0x43);
    assertThat(events).hasSize(N - 1).doesNotContain("kick 2");
    assertThat(irr(2, 0x43)).isFalse();
    assertThat(irr(5, 0x43)).isTrue();
  }

  @Test
  void initAndStartupGoToTheProcessorsAndDeassertDoesNothing() {
    icr(0, 0, 3 << 18 | 0x4500);
    assertThat(events).containsExactly("init 1", "init 2", "init 3", "init 4", "init 5",
        "init 6", "init 7");
    events.clear();
    icr(0, 0, 0xC8500); // INIT level de-assert, all including self
    assertThat(events).isEmpty();
    icr(0, 1 << 24, 0x4608);
    assertThat(events).containsExactly("sipi 1 8");
  }

  @Test
  void initResetsTheApicButKeepsItsId() {
    apics[4].write(LocalApic.TPR, 4, 0x30);
    apics[4].write(LocalApic.LDR, 4, 0x10 << 24);
    icr(0, 4 << 24, 0x4500);
    assertThat(apics[4].read(LocalApic.TPR, 4)).isZero();
    assertThat(apics[4].read(LocalApic.LDR, 4)).isZero();
    assertThat(apics[4].read(LocalApic.SVR, 4)).isEqualTo(0xFF);
    assertThat(apics[4].read(LocalApic.ID, 4)).isEqualTo(4 << 24);
    // Software-disabled after INIT: fixed IPIs are dropped, NMIs are taken.
    icr(0, 4 << 24, 0x50);
    assertThat(irr(4, 0x50)).isFalse();
    icr(0, 4 << 24, 0x400);
    assertThat(apics[4].nmiPending()).isTrue();
  }

  /**
   * Xen's vlapic_accept_irq latches an NMI message (v->nmi_pending) with no look at the target
   * APIC's enables: software-disabled (SDM 10.4.7.2: such an APIC still takes NMI, INIT, SIPI
   * and SMI) and, unlike a processor whose APIC is off in IA32_APIC_BASE (SDM 10.4.3), globally
   * disabled too. Fixed messages are still dropped by either.
   */
  @Test
  void anNmiIsTakenWhateverTheTargetApicsEnables() {
    assertThat(apics[4].writeApicBase(apics[4].readApicBase() & ~LocalApic.ENABLE)).isTrue();
    assertThat(apics[4].globallyEnabled()).isFalse();
    icr(0, 4 << 24, 0x51);
    assertThat(apics[4].read(LocalApic.IRR + 0x20, 4)).as("IRR, window off").isEqualTo(-1);
    events.clear();
    icr(0, 4 << 24, 0x400);
    assertThat(apics[4].nmiPending()).isTrue();
    assertThat(events).containsExactly("kick 4");
    assertThat(apics[4].writeApicBase(apics[4].readApicBase() | LocalApic.ENABLE)).isTrue();
    assertThat(irr(4, 0x51)).isFalse();
  }

  /**
   * Xen's vlapic_ipi lets every delivery mode use every shorthand: a vCPU sends itself an NMI,
   * an INIT or a start-up IPI (the SDM's table 10-3 would refuse those). SMI and remote read are
   * ignored; ExtINT, which Xen does not emulate, crashes the domain.
   */
  @Test
  void theSelfShorthandCarriesEveryModeAndSmiRemoteReadAndExtIntAreRefused() {
    icr(1, 0, 1 << 18 | 0x400); // NMI to self
    assertThat(apics[1].nmiPending()).isTrue();
    assertThat(events).containsExactly("kick 1");
    events.clear();
    icr(1, 0, 1 << 18 | 0x4500); // INIT to self
    icr(1, 0, 1 << 18 | 0x4609); // start-up to self
    assertThat(events).containsExactly("init 1", "sipi 1 9");
    events.clear();
    icr(1, 2 << 24, 0x200); // SMI
    icr(1, 2 << 24, 0x300); // remote read
    assertThat(events).isEmpty();
    icr(1, 2 << 24, 0x700); // ExtINT
    assertThat(events).containsExactly("unsupported from 1 mode 7");
    assertThat(bus.dropped()).isEqualTo(3);
    assertThat(apics[2].nmiPending()).isFalse();
  }

  /**
   * vlapic_ipi: a fixed or lowest-priority message with a vector below 16 reaches no one and
   * sets the sender's send-illegal-vector error; no receiver's ESR changes. The ESR shows it
   * once software writes the ESR (SDM 11.5.3), and the error raises the sender's LVT error
   * interrupt once per newly pending bit.
   */
  @Test
  void anIllegalVectorIsTheSendersErrorAndRaisesItsErrorInterrupt() {
    apics[0].write(LocalApic.LVT_ERROR, 4, 0xFE);
    icr(0, 3 << 24, 0x0F); // fixed, vector 15
    icr(0, 0, 3 << 18 | 0x105); // lowest priority, vector 5, all but self
    assertThat(events).isEmpty();
    for (int i = 1; i < N; i++) {
      apics[i].write(LocalApic.ESR, 4, 0);
      assertThat(apics[i].read(LocalApic.ESR, 4)).as("ESR of APIC %d", i).isZero();
      assertThat(irr(i, 0x0F) || irr(i, 0x05)).isFalse();
    }
    assertThat(apics[0].read(LocalApic.ESR, 4)).as("before the ESR write").isZero();
    apics[0].write(LocalApic.ESR, 4, 0);
    assertThat(apics[0].read(LocalApic.ESR, 4)).isEqualTo(LocalApic.ESR_SEND_ILLEGAL_VECTOR);
    assertThat(apics[0].acknowledge()).as("one error interrupt for one pending bit")
        .isEqualTo(0xFE);
    assertThat(apics[0].pendingVector()).isEqualTo(-1);
    apics[0].write(LocalApic.ESR, 4, 0);
    assertThat(apics[0].read(LocalApic.ESR, 4)).as("cleared by the write").isZero();
  }

  /**
   * vlapic_lowest_prio: the software-enabled APIC with the lowest PPR (the whole value, not
   * only its class), searched round-robin from the one after the last chosen, the first found
   * winning a tie.
   */
  @Test
  void lowestPriorityPicksTheLowestPprRoundRobin() {
    for (int i = 0; i < N; i++) {
      apics[i].write(LocalApic.DFR, 4, -1);
      apics[i].write(LocalApic.LDR, 4, 1 << (24 + i));
    }
    apics[1].write(LocalApic.TPR, 4, 0x20);
    apics[2].write(LocalApic.TPR, 4, 0x10);
    apics[3].write(LocalApic.TPR, 4, 0x10);
    apics[4].write(LocalApic.TPR, 4, 0x11);
    int toOneToFour = 0x1E << 24;
    icr(0, toOneToFour, 1 << 11 | 0x100 | 0x61);
    icr(0, toOneToFour, 1 << 11 | 0x100 | 0x62);
    icr(0, toOneToFour, 1 << 11 | 0x100 | 0x63);
    assertThat(events).containsExactly("kick 2", "kick 3", "kick 2");
    events.clear();
    apics[2].write(LocalApic.SVR, 4, 0xFF); // software-disabled: not a candidate
    icr(0, toOneToFour, 1 << 11 | 0x100 | 0x64);
    icr(0, toOneToFour, 1 << 11 | 0x100 | 0x65);
    assertThat(events).containsExactly("kick 3", "kick 3");
    events.clear();
    apics[3].write(LocalApic.TPR, 4, 0x12);
    icr(0, toOneToFour, 1 << 11 | 0x100 | 0x66);
    assertThat(events).as("PPR 0x11 beats 0x12 in the same class").containsExactly("kick 4");
  }

  /** Xen's destination rules, written out plainly: the oracle for the random test. */
  private static boolean expected(int self, int target, int shorthand, boolean logical, int dest,
      int[] ldr, boolean[] flat) {
    switch (shorthand) {
      case 1: return target == self;
      case 2: return true;
      case 3: return target != self;
      default:
        if (!logical) {
          return dest == 0xFF || dest == target;
        }
        if (flat[target]) {
          return (ldr[target] & dest) != 0;
        }
        // Cluster model: Xen has no broadcast, so 0xFF is cluster 15 like any other.
        int cluster = dest >> 4;
        return cluster == ldr[target] >> 4 && (ldr[target] & dest & 0xF) != 0;
    }
  }

  @Test
  void randomFixedIpisReachExactlyTheApicsXenNames() {
    long seed = 0x5EED_13L;
    Random rnd = new Random(seed);
    for (int round = 0; round < 2000; round++) {
      int[] ldr = new int[N];
      boolean[] flat = new boolean[N];
      for (int i = 0; i < N; i++) {
        flat[i] = rnd.nextBoolean();
        ldr[i] = rnd.nextInt(256);
        apics[i].write(LocalApic.DFR, 4, flat[i] ? -1 : 0x0FFF_FFFF);
        apics[i].write(LocalApic.LDR, 4, ldr[i] << 24);
        apics[i].write(LocalApic.EOI, 4, 0);
      }
      int self = rnd.nextInt(N);
      int shorthand = rnd.nextInt(4);
      boolean logical = rnd.nextBoolean();
      int dest = rnd.nextInt(4) == 0 ? 0xFF : rnd.nextInt(256);
      int vector = 0x20 + round % 0xD0;
      events.clear();
      icr(self, dest << 24, shorthand << 18 | (logical ? 1 << 11 : 0) | vector);
      for (int t = 0; t < N; t++) {
        boolean want = expected(self, t, shorthand, logical, dest, ldr, flat);
        assertThat(irr(t, vector))
            .as("seed %x round %d: from %d to %d shorthand %d %s dest %02x", seed, round, self,
                t, shorthand, logical ? "logical" : "physical", dest)
            .isEqualTo(want);
        // Take it out of the IRR for the next round.
        if (want) {
          assertThat(apics[t].acknowledge()).isEqualTo(vector);
          apics[t].write(LocalApic.EOI, 4, 0);
        }
      }
    }
  }
}
