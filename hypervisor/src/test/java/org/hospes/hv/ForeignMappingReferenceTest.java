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

  @Test
  void aShutDownDomainsForeignMappingsAreRevokedAndNeverReachItsFramesNextOwner() {
    long mfn = guest.p2m().lookup(3);
    ForeignPage p = ctl.mapForeign(guest.domid(), 3);
    // Its memory goes back at once here, so its mappings die with it.
    hv.shutdown(guest, "poweroff", 0);
    hv.destroy(guest, "xl destroy");
    assertThat(hv.domain(guest.domid())).isNull();
    // Its domid and its frames go to the next domain.
    hv.setDomidRover(guest.domid() - 1);
    Domain next = hv.createHvmDomain("next", DomainMode.PVH, 2);
    assertThat(next.domid()).isEqualTo(guest.domid());
    assertThat(hv.frames().owner(mfn)).isEqualTo(next.domid());
    next.memory().write32(0x3000, 0x5EC2E7);
    // The stale mapping reads zeros and drops writes: the new owner's frame is untouched.
    assertThat(p.read32(0)).isZero();
    p.write32(0, 0xBAD);
    assertThat(next.memory().read32(0x3000)).isEqualTo(0x5EC2E7);
    p.unmap();
    assertThat(ctl.liveForeignMaps()).isZero();
    assertThat(next.foreignRefs().isEmpty()).isTrue();
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
