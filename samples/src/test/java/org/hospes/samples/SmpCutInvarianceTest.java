package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.time.Runstate;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The {@code smp} kernel with 2 vCPUs (IPIs, a contended spinlock, PAUSE exits, dom0's device
 * model on COM1) gives the same counts however its run is cut: in one call, in HvmMachine's
 * 1 ms slices, and in small uneven steps, on 1 and on 2 physical CPUs, every vCPU's
 * instructions, cycles and runstate times, the virtual time, the pCPUs' busy time and the
 * serial output are identical.
 */
class SmpCutInvarianceTest {
  private static final long[] STEPS = {1, 7, 1000, 12_345, 3, 250_001, 99_991, 2, 40_000};

  /** Runs the kernel to its end with {@code steps} (null: HvmMachine.run), as text to compare. */
  static String run(int pcpus, LongSupplier steps) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 64, 2, serial,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    Hypervisor hv = m.hypervisor();
    hv.setPcpus(pcpus);
    m.loadMultiboot(TestKernels.anyElf("smp"), null);
    Domain d = m.domain();
    int status = -1;
    if (steps == null) {
      RunResult r = m.run(2_000_000_000L);
      status = r.exitStatus();
    } else {
      while (!d.state().isFinal() && hv.step(steps.getAsLong())) {
        // On to the domain's end, however the steps fall.
      }
      m.deviceModel().com1().flush();
      status = d.exitStatus();
    }
    StringBuilder b = new StringBuilder();
    if (steps != null) {
      // Stepping stops at the step that ended the domain, the same in every way of stepping.
      b.append("now ").append(hv.now()).append('\n');
    }
    b.append("state ").append(d.state()).append(" status ").append(status).append('\n');
    for (int i = 0; i < pcpus; i++) {
      b.append("pcpu").append(i).append(" busy ").append(hv.pcpu(i).busyCycles())
          .append(" migrations ").append(hv.pcpu(i).migrations()).append('\n');
    }
    for (Domain dom : hv.domains()) {
      for (Vcpu v : dom.vcpus()) {
        Runstate rs = v.runstate();
        b.append(dom.name()).append('.').append(v.id()).append(" insns ")
            .append(v.counters().instructions).append(" cycles ").append(v.counters().cycles)
            .append(" exits ").append(v.counters().totalExits()).append(" runstate ")
            .append(rs.state()).append(" since ").append(rs.entryTime()).append(" before");
        for (int s = 0; s < 4; s++) {
          // Up to the last transition: after the domain's end, time goes on as far as the
          // caller lets it (HvmMachine.run to the end of its 1 ms slice).
          b.append(' ').append(rs.timeIn(s, rs.entryTime()));
        }
        b.append('\n');
      }
    }
    b.append(serial.toString(StandardCharsets.ISO_8859_1));
    System.out.printf("smp, %d pCPU(s), %s: status %d%n", pcpus,
        steps == null ? "HvmMachine.run" : "steps", status);
    return b.toString();
  }

  @ParameterizedTest(name = "{0} pCPU(s)")
  @ValueSource(ints = {1, 2})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void oneCallSlicesAndUnevenStepsGiveTheSameRun(int pcpus) throws Exception {
    String one = run(pcpus, () -> Long.MAX_VALUE);
    assertThat(one).contains("smp: all checks passed");
    System.out.print(one);
    int[] i = {0};
    assertThat(run(pcpus, () -> STEPS[i[0]++ % STEPS.length])).isEqualTo(one);
    assertThat(run(pcpus, null)).isEqualTo(one.substring(one.indexOf('\n') + 1));
    SplittableRandom random = new SplittableRandom(pcpus);
    assertThat(run(pcpus, () -> 1L + random.nextLong(1L << random.nextInt(24)))).isEqualTo(one);
  }
}
