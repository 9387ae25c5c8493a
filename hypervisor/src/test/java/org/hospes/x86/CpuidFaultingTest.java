package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * CPUID faulting, as Xen offers it to HVM guests: MSR_PLATFORM_INFO (0xCE, read-only) has bit 32
 * set, MSR_MISC_FEATURES_ENABLES (0x140) bit 0 turns it on, and then CPUID at CPL > 0 is #GP(0)
 * while ring 0 still runs it. Other bits of 0x140 and any write to 0xCE are #GP(0).
 */
class CpuidFaultingTest {
  /**
   * rdmsr 0xCE ; esi = eax ; edi = edx ; wrmsr 0x140 = 1 ; xor eax, eax ; cpuid (ring 0) ;
   * ebp = ebx.
   */
  private static final String ENABLE = "b9ce000000 0f32 89c6 89d7 b940010000 b801000000 31d2 0f30"
      + " 31c0 0fa2 89dd";

  private final SystemFixture m = new SystemFixture();

  private void expectGp0() {
    assertThat(m.run()).isEqualTo(CpuExit.EXCEPTION);
    assertThat(m.cpu.exceptionVector()).isEqualTo(Exceptions.GP);
    assertThat(m.cpu.exceptionErrorCode()).isZero();
  }

  @Test
  void platformInfoSaysCpuidFaultingIsSupported() {
    m.code(SystemFixture.RING0, ENABLE + " f4");
    assertThat(m.run()).isEqualTo(CpuExit.HLT);
    assertThat(m.cpu.reg(Cpu.ESI)).isZero();
    assertThat(m.cpu.reg(Cpu.EDI)).as("bit 32").isEqualTo(1);
    assertThat(m.cpu.reg(Cpu.EBP)).as("ring 0 CPUID runs: 'Genu'").isEqualTo(0x756E_6547);
  }

  @Test
  void cpuidAtCpl3FaultsOnceEnabled() {
    m.code(SystemFixture.RING0, ENABLE + " " + SystemFixture.IRET_TO_USER);
    m.code(SystemFixture.USER, "31c0 0fa2");              // xor eax, eax ; cpuid
    expectGp0();
    assertThat(m.cpu.cpl()).isEqualTo(3);
    assertThat(m.cpu.eip()).isEqualTo(SystemFixture.USER + 2);
  }

  @Test
  void cpuidAtCpl3RunsWhileDisabled() {
    m.code(SystemFixture.RING0, SystemFixture.IRET_TO_USER);
    m.code(SystemFixture.USER, "31c0 0fa2 fa");           // xor eax, eax ; cpuid ; cli
    expectGp0();
    assertThat(m.cpu.eip()).as("the CLI faults, not CPUID").isEqualTo(SystemFixture.USER + 4);
  }

  @Test
  void reservedMiscFeatureBitsAreGp0() {
    m.code(SystemFixture.RING0, "b940010000 b802000000 31d2 0f30");
    expectGp0();
  }

  @Test
  void platformInfoIsReadOnly() {
    m.code(SystemFixture.RING0, "b9ce000000 31c0 31d2 0f30");
    expectGp0();
  }
}
