package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.hospes.dom0.boot.BootException;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.MultibootKernelLoader;
import org.hospes.dom0.boot.loader.PvhKernelLoader;
import org.hospes.dom0.devicemodel.plugin.DeviceModelPlugin;
import org.hospes.dom0.devicemodel.plugin.DeviceModelPlugins;
import org.hospes.dom0.devicemodel.plugin.DeviceSpec;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.HypervisorFactory;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A machine whose load fails, at whatever step after its domain was made (the kernel file,
 * the kernel, its PV services, a device the mode cannot have, a device model plugin), gives
 * the domain and its machine memory back: the hypervisor's free frames are what they were
 * before the domain existed, nothing in dom0 still maps the domain, and the machine refuses
 * another load.
 */
class HvmMachineLoadFailureTest {
  private static final int RAM_MIB = 16;
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  @TempDir
  Path dir;

  private static HvmMachine machine(DomainMode mode) {
    return HvmMachine.create(mode, RAM_MIB, OutputStream.nullOutputStream(), QUIET);
  }

  /** Free frames of the same host before any guest domain: a new one, built the same way. */
  private static int freeBeforeTheDomain(DomainMode mode) {
    Hypervisor fresh = HvmMachine.factory().hypervisor(HypervisorFactory.DEFAULT_SCHEDULER,
        HypervisorFactory.DEFAULT_COST_MODEL, HvmMachine.machineMiB(RAM_MIB));
    int free = fresh.frames().freeFrames();
    if (mode == DomainMode.PV) {
      // The machine-to-physical table stays once the first PV domain made it.
      int table = (fresh.frames().frames() * 4 + 4095) / 4096;
      free -= table + (table + 511) / 512;
    }
    return free;
  }

  private static void assertReleased(HvmMachine m, DomainMode mode) {
    Hypervisor hv = m.hypervisor();
    assertThat(hv.domain(m.domain().domid())).as("the domain is gone").isNull();
    assertThat(hv.frames().freeFrames()).as("free frames")
        .isEqualTo(freeBeforeTheDomain(mode));
    assertThat(hv.control().liveForeignMaps()).isZero();
    assertThat(hv.control().liveGrantMaps()).isZero();
    assertThatThrownBy(() -> m.loadMultiboot(new byte[16], "again", ""))
        .isInstanceOf(BootException.class).hasMessageContaining("domain is gone");
  }

  private static byte[] pvhKernel() {
    long paddr = 0x10_0000;
    return new ElfImageBuilder().entry(paddr).segment(paddr, new byte[] {(byte) 0xF4}, 0x1000)
        .pvhEntryNote(paddr).build();
  }

  @Test
  void aKernelThatIsNotMultibootReleasesAnHvmDomain() {
    HvmMachine m = machine(DomainMode.HVM_EPT);
    assertThatThrownBy(() -> m.loadMultiboot("no kernel at all".getBytes(), "k", ""))
        .isInstanceOf(BootException.class);
    assertReleased(m, DomainMode.HVM_EPT);
  }

  @Test
  void aKernelFileThatCannotBeReadReleasesAShadowDomain() {
    HvmMachine m = machine(DomainMode.HVM_SHADOW);
    assertThatThrownBy(() -> m.load(new MultibootKernelLoader(), dir.resolve("missing.elf"),
        new BootRequest("", List.of()), null)).isInstanceOf(BootException.class);
    assertReleased(m, DomainMode.HVM_SHADOW);
  }

  @Test
  void aPvhKernelWithoutItsEntryNoteReleasesThePvhDomain() throws Exception {
    HvmMachine m = machine(DomainMode.PVH);
    Path k = Files.write(dir.resolve("k.elf"), new ElfImageBuilder().entry(0x10_0000)
        .segment(0x10_0000, new byte[] {(byte) 0xF4}, 0x1000).build());
    assertThatThrownBy(() -> m.loadPvh(k, "")).isInstanceOf(BootException.class);
    assertReleased(m, DomainMode.PVH);
  }

  @Test
  void aDeviceTheModeCannotHaveReleasesADomainWhosePvServicesWereUp() throws Exception {
    HvmMachine m = machine(DomainMode.PVH);
    Path img = Files.write(dir.resolve("d.img"), new byte[64 * 512]);
    DiskSpec disk = DiskSpec.parse(img + ",vdev=xvda,bus=virtio", 0, null);
    m.addDisk(disk, disk.open());
    // The kernel loads and its xenstore ring and console are mapped; then the virtio disk is
    // refused (a pvh domain has no device model).
    assertThatThrownBy(() -> m.load(new PvhKernelLoader(), pvhKernel(), "k",
        new BootRequest("", List.of()), null)).isInstanceOf(BootException.class)
        .hasMessageContaining("bus=virtio");
    assertThat(m.pvh()).as("the PV services were set up").isNotNull();
    assertReleased(m, DomainMode.PVH);
  }

  @Test
  void aPvMachineGivenAnotherKindOfKernelReleasesItsDomain() {
    HvmMachine m = machine(DomainMode.PV);
    assertThatThrownBy(() -> m.load(new MultibootKernelLoader(), pvhKernel(), "k",
        new BootRequest("", List.of()), null)).hasMessageContaining("pv mode boots classic PV");
    assertReleased(m, DomainMode.PV);
  }

  /** A device model plugin that fails to attach, as a bad option would make it. */
  private static final class Broken implements DeviceModelPlugin {
    @Override
    public String name() {
      return "broken";
    }

    @Override
    public String description() {
      return "fails to attach";
    }

    @Override
    public AttachedDevice attach(
        org.hospes.dom0.devicemodel.plugin.DeviceModelContext context, DeviceSpec options) {
      throw new IllegalArgumentException("broken: cannot attach");
    }
  }

  @Test
  void aDeviceModelPluginThatFailsReleasesTheLoadedDomain() {
    HvmMachine m = machine(DomainMode.HVM_EPT);
    m.setDevicePlugins(new DeviceModelPlugins(Map.of("broken", new Broken())));
    m.addDevice(DeviceSpec.parse("broken"));
    byte[] kernel = ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4});
    assertThatThrownBy(() -> m.loadMultiboot(kernel, "k", "")).hasMessageContaining("broken");
    assertReleased(m, DomainMode.HVM_EPT);
  }
}
