package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.Map;
import org.hospes.dom0.study.Nanobench;
import org.hospes.dom0.study.RunRecord;
import org.hospes.dom0.study.RunSpec;
import org.hospes.dom0.study.StudyRun;
import org.hospes.dom0.study.StudySpec;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One clock in every mode: the nanobenchmark kernel times its loops with RDTSC, and the cycles
 * it sees are the cycles the cost model charges. Running it with N and 2N iterations, the extra
 * virtual time of the run (what --stats reports) equals the extra cycles the guest measured in
 * its loops: everything else (boot, set-up, printing fixed-width lines) is the same in both.
 * Before the processor charged walks and event delivery to its own clock, the hvm run's
 * page-walk cycles were in --stats but not in the guest's TSC, and native charged nothing.
 */
class NanobenchClockTest {

  private static RunRecord run(String mode, int iters) throws Exception {
    byte[] image = Files.readAllBytes(TestKernels.anyElf("nanobench"));
    StudySpec.Workload w = new StudySpec.Workload("nanobench", "nanobench", "iters=" + iters,
        null, Map.of());
    return StudyRun.run(new RunSpec(1, w, mode, 64, "credit", "default", "interp", 1), image);
  }

  @ParameterizedTest
  @ValueSource(strings = {"native", "hvm", "hvm-shadow"})
  void theGuestsOwnClockSeesWhatTheCostModelCharges(String mode) throws Exception {
    RunRecord once = run(mode, 200);
    RunRecord twice = run(mode, 400);
    assertThat(once.exitStatus()).as("%s: %s", mode, once.endReason()).isEqualTo(33);
    assertThat(twice.exitStatus()).as("%s: %s", mode, twice.endReason()).isEqualTo(33);
    assertThat(twice.counters().get("instructions"))
        .isGreaterThan(once.counters().get("instructions"));

    double measured = 0;
    for (String op : Nanobench.OPS) {
      // Cycles per op are printed to a tenth of a cycle: at most 40 cycles off per op.
      measured += 400 * twice.nanobench().get(op) - 200 * once.nanobench().get(op);
    }
    long charged = twice.counters().get("virtual_cycles") - once.counters().get("virtual_cycles");
    assertThat((double) charged).as("%s: extra virtual time vs extra cycles the guest measured"
        + " (%s then %s)", mode, once.nanobench(), twice.nanobench())
        .isCloseTo(measured, Percentage.withPercentage(0.2));
  }

  @Test
  void theShapeFollowsThePublishedFindings() throws Exception {
    Map<String, Double> nat = run("native", 200).nanobench();
    Map<String, Double> hvm = run("hvm", 200).nanobench();
    Map<String, Double> shadow = run("hvm-shadow", 200).nanobench();
    // Native costs from Adams & Agesen: a page fault over a thousand cycles, not tens.
    assertThat(nat.get("pgfault")).isGreaterThan(1_000.0);
    assertThat(nat.get("in")).isGreaterThan(3_000.0);
    // Shadow paging makes PTE writes and page faults far costlier than EPT does.
    assertThat(shadow.get("ptemod")).isGreaterThan(100 * hvm.get("ptemod"));
    assertThat(shadow.get("pgfault")).isGreaterThan(5 * hvm.get("pgfault"));
    // Work that needs neither the MMU nor an exit runs at native speed.
    assertThat(hvm.get("callret")).isEqualTo(nat.get("callret"));
    assertThat(hvm.get("sysenter")).isEqualTo(nat.get("sysenter"));
  }

  /**
   * Adams & Agesen's {@code in}: an emulated port read costs the guest its exit, the
   * hypervisor's handling and the whole round trip to dom0's device model (into dom0 and back,
   * and dom0's completion hypercall), each from the cost model; native pays what the UART says
   * one access takes on its bus, in the model's cycles. The guest's own RDTSC sees exactly that difference per op (the loop's other
   * instructions are the same in both), and the direction is A&A's: emulated far dearer.
   */
  @Test
  void anEmulatedInCostsTheExitTheHandlingAndTheRoundTripToDom0() throws Exception {
    double nat = run("native", 200).nanobench().get("in");
    double hvm = run("hvm", 200).nanobench().get("in");
    org.hospes.hv.cost.CostModel cost = new org.hospes.hv.cost.DefaultCostModel();
    org.hospes.x86.vmx.ExitReason io = org.hospes.x86.vmx.ExitReason.IO_INSTRUCTION;
    // The op reads the 16550's scratch register: natively an ISA byte cycle, as the UART says.
    long expected = cost.vmExit(io) + cost.exitHandling(io) + cost.ioreq()
        - cost.devicePortAccess(org.hospes.dom0.devicemodel.Uart16550.BYTE_CYCLE_NS);
    // The guest prints tenths of a cycle: compare in tenths, so that the subtraction of two
    // printed values cannot land a rounding error past the offset. Each figure includes the
    // loop's timing overhead over 200 ops (its opening RDTSC's cost among it: 0.4 of a cycle
    // since RDTSC costs 80), the same in both modes.
    double tenths = Math.round((hvm - nat) * 10) / 10.0;
    assertThat(tenths).as("hvm %s, native %s", hvm, nat).isCloseTo(expected,
        org.assertj.core.data.Offset.offset(1.0));
    // The ioreq round trip is two world switches and a hypercall, not one world switch.
    assertThat(cost.ioreq()).isEqualTo(2 * 2_000 + cost.hypercall());
    assertThat(hvm / nat).isGreaterThan(1.5);
  }
}
