package org.hospes.hv.hvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.hv.hvm.GuestCode.write;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.x86.Cpu;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Exceptions the hypervisor injects into a guest in real mode, which runs with CR0.PE clear
 * under "unrestricted guest" with EPT, and through the hypervisor's emulator (no unrestricted
 * guest) under shadow paging: they go without an error code, as the VM entry checks demand
 * (SDM 26.2.1.3) and as real mode delivers them; and an entry the checks refuse crashes the
 * domain, saying why.
 */
class RealModeInjectionTest {
  private static final int CODE = 0x1000;
  private static final int HANDLER = 0x1100;
  private static final int MARK = 0x6000;

  private Hypervisor hv;

  /**
   * A real-mode guest at 0100:0000 running {@code code}, with #GP's IVT entry at a handler
   * that stores 0xAA at MARK and halts (interrupts off: the domain shuts down "halted").
   */
  private Domain realModeGuest(DomainMode mode, String code) {
    hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    Domain d = hv.createHvmDomain("g", mode, 2);
    d.memory().write32(13 * 4, HANDLER);
    // mov ax, 0xaa ; mov [MARK], ax ; hlt
    write(d, HANDLER, "b8aa00 a30060 f4");
    // cli ; the instruction ; hlt
    write(d, CODE, "fa " + code + " f4");
    Cpu cpu = d.vcpus().get(0).cpu();
    cpu.startupIpi(CODE >>> 12);
    cpu.setReg(Cpu.ESP, 0x8000);
    hv.unpause(d);
    return d;
  }

  @ParameterizedTest
  @CsvSource({
      // RDMSR of an MSR no one has: the MSR exit's #GP (HvmExitHandler.injectGp), at IP 7.
      "HVM_EPT, 66b978563412 0f32, 7",
      "HVM_SHADOW, 66b978563412 0f32, 7",
      // MOV to CR0 with PG and not PE: the shadow pager's #GP (ShadowControl.crAccess).
      "HVM_SHADOW, 0f20c0 660d00000080 0f22c0, 10"})
  void aRealModeGuestTakesTheInjectedGpWithoutAnErrorCode(DomainMode mode, String code,
      int ip) {
    Domain d = realModeGuest(mode, code);
    hv.run(100_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(d.memory().read16(MARK)).isEqualTo(0xAA);
    // The handler's frame: IP (of the faulting instruction), CS, FLAGS, and no error code.
    assertThat(d.memory().read16(0x8000 - 6)).isEqualTo(ip);
    assertThat(d.memory().read16(0x8000 - 4)).isEqualTo(CODE >>> 4);
    assertThat(d.vcpus().get(0).cpu().reg(Cpu.ESP) & 0xFFFF).isEqualTo(0x8000 - 6);
  }

  /**
   * "Unrestricted guest" requires "enable EPT" (SDM 26.2.1.1): an EPT domain runs its real
   * mode with it, a shadow-paged one without it, through VM86 mode and the hypervisor's
   * emulator, which runs in root mode and delivers the injected #GP through the IVT.
   */
  @ParameterizedTest
  @CsvSource({"HVM_EPT, true", "HVM_SHADOW, false"})
  void onlyAnEptDomainRunsAsAnUnrestrictedGuest(DomainMode mode, boolean unrestricted) {
    Domain d = realModeGuest(mode, "66b978563412 0f32");
    hv.run(100_000_000L);
    assertThat(d.state()).as("%s", d.endReason()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(d.memory().read16(MARK)).isEqualTo(0xAA);
    assertThat(d.vcpus().get(0).vmcs().has(VmcsField.SECONDARY_VM_EXEC_CONTROL,
        VmxControls.PROC2_UNRESTRICTED_GUEST)).isEqualTo(unrestricted);
    assertThat(d.vcpus().get(0).counters().realModeEmulations > 0).isEqualTo(!unrestricted);
  }

  /** Xen's vmx_vmentry_failure: VMRESUME's VMfailValid crashes the domain, with the error. */
  @Test
  void anEntryTheControlChecksRefuseCrashesTheDomainSayingWhy() {
    Domain d = realModeGuest(DomainMode.HVM_EPT, "90");
    d.vcpus().get(0).vmcs().write(VmcsField.VM_ENTRY_INTR_INFO_FIELD,
        VmxControls.intrInfo(0x30, 1, false));
    hv.run(100_000_000L);
    assertThat(d.state()).isEqualTo(DomainState.CRASHED);
    assertThat(d.endReason()).startsWith("VMRESUME error: 7 (injecting 0x80000130");
  }
}
