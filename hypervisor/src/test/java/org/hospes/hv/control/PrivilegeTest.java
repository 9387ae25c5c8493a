package org.hospes.hv.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import org.hospes.abi.GrantTableOp;
import org.hospes.abi.HvmOp;
import org.hospes.abi.XenErrno;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.ioreq.Ioreq;
import org.hospes.hv.ioreq.IoreqServer;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Explicit privilege, as Xen's XSM dummy policy: dom0 may act on every domain, a driver domain
 * on its one target, an unprivileged service domain on none. Refusals are errors, counted, and
 * change nothing.
 */
class PrivilegeTest {
  private static final int PAGE_GFN = 0x100;
  private static final int PATTERN = 0x5A5A_1234;

  private Hypervisor hv;
  private Domain front;
  private Domain other;
  private DomainControl driver;
  private DomainControl nobody;

  private static final IoreqServer NO_DEVICES = new IoreqServer() {
    @Override
    public long handle(int domid, Ioreq req) {
      return 0;
    }
  };

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    front = hv.createHvmDomain("front", DomainMode.PVH, 2);
    other = hv.createHvmDomain("other", DomainMode.PVH, 2);
    driver = hv.createDriverDomain("dd", front.domid());
    nobody = hv.createServiceDomain("nobody", Privilege.NONE);
    front.memory().write32((long) PAGE_GFN << 12, PATTERN);
    other.memory().write32((long) PAGE_GFN << 12, PATTERN + 1);
  }

  /** {@code granter} offers its page PAGE_GFN to {@code grantee} as entry {@code ref}. */
  private void grant(Domain granter, int ref, int grantee, int flags) {
    long e = (granter.grantTables().frameMfn(0) << 12) + (long) ref * GrantTableOp.ENTRY_SIZE;
    hv.machineMemory().write32(e + GrantTableOp.ENTRY_FRAME, PAGE_GFN);
    hv.machineMemory().write16(e + GrantTableOp.ENTRY_DOMID, grantee);
    hv.machineMemory().write16(e + GrantTableOp.ENTRY_FLAGS, flags);
  }

  private int entryFlags(Domain granter, int ref) {
    return granter.grantTables().entryFlags(ref);
  }

  @Test
  void anUnprivilegedDomainsAttemptsAreRefusedCountedAndChangeNothing() {
    int gfn = PAGE_GFN;
    assertThatThrownBy(() -> nobody.mapForeign(front.domid(), gfn))
        .isInstanceOf(NotPermittedException.class)
        .hasMessage("domain %d (nobody, unprivileged) may not map foreign frames of domain %d"
            + " (XSM_TARGET)", nobody.domid(), front.domid());
    assertThat(nobody.allocUnboundFor(front.domid(), nobody.domid()))
        .isEqualTo(XenErrno.EPERM.negated());
    assertThatThrownBy(() -> nobody.setHvmParam(front.domid(), HvmOp.PARAM_STORE_PFN, 7))
        .isInstanceOf(NotPermittedException.class);
    assertThatThrownBy(() -> nobody.hvmParam(front.domid(), HvmOp.PARAM_STORE_PFN))
        .isInstanceOf(NotPermittedException.class);
    assertThatThrownBy(() -> nobody.serveIoreqs(front.domid(), NO_DEVICES))
        .isInstanceOf(NotPermittedException.class)
        .hasMessageContaining("may not serve the ioreqs of domain " + front.domid())
        .hasMessageEndingWith("(XSM_DM_PRIV)");
    assertThat(nobody.refusals()).isEqualTo(5);
    // Nothing changed.
    assertThat(nobody.foreignMaps()).isZero();
    assertThat(nobody.liveForeignMaps()).isZero();
    assertThat(front.hvmParam(HvmOp.PARAM_STORE_PFN)).isZero();
    assertThat(front.ioreqServer()).isNull();
    for (int port = 1; port < 16; port++) {
      assertThat(front.eventChannels().status(port)[0]).as("port %d", port)
          .isNotEqualTo(org.hospes.abi.EventChannelOp.STATUS_UNBOUND);
    }
    // On itself it may act (XSM_TARGET admits the domain itself).
    assertThat(nobody.allocUnboundFor(nobody.domid(), front.domid())).isPositive();
    assertThat(nobody.refusals()).isEqualTo(5);
    assertThat(catchThrowableOfType(() -> nobody.mapForeign(front.domid(), gfn),
        NotPermittedException.class).errno()).isEqualTo(XenErrno.EPERM.negated());
  }

  @Test
  void aDriverDomainActsOnItsFrontendAndOnNoOtherDomain() {
    ForeignPage p = driver.mapForeign(front.domid(), PAGE_GFN);
    assertThat(p.read32(0)).isEqualTo(PATTERN);
    assertThatThrownBy(() -> driver.mapForeign(other.domid(), PAGE_GFN))
        .isInstanceOf(NotPermittedException.class)
        .hasMessageContaining("(dd, privileged over domain " + front.domid() + ")");
    driver.serveIoreqs(front.domid(), NO_DEVICES);
    assertThat(front.ioreqService()).isSameAs(driver);
    assertThatThrownBy(() -> driver.serveIoreqs(other.domid(), NO_DEVICES))
        .isInstanceOf(NotPermittedException.class);
    assertThat(other.ioreqServer()).isNull();
    driver.setHvmParam(front.domid(), HvmOp.PARAM_STORE_PFN, 9);
    assertThat(front.hvmParam(HvmOp.PARAM_STORE_PFN)).isEqualTo(9);
    assertThat(driver.refusals()).isEqualTo(2);
    // dom0 may act on both.
    assertThat(hv.control().mapForeign(other.domid(), PAGE_GFN).read32(0))
        .isEqualTo(PATTERN + 1);
    assertThat(hv.control().refusals()).isZero();
  }

  @Test
  void aDriverDomainMapsTheGrantsOfItsFrontendAndNotAnothersGrants() {
    grant(front, 8, driver.domid(), GrantTableOp.GTF_PERMIT_ACCESS);
    // other's backend is dom0: its grant names dom0, not the driver domain.
    grant(other, 8, DomainControl.DOM0, GrantTableOp.GTF_PERMIT_ACCESS);
    ForeignPage page = driver.mapGrant(front.domid(), 8, false);
    assertThat(page.read32(0)).isEqualTo(PATTERN);
    page.write32(4, 0xB10C);
    assertThat(front.memory().read32(((long) PAGE_GFN << 12) + 4)).isEqualTo(0xB10C);
    assertThat(entryFlags(front, 8) & GrantTableOp.GTF_WRITING).isNotZero();
    assertThatThrownBy(() -> driver.mapGrant(other.domid(), 8, true))
        .isInstanceOf(GrantMapException.class)
        .satisfies(e -> assertThat(((GrantMapException) e).status())
            .isEqualTo(GrantTableOp.GNTST_GENERAL_ERROR));
    assertThat(entryFlags(other, 8)).isEqualTo(GrantTableOp.GTF_PERMIT_ACCESS);
    assertThat(driver.counters().grantMaps).isEqualTo(1);
    assertThat(driver.counters().grantErrors).isEqualTo(1);
    // dom0 maps other's grant, as its backend.
    assertThat(hv.control().mapGrant(other.domid(), 8, true).read32(0)).isEqualTo(PATTERN + 1);
    page.unmap();
    assertThat(entryFlags(front, 8)).isEqualTo(GrantTableOp.GTF_PERMIT_ACCESS);
    assertThat(driver.counters().grantUnmaps).isEqualTo(1);
  }

  @Test
  void aReadOnlyGrantGivesAReadOnlyMappingThatOutlivesTheGrantersCrashUntilUnmapped() {
    grant(front, 3, driver.domid(), GrantTableOp.GTF_PERMIT_ACCESS | GrantTableOp.GTF_READONLY);
    assertThatThrownBy(() -> driver.mapGrant(front.domid(), 3, false))
        .isInstanceOf(GrantMapException.class);
    ForeignPage ro = driver.mapGrant(front.domid(), 3, true);
    assertThat(ro.read32(0)).isEqualTo(PATTERN);
    assertThatThrownBy(() -> ro.write32(0, 1)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("read-only grant");
    assertThat(front.memory().read32((long) PAGE_GFN << 12)).isEqualTo(PATTERN);
    // The frontend crashes: as in Xen it keeps its memory until destroyed, and its destroy
    // leaves the mapped frame its own until the mapping goes, so the mapping still reads it.
    hv.crash(front, "test");
    assertThat(ro.read32(0)).isEqualTo(PATTERN);
    hv.destroy(front, "xl destroy");
    assertThat(ro.read32(0)).isEqualTo(PATTERN);
    assertThat(hv.isHeld(front)).isTrue();
    ro.unmap();
    assertThat(hv.domain(front.domid())).isNull();
    assertThat(driver.domain().grantTables().activeMappings()).isZero();
  }


  @Test
  void aDestroyedFrontendsFrameStaysMappedUntilTheDriverDomainUnmapsIt() {
    grant(front, 3, driver.domid(), GrantTableOp.GTF_PERMIT_ACCESS | GrantTableOp.GTF_READONLY);
    ForeignPage ro = driver.mapGrant(front.domid(), 3, true);
    // Destroyed, as by xl destroy: the frame is still the frontend's (Xen: the mapping holds a
    // page reference), so the mapping still reads it, and the frontend stays, dying.
    hv.destroy(front, "test");
    assertThat(ro.read32(0)).isEqualTo(PATTERN);
    assertThat(hv.domain(front.domid())).isSameAs(front);
    assertThat(front.state()).isEqualTo(org.hospes.hv.domain.DomainState.DYING);
    ro.unmap();
    assertThat(hv.domain(front.domid())).isNull();
    assertThat(driver.domain().grantTables().activeMappings()).isZero();
  }

  @Test
  void aDriverDomainNeedsAGuestTargetAndThereIsOneControlDomain() {
    assertThatThrownBy(() -> hv.createDriverDomain("x", 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> hv.createDriverDomain("x", 99))
        .hasMessageContaining("existing guest domain");
    assertThatThrownBy(() -> hv.createServiceDomain("x", Privilege.CONTROL))
        .hasMessageContaining("one control domain");
    assertThat(driver.privilege()).isEqualTo(Privilege.over(front.domid()));
    assertThat(hv.serviceDomains()).extracting(DomainControl::domid)
        .containsExactly(0, driver.domid(), nobody.domid());
  }
}
