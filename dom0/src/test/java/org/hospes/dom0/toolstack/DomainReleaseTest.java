package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.backend.blk.JavaBlkfront;
import org.hospes.dom0.backend.blk.VbdBackend;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.hospes.hv.domain.DomainState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A domain the toolstack destroys or forgets leaves the hypervisor's lists: the backends that
 * had its rings grant-mapped unmap them when it dies, so nothing holds it dying; one that shut
 * down is destroyed when the toolstack forgets it, as libxl does.
 */
class DomainReleaseTest {
  @TempDir
  Path dir;

  private Path image(String name) throws Exception {
    Path p = dir.resolve(name);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    return p;
  }

  private void destroyWithConnectedDisk(String backendKey) throws Exception {
    HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
    Hypervisor hv = host.hypervisor();
    Domain g = hv.createHvmDomain("g", DomainMode.PVH, 4);
    VbdBackend a = host.blockAttach(g.domid(),
        DiskSpec.parse(image("a.img") + ",vdev=xvda" + backendKey, 0, null));
    DomainControl be = hv.serviceDomains().stream()
        .filter(c -> c.domid() == a.backendDomid()).findFirst().orElseThrow();
    JavaBlkfront f = new JavaBlkfront(hv, host.xenstore(), g, a.devid());
    assertThat(f.connect(true)).isEqualTo(XenbusState.CONNECTED);
    assertThat(be.liveGrantMaps()).isPositive();

    hv.destroy(g, "xl destroy");
    // The backend unmapped the ring when told of the death: nothing holds g.
    assertThat(be.liveGrantMaps()).isZero();
    assertThat(hv.isHeld(g)).isFalse();
    assertThat(hv.domain(g.domid())).isNull();
    assertThat(hv.domains()).doesNotContain(g);
  }

  @Test
  void aDomainWhoseDiskDom0ServedIsGoneOnceDestroyed() throws Exception {
    destroyWithConnectedDisk("");
  }

  @Test
  void aDomainWhoseDiskADriverDomainServedIsGoneOnceDestroyed() throws Exception {
    destroyWithConnectedDisk(",backend=storage");
  }

  @Test
  void aDomainThatShutDownLeavesTheHypervisorWhenTheToolstackForgetsIt() throws Exception {
    HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
    byte[] halt = ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4});
    GuestDomain g = host.start(DomainSpec.of("h", dir.resolve("h.elf"), ""), halt);
    host.run(10_000_000);
    assertThat(g.domain().state()).isEqualTo(DomainState.SHUTDOWN);
    assertThat(host.hypervisor().domain(g.domain().domid())).isSameAs(g.domain());
    host.forget("h");
    assertThat(host.hypervisor().domain(g.domain().domid())).isNull();
    // What it ended with stays readable for the toolstack's message.
    assertThat(g.domain().state()).isEqualTo(DomainState.SHUTDOWN);
  }

  /**
   * A host daemon creates and destroys domains for as long as it runs, so what dom0 keeps for
   * a destroyed guest's devices must go with it. Before, every destroyed guest left its vbd in
   * the toolstack's table (only a driver domain's were dropped) and, in dom0's DomainControl,
   * a death watcher for each of its backends and one for its console, each holding what it
   * watched for, for the host's lifetime.
   */
  @Test
  void destroyedGuestsLeaveNoBackendsOrDeathWatchersWithDom0() throws Exception {
    HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
    long paddr = 0x10_0000;
    Path kernel = Files.write(dir.resolve("k.elf"), new ElfImageBuilder().entry(paddr)
        .segment(paddr, new byte[] {(byte) 0xF4}, 0x1000).pvhEntryNote(paddr).build());
    Path img = image("a.img");
    DomainControl dom0 = host.hypervisor().control();
    int watchers = -1;
    for (int i = 0; i < 4; i++) {
      GuestDomain g = host.start(DomainSpec.parse("a=" + kernel + ",mode=pvh,disk=" + img, dir),
          Files.readAllBytes(kernel));
      assertThat(host.blockBackends(g.domain().domid())).hasSize(1);
      assertThat(host.trackedVbds()).isEqualTo(1);
      host.destroy("a", "xl destroy");
      host.forget("a");
      assertThat(host.trackedVbds()).as("after guest %d", i).isZero();
      if (i == 0) {
        watchers = dom0.deathCallbacks(); // the toolstack's and xenstored's own, from now on
      }
      assertThat(dom0.deathCallbacks()).as("after guest %d", i).isEqualTo(watchers);
    }
  }

  /**
   * The same for a guest's vifs: the toolstack's list of netback vifs (whose counters a run
   * reads after its guests ended) kept every vif of every guest the host ever ran, forgotten or
   * not. A guest the toolstack forgets takes its vifs out of the list.
   */
  @Test
  void forgottenGuestsLeaveNoVifsWithTheToolstack() throws Exception {
    HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
    long paddr = 0x10_0000;
    Path kernel = Files.write(dir.resolve("k.elf"), new ElfImageBuilder().entry(paddr)
        .segment(paddr, new byte[] {(byte) 0xF4}, 0x1000).pvhEntryNote(paddr).build());
    for (int i = 0; i < 3; i++) {
      GuestDomain g = host.start(DomainSpec.parse("a=" + kernel
          + ",mode=pvh,vif=[type=vif,net=bridge:br0]", dir), Files.readAllBytes(kernel));
      assertThat(host.networks().vifs()).as("guest %d", i).hasSize(1);
      host.destroy("a", "xl destroy");
      assertThat(host.networks().vifs()).as("destroyed, not yet forgotten").hasSize(1);
      host.forget("a");
      assertThat(host.networks().vifs()).as("after guest %d", i).isEmpty();
      assertThat(g.domain().state().isFinal()).isTrue();
    }
  }

  /**
   * A guest that ended by itself and that the toolstack forgets (a host daemon's domain that
   * shut down: xl's on_poweroff = "destroy") gives back what its device model held: its
   * virtio disk's image (the lock with it) and its e1000's port and address on its network.
   * Before, forget destroyed the domain but kept both, so the daemon refused the next domain
   * on that image ("the image is in use") or with that MAC, and the dead card stayed on the
   * bridge.
   */
  @Test
  void aGuestThatEndedAndIsForgottenGivesBackItsDeviceModelsImageAndPort() throws Exception {
    HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
    Path kernel = Files.write(dir.resolve("h.elf"),
        ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
    Path img = image("v.img");
    String devices = ",mode=hvm,disk=[" + img + ",bus=virtio],vif=[mac=00:16:3e:00:00:30,"
        + "net=bridge:br0]";
    GuestDomain g = host.start(DomainSpec.parse("h1=" + kernel + devices, dir),
        Files.readAllBytes(kernel));
    // As the host daemon does: its stop check, after every scheduling decision, applies xl's
    // on_poweroff = "destroy" to a domain that ended, so the run's own clean-up at its end
    // no longer finds it among the guests.
    host.runUntil(10_000_000, () -> {
      if (g.isLive()) {
        return false;
      }
      host.forget("h1");
      return true;
    });
    assertThat(g.domain().state()).isEqualTo(DomainState.SHUTDOWN);
    try (var again = DiskSpec.parse(img.toString(), 0, null).open()) {
      assertThat(again.readOnly()).as("opened for writing: no lock left").isFalse();
    }
    GuestDomain h2 = host.start(DomainSpec.parse("h2=" + kernel + devices, dir),
        Files.readAllBytes(kernel));
    assertThat(h2.domain().state().isFinal()).isFalse();
  }

  /**
   * A build that fails once its disk is open (here an unknown device plugin, attached after the
   * disks) destroys the domain and gives the image back, so the same disk starts the next
   * domain: a host daemon's create, retried with the config put right, is not refused with
   * "the image is in use" until the host restarts (as it was: the lock stayed with the JVM).
   */
  @Test
  void aBuildThatFailsGivesItsDiskImagesBack() throws Exception {
    HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
    byte[] halt = ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4});
    Path kernel = Files.write(dir.resolve("h.elf"), halt);
    Path img = image("a.img");
    DomainSpec bad = DomainSpec.parse("a=" + kernel + ",mode=hvm,disk=" + img + ",device=nope",
        dir);
    assertThatThrownBy(() -> host.start(bad, halt)).hasMessageContaining("nope");
    assertThat(host.hypervisor().domains()).noneMatch(d -> d.name().equals("a"));

    GuestDomain g = host.start(DomainSpec.parse("a=" + kernel + ",mode=hvm,disk=" + img, dir),
        halt);
    assertThat(g.domain().state()).isEqualTo(DomainState.RUNNING);
    assertThat(host.blockBackends(g.domain().domid())).isEmpty(); // an IDE disk: no vbd
  }

  /**
   * A build that fails once the domain's PV services, its vbd and its vif (with a capture) are
   * up (pvhvm: an unknown device plugin comes last) leaves nothing of it: its xenstore tree and
   * backend directories are removed, its port leaves the bridge and its capture file is closed,
   * and machine memory is as before. (The host daemon's create goes through here.) Before, the
   * nodes stayed under a domid a later domain may be given, and the capture stayed open.
   */
  @Test
  void aBuildThatFailsLeavesNoXenstoreNodesPortsOrCaptures() throws Exception {
    HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
    byte[] halt = ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4});
    Path kernel = Files.write(dir.resolve("h.elf"), halt);
    Path img = image("a.img");
    int free = HostRunner.create(64, new ByteArrayOutputStream()).hypervisor().frames()
        .freeFrames();
    DomainSpec bad = DomainSpec.parse("a=" + kernel + ",mode=pvhvm,disk=" + img
        + ",vif=[type=vif,net=bridge:br0,pcap=" + dir.resolve("a.pcap") + "],device=nope", dir);
    int domid = host.hypervisor().domains().size(); // the next one: 1
    assertThatThrownBy(() -> host.start(bad, halt)).hasMessageContaining("nope");

    assertThat(host.xenstore()).as("the PV services were set up").isNotNull();
    assertThat(host.xenstore().read("/local/domain/" + domid)).isNull();
    assertThat(host.xenstore().read("/local/domain/0/backend/vbd/" + domid)).isNull();
    assertThat(host.xenstore().read("/local/domain/0/backend/vif/" + domid)).isNull();
    assertThat(host.networks().openCaptures()).isZero();
    assertThat(Files.size(dir.resolve("a.pcap"))).as("the header, flushed").isEqualTo(24);
    assertThat(host.hypervisor().domains()).extracting(Domain::domid).containsExactly(0);
    assertThat(host.hypervisor().frames().freeFrames()).isEqualTo(free);
  }
}
