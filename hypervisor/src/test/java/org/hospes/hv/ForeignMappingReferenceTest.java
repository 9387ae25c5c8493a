package org.hospes.hv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.control.ForeignPage;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Foreign mappings (privcmd) hold a page reference as in Xen: a destroyed domain stays dying,
 * and its mapped frames its own, until the last goes; a stale mapping never reaches a frame
 * given to another domain, whatever domid that domain gets.
 */
class ForeignMappingReferenceTest {
  private Hypervisor hv;
  private DomainControl ctl;
  private Domain guest;
  /** Free frames before the guest was made. */
  private int free;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    free = hv.frames().freeFrames();
    guest = hv.createHvmDomain("g", DomainMode.PVH, 2);
    ctl = hv.control();
  }

  @Test
  void aForeignMappingHoldsADestroyedDomainDyingAndItsFrameFromEveryOtherDomain() {
    long mfn = guest.p2m().lookup(3);
    guest.memory().write32(0x3000, 0x600D);
    ForeignPage p = ctl.mapForeign(guest.domid(), 3);
    hv.destroy(guest, "xl destroy");
    // Xen: the mapping's page reference keeps the domain, dying, with its domid taken.
    assertThat(guest.state()).isEqualTo(DomainState.DYING);
    assertThat(hv.isHeld(guest)).isTrue();
    assertThat(hv.domain(guest.domid())).isSameAs(guest);
    assertThat(hv.frames().owner(mfn)).isEqualTo(guest.domid());
    // No new mapping of a dying domain.
    assertThatThrownBy(() -> ctl.mapForeign(guest.domid(), 4))
        .hasMessageContaining("no live domain");
    // The next domain, with the rover on the dying domain's id, gets neither the id nor the
    // frame, and nothing written through the stale mapping reaches it.
    hv.setDomidRover(guest.domid() - 1);
    Domain next = hv.createHvmDomain("next", DomainMode.PVH, 2);
    assertThat(next.domid()).isNotEqualTo(guest.domid());
    p.write32(0, 0xBAD);
    assertThat(p.read32(0)).isEqualTo(0xBAD);
    for (long gfn = 0; gfn < next.p2m().ramFrames(); gfn++) {
      assertThat(next.p2m().lookup(gfn)).isNotEqualTo(mfn);
      assertThat(next.memory().read32(gfn << 12)).isNotEqualTo(0xBAD);
    }
    // The last unmap releases the frame and the domain with it.
    p.unmap();
    assertThat(hv.isHeld(guest)).isFalse();
    assertThat(hv.domain(guest.domid())).isNull();
    assertThat(hv.frames().owner(mfn)).isEqualTo(FrameTable.FREE);
    hv.destroy(next, "test");
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
  }

  /**
   * A domain that shut down keeps its memory until destroyed, as in Xen: dom0's mappings of it
   * still read and write its frames, a new one can be made (a core dump's), and none of its
   * frames goes to another domain meanwhile. Before, its memory went back at shutdown and the
   * mappings read zeros.
   */
  @Test
  void aShutDownDomainKeepsItsMemoryAndItsForeignMappingsUntilDestroyed() {
    long mfn = guest.p2m().lookup(3);
    guest.memory().write32(0x3000, 0x600D);
    ForeignPage p = ctl.mapForeign(guest.domid(), 3);
    int freeWhileLive = hv.frames().freeFrames();
    hv.shutdown(guest, "poweroff", 0);
    assertThat(hv.frames().freeFrames()).as("nothing given back yet").isEqualTo(freeWhileLive);
    assertThat(p.read32(0)).isEqualTo(0x600D);
    p.write32(4, 0x1234);
    assertThat(guest.memory().read32(0x3004)).isEqualTo(0x1234);
    ForeignPage dump = ctl.mapForeign(guest.domid(), 3);
    assertThat(dump.read32(0)).isEqualTo(0x600D);
    dump.unmap();
    // Another domain made now gets none of its frames.
    Domain other = hv.createHvmDomain("other", DomainMode.PVH, 2);
    for (long gfn = 0; gfn < other.p2m().ramFrames(); gfn++) {
      assertThat(hv.frames().owner(other.p2m().lookup(gfn))).isEqualTo(other.domid());
    }
    assertThat(hv.frames().owner(mfn)).isEqualTo(guest.domid());
    hv.destroy(other, "test");

    // Destroyed while still mapped: the mapped frame stays its own (the domain stays listed,
    // with its state), everything else is free; the last unmap frees the rest.
    hv.destroy(guest, "xl destroy");
    assertThat(guest.state()).as("what it ended with").isEqualTo(DomainState.SHUTDOWN);
    assertThat(hv.isHeld(guest)).isTrue();
    assertThat(hv.frames().owner(mfn)).isEqualTo(guest.domid());
    assertThat(hv.frames().freeFrames()).isEqualTo(free - 1);
    assertThatThrownBy(() -> ctl.mapForeign(guest.domid(), 4))
        .hasMessageContaining("no live domain");
    p.unmap();
    assertThat(hv.domain(guest.domid())).isNull();
    assertThat(hv.frames().owner(mfn)).isEqualTo(FrameTable.FREE);
    assertThat(hv.frames().freeFrames()).as("all memory back at destroy").isEqualTo(free);
  }

  /** A stale mapping of a shut-down, then destroyed, domain never reaches the next owner. */
  @Test
  void aMappingOfADestroyedShutDownDomainNeverReachesItsFramesNextOwner() {
    long mfn = guest.p2m().lookup(3);
    ForeignPage p = ctl.mapForeign(guest.domid(), 3);
    hv.crash(guest, "triple fault");
    hv.destroy(guest, "xl destroy");
    // The rover on its domid: the next domain gets neither the id nor the mapped frame.
    hv.setDomidRover(guest.domid() - 1);
    Domain next = hv.createHvmDomain("next", DomainMode.PVH, 2);
    assertThat(next.domid()).isNotEqualTo(guest.domid());
    p.write32(0, 0xBAD);
    for (long gfn = 0; gfn < next.p2m().ramFrames(); gfn++) {
      assertThat(next.p2m().lookup(gfn)).isNotEqualTo(mfn);
      assertThat(next.memory().read32(gfn << 12)).isNotEqualTo(0xBAD);
    }
    p.unmap();
    assertThat(hv.domain(guest.domid())).isNull();
    assertThat(ctl.liveForeignMaps()).isZero();
    hv.destroy(next, "test");
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
  }

  @Test
  void aOneShotDeathWatcherRunsOnceForItsDomainOnly() {
    Domain other = hv.createHvmDomain("o", DomainMode.PVH, 1);
    List<String> ran = new ArrayList<>();
    ctl.onDeathOf(guest.domid(), () -> ran.add("guest"));
    ctl.onDeathOf(other.domid(), () -> ran.add("other"));
    hv.destroy(guest, "test");
    assertThat(ran).containsExactly("guest");
    // Forgotten once run: a later domain given the same id does not run it again.
    hv.setDomidRover(guest.domid() - 1);
    Domain again = hv.createHvmDomain("again", DomainMode.PVH, 1);
    assertThat(again.domid()).isEqualTo(guest.domid());
    hv.destroy(again, "test");
    assertThat(ran).containsExactly("guest");
  }
}
