package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.backend.blk.VbdBackend;
import org.hospes.dom0.backend.blk.VbdNodes;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.hv.control.DomainControl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PV disk's hot-plug acceptance test (xl block-attach and block-detach while the guest
 * runs): Debian's unmodified 686-pae kernel boots in a PVH domain with no disk and its own
 * xen-blkfront loaded. When its init script says it waits, the host attaches an ext4 image; the
 * guest's blkfront sees the new vbd through its xenbus watch and connects, and the script mounts
 * it read-only and prints a file of it. When the script has unmounted it, the host detaches it:
 * blkfront closes, /sys/block/xvda goes and the script powers off. Afterwards the backend is
 * removed with its xenstore nodes, and dom0 maps nothing of the guest but the xenstore and
 * console rings it mapped before the attach.
 */
@org.junit.jupiter.api.Tag("linux-long") // in ./test's second stage (see ./test)
class DebianLinuxBlkHotplugTest {
  private static final List<String> MODULES = List.of("xen-blkfront.ko", "crc16.ko",
      "mbcache.ko", "jbd2.ko", "crc32c_generic.ko", "ext4.ko");
  private static final String WAITING = "hotplug-init: no disk, waiting for xvda";
  private static final String UNMOUNTED = "hotplug-init: xvda unmounted, waiting for it to go";
  private static final String GONE = "hotplug-init: xvda is gone";
  private static final long BUDGET = 60_000_000_000L;

  @TempDir
  Path tmp;

  @Test
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void linuxsBlkfrontTakesADiskAttachedWhileItRunsAndLetsItGoOnDetach() throws Exception {
    String content = "hot-plugged into a running Linux by Hospes, seed "
        + Long.toHexString(Double.doubleToLongBits(Math.E));
    Path tree = tmp.resolve("tree");
    Files.createDirectories(tree);
    Files.writeString(tree.resolve("hello.txt"), content, StandardCharsets.US_ASCII);
    Path img = tmp.resolve("disk.img");
    DebianLinuxBlkTest.run(tmp, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree.toString(),
        img.toString(), "8M");

    Path vmlinuz = DebianKernel.vmlinuz();
    List<BootModule> modules = List.of(new BootModule(
        DebianKernel.busyboxInitramfs("hotplug-init.sh", MODULES, Map.of()), null));
    DomainSpec spec = DomainSpec.parse("g=" + vmlinuz + ",mode=pvh,ram=96,loader=pvh,"
        + "cmdline=console=hvc0 cryptomgr.notests", null);
    HostRunner host = HostRunner.create(HostRunner.machineMiBFor(List.of(spec)),
        new ByteArrayOutputStream());
    GuestDomain g = host.start(spec, KernelFiles.read(vmlinuz), modules);
    int domid = g.domain().domid();

    assertThat(host.runUntil(BUDGET, () -> g.consoleText().contains(WAITING)))
        .as("guest:\n%s", g.consoleText()).isTrue();
    assertThat(host.blockBackends(domid)).isEmpty();
    VbdBackend be = host.blockAttach(domid, DiskSpec.parse(img + ",vdev=xvda", 0, null));
    DomainControl backendDomain = host.hypervisor().serviceDomains().stream()
        .filter(c -> c.domid() == be.backendDomid()).findFirst().orElseThrow();
    // dom0's xenstored and console backend map the guest's two rings for its whole life.
    long baseline = backendDomain.liveForeignMaps();
    assertThat(backendDomain.liveGrantMaps()).isZero();

    assertThat(host.runUntil(BUDGET, () -> g.consoleText().contains(UNMOUNTED)))
        .as("guest:\n%s", g.consoleText()).isTrue();
    String text = g.consoleText();
    assertThat(text).as("guest:\n%s", text)
        .contains("hotplug-init: read [" + content + "]");
    assertThat(be.stats().reads).isPositive();
    assertThat(be.stats().writes).as("the disk is mounted read-only").isZero();
    assertThat(be.stats().errors).isZero();
    assertThat(backendDomain.liveForeignMaps() - baseline + backendDomain.liveGrantMaps())
        .as("the connected ring and persistent grants are mapped").isPositive();

    assertThat(host.blockDetach(domid, "xvda")).isSameAs(be);
    assertThat(host.runUntil(BUDGET, () -> g.consoleText().contains(GONE)))
        .as("guest:\n%s", g.consoleText()).isTrue();
    // Checked while the guest still runs, so its end cannot be what unmapped the pages.
    assertThat(g.isLive()).isTrue();
    assertThat(be.removed()).as("backend removed (%s)", be.lastError()).isTrue();
    assertThat(host.blockBackends(domid)).isEmpty();
    assertThat(host.xenstore().read(VbdNodes.frontendPath(domid, be.devid()))).isNull();
    assertThat(host.xenstore().read(VbdNodes.backendPath(be.backendDomid(), domid,
        be.devid()))).isNull();
    assertThat(backendDomain.liveForeignMaps()).as("only the store and console rings")
        .isEqualTo(baseline);
    assertThat(backendDomain.liveGrantMaps()).isZero();

    host.run(BUDGET);
    assertThat(g.isLive()).as("the guest powered off:\n%s", g.consoleText()).isFalse();
  }
}
