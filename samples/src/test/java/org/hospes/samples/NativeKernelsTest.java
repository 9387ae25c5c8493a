package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Boots each multiboot test kernel of {@code samples/kernels} on the Hospes native machine and
 * checks that its serial output equals the golden file recorded under QEMU, byte for byte, and
 * that it ended through the debug-exit port with status 33.
 */
class NativeKernelsTest {

  static List<String> kernels() throws Exception {
    return TestKernels.names();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kernels")
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void serialOutputMatchesGolden(String name) throws Exception {
    Path elf = TestKernels.elf(name);
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    NativeMachine machine = NativeMachine.builder().ramMiB(64).serialOut(serial).build();
    machine.loadMultiboot(elf, name + ".elf");

    RunResult result = machine.run();

    // ISO-8859-1 maps bytes to chars one to one, so equal strings mean equal bytes, and a
    // mismatch is shown as a readable diff.
    String actual = new String(serial.toByteArray(), StandardCharsets.ISO_8859_1);
    String expected = new String(TestKernels.golden(name), StandardCharsets.ISO_8859_1);
    assertThat(actual)
        .as("serial output of %s (run ended: %s)", name, result)
        .isEqualTo(expected);
    assertThat(result.exitStatus())
        .as("exit status of %s (reason: %s, %d instructions)", name, result.reason(),
            result.instructions())
        .isEqualTo(33);
  }

  /**
   * Virtual time makes timer interrupts part of the deterministic run: two runs of the timer
   * kernel retire the same instructions, take the same interrupts and end at the same cycle.
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void theTimerKernelRunsIdenticallyTwice() throws Exception {
    Path elf = TestKernels.elf("timer");
    long[][] runs = new long[2][];
    for (int i = 0; i < 2; i++) {
      NativeMachine machine = NativeMachine.builder().ramMiB(64)
          .serialOut(new ByteArrayOutputStream()).build();
      machine.loadMultiboot(elf, null);
      RunResult result = machine.run();
      assertThat(result.exitStatus()).isEqualTo(33);
      runs[i] = new long[] {result.instructions(), machine.cpu().cycles(),
          machine.pic().acknowledgeCount()};
    }
    assertThat(runs[1]).containsExactly(runs[0]);
    assertThat(runs[0][2]).as("timer interrupts taken").isGreaterThan(30);
    assertThat(runs[0][1]).as("HLT skipped virtual time").isGreaterThan(runs[0][0]);
  }
}
