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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The local APIC an HVM domain gets in the hypervisor, checked against QEMU's APIC with the
 * {@code lapic} kernel (timer periodic and one-shot, HLT wake-up, masking, TPR, self-IPIs with
 * interrupts off and on, EOI), in HVM domains (EPT, and shadow paging, where the APIC page is
 * reached through the shadow pager's MMIO faults) and on the native machine.
 */
class LapicTest {

  /** Runs {@code kernel} in an HVM domain; its COM1 output, once it ended with status 33. */
  private static String runHvm(DomainMode mode, String kernel) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(mode, 64, serial,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    m.loadMultiboot(TestKernels.anyElf(kernel), null);
    RunResult r = m.run();
    String out = serial.toString(StandardCharsets.ISO_8859_1);
    assertThat(r.exitStatus()).as(out).isEqualTo(33);
    return out;
  }

  /** Runs {@code kernel} on the native machine; its COM1 output, once it ended with 33. */
  private static String runNative(String kernel) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    NativeMachine n = NativeMachine.builder().ramMiB(64).serialOut(serial).build();
    n.loadMultiboot(TestKernels.anyElf(kernel), null);
    RunResult r = n.run();
    String out = serial.toString(StandardCharsets.ISO_8859_1);
    assertThat(r.exitStatus()).as(out).isEqualTo(33);
    return out;
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void theHvmLocalApicBehavesAsQemusDoes(DomainMode mode) throws Exception {
    QemuGoldenTest.requireQemu();
    String hvm = runHvm(mode, "lapic");
    assertThat(hvm).contains("lapic: all checks passed").doesNotContain(" NO\n");
    QemuRunner.Result q = QemuRunner.run(TestKernels.anyElf("lapic"), 120);
    assertThat(q.exitStatus()).isEqualTo(QemuRunner.SUCCESS_STATUS);
    assertThat(hvm).isEqualTo(q.serialText());
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void theNativeLocalApicBehavesAsQemusDoes() throws Exception {
    QemuGoldenTest.requireQemu();
    String out = runNative("lapic");
    assertThat(out).contains("lapic: all checks passed").doesNotContain(" NO\n");
    QemuRunner.Result q = QemuRunner.run(TestKernels.anyElf("lapic"), 120);
    assertThat(out).isEqualTo(q.serialText());
  }

  /** What Xen's vlapic_mmio_read and vlapic_mmio_write make of the apicwidth kernel's accesses. */
  private static final String XEN_WIDTHS = String.join("\n",
      "apicwidth: narrow and unaligned local APIC accesses",
      "TPR, 32 bits at 0x80: 00000054",
      "TPR, 8 bits at 0x80 and 0x81, 16 bits at 0x80: 54 00 0054",
      "version, 8 bits at 0x32, 16 bits at 0x32: 05 0005",
      "version, 32 bits at 0x34: 00000000",
      "version, 16 bits at 0x33: 0000",
      "TPR after an 8-bit write of 0x21 at 0x80: 00000021",
      "TPR after a 16-bit write of 0x1332 at 0x80: 00000032",
      "TPR after a 32-bit write of 0x33 at 0x84: 00000032",
      "apicwidth: done", "");

  /**
   * Accesses the SDM leaves model-specific (narrower than 32 bits, or not at a register's
   * first byte): the native machine answers as QEMU's APIC, its yardstick, does (a narrow read
   * gives 0, a narrow write is dropped, a 32-bit access anywhere in a register's 16 bytes
   * reaches it).
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void narrowAndUnalignedAccessesOnTheNativeMachineAreQemus() throws Exception {
    QemuGoldenTest.requireQemu();
    String out = runNative("apicwidth");
    QemuRunner.Result q = QemuRunner.run(TestKernels.anyElf("apicwidth"), 120);
    assertThat(out).isEqualTo(q.serialText()).isNotEqualTo(XEN_WIDTHS);
  }

  /**
   * In an HVM domain the same accesses are Xen's: one that fits in the register's first 4
   * bytes reads its bytes or merges into them, any other reads 0 and writes nothing.
   */
  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void narrowAndUnalignedAccessesInAnHvmDomainAreXens(DomainMode mode) throws Exception {
    assertThat(runHvm(mode, "apicwidth")).isEqualTo(XEN_WIDTHS);
  }
}
