package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.bench.QemuRunner;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The {@code smp} kernel with 2 vCPUs on 1 and on 2 physical CPUs: on two its vCPUs run in
 * parallel, so the virtual time it takes nearly halves, the second pCPU is busy, and it still
 * prints what QEMU prints with {@code -smp 2}; two runs on 2 pCPUs give the same counts.
 */
class SmpPcpusTest {

  record Run(String serial, int status, long virtualTime, long[] instructions, long[] busy,
      long[] idle, long migrations) {}

  static Run run(int pcpus) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 64, 2, serial,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    Hypervisor hv = m.hypervisor();
    hv.setPcpus(pcpus);
    m.loadMultiboot(TestKernels.anyElf("smp"), null);
    RunResult r = m.run(2_000_000_000L);
    Domain d = m.domain();
    long[] busy = new long[pcpus];
    long[] idle = new long[pcpus];
    for (int i = 0; i < pcpus; i++) {
      busy[i] = hv.pcpu(i).busyCycles();
      idle[i] = hv.pcpu(i).idleCycles(hv.now());
    }
    return new Run(serial.toString(StandardCharsets.ISO_8859_1), r.exitStatus(), hv.now(),
        d.vcpus().stream().mapToLong(v -> v.counters().instructions).toArray(), busy, idle,
        d.totals().migrations);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void twoVcpusOnTwoPcpusRunInParallelAndPrintWhatQemuPrints() throws Exception {
    Run one = run(1);
    Run two = run(2);
    System.out.printf("smp, 2 vCPUs: 1 pCPU %,d cycles (busy %s idle %s); 2 pCPUs %,d cycles"
            + " (busy %s idle %s, migrations %d), ratio %.3f; instructions %s vs %s%n",
        one.virtualTime(), java.util.Arrays.toString(one.busy()),
        java.util.Arrays.toString(one.idle()), two.virtualTime(),
        java.util.Arrays.toString(two.busy()), java.util.Arrays.toString(two.idle()),
        two.migrations(), (double) two.virtualTime() / one.virtualTime(),
        java.util.Arrays.toString(one.instructions()),
        java.util.Arrays.toString(two.instructions()));
    for (Run r : new Run[] {one, two}) {
      assertThat(r.serial()).contains("smp: all checks passed").contains("fw_cfg CPUs: 2\n");
      assertThat(r.status()).isEqualTo(QemuRunner.SUCCESS_STATUS);
    }
    assertThat(two.serial()).isEqualTo(one.serial());
    // In parallel: well under the one-pCPU time, and both pCPUs worked.
    assertThat((double) two.virtualTime() / one.virtualTime()).isBetween(0.4, 0.75);
    assertThat(two.busy()[1]).isGreaterThan(two.virtualTime() / 4);
    QemuGoldenTest.requireQemu();
    QemuRunner.Result q = QemuRunner.run(TestKernels.anyElf("smp"), 2, 120);
    assertThat(q.exitStatus()).isEqualTo(QemuRunner.SUCCESS_STATUS);
    assertThat(two.serial()).isEqualTo(q.serialText());
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void twoRunsOnTwoPcpusGiveTheSameCounts() throws Exception {
    Run a = run(2);
    Run b = run(2);
    assertThat(b.virtualTime()).isEqualTo(a.virtualTime());
    assertThat(b.instructions()).containsExactly(a.instructions());
    assertThat(b.busy()).containsExactly(a.busy());
    assertThat(b.idle()).containsExactly(a.idle());
    assertThat(b.migrations()).isEqualTo(a.migrations());
  }
}
