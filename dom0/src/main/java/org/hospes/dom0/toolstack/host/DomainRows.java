package org.hospes.dom0.toolstack.host;

import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.domain.Vcpu;
import org.hospes.hv.domain.VcpuState;
import org.hospes.hv.stats.Counters;
import org.hospes.hv.time.Runstate;

/** Reads one domain's row for list, top and sched-credit (run thread). */
final class DomainRows {
  private DomainRows() {}

  static DomainInfo of(Domain d, String mode, long now) {
    Counters c = d.totals();
    long running = 0;
    long instructions = 0;
    for (Vcpu v : d.vcpus()) {
      running += v.runstate().timeIn(Runstate.RUNNING, now);
      instructions += v.cpu() == null ? 0 : v.cpu().instructions();
    }
    // A service domain (dom0, a driver domain) has no RAM: its services are Java code, and its
    // p2m is only the window its grant maps of other domains' frames go in (128 MiB), which
    // list showed as its memory, a driver domain's as dom0's 128 MiB.
    long memKiB = d.p2m() == null || d.isService() ? 0 : d.p2m().size() * 4L;
    return new DomainInfo(d.name(), d.domid(), memKiB, d.vcpus().size(), letters(d), mode,
        d.weight(), d.cap(), running, instructions, c.totalHypercalls(), c.eventUpcalls,
        c.totalExits());
  }

  /**
   * xl's state column, one letter per position "rbpscd": running (here: runnable, since the
   * host is between scheduling decisions whenever it answers), blocked, paused, shut down,
   * crashed, dying.
   */
  static String letters(Domain d) {
    char[] s = "------".toCharArray();
    DomainState state = d.state();
    switch (state) {
      case PAUSED -> {
        s[2] = 'p';
        // Xen's getdomaininfo: blocked while every online vCPU is (_VPF_blocked), whatever the
        // pause, so a paused domain waiting for input is "-bp---", and one woken while
        // paused (runnable once unpaused) is "--p---".
        boolean online = false;
        boolean blocked = true;
        for (Vcpu v : d.vcpus()) {
          if (v.state() != VcpuState.OFFLINE) {
            online = true;
            blocked &= v.state() == VcpuState.BLOCKED;
          }
        }
        if (online && blocked) {
          s[1] = 'b';
        }
      }
      case SHUTDOWN -> s[3] = 's';
      case CRASHED -> s[4] = 'c';
      case DYING -> s[5] = 'd';
      case CREATED -> s[2] = 'p'; // built, not yet unpaused: xl shows a paused domain
      default -> {
        boolean runnable = false;
        for (Vcpu v : d.vcpus()) {
          runnable |= v.state() == VcpuState.RUNNABLE || v.state() == VcpuState.RUNNING;
        }
        if (runnable) {
          s[0] = 'r';
        } else {
          s[1] = 'b';
        }
      }
    }
    return new String(s);
  }
}
