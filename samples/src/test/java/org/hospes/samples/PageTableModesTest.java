package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.hospes.abi.Hypercall;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.PvKernelLoader;
import org.hospes.dom0.boot.loader.PvhKernelLoader;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.stats.Counters;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The page-table-heavy workload in the three MMU designs: the classic PV guest
 * (pv-pagetables, which asks the PV MMU for everything) and the same pattern as a guest that
 * owns its MMU (pagetables: its own table writes and MOV CR3) under EPT (pvh, hvm) and shadow
 * paging (hvm-shadow). Each run is checked for its output and prints its raw counts and
 * modelled cycles, the figures of the PV column (deterministic: the same every run).
 */
class PageTableModesTest {
  private static final int ROUNDS = 20;
  private static Path pv;
  private static Path own;

  @BeforeAll
  static void build() throws Exception {
    Path root = TestKernels.root();
    GuestBuilder b = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests"));
    pv = b.buildPv("pv-pagetables",
        List.of(root.resolve("samples/guests/pv-pagetables/pv-pagetables.c")));
    own = b.build("pagetables", List.of(root.resolve("samples/guests/pagetables/pagetables.c")));
  }

  private static Counters run(DomainMode mode, String expected) throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    HvmMachine m = HvmMachine.create(mode, 16, console, sink);
    if (mode == DomainMode.PV) {
      m.load(new PvKernelLoader(), pv, BootRequest.of(Integer.toString(ROUNDS)), null);
    } else {
      m.load(new PvhKernelLoader(), own, BootRequest.of(Integer.toString(ROUNDS)), null);
    }
    RunResult r = m.run(500_000_000L);
    assertThat(console.toString(StandardCharsets.US_ASCII)).as("%s: %s", mode, r)
        .isEqualTo(expected);
    assertThat(r.reason()).isEqualTo("shutdown: poweroff");
    Counters c = m.domain().totals();
    System.out.printf("page-table workload, %d rounds, %s: %,d instructions, %,d modelled cycles"
            + " (guest %,d), %,d hypercalls (mmu_update %d, mmuext_op %d, update_va_mapping %d;"
            + " %,d cycles), %,d exits %s, %,d shadow faults, %,d TLB misses, %,d page-walk"
            + " references%n", ROUNDS, mode, c.instructions, c.cycles, c.guestCycles,
        c.totalHypercalls(), c.hypercallCount[Hypercall.MMU_UPDATE.number()],
        c.hypercallCount[Hypercall.MMUEXT_OP.number()],
        c.hypercallCount[Hypercall.UPDATE_VA_MAPPING.number()], c.hypercallCycles,
        c.totalExits(), exits(c), c.shadowFaults, c.tlbMisses, c.pageWalkReferences);
    return c;
  }

  private static String exits(Counters c) {
    StringBuilder s = new StringBuilder("{");
    c.exitsByReason().forEach((k, v) -> {
      if (v[0] > 0) {
        s.append(s.length() > 1 ? ", " : "").append(k).append('=').append(v[0]);
      }
    });
    return s.append('}').toString();
  }

  private static final String OWN = "pagetables: " + ROUNDS + " address spaces built, switched"
      + " to, used and torn down; " + (16 * ROUNDS) + " pages remapped\n";

  @Test
  void theSameWorkRunsUnderThePvMmuAndUnderEpt() throws Exception {
    Counters p = run(DomainMode.PV, "pv-pagetables: " + ROUNDS + " address spaces built, pinned,"
        + " used and torn down; " + (16 * ROUNDS) + " pages remapped\n");
    Counters h = run(DomainMode.PVH, OWN);
    Counters e = run(DomainMode.HVM_EPT, OWN);
    // The PV guest asks for every table change; the others change their tables themselves.
    assertThat(p.hypercallCount[Hypercall.MMU_UPDATE.number()]).isEqualTo(ROUNDS);
    assertThat(p.hypercallCount[Hypercall.MMUEXT_OP.number()]).isEqualTo(5 * ROUNDS);
    assertThat(h.hypercallCount[Hypercall.MMU_UPDATE.number()]).isZero();
    assertThat(e.shadowFaults).isZero();
    // A PV domain's cycles include the hypervisor's work for it, as an HVM domain's exits are.
    assertThat(p.cycles).isGreaterThanOrEqualTo(p.guestCycles + p.hypercallCycles);
  }

  /**
   * Under shadow paging every table write is single-stepped, so the run lasts far longer in
   * virtual time than under EPT (0.8 s against 1.2 ms): long enough for the PC's timer, which
   * the guest runtime therefore masks at the PIC (its IRQ 0 would arrive on vector 8, the
   * BIOS's base, and read as a double fault).
   */
  @Test
  void theSameWorkRunsUnderShadowPaging() throws Exception {
    Counters s = run(DomainMode.HVM_SHADOW, OWN);
    Counters e = run(DomainMode.HVM_EPT, OWN);
    assertThat(s.instructions).isEqualTo(e.instructions);
    assertThat(s.shadowFaults).isPositive();
    assertThat(s.eptViolations).isZero();
  }
}
