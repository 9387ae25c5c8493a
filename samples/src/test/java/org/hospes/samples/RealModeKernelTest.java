package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.cost.CostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.stats.Counters;
import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real mode under shadow paging, as Xen ran it before unrestricted guest: the
 * {@code realmode} kernel (CLI, OUT/IN to COM1, INT 50h through the IVT, PUSHF, STI; HLT
 * taking IRQ 0, MOV from CR0, LGDT, MOV to CR0 both ways, far jumps, big real mode through FS)
 * prints in hvm-shadow what it prints in hvm (unrestricted guest), in native mode and under
 * QEMU (golden/realmode.out), with the same instruction count. Its real mode ran in VM86 mode,
 * the instructions VM86 mode cannot run came back as exception exits and were emulated, and
 * the stretches whose segments are not 8086 segments (after the MOV to CR0 that leaves
 * protected mode, in big real mode) were emulated instruction by instruction. No EPT structure
 * exists in the shadow-paged domain.
 */
class RealModeKernelTest {

  private record Run(String serial, RunResult result, Domain domain, HvmMachine machine) {}

  private static Run run(String kernel, DomainMode mode, int cpus) throws Exception {
    ByteArrayOutputStream serial = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(mode, 64, cpus, serial,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    m.loadMultiboot(TestKernels.anyElf(kernel), null);
    RunResult r = m.run(2_000_000_000L);
    return new Run(serial.toString(StandardCharsets.ISO_8859_1), r, m.domain(), m);
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void realModeInHvmShadowRunsInVm86ModeAndTheEmulatorAndPrintsWhatHvmPrints() throws Exception {
    String golden = new String(TestKernels.golden("realmode"), StandardCharsets.ISO_8859_1);
    Run hvm = run("realmode", DomainMode.HVM_EPT, 1);
    Run shadow = run("realmode", DomainMode.HVM_SHADOW, 1);
    assertThat(hvm.serial()).as("hvm: %s", hvm.result()).isEqualTo(golden);
    assertThat(shadow.serial()).as("hvm-shadow: %s", shadow.result()).isEqualTo(hvm.serial());
    assertThat(shadow.result().exitStatus()).isEqualTo(33);
    Counters h = hvm.domain().totals();
    Counters c = shadow.domain().totals();
    // The same guest instructions, whether the processor or the emulator ran them.
    assertThat(c.instructions).isEqualTo(h.instructions);
    assertThat(h.realModeEmulations).as("unrestricted guest emulates nothing").isZero();

    Vcpu v = shadow.domain().vcpus().get(0);
    // Real mode was entered in VM86 mode more than once: after the segment reloads, after each
    // emulated instruction, after the IRQ 0 handler was entered through the IVT.
    assertThat(v.shadowRealMode().vm86Entries()).isGreaterThan(3);
    // CLI, LIDT, STI, HLT, INT 50h, IRET, PUSHF, MOV from CR0 ... faulted in VM86 mode: each
    // is an exception exit that is not a shadow fault.
    long exceptionExits = c.exitCount[ExitReason.EXCEPTION_NMI.code()];
    assertThat(exceptionExits - c.shadowFaults).isEqualTo(v.shadowRealMode().vm86Faults());
    assertThat(v.shadowRealMode().vm86Faults()).isGreaterThanOrEqualTo(10);
    // Every instruction VM86 mode sent back was emulated, and so was every instruction of the
    // stretches VM86 mode cannot hold: the 8 segment loads after leaving protected mode and
    // the big-real stretch (10 instructions from the far jump into it to the MOV to CR0 that
    // ends it). The far jumps after the MOVs to CR0 that set PE run in the guest: CS (0x0700)
    // and SS have RPL 0, so Xen's loop ends at the MOV to CR0.
    assertThat(c.realModeEmulations).isGreaterThanOrEqualTo(v.shadowRealMode().vm86Faults()
        + 8 + 10);
    // What the emulator cannot finish alone it hands to the exit handlers: the two MOVs to CR0
    // that enter protected mode (from real mode, so in the emulator) and the HLT. As in Xen's
    // vmx_realmode, none of them is a VM exit: no world switch is charged, only the handling.
    CostModel model = shadow.machine().hypervisor().costModel();
    assertThat(c.realModeHandBacks).isEqualTo(3);
    assertThat(c.exitCount[ExitReason.HLT.code()]).isZero();
    // Each emulated instruction charged, and the hand-backs' handling with them.
    assertThat(c.realModeEmulationCycles).isEqualTo(c.realModeEmulations
        * model.realModeEmulation() + 2 * model.exitHandling(ExitReason.CR_ACCESS)
        + model.exitHandling(ExitReason.HLT));
    assertThat(c.cycles).isGreaterThan(h.cycles + c.realModeEmulationCycles);
    // Only the two MOVs to CR0 that leave protected mode exit, from the running guest.
    assertThat(c.exitCount[ExitReason.CR_ACCESS.code()]).isEqualTo(2);
    // --stats-json says so too: the hand-backs apart, and not among the exits.
    org.hospes.dom0.report.StatsDocument doc = org.hospes.dom0.report.StatsReport.document(
        shadow.machine().hypervisor(), java.util.List.of(shadow.domain()),
        new org.hospes.dom0.report.StatsDocument.RunInfo("hvm-shadow", 33, "debug-exit", 1),
        d -> null);
    var stats = doc.domains().get(0);
    assertThat(stats.realModeHandBacks()).isEqualTo(3L);
    assertThat(stats.realModeEmulations()).isEqualTo(c.realModeEmulations);
    assertThat(stats.exits()).containsKey("CR_ACCESS").doesNotContainKey("HLT");
    assertThat(org.hospes.dom0.report.StatsReport.json(doc)).contains("\"realModeHandBacks\":3");
    assertNoEpt(shadow);
  }

  /** The SMP kernel's application processors start in real mode by SIPI: VM86 mode there too. */
  @ParameterizedTest(name = "{0} vCPUs")
  @ValueSource(ints = {2, 4})
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void applicationProcessorsStartInVm86Mode(int cpus) throws Exception {
    Run shadow = run("smp", DomainMode.HVM_SHADOW, cpus);
    assertThat(shadow.serial()).contains("smp: all checks passed");
    for (Vcpu v : shadow.domain().vcpus()) {
      if (v.id() == 0) {
        assertThat(v.counters().realModeEmulations).as("the BSP never is in real mode").isZero();
        continue;
      }
      // cli, lgdtl, mov from CR0, mov to CR0 (each faulted in VM86 mode); the far jump after
      // it runs in the guest with the stale real-mode CS: CS (the SIPI's vector << 8) and SS
      // have RPL 0, so Xen's loop ends at the MOV to CR0.
      assertThat(v.shadowRealMode().vm86Entries()).as("vCPU %d", v.id()).isPositive();
      assertThat(v.shadowRealMode().vm86Faults()).as("vCPU %d", v.id()).isEqualTo(4);
      assertThat(v.counters().realModeEmulations).as("vCPU %d", v.id()).isEqualTo(4);
    }
    assertNoEpt(shadow);
  }

  /** Neither the domain nor any vCPU has EPT tables, an EPT pointer or EPT enabled. */
  private static void assertNoEpt(Run run) {
    Domain d = run.domain();
    assertThat(d.ept()).isNull();
    assertThat(d.totals().eptViolations).isZero();
    for (Vcpu v : d.vcpus()) {
      assertThat(v.vmcs().has(VmcsField.SECONDARY_VM_EXEC_CONTROL,
          VmxControls.PROC2_ENABLE_EPT)).as("vCPU %d enables EPT", v.id()).isFalse();
      assertThat(v.vmcs().read(VmcsField.EPT_POINTER)).as("vCPU %d EPT pointer", v.id())
          .isZero();
    }
  }
}
