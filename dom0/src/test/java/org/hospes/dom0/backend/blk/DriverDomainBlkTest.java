package org.hospes.dom0.backend.blk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hospes.abi.Blkif.OP_READ;
import static org.hospes.abi.Blkif.OP_WRITE;
import static org.hospes.abi.Blkif.RSP_OKAY;

import java.util.Random;
import org.hospes.abi.Blkif;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.XenErrno;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.disk.MemoryDisk;
import org.hospes.dom0.xenstore.XenstoreService;
import org.hospes.dom0.xenstore.XsMessage;
import org.hospes.dom0.xenstore.XsWire;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.control.GrantMapException;
import org.hospes.hv.control.NotPermittedException;
import org.hospes.hv.cost.DefaultCostModel;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.sched.RoundRobinScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * blkback in a driver domain ("storage", privileged over one guest), as xl's {@code backend=}:
 * the same VbdBackend, run on the driver domain's DomainControl, with its grant maps, event
 * channels and xenstore writes; and the vbd's life while the guest runs: hot-unplug (nothing
 * left mapped), hot-plug of a new disk, a backend restart.
 */
class DriverDomainBlkTest {
  private static final int XVDA = Blkif.devidOf("xvda");
  private static final int XVDB = Blkif.devidOf("xvdb");
  private static final long SEED = 0xD15C;

  private Hypervisor hv;
  private XenstoreService xs;
  private Domain guest;
  private Domain other;
  private DomainControl storage;

  @BeforeEach
  void setUp() {
    hv = new Hypervisor(64, new RoundRobinScheduler(), new DefaultCostModel());
    xs = new XenstoreService(hv.control(), hv.costModel());
    guest = hv.createHvmDomain("g", DomainMode.PVH, 4);
    other = hv.createHvmDomain("other", DomainMode.PVH, 4);
    storage = hv.createDriverDomain("storage", guest.domid());
  }

  private VbdBackend attach(DomainControl backend, Domain g, int devid, MemoryDisk disk) {
    VbdNodes.create(xs, backend.domid(), g.domid(), devid, devid == XVDA ? "xvda" : "xvdb",
        "/images/" + devid + ".img", "raw", false);
    return VbdBackend.start(xs, backend, hv.costModel(), g.domid(), devid, disk);
  }

  /** Writes 3 seeded pages at {@code sector}, reads them back into cleared pages, compares. */
  private static void roundTrip(JavaBlkfront f, long sector, MemoryDisk disk, long seed)
      throws Exception {
    byte[] pattern = new byte[3 * 4096];
    new Random(seed).nextBytes(pattern);
    for (int i = 0; i < 3; i++) {
      f.fill(i, pattern, i * 4096);
    }
    assertThat(f.io(OP_WRITE, sector, 3)).as("seed %d", seed).isEqualTo(RSP_OKAY);
    byte[] onDisk = new byte[pattern.length];
    disk.read(sector * 512, onDisk, 0, onDisk.length);
    assertThat(onDisk).as("seed %d", seed).isEqualTo(pattern);
    for (int i = 0; i < 3; i++) {
      f.fill(i, new byte[4096], 0);
    }
    assertThat(f.io(OP_READ, sector, 3)).isEqualTo(RSP_OKAY);
    byte[] back = new byte[pattern.length];
    for (int i = 0; i < 3; i++) {
      f.copyOut(i, back, i * 4096);
    }
    assertThat(back).as("seed %d", seed).isEqualTo(pattern);
  }

  @Test
  void theDriverDomainServesItsGuestsDiskWithItsOwnGrantsPortsAndNodes() throws Exception {
    MemoryDisk disk = new MemoryDisk(1 << 20);
    VbdBackend be = attach(storage, guest, XVDA, disk);
    String bePath = "/local/domain/" + storage.domid() + "/backend/vbd/" + guest.domid() + "/"
        + XVDA;
    String fePath = VbdNodes.frontendPath(guest.domid(), XVDA);
    assertThat(xs.read(fePath + "/backend")).isEqualTo(bePath);
    assertThat(xs.read(fePath + "/backend-id")).isEqualTo(Integer.toString(storage.domid()));
    assertThat(xs.request(XsWire.GET_PERMS, bePath + "\0").text())
        .isEqualTo("n" + storage.domid() + "\0r" + guest.domid() + "\0");
    assertThat(xs.request(XsWire.GET_PERMS, fePath + "\0").text())
        .isEqualTo("n" + guest.domid() + "\0r" + storage.domid() + "\0");
    assertThat(xs.read(bePath + "/state")).isEqualTo(XenbusState.INIT_WAIT.text());

    JavaBlkfront f = new JavaBlkfront(hv, xs, guest, XVDA);
    assertThat(f.connect(true)).isEqualTo(XenbusState.CONNECTED);
    assertThat(f.frontendState()).isEqualTo(XenbusState.CONNECTED);
    assertThat(xs.read(bePath + "/sectors")).isEqualTo(Long.toString((1 << 20) / 512));
    roundTrip(f, 8, disk, SEED);
    roundTrip(f, 100, disk, SEED + 1);

    // The work was the storage domain's: its grant maps, its event channel, its vCPU's time.
    assertThat(storage.counters().grantMaps).isPositive();
    assertThat(storage.counters().cycles).isPositive();
    assertThat(storage.liveGrantMaps()).isPositive();
    assertThat(be.stats().bytesWritten).isEqualTo(6 * 4096);
    assertThat(hv.control().counters().grantMaps).isZero();
    assertThat(hv.control().counters().grantErrors).isZero();
    assertThat(hv.control().liveGrantMaps()).isZero();
    assertThat(be.ring()).isNotNull();
    assertThat(storage.channels().status(be.ring().localPort())[0])
        .isEqualTo(org.hospes.abi.EventChannelOp.STATUS_INTERDOMAIN);
  }

  @Test
  void theDriverDomainMayNotActOnAnotherGuest() {
    // other's page and a grant of it, offered to dom0 (its backend).
    long gnt = 0x0F;
    assertThat(other.grantTables().addToPhysmap(0, gnt)).isZero();
    long e = (gnt << 12) + 8L * GrantTableOp.ENTRY_SIZE;
    other.memory().write16(e + GrantTableOp.ENTRY_DOMID, 0);
    other.memory().write32(e + GrantTableOp.ENTRY_FRAME, 0x20);
    other.memory().write16(e + GrantTableOp.ENTRY_FLAGS, GrantTableOp.GTF_PERMIT_ACCESS);
    other.memory().write32(0x20L << 12, 0x1234_5678);

    assertThatThrownBy(() -> storage.mapGrant(other.domid(), 8, true))
        .isInstanceOf(GrantMapException.class);
    assertThat(storage.counters().grantErrors).isEqualTo(1);
    assertThatThrownBy(() -> storage.mapForeign(other.domid(), 0x20))
        .isInstanceOf(NotPermittedException.class)
        .hasMessageContaining("privileged over domain " + guest.domid());
    assertThat(storage.allocUnboundFor(other.domid(), storage.domid()))
        .isEqualTo(XenErrno.EPERM.negated());
    assertThat(storage.refusals()).isEqualTo(2);
    assertThat(storage.liveForeignMaps()).isZero();
    assertThat(storage.liveGrantMaps()).isZero();
    // Nothing of other's changed: its grant is not in use.
    assertThat(other.memory().read16(e + GrantTableOp.ENTRY_FLAGS))
        .isEqualTo(GrantTableOp.GTF_PERMIT_ACCESS);

    // In xenstore it is an ordinary client: other's nodes and dom0's backends are not its own.
    attach(hv.control(), other, XVDA, new MemoryDisk(1 << 20));
    String otherBe = VbdNodes.backendPath(other.domid(), XVDA);
    String otherFe = VbdNodes.frontendPath(other.domid(), XVDA);
    for (String path : new String[] {otherBe + "/state", otherFe + "/ring-ref",
        "/local/domain/" + other.domid() + "/name"}) {
      XsMessage m = xs.requestAs(storage.domid(), XsWire.WRITE, path + "\0" + "6");
      assertThat(m.type()).as(path).isEqualTo(XsWire.ERROR);
      assertThat(m.text().trim()).as(path).isEqualTo("EACCES");
    }
    assertThat(xs.requestAs(storage.domid(), XsWire.READ, otherFe + "/state\0").text().trim())
        .isEqualTo("EACCES");
    assertThat(xs.read(otherBe + "/state")).isEqualTo(XenbusState.INIT_WAIT.text());
    // A backend for other started on the storage domain cannot even probe.
    assertThatThrownBy(() -> VbdBackend.start(xs, storage, hv.costModel(), other.domid(), XVDB,
        new MemoryDisk(1 << 20))).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("EACCES");
  }

  @Test
  void hotUnplugReleasesEverythingThenAHotPluggedDiskConnects() throws Exception {
    MemoryDisk a = new MemoryDisk(1 << 20);
    VbdBackend be = attach(storage, guest, XVDA, a);
    JavaBlkfront f = new JavaBlkfront(hv, xs, guest, XVDA);
    assertThat(f.connect(true)).isEqualTo(XenbusState.CONNECTED);
    roundTrip(f, 0, a, SEED);
    assertThat(storage.liveGrantMaps()).isGreaterThan(1);

    // xl block-detach: online = 0, the backend Closing; the frontend closes; both Closed.
    be.unplug();
    assertThat(f.backendState()).isEqualTo(XenbusState.CLOSING);
    f.close();
    assertThat(be.state()).isEqualTo(XenbusState.CLOSED);
    assertThat(be.removed()).isTrue();
    assertThat(be.ring()).isNull();
    assertThat(storage.liveGrantMaps()).isZero();
    assertThat(storage.liveForeignMaps()).isZero();
    assertThat(storage.counters().grantUnmaps).isEqualTo(storage.counters().grantMaps);
    assertThat(f.busyGrantsAtClose()).isZero();
    assertThat(f.ringGrantFlags()).isZero();
    assertThat(xs.read(VbdNodes.frontendPath(guest.domid(), XVDA))).isNull();
    assertThat(xs.read(VbdNodes.backendPath(storage.domid(), guest.domid(), XVDA))).isNull();

    // xl block-attach of a new disk while the guest runs: a new device, a new connection.
    MemoryDisk b = new MemoryDisk(2 << 20);
    VbdBackend be2 = attach(storage, guest, XVDB, b);
    JavaBlkfront f2 = new JavaBlkfront(hv, xs, guest, XVDB);
    assertThat(f2.connect(true)).isEqualTo(XenbusState.CONNECTED);
    assertThat(f2.sectors()).isEqualTo((2 << 20) / 512);
    roundTrip(f2, 2000, b, SEED + 2);
    assertThat(be2.state()).isEqualTo(XenbusState.CONNECTED);
  }

  @Test
  void aRestartedDriverDomainBackendServesTheFrontendAgain() throws Exception {
    MemoryDisk disk = new MemoryDisk(1 << 20);
    VbdBackend be = attach(storage, guest, XVDA, disk);
    JavaBlkfront f = new JavaBlkfront(hv, xs, guest, XVDA);
    assertThat(f.connect(true)).isEqualTo(XenbusState.CONNECTED);
    roundTrip(f, 16, disk, SEED);

    be.stop();
    assertThat(storage.liveGrantMaps()).isZero();
    assertThat(f.backendState()).isEqualTo(XenbusState.CLOSED);
    f.close();
    assertThat(f.busyGrantsAtClose()).isZero();
    VbdBackend again = VbdBackend.start(xs, storage, hv.costModel(), guest.domid(), XVDA, disk);
    assertThat(again.state()).isEqualTo(XenbusState.CLOSED);
    assertThat(f.reconnect(true)).isEqualTo(XenbusState.CONNECTED);
    // What was written before the restart is there; new I/O works.
    for (int i = 0; i < 3; i++) {
      f.fill(i, new byte[4096], 0);
    }
    assertThat(f.io(OP_READ, 16, 3)).isEqualTo(RSP_OKAY);
    byte[] back = new byte[3 * 4096];
    for (int i = 0; i < 3; i++) {
      f.copyOut(i, back, i * 4096);
    }
    byte[] expected = new byte[3 * 4096];
    new Random(SEED).nextBytes(expected);
    assertThat(back).isEqualTo(expected);
    roundTrip(f, 300, disk, SEED + 3);
    assertThat(hv.control().counters().grantMaps).isZero();
  }
}
