package org.hospes.x86.diff;

import org.junit.jupiter.api.Test;

/**
 * Differential test of MMX, SSE and SSE2 against the host CPU in 64-bit mode (every form there
 * has the same semantics on XMM0-7 and MM0-7): see {@link SimdForms} for how the XMM, MMX and
 * MXCSR state reaches the compared window. 6,000 cases per {@code mvn verify};
 * {@code -Dhospes.diff.simd=N} runs more.
 */
class SimdHostDiffTest {
  @Test
  void emulatorMatchesTheHostCpuOnSimdInstructions() {
    DiffSuite.run("SimdHostDiffTest", NativeHarness.Kind.HOST64, SimdForms.SCRATCH,
        SimdForms.CODE_MAX, "hospes.diff.simd", 6_000, (rnd, index) -> SimdForms.generate(rnd));
  }
}
