package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.bench.QemuRunner;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The HPET with the {@code hpet} kernel (capabilities, counter, legacy replacement on IRQ 0,
 * periodic and one-shot comparators, a level-triggered status bit) on the native machine and in
 * HVM domains (EPT and shadow paging), each compared with QEMU's HPET.
 */
class HpetKernelTest {

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void nativeAndHvmHpetsAnswerAsQemusDoes() throws Exception {
    QemuGoldenTest.requireQemu();
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    NativeMachine n = NativeMachine.builder().ramMiB(64).serialOut(serial).build();
    n.loadMultiboot(TestKernels.anyElf("hpet"), null);
    assertThat(n.run().exitStatus()).isEqualTo(33);
    String nativeOut = serial.toString(StandardCharsets.ISO_8859_1);
    assertThat(nativeOut).contains("capabilities 0x8086a201, period 10000000 fs")
        .doesNotContain(" NO\n");
    int[] status = new int[1];
    String hvm = runHvm(DomainMode.HVM_EPT, status);
    assertThat(status[0]).isEqualTo(33);
    String shadow = runHvm(DomainMode.HVM_SHADOW, status);
    assertThat(status[0]).isEqualTo(33);
    QemuRunner.Result q = QemuRunner.run(TestKernels.anyElf("hpet"), 120);
    assertThat(q.exitStatus()).isEqualTo(QemuRunner.SUCCESS_STATUS);
    assertThat(nativeOut).isEqualTo(q.serialText());
    assertThat(hvm).isEqualTo(q.serialText());
    assertThat(shadow).as("shadow paging reaches the HPET through MMIO faults")
        .isEqualTo(q.serialText());
  }

  private static String runHvm(DomainMode mode, int[] status) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(mode, 64, serial,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    m.loadMultiboot(TestKernels.anyElf("hpet"), null);
    RunResult r = m.run();
    status[0] = r.exitStatus();
    return serial.toString(StandardCharsets.ISO_8859_1);
  }
}
