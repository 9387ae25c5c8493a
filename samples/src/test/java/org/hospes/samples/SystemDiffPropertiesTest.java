package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SystemDiffTest's -D settings: a seed, seed count or step count that is not a number, or an
 * only=KIND the kernel does not know, is refused with the property named. Before, the first
 * three ran their defaults (Long.getLong) and the last compared two equal "unknown step kind"
 * outputs and passed, having checked nothing.
 */
class SystemDiffPropertiesTest {
  @AfterEach
  void clear() {
    for (String p : new String[] {"hospes.sysdiff.seeds", "hospes.sysdiff.steps",
        "hospes.sysdiff.only"}) {
      System.clearProperty(p);
    }
  }

  @Test
  void valuesThatCannotBeUsedAreRefusedWithTheirName() {
    System.setProperty("hospes.sysdiff.seeds", "abc");
    assertThatThrownBy(SystemDiffTest::seeds).hasMessage("-Dhospes.sysdiff.seeds=abc: must be"
        + " a whole number from 1 to 4294967295");
    System.setProperty("hospes.sysdiff.steps", "-5");
    assertThatThrownBy(() -> SystemDiffTest.property("hospes.sysdiff.steps", 300, 1))
        .hasMessageStartingWith("-Dhospes.sysdiff.steps=-5: must be a whole number");
    System.setProperty("hospes.sysdiff.only", "segs");
    assertThatThrownBy(SystemDiffTest::only).hasMessage("-Dhospes.sysdiff.only=segs: not a step"
        + " kind (seg, far, int, page, large, shadow, step, v86, task, idt, io, pae, sys)");
  }

  @Test
  void unsetIsTheDefaultAndGoodValuesAreTaken() {
    assertThat(SystemDiffTest.seeds()).containsExactly(1L, 2L, 3L);
    assertThat(SystemDiffTest.only()).isEmpty();
    System.setProperty("hospes.sysdiff.seeds", " 2 ");
    assertThat(SystemDiffTest.seeds()).containsExactly(1L, 2L);
    System.setProperty("hospes.sysdiff.only", "v86");
    assertThat(SystemDiffTest.only()).isEqualTo("v86");
  }
}
