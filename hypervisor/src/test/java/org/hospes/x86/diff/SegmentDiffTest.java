package org.hospes.x86.diff;

import org.junit.jupiter.api.Test;

/**
 * Segment-register loads and stores, far-pointer loads and 16-bit-operand near transfers at CPL 3,
 * against {@code qemu-i386} ({@link SegmentForms}): registers, flags, the six selectors, the
 * fault with its error code, and a page fault's address. 3,000 cases per {@code mvn verify};
 * {@code -Dhospes.diff.segment=N} runs more.
 */
class SegmentDiffTest {
  static final int SCRATCH = 512;

  @Test
  void segmentLoadsAndSixteenBitTransfersMatchQemu() {
    DiffSuite.run("SegmentDiffTest", NativeHarness.Kind.QEMU32, SCRATCH, "hospes.diff.segment",
        3_000, (rnd, index) -> SegmentForms.generate(rnd, SCRATCH));
  }
}
