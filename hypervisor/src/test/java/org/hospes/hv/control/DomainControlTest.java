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
  void foreignMappingsAreCountedCheckedAndDieWithTheirOwner() {
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
    // The frame may belong to someone else now: the mapping reads zeros and drops writes.
    assertThat(p.read32(0)).isZero();
    p.unmap();
    assertThat(ctl.liveForeignMaps()).isZero();
  }

  /** Writes grant entry {@code ref} of the guest (table frame 0 mapped at gfn 0xF). */
  private void grant(int ref, int flags, int domid, long gfn) {
    long a = (0xFL << 12) + ref * 8L;
    guest.memory().write16(a + 2, domid);
    guest.memory().write32(a + 4, (int) gfn);
    guest.memory().write16(a, flags);
  }

  @Test
  void grantMapsCheckTheEntryPinItAndAreCounted() {
    assertThat(guest.grantTables().addToPhysmap(0, 0xF)).isZero();
    guest.memory().write32(0x5000, 0x600D_F00D);
    grant(8, org.hospes.abi.GrantTableOp.GTF_PERMIT_ACCESS, 0, 5);
    grant(9, org.hospes.abi.GrantTableOp.GTF_PERMIT_ACCESS
        | org.hospes.abi.GrantTableOp.GTF_READONLY, 0, 5);
    grant(10, org.hospes.abi.GrantTableOp.GTF_PERMIT_ACCESS, 3, 5);
    ForeignPage p = ctl.mapGrant(guest.domid(), 8, false);
    assertThat(p.read32(0)).isEqualTo(0x600D_F00D);
    p.write32(4, 0xBEEF);
    assertThat(guest.memory().read32(0x5004)).isEqualTo(0xBEEF);
    // The granter sees its entry in use: it must not reuse the page while dom0 holds it.
    assertThat(guest.grantTables().entryFlags(8) & (org.hospes.abi.GrantTableOp.GTF_READING
        | org.hospes.abi.GrantTableOp.GTF_WRITING)).isNotZero();
    assertThat(guest.grantTables().framePinned(guest.p2m().lookup(5))).isTrue();
    // A read-only grant maps read-only only; a grant for another domain or no grant: refused.
    assertThatThrownBy(() -> ctl.mapGrant(guest.domid(), 9, false))
        .isInstanceOf(DomainControl.GrantException.class);
    ForeignPage ro = ctl.mapGrant(guest.domid(), 9, true);
    assertThatThrownBy(() -> ro.write32(0, 1)).isInstanceOf(IllegalStateException.class);
    assertThat(catchStatus(10)).isEqualTo(org.hospes.abi.GrantTableOp.GNTST_GENERAL_ERROR);
    assertThat(catchStatus(1 << 20)).isEqualTo(org.hospes.abi.GrantTableOp.GNTST_BAD_GNTREF);
    assertThat(ctl.counters().grantMaps).isEqualTo(5);
    assertThat(ctl.counters().grantErrors).isEqualTo(3);
    assertThat(ctl.liveGrantMaps()).isEqualTo(2);
    p.unmap();
    ro.unmap();
    assertThat(ctl.liveGrantMaps()).isZero();
    assertThat(ctl.counters().grantUnmaps).isEqualTo(2);
    assertThat(guest.grantTables().entryFlags(8) & (org.hospes.abi.GrantTableOp.GTF_READING
        | org.hospes.abi.GrantTableOp.GTF_WRITING)).isZero();
    // Once the granter is gone, a mapping it left reads zeros.
    ForeignPage late = ctl.mapGrant(guest.domid(), 8, false);
    hv.destroy(guest, "test");
    assertThat(late.read32(0)).isZero();
    assertThat(catchStatus(8)).isEqualTo(org.hospes.abi.GrantTableOp.GNTST_BAD_DOMAIN);
  }

  private int catchStatus(int ref) {
    try {
      ctl.mapGrant(guest.domid(), ref, false).unmap();
      return 0;
    } catch (DomainControl.GrantException e) {
      return e.status();
    }
  }
}
