package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.bench.QemuRunner;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.x86.vmx.ExitReason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The {@code smp} kernel in HVM domains of 1, 2 and 4 vCPUs: fw_cfg's CPU count, INIT-SIPI-SIPI
 * into a real-mode trampoline (unrestricted guest under EPT; under shadow paging, the shadow
 * pager's identity shadow in VM86 mode, and the emulator), LOCK XADD from every AP, IPIs by
 * physical, logical flat and cluster destinations and the shorthands. Its output must be QEMU's
 * with {@code -smp N}, and a second run must give the same instruction counts per vCPU.
 */
class SmpKernelTest {

  record Run(String serial, int status, long[] instructions, long exits, long pauseExits,
      long cycles) {}

  static Run runHvm(DomainMode mode, int cpus) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(mode, 64, cpus, serial,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    m.loadMultiboot(TestKernels.anyElf("smp"), null);
    RunResult r = m.run(2_000_000_000L);
    Domain d = m.domain();
    long[] insns = d.vcpus().stream().mapToLong(v -> v.counters().instructions).toArray();
    return new Run(serial.toString(StandardCharsets.ISO_8859_1), r.exitStatus(), insns,
        d.totals().totalExits(), d.totals().exitCount[ExitReason.PAUSE.code()],
        m.hypervisor().now());
  }

  @ParameterizedTest(name = "{0} vCPUs")
  @ValueSource(ints = {1, 2, 4})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void theSmpKernelPrintsWhatQemuPrintsWithAsManyCpus(int cpus) throws Exception {
    QemuGoldenTest.requireQemu();
    Run hvm = runHvm(DomainMode.HVM_EPT, cpus);
    assertThat(hvm.serial()).contains("smp: all checks passed")
        .contains("fw_cfg CPUs: " + cpus + "\n");
    assertThat(hvm.status()).isEqualTo(QemuRunner.SUCCESS_STATUS);
    QemuRunner.Result q = QemuRunner.run(TestKernels.anyElf("smp"), cpus, 120);
    assertThat(q.exitStatus()).isEqualTo(QemuRunner.SUCCESS_STATUS);
    assertThat(hvm.serial()).isEqualTo(q.serialText());
  }

  /**
   * Under shadow paging: the APs' real-mode trampoline runs in VM86 mode on the identity shadow,
   * its CLI, LGDT and CR0 accesses emulated, until the MOV to CR0 that sets PE exits, and from there every vCPU has its own
   * guest paging state on the domain's shared shadows. The output is QEMU's, with no EPT
   * violation, and a second run gives the same counts on every vCPU.
   */
  @ParameterizedTest(name = "{0} vCPUs")
  @ValueSource(ints = {2, 4})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void underShadowPagingTheSmpKernelPrintsWhatQemuPrints(int cpus) throws Exception {
    QemuGoldenTest.requireQemu();
    Run shadow = runHvm(DomainMode.HVM_SHADOW, cpus);
    assertThat(shadow.serial()).contains("smp: all checks passed")
        .contains("fw_cfg CPUs: " + cpus + "\n");
    assertThat(shadow.status()).isEqualTo(QemuRunner.SUCCESS_STATUS);
    QemuRunner.Result q = QemuRunner.run(TestKernels.anyElf("smp"), cpus, 120);
    assertThat(q.exitStatus()).isEqualTo(QemuRunner.SUCCESS_STATUS);
    assertThat(shadow.serial()).isEqualTo(q.serialText());
    for (long n : shadow.instructions()) {
      assertThat(n).as("every vCPU ran").isPositive();
    }
    Run again = runHvm(DomainMode.HVM_SHADOW, cpus);
    assertThat(again.instructions()).containsExactly(shadow.instructions());
    assertThat(again.exits()).isEqualTo(shadow.exits());
  }

  private static int cli(ByteArrayOutputStream out, ByteArrayOutputStream err, String... args) {
    return org.hospes.dom0.cli.HospesCli.newCommandLine(
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
  }

  @ParameterizedTest(name = "--sched {0}")
  @ValueSource(strings = {"credit", "rr"})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void hospesRunTakesCpusInHvmModeUnderEitherScheduler(String sched) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = cli(out, err, "run", "--mode", "hvm", "--cpus", "3", "--sched", sched,
        TestKernels.anyElf("smp").toString());
    assertThat(out.toString(StandardCharsets.ISO_8859_1)).as(err.toString())
        .contains("fw_cfg CPUs: 3\n").contains("smp: all checks passed");
    assertThat(status).isEqualTo(QemuRunner.SUCCESS_STATUS);
  }

  /** pvhvm (an HVM domain with Xen's platform device) takes --cpus as hvm does. */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void hospesRunTakesCpusInPvhvmMode() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = cli(out, err, "run", "--mode", "pvhvm", "--cpus", "2",
        TestKernels.anyElf("smp").toString());
    assertThat(out.toString(StandardCharsets.ISO_8859_1)).as(err.toString())
        .contains("fw_cfg CPUs: 2\n").contains("smp: all checks passed");
    assertThat(status).as(err.toString()).isEqualTo(QemuRunner.SUCCESS_STATUS);
  }

  @Test
  void cpusOutsideHvmAndPvhAreRefusedWithTheReason() throws Exception {
    for (String mode : new String[] {"native", "pv"}) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int status = cli(out, err, "run", "--mode", mode, "--cpus", "2",
          TestKernels.anyElf("smp").toString());
      assertThat(status).as(mode).isEqualTo(org.hospes.dom0.machine.ExitStatus.USAGE);
      assertThat(err.toString()).contains("--cpus 2: " + mode + " mode has one vCPU so far");
    }
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    cli(new ByteArrayOutputStream(), err, "run", "--mode", "hvm", "--cpus", "65", "x.elf");
    assertThat(err.toString()).contains("--cpus must be between 1 and 64, got 65");
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void twoRunsOfFourVcpusGiveTheSameCountsOnEveryVcpu() throws Exception {
    Run a = runHvm(DomainMode.HVM_EPT, 4);
    Run b = runHvm(DomainMode.HVM_EPT, 4);
    assertThat(a.serial()).contains("smp: all checks passed");
    assertThat(b.instructions()).containsExactly(a.instructions());
    assertThat(b.exits()).isEqualTo(a.exits());
    assertThat(b.pauseExits()).isEqualTo(a.pauseExits());
    // The spinlock was contended: a waiter's PAUSE exits let the holder run.
    assertThat(a.pauseExits()).isPositive();
    assertThat(b.cycles()).isEqualTo(a.cycles());
    System.out.printf("smp, 4 vCPUs: instructions %s, exits %d (PAUSE %d), %d cycles%n",
        java.util.Arrays.toString(a.instructions()), a.exits(), a.pauseExits(), a.cycles());
    assertThat(java.util.Arrays.stream(a.instructions()).min().getAsLong()).isPositive();
  }
}
