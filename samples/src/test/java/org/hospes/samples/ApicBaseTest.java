package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * IA32_APIC_BASE with the {@code apicbase} kernel on the native machine and in HVM domains (EPT
 * and shadow paging):
 * reserved bits, x2APIC and a moved window raise #GP, the BSP flag reads back, clearing the
 * global enable bit hides the APIC (CPUID, window, delivery, timer) and setting it again brings
 * it back in its power-up state. Checked against the SDM and Xen 4.17, not QEMU, which cannot
 * re-enable a disabled APIC.
 */
class ApicBaseTest {

  @Test
  void theNativeMachineFollowsTheSdmAndXen() throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    NativeMachine n = NativeMachine.builder().ramMiB(64).serialOut(serial).build();
    n.loadMultiboot(TestKernels.anyElf("apicbase"), null);
    RunResult r = n.run();
    assertPassed(serial, r);
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void anHvmDomainFollowsTheSdmAndXen(DomainMode mode) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(mode, 64, serial,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    m.loadMultiboot(TestKernels.anyElf("apicbase"), null);
    RunResult r = m.run();
    assertPassed(serial, r);
  }

  private static void assertPassed(ByteArrayOutputStream serial, RunResult r) {
    String out = serial.toString(StandardCharsets.ISO_8859_1);
    assertThat(out).startsWith("apicbase: IA32_APIC_BASE\n")
        .endsWith("apicbase: all checks passed\n").doesNotContain(" NO\n");
    assertThat(out.lines().filter(l -> l.endsWith(" yes")).count()).isEqualTo(30);
    assertThat(r.exitStatus()).isEqualTo(33);
  }
}
