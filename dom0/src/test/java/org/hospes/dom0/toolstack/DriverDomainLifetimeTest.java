package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.backend.blk.JavaBlkfront;
import org.hospes.dom0.backend.blk.VbdBackend;
import org.hospes.dom0.backend.blk.VbdNodes;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A driver domain ({@code backend=NAME}) is made by the toolstack for one guest's disks, so
 * the toolstack ends it: when its last device is removed (block-detach, at once or once the
 * frontend closed, or its guest ended), it is destroyed, its memory freed and its
 * {@code /local/domain/N} tree removed. One that dies while a frontend is connected leaves
 * that frontend a backend in state Closed (online 0), nothing of the guest mapped, and the
 * device removed when the guest goes. Before, a driver domain stayed for the host's life.
 */
class DriverDomainLifetimeTest {
  @TempDir
  Path dir;

  private final HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
  private final Hypervisor hv = host.hypervisor();

  private Path image(String name) throws Exception {
    Path p = dir.resolve(name);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    return p;
  }

  private VbdBackend attach(Domain g, String vdev) throws Exception {
    return host.blockAttach(g.domid(),
        DiskSpec.parse(image(vdev + ".img") + ",vdev=" + vdev + ",backend=storage", 0, null));
  }

  private DomainControl service(int domid) {
    return hv.serviceDomains().stream().filter(c -> c.domid() == domid).findFirst()
        .orElseThrow();
  }

  /** Driver domain {@code dd} is gone: not in the hypervisor, nothing of it in xenstore. */
  private void assertGone(int dd) {
    assertThat(hv.domain(dd)).as("driver domain " + dd).isNull();
    assertThat(hv.serviceDomains()).extracting(DomainControl::domid).containsExactly(0);
    assertThat(host.xenstore().read("/local/domain/" + dd)).isNull();
  }

  @Test
  void aDiskNoFrontendUsedTakesItsDriverDomainWithItWhenDetached() throws Exception {
    Domain g = hv.createHvmDomain("g", DomainMode.PVH, 4);
    int free = hv.frames().freeFrames();
    VbdBackend a = attach(g, "xvda");
    VbdBackend b = attach(g, "xvdb");
    int dd = a.backendDomid();
    assertThat(b.backendDomid()).isEqualTo(dd);
    assertThat(host.xenstore().read("/local/domain/" + dd + "/name")).isEqualTo("storage");

    host.blockDetach(g.domid(), "xvda");
    assertThat(a.removed()).isTrue();
    assertThat(hv.domain(dd)).as("it still serves xvdb").isNotNull();
    host.blockDetach(g.domid(), "xvdb");
    assertGone(dd);
    assertThat(hv.frames().freeFrames()).as("its memory is free").isEqualTo(free);
    assertThat(g.state().isFinal()).as("the guest runs on").isFalse();
  }

  @Test
  void aConnectedDiskTakesItsDriverDomainWithItOnceTheFrontendClosed() throws Exception {
    Domain g = hv.createHvmDomain("g", DomainMode.PVH, 4);
    int free = hv.frames().freeFrames();
    VbdBackend a = attach(g, "xvda");
    int dd = a.backendDomid();
    JavaBlkfront f = new JavaBlkfront(hv, host.xenstore(), g, a.devid());
    assertThat(f.connect(true)).isEqualTo(XenbusState.CONNECTED);

    host.blockDetach(g.domid(), "xvda");
    assertThat(host.reapDriverDomains()).as("Closing: it serves still").isEmpty();
    assertThat(hv.domain(dd)).isNotNull();
    f.close();
    assertThat(a.removed()).isTrue();
    assertThat(host.reapDriverDomains()).containsExactly("driver domain " + dd
        + " (storage) destroyed: its last device was removed");
    assertGone(dd);
    assertThat(f.busyGrantsAtClose()).isZero();
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
  }

  @Test
  void aGuestThatEndsTakesItsDriverDomainWithIt() throws Exception {
    long paddr = 0x10_0000;
    Path kernel = Files.write(dir.resolve("k.elf"), new ElfImageBuilder().entry(paddr)
        .segment(paddr, new byte[] {(byte) 0xF4}, 0x1000).pvhEntryNote(paddr).build());
    int free = hv.frames().freeFrames();
    GuestDomain g = host.start(DomainSpec.parse("a=" + kernel + ",mode=pvh,disk=[backend=storage,"
        + "target=" + image("a.img") + "]", dir), Files.readAllBytes(kernel));
    int dd = host.blockBackends(g.domain().domid()).get(0).backendDomid();
    assertThat(hv.domain(dd).name()).isEqualTo("storage");

    host.destroy("a", "xl destroy");
    assertGone(dd);
    host.forget("a");
    assertThat(hv.frames().freeFrames()).isEqualTo(free);
  }

  @Test
  void aDriverDomainThatDiesUnderAConnectedFrontendLeavesItsBackendClosed() throws Exception {
    Domain g = hv.createHvmDomain("g", DomainMode.PVH, 4);
    VbdBackend a = attach(g, "xvda");
    int dd = a.backendDomid();
    DomainControl storage = service(dd);
    JavaBlkfront f = new JavaBlkfront(hv, host.xenstore(), g, a.devid());
    assertThat(f.connect(true)).isEqualTo(XenbusState.CONNECTED);
    assertThat(storage.liveGrantMaps()).isPositive();

    hv.destroy(storage.domain(), "the driver domain died");
    // The frontend sees its backend Closed, as on Xen when the backend's domain goes; the
    // guest runs on and nothing of it stays mapped.
    assertThat(f.backendState()).isEqualTo(XenbusState.CLOSED);
    assertThat(f.read(VbdNodes.backendPath(dd, g.domid(), a.devid()) + "/online"))
        .isEqualTo("0");
    assertThat(a.orphaned()).isTrue();
    assertThat(storage.liveGrantMaps()).isZero();
    assertThat(g.state().isFinal()).isFalse();
    f.close();
    assertThat(f.busyGrantsAtClose()).isZero();
    assertThat(host.xenstore().read("/local/domain/" + dd + "/name"))
        .as("its nodes stay while its device is there").isEqualTo("storage");

    // The guest goes: its device is removed, nothing holds it, the driver domain is gone.
    hv.destroy(g, "xl destroy");
    assertThat(a.removed()).isTrue();
    assertThat(hv.isHeld(g)).isFalse();
    assertThat(hv.domain(g.domid())).isNull();
    assertThat(host.xenstore().read(VbdNodes.frontendPath(g.domid(), a.devid()))).isNull();
    assertThat(host.reapDriverDomains()).singleElement().asString()
        .startsWith("driver domain " + dd + " (storage) ended (the driver domain died)");
    assertGone(dd);
  }

  @Test
  void aDiskWhoseDriverDomainDiedCanBeDetached() throws Exception {
    Domain g = hv.createHvmDomain("g", DomainMode.PVH, 4);
    VbdBackend a = attach(g, "xvda");
    int dd = a.backendDomid();
    hv.destroy(service(dd).domain(), "the driver domain died");
    assertThat(host.blockBackends(g.domid())).containsExactly(a);
    host.blockDetach(g.domid(), "xvda");
    assertThat(a.removed()).isTrue();
    assertGone(dd);
    // The image is closed: a new disk on it attaches (and a new driver domain of that name).
    VbdBackend again = host.blockAttach(g.domid(), DiskSpec.parse(dir.resolve("xvda.img")
        + ",vdev=xvda,backend=storage", 0, null));
    assertThat(again.backendDomid()).isNotEqualTo(dd);
  }

  /**
   * Messages of destroyed driver domains that nobody asks for (run-many, the library's users:
   * only the host daemon reads them) are bounded: the newest are kept, and the first line read
   * says how many went. They used to pile up for the host's life.
   */
  @Test
  void unreadDriverDomainMessagesAreBounded() throws Exception {
    Domain g = hv.createHvmDomain("g", DomainMode.PVH, 4);
    int cycles = HostRunner.MAX_UNREAD_REAPED + 6;
    int last = 0;
    for (int i = 0; i < cycles; i++) {
      last = attach(g, "xvda").backendDomid();
      host.blockDetach(g.domid(), "xvda"); // no frontend: removed, its driver domain destroyed
      assertGone(last);
    }
    java.util.List<String> read = host.reapDriverDomains();
    assertThat(read).hasSize(HostRunner.MAX_UNREAD_REAPED + 1);
    assertThat(read.get(0)).isEqualTo("6 earlier driver-domain messages were dropped: none"
        + " asked for them");
    assertThat(read.get(read.size() - 1)).isEqualTo("driver domain " + last
        + " (storage) destroyed: its last device was removed");
    assertThat(host.reapDriverDomains()).isEmpty();
    attach(g, "xvda");
    host.blockDetach(g.domid(), "xvda");
    assertThat(host.reapDriverDomains()).singleElement().asString()
        .endsWith("destroyed: its last device was removed");
  }
}
