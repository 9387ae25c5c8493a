package org.hospes.hv.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A fuzzer's seed or count from {@code -D}: a value that is not a number is refused with the
 * property named, never replaced by the default (Long.getLong ran the default seed for
 * {@code -Dhospes.xsfuzz.seed=abc}, and the output looked like a run of another seed).
 */
class TestPropertiesTest {
  private static final String NAME = "hospes.testproperties.check";

  @AfterEach
  void clear() {
    System.clearProperty(NAME);
  }

  @Test
  void aSeedThatIsNotANumberIsRefusedWithItsName() {
    System.setProperty(NAME, "abc");
    assertThatThrownBy(() -> TestProperties.longValue(NAME, 7))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("-D" + NAME + "=abc: not a number (give a decimal or 0x hexadecimal one)");
    System.setProperty(NAME, "");
    assertThatThrownBy(() -> TestProperties.longValue(NAME, 7))
        .hasMessageStartingWith("-D" + NAME + "=: not a number");
    System.setProperty(NAME, "lots");
    assertThatThrownBy(() -> TestProperties.count(NAME, 7))
        .hasMessageStartingWith("-D" + NAME + "=lots: not a number");
  }

  @Test
  void numbersAreReadAsTheFuzzersPrintThemAndUnsetIsTheDefault() {
    assertThat(TestProperties.longValue(NAME, 7)).isEqualTo(7);
    assertThat(TestProperties.count(NAME, 9)).isEqualTo(9);
    System.setProperty(NAME, "0x5EED0C5");
    assertThat(TestProperties.longValue(NAME, 7)).isEqualTo(0x5EED0C5L);
    System.setProperty(NAME, "0xFFFFFFFFFFFFFFFF"); // a seed printed with %x
    assertThat(TestProperties.longValue(NAME, 7)).isEqualTo(-1L);
    System.setProperty(NAME, " -12 ");
    assertThat(TestProperties.longValue(NAME, 7)).isEqualTo(-12);
    System.setProperty(NAME, "0");
    assertThatThrownBy(() -> TestProperties.count(NAME, 7))
        .hasMessage("-D" + NAME + "=0: must be 1 to 2147483647");
  }
}
