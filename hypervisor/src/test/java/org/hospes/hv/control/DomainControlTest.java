package org.hospes.hv.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.hospes.abi.EventChannelOp;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.hospes.hv.memory.FrameTable;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** dom0's privileged interface: its event channels, foreign mappings, death notices. */
class DomainControlTest {
  private Hypervisor hv;
  private DomainControl ctl;
  private Domain guest;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(32, new RoundRobinScheduler(), new DefaultCostModel());
    guest = hv.createHvmDomain("g", DomainMode.PVH, 2);
    ctl = hv.control();
  }

  @Test
  void eventsBetweenAGuestAndDom0() {
    int gport = ctl.allocUnboundFor(guest.domid(), DomainControl.DOM0);
    assertThat(gport).isPositive();
    int local = ctl.channels().bindInterdomain(guest.domid(), gport);
    assertThat(local).isPositive();
    assertThat(guest.eventChannels().status(gport)[0])
        .isEqualTo(EventChannelOp.STATUS_INTERDOMAIN);
    List<Integer> seen = new ArrayList<>();
    ctl.listen(local, (p, now) -> {
      seen.add(p);
      return 100;
    });
    // Two sends before dom0 runs coalesce into one event, as with a pending bit.
    guest.eventChannels().send(gport);
    guest.eventChannels().send(gport);
    assertThat(ctl.hasWork()).isTrue();
    assertThat(ctl.serve(0)).isEqualTo(100);
    assertThat(seen).containsExactly(local);
    assertThat(ctl.hasWork()).isFalse();
    // dom0 -> guest marks the guest's port pending in its shared_info.
    assertThat(ctl.channels().send(local)).isZero();
    assertThat(guest.eventChannels().ops().isPending(gport)).isTrue();
    // A guest cannot allocate ports in another domain; dom0 can.
    assertThat(guest.eventChannels().allocUnbound(0, guest.domid())).isNegative();
  }

  @Test
  void foreignMappingsAreCountedAndChecked() {
    guest.memory().write32(0x3000, 0x12345678);
    ForeignPage p = ctl.mapForeign(guest.domid(), 3);
    assertThat(p.read32(0)).isEqualTo(0x12345678);
    p.write32(4, 0xCAFE);
    assertThat(guest.memory().read32(0x3004)).isEqualTo(0xCAFE);
    assertThat(ctl.foreignMaps()).isEqualTo(1);
    assertThat(ctl.liveForeignMaps()).isEqualTo(1);
    assertThatThrownBy(() -> p.read32(4094)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> ctl.mapForeign(guest.domid(), 1 << 20))
        .hasMessageContaining("has no frame");
    assertThatThrownBy(() -> ctl.mapForeign(99, 0)).hasMessageContaining("no live domain 99");
    List<Integer> died = new ArrayList<>();
    ctl.onDomainDeath(died::add);
    hv.destroy(guest, "test");
    assertThat(died).containsExactly(guest.domid());
    // The mapping's reference keeps the frame the dying guest's, so it still reads it.
    assertThat(p.read32(0)).isEqualTo(0x12345678);
    p.unmap();
    assertThat(ctl.liveForeignMaps()).isZero();
  }

  @Test
  void aMappersForeignMappingsGoWithItAndReleaseTheDomainTheyHeld() {
    DomainControl driver = hv.createDriverDomain("dd", guest.domid());
    ForeignPage p = driver.mapForeign(guest.domid(), 3);
    hv.destroy(guest, "xl destroy");
    assertThat(hv.isHeld(guest)).isTrue();
    hv.destroy(driver.domain(), "xl destroy");
    assertThat(p.isMapped()).isFalse();
    assertThat(driver.liveForeignMaps()).isZero();
    assertThat(hv.domain(guest.domid())).isNull();
  }

}
