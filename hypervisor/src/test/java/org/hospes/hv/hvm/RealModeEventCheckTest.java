package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.hv.hvm.GuestCode.write;

import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;

/**
 * Events in real mode run by the hypervisor's emulator (a shadow-paged domain, no unrestricted
 * guest), as Xen's vmx_realmode takes them: its loop runs instruction after instruction and
 * looks for events only before every 16th one, so an interrupt that the guest's own STI makes
 * deliverable waits for that check; a timer that fires (a softirq) ends the loop at once.
 */
class RealModeEventCheckTest {
  private static final int CODE = 0x1000;
  private static final int HANDLER = 0x1100;
  private static final int MARK = 0x6000;

  /**
   * The guest, with FS given a 4 GiB limit so that VM86 mode cannot hold its segments and the
   * emulator runs all of it: CLI; the PIC at vector 0x20, IRQs unmasked; the PIT's channel 0
   * in mode 0 with a count of 2 (its IRQ 0 comes at once); {@code spin} LOOP iterations with
   * interrupts off (the PIT fires meanwhile); then AX = 0, STI and INC AX 64 times. IRQ 0's
   * handler stores AX at MARK and halts with interrupts off. Returns AX as the handler saw it:
   * how many INCs ran before the interrupt was taken.
   */
  private static int incsBeforeTheInterrupt(int spin, List<Long> checks) {
    Hypervisor hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("g", DomainMode.HVM_SHADOW, 2);
    d.memory().write32(0x20 * 4, HANDLER);
    // mov [MARK], ax ; hlt
    write(d, HANDLER, "a30060 f4");
    StringBuilder incs = new StringBuilder();
    for (int i = 0; i < 64; i++) {
      incs.append("40");
    }
    write(d, CODE, "fa"
        // Through FS's 4 GiB: the local APIC software-enabled (SVR 0x1FF) and LINT0 as ExtINT,
        // so that the PIC's INTR reaches the vCPU (as SeaBIOS sets it up)
        + " 646667c705f000e0feff010000 646667c7055003e0fe00070000"
        // ICW1-4 and OCW1: edge, cascade, vector base 0x20, 8086 mode, nothing masked
        + " b011 e620 b020 e621 b004 e621 b001 e621 b000 e621"
        // PIT channel 0: lobyte/hibyte, mode 0, count 2
        + " b030 e643 b002 e640 b000 e640"
        + String.format(" b9%02x%02x e2fe", spin & 0xFF, spin >>> 8)
        + " 31c0 fb " + incs + " f4");
    Cpu cpu = d.vcpus().get(0).cpu();
    cpu.startupIpi(CODE >>> 12);
    cpu.setReg(Cpu.ESP, 0x8000);
    cpu.loadSegmentState(Cpu.FS, 0, 0, -1, cpu.segmentAttributes(Cpu.FS));
    hv.unpause(d);
    hv.run(100_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(d.vcpus().get(0).counters().realModeEmulations).isPositive();
    checks.add(d.vcpus().get(0).shadowRealMode().loopEventChecks());
    return d.memory().read16(MARK);
  }

  @Test
  void anInterruptStiOpensWaitsForTheLoopsSixteenthInstruction() {
    List<Long> checks = new ArrayList<>();
    List<Integer> seen = new ArrayList<>();
    for (int spin = 100; spin < 116; spin++) {
      seen.add(incsBeforeTheInterrupt(spin, checks));
    }
    // Without the loop, the interrupt came right after STI's shadow: one INC, every time.
    // In the loop, the check comes before every 16th instruction counted from the loop's
    // start (the PIT's softirq): one more spin iteration moves it one INC earlier.
    // The loop that STI runs in began where the PIT's timer fired (a softirq), during the spin.
    assertThat(seen.get(0)).as("INCs before IRQ 0 after 100 spins, in %s", seen).isEqualTo(8);
    assertThat(seen).as("INCs before IRQ 0, spins 100..115").doesNotHaveDuplicates()
        .allMatch(n -> n >= 1 && n <= 16);
    for (int k = 1; k < seen.size(); k++) {
      int expected = seen.get(k - 1) == 1 ? 16 : seen.get(k - 1) - 1;
      assertThat(seen.get(k)).as("spin %d after %s", 100 + k, seen).isEqualTo(expected);
    }
    assertThat(checks).as("loops ended by the 16th-instruction check").containsOnly(1L);
  }
}
