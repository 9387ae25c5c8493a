package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * MOV to CR4 on the bare processor: a bit whose feature CPUID.1:EDX does not report is
 * reserved and setting it is #GP(0) (SDM vol. 3, 2.5, 2.6); a bit whose feature it reports
 * sticks. The expectation is derived here from the CPUID the guest itself reads, bit by bit,
 * so the two can never disagree: DE and MCE once stuck although CPUID reports neither.
 */
class Cr4FeatureBitsTest {
  /** CR4 bit -> the CPUID.1:EDX bits any one of which makes it valid (-1: always valid). */
  private static int featureOf(int cr4Bit) {
    return switch (cr4Bit) {
      case 0, 1 -> 1 << 1;            // VME, PVI: VME
      case 2 -> 1 << 4;               // TSD: TSC
      case 3 -> 1 << 2;               // DE: DE
      case 4 -> 1 << 3;               // PSE: PSE
      case 5 -> 1 << 6;               // PAE: PAE
      case 6 -> 1 << 7 | 1 << 14;     // MCE: MCE or MCA
      case 7 -> 1 << 13;              // PGE: PGE
      case 8 -> -1;                   // PCE: every P6
      case 9 -> 1 << 24;              // OSFXSR: FXSR
      case 10 -> 1 << 25;             // OSXMMEXCPT: SSE
      default -> 0;                   // nothing an i686 without CPUID leaf 7 has
    };
  }

  private static int cpuid1Edx(SystemFixture m) {
    m.cpu.setReg(Cpu.EAX, 1);
    m.cpu.setReg(Cpu.ECX, 0);
    m.cpu.executeCpuid();
    return m.cpu.reg(Cpu.EDX);
  }

  // Not PAE (bit 5): with paging on, setting it loads PDPTEs from CR3, and the fixture's page
  // directory read as a PDPT has reserved bits set (#GP(0) for another reason).
  @ParameterizedTest(name = "CR4 bit {0}")
  @ValueSource(ints = {0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 13, 16, 17, 18, 20, 21, 22})
  void aCr4BitIsSettableExactlyWhenCpuidReportsItsFeature(int bit) {
    SystemFixture m = new SystemFixture();
    int edx = cpuid1Edx(m);
    boolean valid = featureOf(bit) == -1 || (edx & featureOf(bit)) != 0;
    // mov eax, cr4 ; or eax, 1 << bit ; mov cr4, eax ; mov ebx, cr4 ; hlt
    m.code(SystemFixture.RING0, "0f20e0 0d" + SystemFixture.le(1 << bit) + " 0f22e0 0f20e3 f4");
    int exit = m.run();
    if (valid) {
      assertThat(exit).isEqualTo(CpuExit.HLT);
      assertThat(m.cpu.reg(Cpu.EBX) & 1 << bit).as("the bit sticks").isNotZero();
    } else {
      assertThat(exit).isEqualTo(CpuExit.EXCEPTION);
      assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.GP);
      assertThat(m.cpu.exceptionErrorCode()).isZero();
      assertThat(m.cpu.eip()).as("at the MOV").isEqualTo(SystemFixture.RING0 + 8);
      assertThat(m.cpu.cr4() & 1 << bit).as("unchanged").isZero();
    }
  }

  @ParameterizedTest(name = "CR4 bit {0}")
  @ValueSource(ints = {3, 6})
  void debuggingExtensionsAndMachineCheckAreNotReportedSoTheirBitsAreGp0(int bit) {
    // This processor has neither I/O breakpoints (CR4.DE) nor the machine-check architecture,
    // and its CPUID says so: the bits are reserved, as on a part without the features and
    // as Xen's hvm_cr4_guest_valid_bits makes them for a guest whose CPUID lacks them.
    SystemFixture m = new SystemFixture();
    assertThat(cpuid1Edx(m) & (1 << 2 | 1 << 7 | 1 << 14)).as("DE, MCE, MCA").isZero();
    m.code(SystemFixture.RING0, "b8" + SystemFixture.le(1 << bit) + " 0f22e0 f4");
    assertThat(m.run()).isEqualTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.GP);
    assertThat(m.cpu.exceptionErrorCode()).isZero();
    assertThat(Cpu.CR4_VALID & 1 << bit).isZero();
  }
}
