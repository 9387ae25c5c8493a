package org.hospes.dom0.backend.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.control.NotPermittedException;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.CreditScheduler;
import org.hospes.hv.time.Runstate;
import org.junit.jupiter.api.Test;

/**
 * The PV console backend, here in a driver domain: a backend is the same code whichever
 * service domain runs it, and it runs in that domain's vCPU time with that domain's privilege.
 */
class ConsoleBackendTest {
  private static final long RING_GFN = 0x10;

  private final Hypervisor hv = new Hypervisor(64, new CreditScheduler(),
      new DefaultCostModel());

  /** The guest side: appends {@code text} to out[] and notifies its console port. */
  private static void guestWrites(Domain g, int port, String text) {
    long page = RING_GFN << 12;
    int prod = g.memory().read32(page + ConsoleBackend.OUT_PROD);
    byte[] b = text.getBytes(StandardCharsets.US_ASCII);
    for (byte c : b) {
      g.memory().write8(page + ConsoleBackend.OUT + (prod++ & (ConsoleBackend.OUT_SIZE - 1)), c);
    }
    g.memory().write32(page + ConsoleBackend.OUT_PROD, prod);
    g.eventChannels().send(port);
  }

  @Test
  void aConsoleBackendInADriverDomainServesItsFrontendInItsOwnTime() {
    Domain front = hv.createHvmDomain("front", DomainMode.PVH, 2);
    Domain other = hv.createHvmDomain("other", DomainMode.PVH, 2);
    // The toolstack (dom0) makes the driver domain and the frontend's port for it.
    DomainControl dd = hv.createDriverDomain("condd", front.domid());
    int port = hv.control().allocUnboundFor(front.domid(), dd.domid());
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    ConsoleBackend backend = ConsoleBackend.connect(dd, front.domid(), RING_GFN, port, sink,
        hv.costModel());
    // The driver domain has no privilege over the other guest.
    int otherPort = hv.control().allocUnboundFor(other.domid(), dd.domid());
    assertThatThrownBy(() -> ConsoleBackend.connect(dd, other.domid(), RING_GFN, otherPort,
        new ByteArrayOutputStream(), hv.costModel()))
        .isInstanceOf(NotPermittedException.class);

    guestWrites(front, port, "hello from the frontend\n");
    assertThat(sink.size()).isZero();
    hv.unpause(front);
    hv.run(Hypervisor.HZ / 1000);
    assertThat(sink.toString(StandardCharsets.US_ASCII)).isEqualTo("hello from the frontend\n");
    assertThat(backend.bytes()).isEqualTo(24);
    // The work was the driver domain's, not dom0's.
    long ran = dd.domain().vcpus().get(0).runstate().timeIn(Runstate.RUNNING, hv.now());
    assertThat(ran).isPositive().isEqualTo(dd.counters().cycles);
    assertThat(dd.counters().eventUpcalls).isPositive();
    assertThat(hv.control().counters().cycles).isZero();
    assertThat(dd.refusals()).isEqualTo(1);
    assertThat(dd.foreignMaps()).isEqualTo(1);
  }

  /**
   * Indices no ring can have (out_prod more than a ring ahead of out_cons, or behind it): the
   * backend used to print the last 2048 bytes of out[] anyway, stale or never written, and move
   * out_cons. As xenconsoled's buffer_append, it now takes nothing and leaves the page alone
   * until the guest mends its indices; nor does the domain count as having output pending.
   */
  @Test
  void brokenOutputIndicesPrintNothingUntilTheGuestMendsThem() {
    Domain g = hv.createHvmDomain("g", DomainMode.PVH, 2);
    int port = hv.control().allocUnboundFor(g.domid(), 0);
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    ConsoleBackend backend = ConsoleBackend.connect(hv.control(), g.domid(), RING_GFN, port, sink,
        hv.costModel());
    long page = RING_GFN << 12;
    byte[] stale = "stale".repeat(500).getBytes(StandardCharsets.US_ASCII);
    g.memory().write(page + ConsoleBackend.OUT, stale, 0, ConsoleBackend.OUT_SIZE);
    for (int prod : new int[] {5000, -3, 1 << 31}) {
      g.memory().write32(page + ConsoleBackend.OUT_PROD, prod);
      assertThat(backend.outputPending()).isFalse();
      g.eventChannels().send(port);
      hv.control().serve(hv.now());
      assertThat(sink.size()).isZero();
      assertThat(g.memory().read32(page + ConsoleBackend.OUT_CONS)).isZero();
    }
    assertThat(backend.badIndices()).isEqualTo(3);
    g.memory().write32(page + ConsoleBackend.OUT_CONS, 1 << 31);
    guestWrites(g, port, "mended\n");
    hv.control().serve(hv.now());
    assertThat(sink.toString(StandardCharsets.US_ASCII)).isEqualTo("mended\n");
  }
}
