package org.hospes.hv.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.ioreq.Ioreq;
import org.hospes.hv.ioreq.IoreqServer;
import org.hospes.hv.sched.CreditScheduler;
import org.hospes.hv.time.Runstate;
import org.hospes.x86.Cpu;
import org.junit.jupiter.api.Test;

/** dom0 as a scheduled service domain: its vCPU, its work, its runstate, weight and cap. */
class ServiceDomainTest {
  private static final long MS = Hypervisor.HZ / 1000;
  private static final int CODE = 0x1000;
  private static final int COUNT = 0x4000;
  private static final int PORT = 0xE9;

  private final Hypervisor hv = new Hypervisor(64, new CreditScheduler(), new DefaultCostModel());
  private final DomainControl dom0 = hv.control();

  private static Vcpu vcpu(Domain d) {
    return d.vcpus().get(0);
  }

  /** A guest that writes to port 0xE9 and counts its writes at COUNT, forever. */
  private Domain ioGuest(String name) {
    Domain d = hv.createHvmDomain(name, DomainMode.HVM_EPT, 1);
    load(d, 0xB0, 0x41, // mov al, 'A'
        0xE6, PORT, // out 0xE9, al
        0xFF, 0x05, COUNT & 0xFF, COUNT >> 8, 0, 0, // inc dword [COUNT]
        0xEB, 0xF4); // jmp CODE
    return d;
  }

  /** A CPU-bound guest: cpuid; jmp $-4 (each loop a CPUID exit). */
  private Domain spinner(String name) {
    Domain d = hv.createHvmDomain(name, DomainMode.HVM_EPT, 1);
    load(d, 0x0F, 0xA2, 0xEB, 0xFC);
    return d;
  }

  private static void load(Domain d, int... code) {
    for (int i = 0; i < code.length; i++) {
      d.memory().write8(CODE + i, code[i]);
    }
    Cpu cpu = vcpu(d).cpu();
    cpu.setEip(CODE);
    cpu.setReg(Cpu.ESP, 0x8000);
  }

  /** Counts the writes to port 0xE9 it serves. */
  private static final class PortSink implements IoreqServer {
    long writes;

    @Override
    public boolean claimsPort(int port) {
      return port == PORT;
    }

    @Override
    public long handle(int domid, Ioreq req) {
      if (req.write()) {
        writes++;
      }
      return 0;
    }
  }

  private long running(Domain d) {
    return vcpu(d).runstate().timeIn(Runstate.RUNNING, hv.now());
  }

  @Test
  void domainZeroIsInTheTableWithOneServiceVcpuBlockedUntilItHasWork() {
    Domain d0 = hv.domain(0);
    assertThat(d0).isSameAs(dom0.domain());
    assertThat(hv.domains()).contains(d0);
    assertThat(d0.isService()).isTrue();
    assertThat(d0.vcpus()).hasSize(1);
    assertThat(vcpu(d0).cpu()).isNull();
    assertThat(vcpu(d0).state()).isEqualTo(VcpuState.BLOCKED);
    assertThat(d0.weight()).isEqualTo(256);
    assertThat(d0.cap()).isZero();
    assertThat(dom0.privilege().isControl()).isTrue();
    // Guests are numbered from 1, as on Xen.
    assertThat(spinner("g").domid()).isEqualTo(1);
    // Nothing but dom0: no guest can run, so the host has nothing to do.
    assertThat(new Hypervisor(32, new CreditScheduler(), new DefaultCostModel()).run(MS))
        .isZero();
  }

  @Test
  void anEventWakesDom0WithABoostAndItsHandlerRunsOnlyWhenTheSchedulerRunsIt() {
    Domain g = spinner("g");
    int gport = dom0.allocUnboundFor(g.domid(), DomainControl.DOM0);
    int local = dom0.channels().bindInterdomain(g.domid(), gport);
    List<Long> handled = new ArrayList<>();
    dom0.listen(local, (p, now) -> {
      handled.add(now);
      return 50_000;
    });
    hv.unpause(g);
    hv.run(5 * MS);
    // Binding raised the port once (Xen does, so nothing is lost): handled in dom0's turn.
    assertThat(handled).hasSize(1);
    handled.clear();
    long before = running(dom0.domain());
    g.eventChannels().send(gport);
    // Queued, not run: the event only woke dom0's vCPU, boosted.
    assertThat(handled).isEmpty();
    assertThat(vcpu(dom0.domain()).state()).isEqualTo(VcpuState.RUNNABLE);
    assertThat(((CreditScheduler) hv.scheduler()).priority(vcpu(dom0.domain())))
        .isEqualTo(CreditScheduler.PRI_BOOST);
    long sent = hv.now();
    hv.step(Long.MAX_VALUE);
    assertThat(handled).containsExactly(sent);
    assertThat(running(dom0.domain()) - before).isEqualTo(50_000);
    assertThat(vcpu(dom0.domain()).state()).isEqualTo(VcpuState.BLOCKED);
    assertThat(dom0.counters().eventUpcalls).isEqualTo(2);
  }

  @Test
  void aGuestWaitsForItsIoreqUntilDom0HasServedItAndDom0sWorkIsItsRunTime() {
    Domain g = ioGuest("io");
    PortSink sink = new PortSink();
    dom0.serveIoreqs(g.domid(), sink);
    hv.unpause(g);
    hv.step(Long.MAX_VALUE);
    // The first OUT exited: the guest waits, nothing was served yet.
    assertThat(sink.writes).isZero();
    assertThat(vcpu(g).awaitingIo()).isTrue();
    assertThat(vcpu(g).state()).isEqualTo(VcpuState.BLOCKED);
    // An interrupt-style wake does not end an ioreq wait.
    hv.wake(vcpu(g));
    assertThat(vcpu(g).state()).isEqualTo(VcpuState.BLOCKED);
    hv.run(20 * MS);
    long served = dom0.counters().ioreqs;
    assertThat(served).isGreaterThan(100).isEqualTo(sink.writes);
    // Each loop's increment follows an answered OUT.
    assertThat(g.memory().read32(COUNT)).isBetween((int) served - 1, (int) served);
    long ioreqCost = hv.costModel().ioreq();
    assertThat(dom0.counters().cycles).isEqualTo(served * ioreqCost);
    assertThat(running(dom0.domain())).isEqualTo(served * ioreqCost);
    // The guest was blocked exactly while dom0 ran its requests: from the end of each OUT's
    // exit to the end of its ioreq.
    long blocked = vcpu(g).runstate().timeIn(Runstate.BLOCKED, hv.now());
    assertThat(blocked).isBetween((served - 1) * ioreqCost, served * ioreqCost);
    assertThat(vcpu(g).runstate().timeIn(Runstate.RUNNABLE, hv.now())).isZero();
    assertThat(vcpu(g).counters().ioreqs).isEqualTo(served);
  }

  @Test
  void workThatDoesNotFitInASliceContinuesInTheNextInOrder() {
    Domain spin = spinner("spin");
    hv.unpause(spin);
    hv.run(5 * MS);
    List<Integer> order = new ArrayList<>();
    List<Long> starts = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      int n = i;
      dom0.work().submit(now -> {
        order.add(n);
        starts.add(now);
        return 12 * MS;
      });
    }
    hv.run(300 * MS);
    assertThat(order).containsExactly(0, 1, 2, 3, 4);
    assertThat(dom0.hasWork()).isFalse();
    // A slice ends at the next 10 ms tick: the 12 ms item in it finishes, the next one waits
    // for dom0's next slice. dom0 keeps the CPU to the end of its 30 ms timeslice, then the
    // spinner has its turn before dom0's work goes on.
    long gaps = 0;
    for (int i = 1; i < 5; i++) {
      assertThat(starts.get(i) - starts.get(i - 1)).isGreaterThanOrEqualTo(12 * MS);
      gaps += starts.get(i) - starts.get(i - 1) - 12 * MS;
    }
    assertThat(gaps).isGreaterThanOrEqualTo(20 * MS);
    assertThat(running(dom0.domain())).isEqualTo(60 * MS);
    assertThat(vcpu(dom0.domain()).state()).isEqualTo(VcpuState.BLOCKED);
  }

  @Test
  void aCappedDom0IsParkedWhenItsBudgetIsUsed() {
    Domain spin = spinner("spin");
    hv.setSchedulerParameters(dom0.domain(), 256, 10);
    hv.unpause(spin);
    ServiceWork.Item[] busy = new ServiceWork.Item[1];
    busy[0] = now -> {
      dom0.work().submit(busy[0]);
      return MS / 10;
    };
    dom0.work().submit(busy[0]);
    long ran = hv.run(3 * Hypervisor.HZ);
    double share = (double) dom0.counters().cycles / ran;
    System.out.printf("dom0 capped at 10%% beside a spinner: share %.4f%n", share);
    assertThat(share).isCloseTo(0.10, within(0.10 * 0.05));
    assertThat(running(dom0.domain())).isEqualTo(dom0.counters().cycles);
  }

  @Test
  void aDeviceModelThatFailsCrashesOnlyTheDomainItServes() {
    Domain g = ioGuest("io");
    Domain spin = spinner("spin");
    dom0.serveIoreqs(g.domid(), new IoreqServer() {
      @Override
      public boolean claimsPort(int port) {
        return port == PORT;
      }

      @Override
      public long handle(int domid, Ioreq req) {
        throw new IllegalStateException("device gone");
      }
    });
    hv.unpause(g);
    hv.unpause(spin);
    hv.run(10 * MS);
    assertThat(g.state()).isEqualTo(org.hospes.hv.domain.DomainState.CRASHED);
    assertThat(g.endReason()).startsWith("device model failed: ")
        .contains("device gone");
    assertThat(spin.state()).isEqualTo(org.hospes.hv.domain.DomainState.RUNNING);
    assertThat(vcpu(dom0.domain()).state()).isEqualTo(VcpuState.BLOCKED);
    assertThat(hv.now()).isGreaterThanOrEqualTo(10 * MS);
  }

  /** An I/O guest, a spinner and a capped dom0 for 50 ms; what each got. */
  private long[] cappedScenario() {
    Domain g = ioGuest("io");
    Domain spin = spinner("spin");
    dom0.serveIoreqs(g.domid(), new PortSink());
    hv.setSchedulerParameters(dom0.domain(), 256, 10);
    hv.unpause(g);
    hv.unpause(spin);
    hv.run(50 * MS);
    return new long[] {hv.now(), hv.idleCycles(), dom0.counters().cycles,
        dom0.counters().ioreqs, vcpu(g).counters().cycles, vcpu(spin).counters().cycles,
        running(dom0.domain()), vcpu(g).runstate().timeIn(Runstate.BLOCKED, hv.now())};
  }

  @Test
  void runsWithDom0ScheduledAreDeterministic() {
    long[] first = cappedScenario();
    long[] second = new ServiceDomainTest().cappedScenario();
    assertThat(second).containsExactly(first);
    assertThat(first[3]).isPositive();
  }
}
