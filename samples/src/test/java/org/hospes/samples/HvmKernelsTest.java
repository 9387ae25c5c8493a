package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.stats.Counters;
import org.hospes.x86.vmx.ExitReason;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Boots each multiboot test kernel in an HVM domain (EPT, then shadow paging) and checks that its serial output is
 * byte for byte the golden file the native machine and QEMU also produce, with the counters
 * pointing the expected way: every port access is an I/O exit.
 */
class HvmKernelsTest {

  static List<String> kernels() throws Exception {
    return TestKernels.names();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kernels")
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void serialOutputMatchesGoldenInAnEptDomain(String name) throws Exception {
    Counters c = runAndCompare(name, DomainMode.HVM_EPT);
    assertThat(c.shadowFaults).isZero();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kernels")
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void serialOutputMatchesGoldenInAShadowDomain(String name) throws Exception {
    Counters c = runAndCompare(name, DomainMode.HVM_SHADOW);
    assertThat(c.eptViolations).as("EPT violations").isZero();
    assertThat(c.shadowFaults).as("shadow faults").isPositive();
    // Most shadow faults are #PF exits; a few come from the memory side of string I/O.
    assertThat(c.exitCount[ExitReason.EXCEPTION_NMI.code()]).as("#PF exits").isPositive();
    assertThat(c.shadowFaultsInjected).as("injected faults").isLessThanOrEqualTo(c.shadowFaults);
  }

  private static Counters runAndCompare(String name, DomainMode mode) throws Exception {
    Path elf = TestKernels.elf(name);
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine machine = HvmMachine.create(mode, 64, serial,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    machine.loadMultiboot(elf, null);

    RunResult result = machine.run();

    String actual = new String(serial.toByteArray(), StandardCharsets.ISO_8859_1);
    String expected = new String(TestKernels.golden(name), StandardCharsets.ISO_8859_1);
    assertThat(actual)
        .as("serial output of %s in %s (run ended: %s; %s)", name, mode.cliName(), result, diag)
        .isEqualTo(expected);
    assertThat(result.exitStatus()).as("exit status of %s (%s)", name, result).isEqualTo(33);
    Counters c = machine.domain().totals();
    assertThat(c.exitCount[ExitReason.IO_INSTRUCTION.code()])
        .as("I/O exits").isGreaterThanOrEqualTo(c.ioreqs).isPositive();
    return c;
  }
}
