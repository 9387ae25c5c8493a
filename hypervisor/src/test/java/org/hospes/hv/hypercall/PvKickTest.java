package org.hospes.hv.hypercall;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.pv.PvGdt;
import org.hospes.hv.sched.CreditScheduler;
import org.junit.jupiter.api.Test;

/**
 * An event sent from outside between two steps to a classic PV vCPU whose run is under way
 * kicks it, as Xen's event-check IPI does: the resumed run goes back into the hypervisor at
 * the boundary the cut stopped it at and returns to the guest through the events check, which
 * enters the event callback before one more instruction of the guest's loop. Without the kick
 * the loop, which makes no hypercall, would run on to the end of its slice.
 */
class PvKickTest {
  private static final int COUNT = 0x9000;
  private static final int SEEN = COUNT + 4;
  private static final int TICKS = COUNT + 8;
  private static final int CALLBACK = 0x5200;

  @Test
  void anEventSentBetweenStepsEntersTheCallbackAtTheBoundaryTheCutStoppedAt() {
    Hypervisor hv = new Hypervisor(64, new CreditScheduler(), new DefaultCostModel());
    Domain d = PvTestDomains.create(hv, "pv");
    code(hv, d, PvTestDomains.ENTRY,
        0xFF, 0x05, 0x00, 0x90, 0x00, 0x00, // inc dword [COUNT]
        0xEB, 0xF8); // jmp back to the inc
    code(hv, d, CALLBACK,
        0xA1, 0x00, 0x90, 0x00, 0x00, // mov eax, [COUNT]
        0xA3, 0x04, 0x90, 0x00, 0x00, // mov [SEEN], eax
        0xFF, 0x05, 0x08, 0x90, 0x00, 0x00, // inc dword [TICKS]
        0xEB, 0xFE); // jmp $
    assertThat(d.pv().traps().setCallbacks(PvGdt.FLAT_RING1_CS, CALLBACK, PvGdt.FLAT_RING1_CS,
        CALLBACK)).isZero();
    d.pv().setUpcallMask(0);
    int port = d.eventChannels().bindIpi(0);
    hv.unpause(d);
    while (hv.now() < Hypervisor.HZ / 10_000) {
      hv.step(10_000);
    }
    assertThat(hv.runUnderWay()).isTrue();
    int counted = read(hv, d, COUNT);
    assertThat(counted).isPositive();

    assertThat(d.eventChannels().send(port)).isZero();
    hv.step(10_000);

    assertThat(read(hv, d, TICKS)).isEqualTo(1);
    assertThat(read(hv, d, SEEN)).isEqualTo(counted);
    assertThat(d.vcpus().get(0).counters().kicks).isEqualTo(1);
    assertThat(d.vcpus().get(0).counters().injectedInterrupts).isEqualTo(1);
  }

  private static void code(Hypervisor hv, Domain d, int va, int... bytes) {
    long base = PvTestDomains.mfn(d, va >>> 12) << 12 | va & 0xFFF;
    for (int i = 0; i < bytes.length; i++) {
      hv.machineMemory().write8(base + i, bytes[i]);
    }
  }

  private static int read(Hypervisor hv, Domain d, int va) {
    return hv.machineMemory().read32(PvTestDomains.mfn(d, va >>> 12) << 12 | va & 0xFFF);
  }
}
