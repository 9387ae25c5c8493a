package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * WRMSR to the MTRRs checks the value as the SDM (vol. 3, 12.11) and Xen's mtrr.c do: only the
 * memory types UC (0), WC (1), WT (4), WP (5) and WB (6); in a variable range's base bits 11:8
 * are reserved, in its mask bits 10:0; bits at and above MAXPHYADDR (36) are reserved in both;
 * a fixed-range MTRR holds eight types; MTRRdefType has the type, FE and E. Anything else is
 * #GP(0).
 */
class MtrrMsrTest {
  private final SystemFixture m = new SystemFixture();

  static Stream<Arguments> writes() {
    return Stream.of(
        // msr, edx:eax, accepted
        Arguments.of(0x200, 0xF_1234_5006L, true),     // base: WB, bits 35:32 in range
        Arguments.of(0x200, 0x1234_5002L, false),      // type 2 is reserved
        Arguments.of(0x200, 0x1234_5007L, false),      // type 7 is reserved
        Arguments.of(0x200, 0x1234_5106L, false),      // bit 8 reserved in a base
        Arguments.of(0x20E, 0x10_0000_0006L, false),   // bit 36: above MAXPHYADDR
        Arguments.of(0x201, 0xF_FFFF_F800L, true),     // mask: valid, 36-bit mask
        Arguments.of(0x201, 0xF_FFFF_F801L, false),    // bit 0 reserved in a mask
        Arguments.of(0x20F, 0x8000_0000_0000_0800L, false), // bit 63
        Arguments.of(0x250, 0x0606_0505_0404_0100L, true),  // fixed: all valid types
        Arguments.of(0x268, 0x0606_0606_0606_0603L, false), // one byte of type 3
        Arguments.of(0x26F, 0x0800_0000_0000_0000L, false), // type 8
        Arguments.of(0x2FF, 0xC06L, true),             // defType: E, FE, WB
        Arguments.of(0x2FF, 0xC03L, false),            // defType with type 3
        Arguments.of(0x2FF, 0x1006L, false));          // defType bit 12 reserved
  }

  @ParameterizedTest(name = "wrmsr {0} <- {1}: accepted {2}")
  @MethodSource("writes")
  void anMtrrTakesOnlyWhatTheSdmAllows(int msr, long value, boolean accepted) {
    // wrmsr ; rdmsr ; hlt
    m.code(SystemFixture.RING0, "b9" + SystemFixture.le(msr) + " b8"
        + SystemFixture.le((int) value) + " ba" + SystemFixture.le((int) (value >>> 32))
        + " 0f30 0f32 f4");
    if (accepted) {
      assertThat(m.run()).isEqualTo(CpuExit.HLT);
      assertThat(m.cpu.reg(Cpu.EAX)).isEqualTo((int) value);
      assertThat(m.cpu.reg(Cpu.EDX)).isEqualTo((int) (value >>> 32));
    } else {
      assertThat(m.run()).isEqualTo(CpuExit.EXCEPTION);
      assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.GP);
      assertThat(m.cpu.exceptionErrorCode()).isZero();
    }
  }
}
