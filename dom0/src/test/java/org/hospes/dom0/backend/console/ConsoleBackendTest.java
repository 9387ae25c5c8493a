package org.hospes.dom0.backend.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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

  /**
   * dom0 is busy until just before its slice ends (an item that stops 1,000 cycles short of
   * it); then the guest's nearly full out[] is copied. The event's hypercall and the first
   * chunk overrun the slice: the backend stops after that chunk, moves out_cons past it and
   * notifies the guest, and copies the rest from there first in dom0's next slice. Every byte is
   * printed once, in order, in two writes.
   */
  @Test
  void aLongOutputIsCopiedChunkByChunkAndTheRestWaitsForDom0sNextSlice() {
    Domain g = hv.createHvmDomain("g", DomainMode.PVH, 2);
    int port = hv.control().allocUnboundFor(g.domid(), 0);
    List<Integer> writes = new ArrayList<>();
    ByteArrayOutputStream sink = new ByteArrayOutputStream() {
      @Override
      public synchronized void write(byte[] b, int off, int len) {
        writes.add(len);
        super.write(b, off, len);
      }
    };
    ConsoleBackend backend = ConsoleBackend.connect(hv.control(), g.domid(), RING_GFN, port, sink,
        hv.costModel());
    hv.control().serve(hv.now()); // the bind's own event
    writes.clear();
    DomainControl dom0 = hv.control();
    long[] filler = {-1};
    dom0.work().submit(now -> {
      // The first cycle count at which dom0's slice has ended, found by asking.
      long lo = 0;
      long hi = Hypervisor.HZ;
      while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (dom0.preemptionDue(mid)) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      filler[0] = lo - 1000;
      return filler[0];
    });
    StringBuilder text = new StringBuilder();
    for (int i = 0; text.length() < 2000; i++) {
      text.append("line ").append(i).append(" of the guest's console output\n");
    }
    String out = text.substring(0, 2000);
    guestWrites(g, port, out);
    long cyclesBefore = dom0.counters().cycles;
    hv.run(Hypervisor.HZ / 10);
    assertThat(sink.toString(StandardCharsets.US_ASCII)).isEqualTo(out);
    assertThat(writes).containsExactly(ConsoleBackend.CHUNK, 2000 - ConsoleBackend.CHUNK);
    assertThat(backend.bytes()).isEqualTo(2000);
    assertThat(backend.preemptions()).isEqualTo(1);
    assertThat(dom0.work().preemptions()).isEqualTo(1);
    long page = RING_GFN << 12;
    assertThat(g.memory().read32(page + ConsoleBackend.OUT_CONS)).isEqualTo(2000);
    assertThat(backend.outputPending()).isFalse();
    assertThat(dom0.hasWork()).isFalse();
    // dom0's time: the filler, the event's hypercall, the second leg's notification, and one
    // cycle a byte.
    assertThat(filler[0]).isPositive();
    assertThat(dom0.counters().cycles - cyclesBefore)
        .isEqualTo(filler[0] + 2 * hv.costModel().hypercall() + 2000);
  }
}
