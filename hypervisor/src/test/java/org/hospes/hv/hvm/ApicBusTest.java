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
 * (fixed, lowest priority, NMI, INIT, SIPI) and what it drops, against the SDM's rules written
 * out as a second, plain model in the test.
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

  @Test
  void nonFixedMessagesToSelfAndSmiAndExtIntAreDroppedAndCounted() {
    icr(1, 0, 1 << 18 | 0x400); // NMI to self by shorthand: not allowed
    icr(1, 2 << 24, 0x200); // SMI
    icr(1, 2 << 24, 0x700); // ExtINT
    assertThat(events).isEmpty();
    assertThat(bus.dropped()).isEqualTo(3);
    assertThat(apics[1].nmiPending()).isFalse();
  }

  @Test
  void lowestPriorityPicksTheLowestPprThenTheLowestId() {
    for (int i = 0; i < N; i++) {
      apics[i].write(LocalApic.DFR, 4, -1);
      apics[i].write(LocalApic.LDR, 4, 1 << (24 + i));
    }
    apics[1].write(LocalApic.TPR, 4, 0x20);
    apics[2].write(LocalApic.TPR, 4, 0x10);
    apics[3].write(LocalApic.TPR, 4, 0x10);
    icr(0, 0x0E << 24, 1 << 11 | 0x100 | 0x61); // logical {1,2,3}, lowest priority
    assertThat(events).containsExactly("kick 2");
  }

  /** The SDM's destination rules, written out plainly: the oracle for the random test. */
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
        if (dest == 0xFF) {
          return true;
        }
        if (flat[target]) {
          return (ldr[target] & dest) != 0;
        }
        int cluster = dest >> 4;
        return cluster == ldr[target] >> 4 && (ldr[target] & dest & 0xF) != 0;
    }
  }

  @Test
  void randomFixedIpisReachExactlyTheApicsTheSdmSays() {
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
