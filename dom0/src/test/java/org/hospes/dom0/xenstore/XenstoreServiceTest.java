package org.hospes.dom0.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.Test;

/** xenstored as dom0's service: the toolstack's requests and a driver domain's. */
class XenstoreServiceTest {
  private final Hypervisor hv = new Hypervisor(32, new RoundRobinScheduler(),
      new DefaultCostModel());
  private final XenstoreService xs = new XenstoreService(hv.control(), hv.costModel());

  /**
   * xen-init-dom0's nodes are there from the start: dom0's domid and name, dom0's alone (a
   * guest may not read them, as on Xen where they inherit the root's permissions).
   */
  @Test
  void dom0HasItsNameAndDomidFromTheStart() {
    assertThat(xs.read("/local/domain/0/name")).isEqualTo("Domain-0");
    assertThat(xs.read("/local/domain/0/domid")).isEqualTo("0");
    assertThat(xs.request(XsWire.DIRECTORY, "/local/domain/0\0").text())
        .isEqualTo("domid\0name\0");
    for (String node : new String[] {"name", "domid"}) {
      assertThat(xs.request(XsWire.GET_PERMS, "/local/domain/0/" + node + "\0").text())
          .isEqualTo("n0\0");
    }
    Domain guest = hv.createHvmDomain("guest", DomainMode.PVH, 2);
    DomainControl other = hv.createDriverDomain("other", guest.domid());
    assertThat(xs.requestAs(other.domid(), XsWire.READ, "/local/domain/0/name\0").text())
        .isEqualTo("EACCES\0");
  }

  /**
   * A backend's watch fires inside dom0's write that raised it, and its handler reads through
   * the same service: that read took the write's reply (queued first) and the write got none,
   * a NullPointerException (xenstore-write of a frontend's state as dom0, or two disks on one
   * vdev). Each request now takes its own reply.
   */
  @Test
  void aWatchHandlersRequestInsideAWriteLeavesTheWriteItsReply() {
    java.util.List<String> seen = new java.util.ArrayList<>();
    Xenstored.Connection watcher = xs.store().connectDom0(
        new org.hospes.dom0.backend.WatchEvents(() -> seen.add(xs.read("/w/state"))));
    xs.store().watchFrom(watcher);
    xs.store().handle(watcher, XsMessage.of(XsWire.WATCH, 0, 0, "/w/state\0tok\0"));
    assertThat(seen).hasSize(1).containsOnlyNulls(); // fired once when set: no node yet

    xs.write("/w/state", "3");
    assertThat(seen).containsExactly(null, "3");
    XsMessage w = xs.request(XsWire.WRITE, "/w/state\0" + "5");
    assertThat(w.type()).isEqualTo(XsWire.WRITE);
    assertThat(seen).containsExactly(null, "3", "5");
  }

  @Test
  void aDriverDomainsServicesAreAnOrdinaryClientThatMayNotIntroduceDomains() {
    Domain front = hv.createHvmDomain("front", DomainMode.PVH, 2);
    DomainControl dd = hv.createDriverDomain("dd", front.domid());
    String home = "/local/domain/" + dd.domid();
    xs.write(home + "/name", "dd");
    xs.setPerms(home, "n" + dd.domid());
    xs.write("/local/domain/" + front.domid() + "/name", "front");
    xs.setPerms("/local/domain/" + front.domid(), "n" + front.domid());

    XsMessage w = xs.requestAs(dd.domid(), XsWire.WRITE, home + "/backend/state\0" + "4");
    assertThat(w.type()).isEqualTo(XsWire.WRITE);
    assertThat(xs.read(home + "/backend/state")).isEqualTo("4");
    // The frontend's directory is not the driver domain's to read: only SET_TARGET, which
    // libxl sends for a stub device model and not for a driver domain, would let it.
    XsMessage r = xs.requestAs(dd.domid(), XsWire.READ, "/local/domain/" + front.domid()
        + "/name\0");
    assertThat(r.type()).isEqualTo(XsWire.ERROR);
    assertThat(r.text()).isEqualTo("EACCES\0");
    XsMessage i = xs.requestAs(dd.domid(), XsWire.INTRODUCE, front.domid() + "\0" + "100\0"
        + "3\0");
    assertThat(i.text()).isEqualTo("EACCES\0");
    assertThat(xs.store().privilegeRefusals()).isEqualTo(1);
    assertThat(xs.store().isIntroduced(front.domid())).isFalse();
  }
}
