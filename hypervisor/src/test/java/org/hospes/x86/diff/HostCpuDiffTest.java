package org.hospes.x86.diff;

import org.junit.jupiter.api.Test;

/**
 * Differential test against the host CPU in 64-bit mode: every user-level form whose semantics
 * are the same there with 8/16/32-bit operands (see {@link HostForms}). At least 100,000 cases
 * per {@code mvn verify}; {@code -Dhospes.diff.host=N} runs more.
 */
class HostCpuDiffTest {
  static final int SCRATCH = 256;

  @Test
  void emulatorMatchesTheHostCpuOnGeneratedInstructions() {
    DiffSuite.run("HostCpuDiffTest", NativeHarness.Kind.HOST64, SCRATCH, "hospes.diff.host", 100_000,
        (rnd, index) -> HostForms.generate(rnd, SCRATCH, true));
  }
}
