package org.hospes.dom0.machine;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.hvm.HvmPlatform;
import org.junit.jupiter.api.Test;

/** Which ends of a run count as the kernel stopping by itself, for the run line's label. */
class RunResultTest {

  @Test
  void haltsDebugExitsShutdownsAndAcpiSoftOffAreNotFailures() {
    assertThat(new RunResult(0, RunResult.HALTED, 1).isFailure()).isFalse();
    assertThat(new RunResult(33, RunResult.DEBUG_EXIT, 1).isFailure()).isFalse();
    assertThat(new RunResult(0, "shutdown: poweroff", 1).isFailure()).isFalse();
    assertThat(new RunResult(0, HvmPlatform.ACPI_SOFT_OFF, 1).isFailure()).isFalse();
    assertThat(new RunResult(130, "stopped: interrupted (SIGINT)", 1).isStopped()).isTrue();
    assertThat(new RunResult(3, "triple fault at eip=0x00001000", 1).isFailure()).isTrue();
    assertThat(new RunResult(4, "instruction limit of 10 reached", 1).isFailure()).isTrue();
  }
}
