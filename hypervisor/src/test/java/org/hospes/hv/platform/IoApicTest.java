package org.hospes.hv.platform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.hospes.hv.platform.ApicBus.DeliveryMode;
import org.hospes.hv.time.TimerQueue;
import org.hospes.hv.time.VirtualClock;
import org.junit.jupiter.api.Test;

/**
 * The I/O APIC through its two registers, delivering to a recording bus, and to a real local
 * APIC whose EOI of a level-triggered vector comes back.
 */
class IoApicTest {
  private final List<String> sent = new ArrayList<>();
  private boolean busAccepts = true;
  private final IoApic ioapic = new IoApic((gsi, dest, logical, mode, vector, level) -> {
    sent.add(String.format("%s v%d d%d%s%s", mode, vector, dest, logical ? "L" : "P",
        level ? " level" : ""));
    return busAccepts;
  });

  private void program(int pin, int low, int high) {
    ioapic.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * pin + 1);
    ioapic.write(IoApic.IOWIN, 4, high);
    ioapic.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * pin);
    ioapic.write(IoApic.IOWIN, 4, low);
  }

  private int readReg(int index) {
    ioapic.write(IoApic.IOREGSEL, 4, index);
    return ioapic.read(IoApic.IOWIN, 4);
  }

  @Test
  void versionSaysXensFortyEightPinsAndEntriesStartMasked() {
    assertThat(readReg(IoApic.REG_VERSION)).isEqualTo(0x002F_0011);
    assertThat(readReg(IoApic.REG_ID)).isZero();
    for (int pin = 0; pin < IoApic.PINS; pin++) {
      assertThat(readReg(IoApic.REG_REDIRECTION + 2 * pin)).isEqualTo(IoApic.MASKED);
    }
    ioapic.write(IoApic.IOREGSEL, 4, IoApic.REG_ID);
    ioapic.write(IoApic.IOWIN, 4, 0xFF00_0000);
    assertThat(readReg(IoApic.REG_ID)).isEqualTo(0x0F00_0000);
    assertThat(readReg(IoApic.REG_ARBITRATION)).isEqualTo(0x0F00_0000);
    // The version register is read-only.
    ioapic.write(IoApic.IOREGSEL, 4, IoApic.REG_VERSION);
    ioapic.write(IoApic.IOWIN, 4, 0);
    assertThat(readReg(IoApic.REG_VERSION)).isEqualTo(0x002F_0011);
  }

  @Test
  void anEdgePinDeliversOnRisingEdgesOnlyAndLosesEdgesWhileMasked() {
    program(2, 0x30, 0x0100_0000);
    ioapic.setLevel(2, true);
    ioapic.setLevel(2, true);   // still high: no new edge
    ioapic.setLevel(2, false);
    ioapic.setLevel(2, true);
    assertThat(sent).containsExactly("FIXED v48 d1P", "FIXED v48 d1P");
    program(2, 0x30 | IoApic.MASKED, 0);
    ioapic.setLevel(2, false);
    ioapic.setLevel(2, true);
    program(2, 0x30, 0);        // an edge while masked is gone: nothing on unmask
    assertThat(sent).hasSize(2);
  }

  @Test
  void softwareCannotWriteDeliveryStatusOrRemoteIrr() {
    program(5, 0x41 | IoApic.REMOTE_IRR | IoApic.DELIVERY_STATUS | IoApic.TRIGGER_LEVEL, -1);
    assertThat(readReg(IoApic.REG_REDIRECTION + 10))
        .isEqualTo(0x41 | IoApic.TRIGGER_LEVEL);
    assertThat(readReg(IoApic.REG_REDIRECTION + 11)).isEqualTo(0xFF00_0000);
  }

  @Test
  void aLevelPinDeliversOnceUntilEoiThenAgainWhileStillAsserted() {
    program(20, 0x51 | IoApic.TRIGGER_LEVEL | IoApic.DEST_LOGICAL
        | DeliveryMode.LOWEST_PRIORITY.code() << 8, 0x0100_0000);
    ioapic.setLevel(20, true);
    assertThat(sent).containsExactly("LOWEST_PRIORITY v81 d1L level");
    assertThat(ioapic.redirectionLow(20) & IoApic.REMOTE_IRR).isNotZero();
    ioapic.setLevel(20, true);  // re-asserting changes nothing while remote IRR is set
    assertThat(sent).hasSize(1);
    ioapic.eoi(0x52);           // another vector's EOI
    assertThat(sent).hasSize(1);
    ioapic.eoi(0x51);           // still asserted: again
    assertThat(sent).hasSize(2);
    ioapic.setLevel(20, false);
    ioapic.eoi(0x51);           // deasserted: remote IRR clears, nothing more
    assertThat(sent).hasSize(2);
    assertThat(ioapic.redirectionLow(20) & IoApic.REMOTE_IRR).isZero();
  }

  @Test
  void unmaskingAnAssertedLevelPinDelivers() {
    program(9, 0x61 | IoApic.TRIGGER_LEVEL | IoApic.MASKED, 0);
    ioapic.setLevel(9, true);
    assertThat(sent).isEmpty();
    program(9, 0x61 | IoApic.TRIGGER_LEVEL, 0);
    assertThat(sent).containsExactly("FIXED v97 d0P level");
  }

  @Test
  void smiInitAndReservedModesAreCountedNotSent() {
    for (DeliveryMode m : new DeliveryMode[] {DeliveryMode.SMI, DeliveryMode.INIT,
        DeliveryMode.RESERVED_3, DeliveryMode.RESERVED_6}) {
      program(3, 0x30 | m.code() << 8, 0);
      ioapic.setLevel(3, true);
      ioapic.setLevel(3, false);
    }
    assertThat(sent).isEmpty();
    assertThat(ioapic.undeliverable()).isEqualTo(4);
    program(3, 0x30 | DeliveryMode.NMI.code() << 8, 0);
    ioapic.setLevel(3, true);
    assertThat(sent).containsExactly("NMI v48 d0P");
  }

  @Test
  void aLevelInterruptNobodyAcceptsLeavesRemoteIrrClear() {
    busAccepts = false;
    program(11, 0x70 | IoApic.TRIGGER_LEVEL, 0x0700_0000);
    ioapic.setLevel(11, true);
    assertThat(ioapic.redirectionLow(11) & IoApic.REMOTE_IRR).isZero();
    assertThat(ioapic.undeliverable()).isEqualTo(1);
  }

  @Test
  void badPinsAndNarrowWindowWritesAreRefusedOrCounted() {
    assertThatThrownBy(() -> ioapic.setLevel(48, true))
        .isInstanceOf(IllegalArgumentException.class);
    ioapic.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION);
    ioapic.write(IoApic.IOWIN, 1, 0);
    ioapic.write(0x20, 4, 0);
    assertThat(ioapic.badAccesses()).isEqualTo(2);
    assertThat(readReg(IoApic.REG_REDIRECTION)).isEqualTo(IoApic.MASKED);
    // Registers past the last pin read as 0 and ignore writes.
    ioapic.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * IoApic.PINS);
    ioapic.write(IoApic.IOWIN, 4, -1);
    assertThat(readReg(IoApic.REG_REDIRECTION + 2 * IoApic.PINS)).isZero();
    assertThat(ioapic.read(IoApic.IOREGSEL, 1)).isEqualTo(IoApic.REG_REDIRECTION + 96);
  }

  /** Seeded: random writes never deliver from a masked entry or set read-only bits. */
  @Test
  void randomProgrammingKeepsTheReadOnlyBitsAndTheMask() {
    long seed = 0x10A91C;
    Random rnd = new Random(seed);
    for (int i = 0; i < 20_000; i++) {
      int pin = rnd.nextInt(IoApic.PINS);
      int low = rnd.nextInt();
      sent.clear();
      program(pin, low | IoApic.MASKED, rnd.nextInt());
      ioapic.setLevel(pin, rnd.nextBoolean());
      ioapic.eoi(rnd.nextInt(256));
      int now = ioapic.redirectionLow(pin);
      assertThat(now & IoApic.DELIVERY_STATUS).as("seed %x step %d", seed, i).isZero();
      assertThat(now & IoApic.MASKED).as("seed %x step %d", seed, i).isNotZero();
      // Every entry was written masked: nothing may be sent.
      assertThat(sent).as("seed %x step %d", seed, i).isEmpty();
    }
  }

  @Test
  void aLocalApicBroadcastsTheEoiOfALevelVectorAndTheLineDeliversAgain() {
    long[] cycles = {0};
    LocalApic lapic = new LocalApic(0, new VirtualClock(() -> cycles[0]), new TimerQueue());
    lapic.write(LocalApic.SVR, 4, LocalApic.SVR_ENABLE | 0xFF);
    IoApic real = new IoApic((gsi, dest, logical, mode, vector, level) ->
        lapic.matchesDestination(dest, logical) && lapic.accept(vector, level));
    lapic.onLevelEoi(real::eoi);
    real.write(IoApic.IOREGSEL, 4, IoApic.REG_REDIRECTION + 2 * 16);
    real.write(IoApic.IOWIN, 4, 0x90 | IoApic.TRIGGER_LEVEL);
    real.setLevel(16, true);
    assertThat(lapic.acknowledge()).isEqualTo(0x90);
    assertThat(lapic.read(LocalApic.TMR + 0x40, 4) & 1 << 16).as("TMR bit of 0x90").isNotZero();
    assertThat(lapic.pendingVector()).isEqualTo(-1);
    lapic.write(LocalApic.EOI, 4, 0);     // line still high: delivered again
    assertThat(lapic.acknowledge()).isEqualTo(0x90);
    real.setLevel(16, false);
    lapic.write(LocalApic.EOI, 4, 0);
    assertThat(lapic.pendingVector()).isEqualTo(-1);
    assertThat(real.redirectionLow(16) & IoApic.REMOTE_IRR).isZero();
    // An edge vector's EOI is not broadcast: its TMR bit is clear.
    lapic.accept(0x91, false);
    lapic.acknowledge();
    int before = (int) real.delivered();
    lapic.write(LocalApic.EOI, 4, 0);
    assertThat(real.delivered()).isEqualTo(before);
  }

  @Test
  void logicalDestinationsFollowTheFlatAndClusterModels() {
    long[] cycles = {0};
    LocalApic lapic = new LocalApic(3, new VirtualClock(() -> cycles[0]), new TimerQueue());
    assertThat(lapic.matchesDestination(3, false)).isTrue();
    assertThat(lapic.matchesDestination(0xFF, false)).isTrue();
    assertThat(lapic.matchesDestination(2, false)).isFalse();
    lapic.write(LocalApic.LDR, 4, 0x0400_0000);          // flat: logical ID bit 2
    assertThat(lapic.matchesDestination(0x04, true)).isTrue();
    assertThat(lapic.matchesDestination(0x0B, true)).isFalse();
    lapic.write(LocalApic.DFR, 4, 0x0FFF_FFFF);          // cluster model
    lapic.write(LocalApic.LDR, 4, 0x2100_0000);          // cluster 2, member bit 0
    assertThat(lapic.matchesDestination(0x21, true)).isTrue();
    assertThat(lapic.matchesDestination(0x23, true)).isTrue();
    assertThat(lapic.matchesDestination(0x11, true)).isFalse();
    assertThat(lapic.matchesDestination(0x22, true)).isFalse();
  }
}
