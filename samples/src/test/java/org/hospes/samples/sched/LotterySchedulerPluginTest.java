package org.hospes.samples.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.HypervisorFactory;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;

/** The sample plugin is found through its service file and selected by name like a built-in. */
class LotterySchedulerPluginTest {

  @Test
  void isDiscoveredOnTheClassPath() {
    HypervisorFactory f = new HypervisorFactory();
    assertThat(f.schedulerNames()).containsExactly("credit", "lottery", "rr");
    assertThat(f.scheduler("lottery")).isInstanceOf(LotteryScheduler.class);
  }

  @Test
  void isSelectableForAnHvmMachine() {
    PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 4, sink, sink, "lottery", "default");
    assertThat(m.hypervisor().scheduler().name()).isEqualTo("lottery");
  }

  /** cpuid; jmp $-4: CPU-bound, one exit per iteration (cheap to emulate). */
  private static Domain spinner(Hypervisor hv, String name, int weight) {
    Domain d = hv.createHvmDomain(name, DomainMode.HVM_EPT, 1);
    int[] code = {0x0F, 0xA2, 0xEB, 0xFC};
    for (int i = 0; i < code.length; i++) {
      d.memory().write8(0x1000 + i, code[i]);
    }
    Cpu cpu = d.vcpus().get(0).cpu();
    cpu.setEip(0x1000);
    cpu.setReg(Cpu.ESP, 0x8000);
    hv.setSchedulerParameters(d, weight, 0);
    hv.unpause(d);
    return d;
  }

  @Test
  void sharesFollowTickets() {
    Hypervisor hv = HypervisorFactory.create("lottery", "default", 64);
    Domain a = spinner(hv, "a", 100);
    Domain b = spinner(hv, "b", 300);
    long ran = hv.run(3 * Hypervisor.HZ);
    double shareA = (double) a.totals().cycles / ran;
    double shareB = (double) b.totals().cycles / ran;
    System.out.printf("lottery 100:300 tickets: a %.4f b %.4f after %d draws%n", shareA, shareB,
        ((LotteryScheduler) hv.scheduler()).draws());
    // 3,000 draws: a standard deviation of 0.008 on a share of 0.25; allow three.
    assertThat(shareA).isCloseTo(0.25, within(0.025));
    assertThat(shareB).isCloseTo(0.75, within(0.025));
    // Tickets are weights; there are no caps, and a cap is refused rather than ignored.
    assertThatThrownBy(() -> hv.setSchedulerParameters(a, 100, 50))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("the lottery scheduler ignores caps: cap 50%");
    assertThat(a.cap()).isZero();
  }
}
