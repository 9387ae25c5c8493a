package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.cli.HospesCli;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.stats.Counters;
import org.hospes.x86.vmx.ExitReason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Xen's HVM forced-emulation prefix ({@code --hvm-fep}) with samples/kernels/fep.c: each case
 * gives the same result directly and behind the prefix, faults are reported at the instruction
 * after the prefix, and every use is one #UD exit and one monitor-trap exit. Without the option
 * the kernel's output is QEMU's (golden/fep.out, checked by the golden tests in every mode).
 */
class FepKernelTest {
  /** Prefix uses in fep.c: the probe, cpuid, add, add to memory, rep movsb, 4 inb, div, ud2. */
  private static final int FORCED = 11;

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void theInstructionAfterThePrefixRunsThroughTheHypervisor(DomainMode mode) throws Exception {
    Path elf = TestKernels.elf("fep");
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine machine = HvmMachine.create(mode, 64, serial,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    machine.hypervisor().enableForcedEmulation();
    machine.loadMultiboot(elf, null);
    RunResult result = machine.run();

    assertThat(serial.toString(StandardCharsets.ISO_8859_1)).as("%s; %s", result, diag)
        .isEqualTo("""
            fep: the prefix runs the instruction after it
            cpuid 0                      direct and forced agree
            add, result and flags        direct and forced agree
            add to memory                direct and forced agree
            rep movsb                    direct and forced agree
            fw_cfg signature by inb      direct and forced agree
            div by zero, forced: #0 at the div
            ud2, forced: #6 at the second ud2
            """);
    assertThat(result.exitStatus()).isEqualTo(33);
    Counters c = machine.domain().totals();
    assertThat(c.forcedEmulations).isEqualTo(FORCED);
    assertThat(c.exitCount[ExitReason.MONITOR_TRAP_FLAG.code()]).isEqualTo(FORCED);
    // One #UD exit per prefix, and one for the ud2 behind the last prefix, given to the guest.
    long exceptionExits = c.exitCount[ExitReason.EXCEPTION_NMI.code()];
    if (mode == DomainMode.HVM_EPT) {
      assertThat(exceptionExits).isEqualTo(FORCED + 1);
    } else {
      assertThat(exceptionExits - c.shadowFaults).isEqualTo(FORCED + 1);
    }
  }

  @Test
  void theOptionIsRefusedWhereNothingRunsInVmxNonRootOperation() throws Exception {
    String elf = TestKernels.elf("fep").toString();
    for (String mode : new String[] {"native", "pv"}) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      assertThat(HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
          new PrintStream(err, true, StandardCharsets.UTF_8))
          .execute("run", "--mode", mode, "--hvm-fep", elf)).isEqualTo(2);
      assertThat(out.size()).isZero();
      assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("hospes: --hvm-fep needs a mode that runs in VMX"
          + " non-root operation (hvm, hvm-shadow, pvhvm or pvh), not " + mode + "\n");
    }
  }
}
