package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hospes.abi.Blkif.OP_READ;
import static org.hospes.abi.Blkif.OP_WRITE;
import static org.hospes.abi.Blkif.RSP_OKAY;

import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Random;
import org.hospes.abi.XenbusState;
import org.hospes.dom0.backend.blk.JavaBlkfront;
import org.hospes.dom0.backend.blk.VbdBackend;
import org.hospes.dom0.backend.blk.VbdNodes;
import org.hospes.hv.control.DomainControl;
import org.hospes.hv.domain.Domain;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The toolstack's block-attach and block-detach (HostRunner) on a domain whose frontend is a
 * Java blkfront: detach closes both ends and leaves nothing mapped in the backend's domain,
 * a new disk attaches afterwards, for dom0 and driver-domain backends alike.
 */
class BlockHotplugTest {
  @TempDir
  Path dir;

  private Path image(String name) throws Exception {
    Path p = dir.resolve(name);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    return p;
  }

  private static void writeAndReadBack(JavaBlkfront f, long seed) {
    byte[] page = new byte[4096];
    new Random(seed).nextBytes(page);
    f.fill(0, page, 0);
    assertThat(f.io(OP_WRITE, 40, 1)).as("seed %d", seed).isEqualTo(RSP_OKAY);
    f.fill(0, new byte[4096], 0);
    assertThat(f.io(OP_READ, 40, 1)).isEqualTo(RSP_OKAY);
    byte[] back = new byte[4096];
    f.copyOut(0, back, 0);
    assertThat(back).as("seed %d", seed).isEqualTo(page);
  }

  private void detachAttach(String backendKey) throws Exception {
    HostRunner host = HostRunner.create(64, new ByteArrayOutputStream());
    Domain g = host.hypervisor().createHvmDomain("g", DomainMode.PVH, 4);
    VbdBackend a = host.blockAttach(g.domid(),
        DiskSpec.parse(image("a.img") + ",vdev=xvda" + backendKey, 0, null));
    DomainControl be = host.hypervisor().serviceDomains().stream()
        .filter(c -> c.domid() == a.backendDomid()).findFirst().orElseThrow();
    assertThat(host.blockBackends(g.domid())).containsExactly(a);
    assertThatThrownBy(() -> host.blockAttach(g.domid(),
        DiskSpec.parse(image("a2.img") + ",vdev=xvda", 0, null)))
        .hasMessage("domain " + g.domid() + " already has xvda");
    JavaBlkfront f = new JavaBlkfront(host.hypervisor(), host.xenstore(), g, a.devid());
    assertThat(f.connect(true)).isEqualTo(XenbusState.CONNECTED);
    writeAndReadBack(f, 1);
    assertThat(be.liveGrantMaps()).isPositive();

    assertThat(host.blockDetach(g.domid(), "xvda")).isSameAs(a);
    assertThat(f.backendState()).isEqualTo(XenbusState.CLOSING);
    f.close();
    assertThat(a.removed()).isTrue();
    assertThat(be.liveGrantMaps()).isZero();
    assertThat(be.liveForeignMaps()).isZero();
    assertThat(f.busyGrantsAtClose()).isZero();
    assertThat(host.blockBackends(g.domid())).isEmpty();
    assertThat(host.xenstore().read(VbdNodes.frontendPath(g.domid(), a.devid()))).isNull();
    assertThatThrownBy(() -> host.blockDetach(g.domid(), "xvda"))
        .hasMessage("domain " + g.domid() + " has no disk xvda");

    // Attach again, the same vdev on another image: the frontend connects again.
    VbdBackend b = host.blockAttach(g.domid(),
        DiskSpec.parse(image("b.img") + ",vdev=xvda" + backendKey, 0, null));
    // A driver domain went with its last disk: the same name is a new one (dom0 stays).
    assertThat(host.hypervisor().domain(b.backendDomid()).name())
        .isEqualTo(backendKey.isEmpty() ? "Domain-0" : "storage");
    JavaBlkfront f2 = new JavaBlkfront(host.hypervisor(), host.xenstore(), g, b.devid());
    assertThat(f2.connect(true)).isEqualTo(XenbusState.CONNECTED);
    writeAndReadBack(f2, 2);
    assertThat(b.stats().bytesWritten).isEqualTo(4096);
  }

  @Test
  void detachAndAttachWithDom0sBackend() throws Exception {
    detachAttach("");
  }

  @Test
  void detachAndAttachWithADriverDomainsBackend() throws Exception {
    detachAttach(",backend=storage");
  }
}
