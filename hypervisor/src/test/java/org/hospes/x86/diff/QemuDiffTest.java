package org.hospes.x86.diff;

import org.junit.jupiter.api.Test;

/**
 * Differential test against QEMU user mode ({@code qemu-i386}) for the forms 64-bit mode lacks
 * (see {@link QemuForms}). At least 10,000 cases per {@code mvn verify};
 * {@code -Dhospes.diff.qemu=N} runs more.
 *
 * <p>QEMU is not hardware. Where it disagrees with the Intel SDM, the SDM wins and the case is
 * excluded in the generator with a comment naming it.
 */
class QemuDiffTest {
  static final int SCRATCH = 512;

  @Test
  void emulatorMatchesQemuOnFormsThatLongModeLacks() {
    DiffSuite.run("QemuDiffTest", NativeHarness.Kind.QEMU32, SCRATCH, "hospes.diff.qemu", 10_000,
        (rnd, index) -> QemuForms.generate(rnd, SCRATCH));
  }
}
