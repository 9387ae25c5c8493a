package org.hospes.hv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.hospes.hv.time.Runstate;
import org.hospes.x86.Cpu;
import org.hospes.x86.vmx.ExitReason;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HypervisorTest {
  private Hypervisor hv;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
  }

  private Domain domainRunning(String name, String hex) {
    Domain d = hv.createHvmDomain(name, DomainMode.HVM_EPT, 2);
    byte[] code = HexFormat.of().parseHex(hex.replace(" ", ""));
    d.memory().write(0x1000, code, 0, code.length);
    Cpu cpu = d.vcpus().get(0).cpu();
    cpu.setEip(0x1000);
    cpu.setReg(Cpu.ESP, 0x8000);
    hv.unpause(d);
    return d;
  }

  @Test
  void domainsOwnDisjointZeroedFrames() {
    Domain a = hv.createHvmDomain("a", DomainMode.HVM_EPT, 2);
    Domain b = hv.createHvmDomain("b", DomainMode.HVM_EPT, 2);
    Set<Long> frames = new HashSet<>();
    for (Domain d : new Domain[] {a, b}) {
      for (long gfn = 0; gfn < d.p2m().size(); gfn++) {
        long mfn = d.p2m().lookup(gfn);
        assertThat(hv.frames().owner(mfn)).isEqualTo(d.domid());
        assertThat(frames.add(mfn)).as("frame %d shared", mfn).isTrue();
      }
    }
    a.memory().write32(0x100, 0xCAFEBABE);
    assertThat(b.memory().read32(0x100)).isZero();
    assertThat(a.ept().tableFrameNumbers())
        .allSatisfy(m -> assertThat(hv.frames().owner(m)).isEqualTo(FrameTable.DOMID_XEN));
  }

  /**
   * The toolstack's pauses are counted as Xen's controller_pause_count is: two pauses need two
   * unpauses, an unpause with none left is -EINVAL, the 256th pause -EOVERFLOW, and a domain
   * still being built holds its creation pause (a pause then adds one more).
   */
  @Test
  void toolstackPausesAreCountedAsXensControllerPauses() {
    // l: inc eax ; jmp l
    Domain d = domainRunning("p", "40 ebfd");
    long before = d.totals().instructions;
    assertThat(hv.pauseByController(d)).isZero();
    assertThat(hv.pauseByController(d)).isZero();
    assertThat(d.state()).isEqualTo(DomainState.PAUSED);
    assertThat(hv.unpauseByController(d)).isZero();
    assertThat(d.state()).isEqualTo(DomainState.PAUSED);
    hv.run(10_000);
    assertThat(d.totals().instructions).isEqualTo(before);
    assertThat(hv.unpauseByController(d)).isZero();
    assertThat(d.state()).isEqualTo(DomainState.RUNNING);
    assertThat(hv.unpauseByController(d)).isEqualTo(XenErrno.EINVAL.negated());
    assertThat(d.state()).isEqualTo(DomainState.RUNNING);
    hv.run(10_000);
    assertThat(d.totals().instructions).isGreaterThan(before);

    for (int k = 0; k < Hypervisor.MAX_CONTROLLER_PAUSES; k++) {
      assertThat(hv.pauseByController(d)).as("pause %d", k + 1).isZero();
    }
    assertThat(hv.pauseByController(d)).isEqualTo(XenErrno.EOVERFLOW.negated());
    for (int k = 0; k < Hypervisor.MAX_CONTROLLER_PAUSES; k++) {
      assertThat(d.state()).isEqualTo(DomainState.PAUSED);
      assertThat(hv.unpauseByController(d)).isZero();
    }
    assertThat(d.state()).isEqualTo(DomainState.RUNNING);

    Domain built = hv.createHvmDomain("built", DomainMode.HVM_EPT, 2);
    assertThat(hv.pauseByController(built)).isZero();
    assertThat(hv.unpauseByController(built)).isZero();
    assertThat(built.state()).isEqualTo(DomainState.CREATED);
    assertThat(hv.unpauseByController(built)).isZero();
    assertThat(built.state()).isEqualTo(DomainState.RUNNING);
    assertThat(hv.unpauseByController(built)).isEqualTo(XenErrno.EINVAL.negated());
  }

  /**
   * A blocked vCPU woken while its domain is paused (an event sent to it) runs once the domain
   * is unpaused, as Xen's vcpu_unblock keeps the wake-up. It was dropped: the vCPU slept on
   * after the unpause, and the event, still pending, woke it never again.
   */
  @Test
  void aWakeWhilePausedIsKeptForTheUnpause() {
    // sti ; hlt ; inc eax ; jmp $
    Domain d = domainRunning("w", "fb f4 40 ebfe");
    hv.run(100_000);
    var v = d.vcpus().get(0);
    assertThat(v.state()).isEqualTo(org.hospes.hv.domain.VcpuState.BLOCKED);
    assertThat(hv.pauseByController(d)).isZero();
    hv.wake(v);
    hv.run(100_000);
    assertThat(v.cpu().reg(Cpu.EAX)).as("paused: not run yet").isZero();
    assertThat(hv.unpauseByController(d)).isZero();
    hv.run(100_000);
    assertThat(v.cpu().reg(Cpu.EAX)).as("run after the unpause").isEqualTo(1);
  }

  /**
   * The runstate of a paused domain's vCPUs, as Xen keeps it: a vCPU that may run but for the
   * pause is RUNSTATE_offline (vcpu_sleep_nosync at the pause, vcpu_wake of a paused vCPU,
   * the context switch out), a blocked one stays blocked, and the unpause makes them runnable.
   * A vCPU woken while paused showed RUNSTATE_runnable, a state Xen never gives a vCPU that
   * cannot run; scheduling is as before (it runs after the unpause).
   */
  @Test
  void aPausedDomainsVcpusAreOfflineUnlessBlocked() {
    // sti ; hlt ; inc eax ; jmp $
    Domain d = domainRunning("w", "fb f4 40 ebfe");
    hv.run(100_000);
    var v = d.vcpus().get(0);
    assertThat(v.runstate().state()).isEqualTo(Runstate.BLOCKED);
    assertThat(hv.pauseByController(d)).isZero();
    assertThat(v.runstate().state()).as("blocked while paused").isEqualTo(Runstate.BLOCKED);
    hv.wake(v);
    assertThat(v.runstate().state()).as("woken while paused").isEqualTo(Runstate.OFFLINE);
    hv.run(100_000);
    assertThat(v.runstate().state()).as("still paused").isEqualTo(Runstate.OFFLINE);
    assertThat(hv.unpauseByController(d)).isZero();
    assertThat(v.runstate().state()).as("unpaused").isEqualTo(Runstate.RUNNABLE);
    hv.run(100_000);
    assertThat(v.cpu().reg(Cpu.EAX)).as("run after the unpause").isEqualTo(1);

    // Spinning now (its run under way between steps, or runnable between slices): paused, it
    // is offline; unpaused, runnable.
    assertThat(v.runstate().state()).isIn(Runstate.RUNNING, Runstate.RUNNABLE);
    assertThat(hv.pauseByController(d)).isZero();
    assertThat(v.runstate().state()).as("paused while runnable").isEqualTo(Runstate.OFFLINE);
    long offlineFrom = v.runstate().entryTime();
    hv.run(100_000);
    assertThat(v.runstate().state()).isEqualTo(Runstate.OFFLINE);
    assertThat(v.runstate().entryTime()).as("no state change while paused")
        .isEqualTo(offlineFrom);
    assertThat(hv.unpauseByController(d)).isZero();
    assertThat(v.runstate().state()).isEqualTo(Runstate.RUNNABLE);
  }

  /**
   * A new domain's vCPUs are RUNSTATE_offline from their creation (Xen's vcpu_create: offline,
   * state_entry_time = NOW()) through its creation pause: vCPU 0 becomes runnable at the first
   * unpause, an application processor once started, and one brought up meanwhile stays offline
   * until the unpause. They were runnable from time 0: a domain created later had runnable
   * time from before it existed, and one waiting for its unpause seemed to wait for a CPU.
   */
  @Test
  void aNewDomainsVcpusAreOfflineFromTheirCreationUntilTheFirstUnpause() {
    // l: inc eax ; jmp l
    domainRunning("first", "40 ebfd");
    hv.run(100_000);
    long created = hv.now();
    assertThat(created).isPositive();
    Domain d = hv.createHvmDomain("new", DomainMode.HVM_EPT, 2, 2);
    Domain pv = hv.createPvDomain("pv", 4);
    var vcpus = java.util.List.of(d.vcpus().get(0), d.vcpus().get(1), pv.vcpus().get(0));
    for (var v : vcpus) {
      assertThat(v.runstate().state()).as("vCPU %d of %s", v.id(), v.domain().name())
          .isEqualTo(Runstate.OFFLINE);
      assertThat(v.runstate().entryTime()).isEqualTo(created);
      assertThat(v.runstate().timeIn(Runstate.RUNNABLE, hv.now())).isZero();
    }
    hv.run(100_000);
    long unpaused = hv.now();
    assertThat(unpaused).isGreaterThan(created);
    var ap = d.vcpus().get(1);
    // VCPUOP_initialise's doing, then VCPUOP_up under the creation pause: vcpu_runnable is
    // false, so vcpu_wake leaves it offline.
    ap.setWaitingForSipi(false);
    hv.upVcpu(ap);
    assertThat(ap.runstate().state()).as("up, not yet unpaused").isEqualTo(Runstate.OFFLINE);
    var bsp = d.vcpus().get(0);
    assertThat(bsp.runstate().state()).as("created, not yet unpaused")
        .isEqualTo(Runstate.OFFLINE);
    assertThat(bsp.runstate().entryTime()).isEqualTo(created);
    hv.unpause(d);
    assertThat(bsp.runstate().state()).isEqualTo(Runstate.RUNNABLE);
    assertThat(bsp.runstate().entryTime()).isEqualTo(unpaused);
    assertThat(bsp.runstate().timeIn(Runstate.OFFLINE, unpaused))
        .isEqualTo(unpaused - created);
    assertThat(bsp.runstate().timeIn(Runstate.RUNNABLE, unpaused)).isZero();
    assertThat(ap.runstate().state()).isEqualTo(Runstate.RUNNABLE);
    assertThat(pv.vcpus().get(0).runstate().state()).as("pv, still paused")
        .isEqualTo(Runstate.OFFLINE);
  }

  @Test
  void aGuestRunsUntilItHaltsWithInterruptsOff() {
    // mov eax, 7 ; cpuid ; hlt
    Domain d = domainRunning("g", "b807000000 0fa2 f4");
    hv.run(1_000_000);
    assertThat(d.state()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(d.endReason()).isEqualTo("halted");
    assertThat(d.totals().exitCount[ExitReason.CPUID.code()]).isEqualTo(1);
    assertThat(d.totals().exitCount[ExitReason.HLT.code()]).isEqualTo(1);
    assertThat(d.totals().instructions).isEqualTo(3);
  }

  @Test
  void aTripleFaultCrashesOnlyItsDomainWhichKeepsItsMemoryUntilDestroyed() {
    int free = hv.frames().freeFrames();
    Domain bad = domainRunning("bad", "0f0b");
    // inc eax ; cmp eax, 100000 ; jne -8 ; hlt
    Domain good = domainRunning("good", "40 3da0860100 75f8 f4");
    hv.run(100_000_000);
    assertThat(bad.state()).isEqualTo(DomainState.CRASHED);
    assertThat(bad.endReason()).startsWith("triple fault");
    assertThat(good.state()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(good.vcpus().get(0).cpu().reg(Cpu.EAX)).isEqualTo(100_000);
    // As in Xen, a domain that ended keeps its memory until the toolstack destroys it.
    assertThat(hv.frames().freeFrames()).isLessThan(free);
    hv.destroy(bad, "xl destroy");
    hv.destroy(good, "xl destroy");
    assertThat(bad.state()).isEqualTo(DomainState.CRASHED);
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
  }

  @Test
  void aSpinningDomainRunsUntilDestroyed() {
    Domain spin = domainRunning("spin", "ebfe");
    hv.run(10_000_000);
    assertThat(spin.state()).isEqualTo(DomainState.RUNNING);
    assertThat(spin.totals().instructions).isGreaterThan(1_000_000);
    hv.destroy(spin, "destroyed");
    assertThat(spin.state()).isEqualTo(DomainState.DYING);
    assertThat(hv.hasLiveDomains()).isFalse();
    assertThat(hv.run(1_000_000)).isZero();
  }

  @Test
  void aDestroyedDomainLeavesEveryListAndLookupOnceItsResourcesAreReleased() {
    int free = hv.frames().freeFrames();
    Domain spin = domainRunning("spin", "ebfe");
    Domain peer = hv.createHvmDomain("peer", DomainMode.PVH, 1);
    int rport = spin.eventChannels().allocUnbound(EventChannelOp.DOMID_SELF, peer.domid());
    int lport = peer.eventChannels().bindInterdomain(spin.domid(), rport);
    assertThat(lport).isPositive();
    hv.run(1_000_000);
    hv.destroy(spin, "destroyed");
    // Nothing held it: domain_kill, then the last reference, and it is gone.
    assertThat(spin.state()).isEqualTo(DomainState.DYING);
    assertThat(hv.isHeld(spin)).isFalse();
    assertThat(hv.domain(spin.domid())).isNull();
    assertThat(hv.domains()).doesNotContain(spin);
    assertThat(hv.platform(spin)).isNull();
    assertThat(hv.control().isLive(spin.domid())).isFalse();
    assertThatThrownBy(() -> hv.control().mapForeign(spin.domid(), 0))
        .hasMessageContaining("no live domain " + spin.domid());
    // Its event channel closed: the peer's end is unbound again.
    assertThat(peer.eventChannels().status(lport)[0])
        .isEqualTo(EventChannelOp.STATUS_UNBOUND);
    // Every lookup by its domid answers as for an unknown one (a dying domain would be found
    // and refuse with -EPERM here).
    assertThat(peer.eventChannels().allocUnbound(spin.domid(), 0))
        .isEqualTo(XenErrno.ESRCH.negated());
    hv.destroy(peer, "test");
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
  }

  @Test
  void aCrashedDomainDestroyedLaterLeavesTheListsKeepingItsState() {
    Domain bad = domainRunning("bad", "0f0b");
    hv.run(1_000_000);
    assertThat(bad.state()).isEqualTo(DomainState.CRASHED);
    assertThat(hv.domain(bad.domid())).isSameAs(bad);
    hv.destroy(bad, "xl destroy");
    assertThat(hv.domain(bad.domid())).isNull();
    assertThat(bad.state()).isEqualTo(DomainState.CRASHED);
    assertThat(bad.endReason()).startsWith("triple fault");
  }

  @Test
  void domidsWrapBelowTheReservedIdsAndSkipEveryDomainStillThere() {
    Domain a = hv.createHvmDomain("a", DomainMode.HVM_EPT, 1);
    Domain b = hv.createHvmDomain("b", DomainMode.HVM_EPT, 1);
    assertThat(a.domid()).isEqualTo(1);
    assertThat(b.domid()).isEqualTo(2);
    hv.destroy(a, "test");
    hv.setDomidRover(Hypervisor.DOMID_FIRST_RESERVED - 2);
    assertThat(hv.createHvmDomain("c", DomainMode.HVM_EPT, 1).domid())
        .isEqualTo(Hypervisor.DOMID_FIRST_RESERVED - 1);
    // Wrapped: 1 is free again, 2 is b's.
    assertThat(hv.createHvmDomain("d", DomainMode.HVM_EPT, 1).domid()).isEqualTo(1);
    assertThat(hv.createHvmDomain("e", DomainMode.HVM_EPT, 1).domid()).isEqualTo(3);
  }

  @Test
  void aDyingDomainsDomidIsNotHandedOutUntilTheGrantMappingHoldingItGoes() {
    Domain a = hv.createHvmDomain("a", DomainMode.PVH, 1);
    Domain b = hv.createHvmDomain("b", DomainMode.PVH, 1);
    // a grants b its frame 0x10 in entry 8 of its table; b maps it at 0x50.
    long entry = (a.grantTables().frameMfn(0) << 12) + 8L * GrantTableOp.ENTRY_SIZE;
    hv.machineMemory().write32(entry + GrantTableOp.ENTRY_FRAME, 0x10);
    hv.machineMemory().write16(entry + GrantTableOp.ENTRY_DOMID, b.domid());
    hv.machineMemory().write16(entry + GrantTableOp.ENTRY_FLAGS,
        GrantTableOp.GTF_PERMIT_ACCESS);
    int handle = b.grantTables().map(0x50L << 12, GrantTableOp.GNTMAP_HOST_MAP, 8, a.domid());
    assertThat(handle).isNotNegative();
    hv.destroy(a, "test");
    assertThat(hv.isHeld(a)).isTrue();
    assertThat(hv.domain(a.domid())).isSameAs(a);
    hv.setDomidRover(a.domid() - 1);
    Domain c = hv.createHvmDomain("c", DomainMode.PVH, 1);
    assertThat(c.domid()).isNotEqualTo(a.domid());
    assertThat(b.grantTables().unmap(0x50L << 12, handle)).isEqualTo(GrantTableOp.GNTST_OKAY);
    assertThat(hv.domain(a.domid())).isNull();
    hv.setDomidRover(a.domid() - 1);
    assertThat(hv.createHvmDomain("d", DomainMode.PVH, 1).domid()).isEqualTo(a.domid());
  }

  @Test
  void guestPhysicalAddressesOutsideTheDomainReadAsOnes() {
    // mov eax, [0x00400000] (4 MiB: beyond the 2 MiB domain) ; hlt
    Domain d = domainRunning("scan", "a100004000 f4");
    hv.run(1_000_000);
    assertThat(d.vcpus().get(0).cpu().reg(Cpu.EAX)).isEqualTo(-1);
    assertThat(d.totals().eptViolations).isEqualTo(1);
  }

  @Test
  void machineMemoryRunningOutIsAClearError() {
    assertThatThrownBy(() -> hv.createHvmDomain("huge", DomainMode.HVM_EPT, 100))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not enough machine memory");
  }
}
