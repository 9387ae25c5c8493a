package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import org.hospes.dom0.toolstack.Dom0Settings;
import org.hospes.dom0.toolstack.DomainOutcome;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.time.Runstate;
import org.junit.jupiter.api.Test;

/**
 * dom0 is scheduled like any domain, so its cap limits the guests' I/O, as on Xen: an HVM guest
 * writing to COM1 (two ioreqs to dom0's device model per character) beside a CPU-bound
 * neighbour finishes much later when dom0 is capped at 10% of the CPU.
 */
class Dom0CapTest {
  private static final int LINES = 100;

  /** Virtual time for the I/O guest to finish, and what dom0 and the neighbour had. */
  private record Run(long cycles, long dom0Running, long dom0Runnable, long ioreqs,
      String console) {}

  private static Run run(int dom0Cap) throws Exception {
    Path io = TestKernels.anyElf("serialio");
    Path spin = TestKernels.anyElf("spin");
    HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
    Hypervisor hv = host.hypervisor();
    Dom0Settings.DEFAULT.withCap(dom0Cap).applyTo(hv);
    host.start(DomainSpec.of("loop", spin, null).withRam(4));
    GuestDomain g = host.start(DomainSpec.of("io", io, "lines=" + LINES).withRam(4));
    long start = hv.now();
    host.runUntil(10 * Hypervisor.HZ, () -> !g.isLive());
    host.finish();
    assertThat(g.outcome().kind()).isEqualTo(DomainOutcome.Kind.EXITED);
    assertThat(g.outcome().status()).isEqualTo(0x21);
    Runstate rs = hv.control().domain().vcpus().get(0).runstate();
    return new Run(hv.now() - start, rs.timeIn(Runstate.RUNNING, hv.now()),
        rs.timeIn(Runstate.RUNNABLE, hv.now()), hv.control().counters().ioreqs,
        g.consoleText());
  }

  @Test
  void aTenPercentCapOnDom0VisiblySlowsGuestIo() throws Exception {
    Run free = run(0);
    Run capped = run(10);
    System.out.printf("serialio (%d lines) beside a spinner: dom0 uncapped %,d cycles"
        + " (dom0 ran %,d, waited %,d, %,d ioreqs); dom0 cap 10%%: %,d cycles (dom0 ran %,d,"
        + " waited %,d, %,d ioreqs); slowdown %.2fx%n", LINES, free.cycles(), free.dom0Running(),
        free.dom0Runnable(), free.ioreqs(), capped.cycles(), capped.dom0Running(),
        capped.dom0Runnable(), capped.ioreqs(), (double) capped.cycles() / free.cycles());
    // Same work either way: the same output, the same requests.
    assertThat(capped.console()).isEqualTo(free.console())
        .endsWith("serialio: " + LINES + " lines, checksum 613156\n");
    assertThat(capped.ioreqs()).isEqualTo(free.ioreqs()).isGreaterThan(2L * 64 * LINES);
    // dom0's work is the same; capped, it may use 3 ms of each 30 ms period, so the guest
    // takes several periods where uncapped dom0 is boosted at each request.
    assertThat(capped.dom0Running()).isEqualTo(free.dom0Running());
    assertThat(capped.cycles()).isGreaterThan(3 * free.cycles());
    // Capped, dom0 used no more than its 10% of the time the guest needed (give or take the
    // last request of a period).
    assertThat((double) capped.dom0Running() / capped.cycles()).isLessThan(0.11);
  }
}
